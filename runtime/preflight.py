"""Start-up checks: a configured store that cannot be reached stops the start, loudly.

Rasa's SQLTrackerStore retries a missing PostgreSQL every 5 s for ever, and a lock store it cannot
reach only fails on the first message; a service that looks up but forgets every turn is worse than
one that does not start. Each check names the variable to fix.
"""
from __future__ import annotations

from collections.abc import Mapping

import redis
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

TIMEOUT_SECONDS = 5


def check_stores(env: Mapping[str, str]) -> None:
    """Raises ValueError naming the variable when a configured conversation store or Redis does not answer."""
    tracker = (env.get("KUANXIN_TRACKER_STORE_URL") or "").strip()
    if tracker:
        _check_database(tracker)
    url = (env.get("KUANXIN_REDIS_URL") or "").strip()
    if url:
        _check_redis(url)


def _check_database(url: str) -> None:
    engine = create_engine(url, connect_args={"connect_timeout": TIMEOUT_SECONDS}, future=True)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise ValueError(f"KUANXIN_TRACKER_STORE_URL: the conversations database does not answer ({reason})") \
            from None
    finally:
        engine.dispose()


def _check_redis(url: str) -> None:
    try:
        redis.Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS).ping()
    except redis.RedisError as exc:
        raise ValueError(f"KUANXIN_REDIS_URL: Redis does not answer ({exc.__class__.__name__})") from None
