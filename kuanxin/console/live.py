"""The live queue: every open console page hears when the queue changed (a new escalation, a claim, an assignment,
a resolution, a colleague's decision) and redraws without a reload.

Two sources, one signal:
- a change made through this console is announced at once: through Redis pub/sub when KUANXIN_REDIS_URL is set, so
  every instance hears it, else to this process's pages only;
- each process also watches the account database's high-water mark (the newest escalation and audit entry) every
  few seconds (policy.yml console.live_poll_seconds), which catches what other processes write (the action server
  opening escalations) and other instances when there is no Redis.
A page asks for the queue again when told; what it shows is always read from the database.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

import redis
import redis.asyncio as aioredis
from sqlalchemy import func, select

from kuanxin.core import policy, settings
from kuanxin.store.db import Database, database
from kuanxin.store.models import AuditEntry, Escalation

log = logging.getLogger(__name__)
CHANNEL = "console-queue"
BACKLOG = 16  # signals kept for a slow page; older ones are dropped (the next one redraws it all anyway)


def queue_mark(db: Database) -> tuple[int, int]:
    """The newest escalation and audit entry: every change the queue shows moves one of them."""
    with db.session() as session:
        newest_escalation = session.execute(select(func.max(Escalation.id))).scalar_one() or 0
        newest_audit = session.execute(select(func.max(AuditEntry.id))).scalar_one() or 0
    return newest_escalation, newest_audit


class LiveQueue:
    """This process's open console pages, each with its own queue of signals."""

    def __init__(self, db: Database | None = None, redis_url: str | None = None, prefix: str = "kuanxin",
                 poll_seconds: float = 2.0):
        self.db, self.redis_url, self.channel = db, redis_url, f"{prefix}:{CHANNEL}"
        self.poll_seconds = poll_seconds
        self._pages: set[asyncio.Queue] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task] = []

    @contextlib.asynccontextmanager
    async def page(self) -> AsyncIterator[asyncio.Queue]:
        """One open page: signals arrive on the queue until it leaves. The first page of the process waits for the
        database's mark to be read, so a change made as it opens is not taken for the starting point."""
        await self._start()
        signals: asyncio.Queue = asyncio.Queue(BACKLOG)
        self._pages.add(signals)
        try:
            yield signals
        finally:
            self._pages.discard(signals)

    def changed(self, what: str) -> None:
        """Called (from any thread) after a change is committed: every page everywhere hears it."""
        message = {"what": what}
        if self.redis_url:
            try:
                client = redis.Redis.from_url(self.redis_url, socket_timeout=2, socket_connect_timeout=2)
                client.publish(self.channel, json.dumps(message))
                client.close()
                return
            except redis.RedisError as exc:  # the watcher still tells the pages within a few seconds
                log.warning("live queue: Redis publish failed (%s)", type(exc).__name__)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._tell, message)

    def _tell(self, message: dict) -> None:
        for signals in list(self._pages):
            with contextlib.suppress(asyncio.QueueFull):
                signals.put_nowait(message)

    async def _start(self) -> None:
        if self._tasks:
            return
        self._loop = asyncio.get_running_loop()
        db = self.db or database()
        first = await self._mark(db)
        if self._tasks:  # another page started the watcher meanwhile
            return
        self._tasks.append(asyncio.create_task(self._watch_database(db, first)))
        if self.redis_url:
            self._tasks.append(asyncio.create_task(self._listen_redis()))

    async def _mark(self, db: Database) -> tuple[int, int] | None:
        try:
            return await asyncio.to_thread(queue_mark, db)
        except Exception as exc:  # noqa: BLE001 - a database blip must not end the watcher
            log.warning("live queue: database unreadable (%s)", type(exc).__name__)
            return None

    async def _watch_database(self, db: Database, last: tuple[int, int] | None) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            mark = await self._mark(db)
            if mark is None:
                continue
            if last is not None and mark != last:
                self._tell({"what": "queue"})
            last = mark

    async def _listen_redis(self) -> None:
        while True:
            client = aioredis.Redis.from_url(self.redis_url or "", socket_connect_timeout=2)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    async for item in pubsub.listen():
                        if item.get("type") == "message":
                            self._tell(json.loads(item["data"]))
            except (redis.RedisError, OSError, ValueError) as exc:
                log.warning("live queue: Redis subscription lost (%s); retrying", type(exc).__name__)
            finally:
                await client.close()
            await asyncio.sleep(self.poll_seconds)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()


_live: LiveQueue | None = None


def live() -> LiveQueue:
    """This process's live queue, made when first asked (importing does no work)."""
    global _live
    if _live is None:
        current = settings.current()
        _live = LiveQueue(None, current.redis_url, current.redis_prefix, policy.current().console.live_poll_seconds)
    return _live
