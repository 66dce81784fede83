"""Configuration from the environment (never from the repository)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def var_dir() -> Path:
    """Where generated files live (database, secrets, reports): KUANXIN_VAR_DIR or ./var."""
    path = Path(os.environ.get("KUANXIN_VAR_DIR", PROJECT_ROOT / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    url = os.environ.get("KUANXIN_DATABASE_URL", "").strip()
    return url or f"sqlite:///{var_dir() / 'kuanxin.db'}"


def secret(env_name: str, file_name: str) -> str:
    """A secret from the environment; on a development machine, one made once and kept under var/.

    Every process of one machine reads the same file, so they agree without configuration.
    """
    configured = os.environ.get(env_name, "").strip()
    if configured:
        return configured
    path = var_dir() / file_name
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(value := secrets.token_urlsafe(32))
    return value


def rasa_token() -> str:
    """The token of Rasa's HTTP API (the console and tests use it)."""
    return secret("KUANXIN_RASA_TOKEN", "rasa-token")


def webchat_secret() -> str:
    """The key the lender's back end signs borrower tokens with (HS256), shared with the web chat channel."""
    return secret("KUANXIN_WEBCHAT_SECRET", "webchat-secret")


def policy_path() -> Path:
    return Path(os.environ.get("KUANXIN_POLICY", PROJECT_ROOT / "policy.yml"))
