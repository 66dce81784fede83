"""Exactly one turn per WeChat message, in the order each borrower sent them.

WeChat retries a push it did not get an answer to within 5 seconds, up to three times, so the same
message can arrive again, even while the first copy is still being read. `SeenMessages` remembers
each message's key long enough to outlive every retry; `claim` is check-and-set without an await,
so concurrent copies in one event loop cannot both win (with Redis, SET NX decides across
instances). `SerialQueues` runs each borrower's turns
one after another, in arrival order, while different borrowers run side by side.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable

RETRY_WINDOW = 300.0  # seconds; WeChat gives up after three tries within about 15 seconds
MAX_REMEMBERED = 100_000
logger = logging.getLogger(__name__)


class SeenMessages:
    def __init__(self, ttl: float = RETRY_WINDOW, limit: int = MAX_REMEMBERED, monotonic=time.monotonic):
        self.ttl, self.limit, self._now = ttl, limit, monotonic
        self._seen: OrderedDict[str, float] = OrderedDict()

    async def claim(self, key: str) -> bool:
        """True the first time a key is seen within the window; False for a retry of it."""
        now = self._now()
        while self._seen and (next(iter(self._seen.values())) <= now or len(self._seen) >= self.limit):
            self._seen.popitem(last=False)
        if key in self._seen:
            return False
        self._seen[key] = now + self.ttl
        return True


class SharedSeenMessages:
    """The same memory in Redis (SET NX EX is atomic), for several Rasa instances: after a failover,
    WeChat's retry of a message the dead instance already took reaches another instance and is still recognised."""

    def __init__(self, url: str, prefix: str, ttl: float = RETRY_WINDOW):
        import redis.asyncio
        self._redis, self._prefix, self.ttl = redis.asyncio.Redis.from_url(url, socket_timeout=2), prefix, ttl

    async def claim(self, key: str) -> bool:
        return bool(await self._redis.set(f"{self._prefix}:wechat-seen:{key}", 1, nx=True, ex=int(self.ttl)))


def seen_messages(redis_url: str | None, prefix: str) -> SeenMessages | SharedSeenMessages:
    return SharedSeenMessages(redis_url, prefix) if redis_url else SeenMessages()


class SerialQueues:
    def __init__(self) -> None:
        self._queues: dict[str, deque[Callable[[], Awaitable[None]]]] = {}
        self._workers: set[asyncio.Task] = set()

    def submit(self, key: str, job: Callable[[], Awaitable[None]]) -> None:
        """Runs `job` after every job submitted earlier under the same key has finished."""
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(job)
            return
        self._queues[key] = deque([job])
        worker = asyncio.get_running_loop().create_task(self._drain(key))
        self._workers.add(worker)  # keep a reference: the loop holds tasks only weakly
        worker.add_done_callback(self._workers.discard)

    async def _drain(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while queue:
                try:
                    await queue[0]()
                except Exception:  # noqa: BLE001 - one failed turn must not drop the borrower's next messages
                    logger.exception("a queued WeChat turn failed")
                queue.popleft()
        finally:
            del self._queues[key]

    def busy(self) -> bool:
        return bool(self._queues)
