"""Start-up checks: a configured store that cannot be reached stops the start, loudly.

A service that starts without its stores looks up but forgets every conversation (Rasa's SQL tracker
store retries a missing PostgreSQL every 5 s for ever, and a lock store it cannot reach fails only on
the first message). `kuanxin serve` / `kuanxin cluster` run prepare_stores() before anything starts;
Rasa's own start (runtime.main) runs check_stores(). Each error names the variable to fix.
"""
from __future__ import annotations

from collections.abc import Mapping

import redis
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from kuanxin.ops import config
from kuanxin.store.migrate import ensure_database

TIMEOUT_SECONDS = 5


def prepare_stores(env: Mapping[str, str]) -> None:
    """Checks the configuration (kuanxin.ops.config: every setting, the policy, the catalogue), creates the
    conversations database when it is missing, then checks every configured store."""
    problems = config.check(env)
    if problems:
        raise ValueError("the configuration cannot work (`kuanxin config check` shows it all):\n  "
                         + "\n  ".join(problems))
    tracker = (env.get("KUANXIN_TRACKER_STORE_URL") or "").strip()
    if tracker:
        try:
            ensure_database(tracker)
        except SQLAlchemyError as exc:
            raise ValueError(f"KUANXIN_TRACKER_STORE_URL: the conversations database cannot be reached or "
                             f"created ({first_line(exc)})") from None
    check_stores(env)
    accounts = (env.get("KUANXIN_DATABASE_URL") or "").strip()
    if accounts and not accounts.startswith("sqlite"):  # the embedded default creates and migrates its file itself
        check_database("KUANXIN_DATABASE_URL", "the account database", accounts,
                       hint="; `kuanxin db upgrade` creates it")


def check_stores(env: Mapping[str, str]) -> None:
    """Raises ValueError naming the variable when the conversations database or Redis does not answer."""
    tracker = (env.get("KUANXIN_TRACKER_STORE_URL") or "").strip()
    if tracker:
        check_database("KUANXIN_TRACKER_STORE_URL", "the conversations database", tracker)
    url = (env.get("KUANXIN_REDIS_URL") or "").strip()
    if url:
        check_redis(url)


def check_database(variable: str, what: str, url: str, hint: str = "") -> None:
    engine = create_engine(url, connect_args={"connect_timeout": TIMEOUT_SECONDS}, future=True)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise ValueError(f"{variable}: {what} does not answer ({first_line(exc)}){hint}") from None
    finally:
        engine.dispose()


def check_redis(url: str) -> None:
    try:
        redis.Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS).ping()
    except redis.RedisError as exc:
        raise ValueError(f"KUANXIN_REDIS_URL: Redis does not answer ({first_line(exc)})") from None


def first_line(exc: Exception) -> str:
    return (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
