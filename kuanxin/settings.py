"""Configuration from the environment (never from the repository)."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    url = os.environ.get("KUANXIN_DATABASE_URL", "").strip()
    if url:
        return url
    var = Path(os.environ.get("KUANXIN_VAR_DIR", PROJECT_ROOT / "var"))
    var.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{var / 'kuanxin.db'}"


def policy_path() -> Path:
    return Path(os.environ.get("KUANXIN_POLICY", PROJECT_ROOT / "policy.yml"))
