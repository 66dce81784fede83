"""GET /ready: whether this web app can serve (the account database answers; Redis too when configured).

`/health` says the process is alive; `/ready` says its dependencies answer, for a supervisor or a load
balancer that polls it often (every 0.5 s). Each check is `SELECT 1` / `PING` on the pooled connection,
at most one at a time per dependency (callers arriving meanwhile share the running check), and a check
that has not answered within CHECK_SECONDS counts as failing, so a hung connection cannot pile threads up.
"""
from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from kuanxin.core import settings
from kuanxin.store.db import database

logger = logging.getLogger(__name__)
router = APIRouter()
CHECK_SECONDS = 1.5
REDIS_SECONDS = 0.5


def database_answers() -> None:
    with database().engine.connect() as connection:
        connection.execute(text("SELECT 1"))


@functools.lru_cache(maxsize=4)
def _redis_client(url: str):
    import redis
    return redis.Redis.from_url(url, socket_timeout=REDIS_SECONDS, socket_connect_timeout=REDIS_SECONDS,
                                retry_on_timeout=False)


def redis_answers() -> None:
    url = settings.redis_url()
    if url and not _redis_client(url).ping():
        raise ConnectionError("no PONG")


class SingleFlight:
    """Runs a blocking check in a thread, never two at once: later callers wait for the running one."""

    def __init__(self, name: str, check: Callable[[], None]):
        self.name, self.check = name, check
        self._running: asyncio.Future | None = None
        self._last_error: str | None = None

    async def ok(self) -> bool:
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(asyncio.to_thread(self.check))
            self._running.add_done_callback(lambda done: done.cancelled() or done.exception())
        try:
            await asyncio.wait_for(asyncio.shield(self._running), CHECK_SECONDS)
        except Exception as exc:  # noqa: BLE001 - any failure (or a timeout) means not ready
            self._log(type(exc).__name__)
            return False
        self._last_error = None
        return True

    def _log(self, error: str) -> None:
        if error != self._last_error:  # polled twice a second: log changes, not every poll
            logger.warning("readiness: %s is not answering (%s)", self.name, error)
        self._last_error = error


CHECKS: dict[str, SingleFlight] = {"database": SingleFlight("database", database_answers),
                                   "redis": SingleFlight("redis", redis_answers)}


@router.get("/ready", include_in_schema=False)
async def ready() -> JSONResponse:
    names = ["database"] + (["redis"] if settings.redis_url() else [])
    results = await asyncio.gather(*(CHECKS[name].ok() for name in names))
    failing = [name for name, ok in zip(names, results, strict=True) if not ok]
    if failing:
        return JSONResponse({"ready": False, "failing": failing}, status_code=503,
                            headers={"Cache-Control": "no-store", "Retry-After": "1"})
    return JSONResponse({"ready": True}, headers={"Cache-Control": "no-store"})
