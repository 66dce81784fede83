"""Configuration from the environment (never from the repository)."""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

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


def redis_url(env: Mapping[str, str] | None = None) -> str | None:
    """Redis for everything several instances must share (locks, socket.io rooms, dedup); None: one process."""
    return ((env if env is not None else os.environ).get("KUANXIN_REDIS_URL") or "").strip() or None


def redis_prefix(env: Mapping[str, str] | None = None) -> str:
    """Alphanumeric prefix of every Redis key (Rasa's lock store insists), so deployments can share a Redis."""
    prefix = ((env if env is not None else os.environ).get("KUANXIN_REDIS_PREFIX") or "kuanxin").strip()
    if not prefix.isalnum():
        raise ValueError("KUANXIN_REDIS_PREFIX must be letters and digits only")
    return prefix


# Connections per process; with N Rasa and M action-server instances plus the web app, PostgreSQL needs
# N x (SQL_POOL_SIZE + SQL_MAX_OVERFLOW) + (M + 1) x (pool + overflow) connections: 2 + 2 + 1 use 60 of 100.
RASA_POOL = {"SQL_POOL_SIZE": "10", "SQL_MAX_OVERFLOW": "5"}


def rasa_store_env(env: Mapping[str, str]) -> dict[str, str]:
    """The variables endpoints.production.yml reads, from KUANXIN_TRACKER_STORE_URL and KUANXIN_REDIS_URL.

    Empty when no tracker store URL is set: Rasa then keeps conversations in memory (endpoints.yml).
    """
    tracker = (env.get("KUANXIN_TRACKER_STORE_URL") or "").strip()
    redis = redis_url(env)
    if not tracker:
        return {}
    if not redis:
        raise ValueError("KUANXIN_TRACKER_STORE_URL needs KUANXIN_REDIS_URL too: "
                         "several instances share conversations only with a Redis lock store")
    db, cache = urlsplit(tracker), urlsplit(redis)
    if not db.scheme.startswith("postgresql") or not db.hostname or not db.path.strip("/"):
        raise ValueError("KUANXIN_TRACKER_STORE_URL must look like postgresql://user:password@host:5432/database")
    if cache.scheme != "redis" or not cache.hostname:
        raise ValueError("KUANXIN_REDIS_URL must look like redis://[:password@]host:6379/0")
    return {"KUANXIN_ENDPOINTS": "endpoints.production.yml",
            "KUANXIN_TRACKER_DB_HOST": db.hostname, "KUANXIN_TRACKER_DB_PORT": str(db.port or 5432),
            "KUANXIN_TRACKER_DB_NAME": db.path.strip("/"), "KUANXIN_TRACKER_DB_USER": unquote(db.username or ""),
            "KUANXIN_TRACKER_DB_PASSWORD": unquote(db.password or ""),
            "KUANXIN_REDIS_HOST": cache.hostname, "KUANXIN_REDIS_PORT": str(cache.port or 6379),
            "KUANXIN_REDIS_DB": cache.path.strip("/") or "0", "KUANXIN_REDIS_PASSWORD": unquote(cache.password or ""),
            "KUANXIN_REDIS_PREFIX": redis_prefix(env),
            **{name: env.get(name) or default for name, default in RASA_POOL.items()}}
