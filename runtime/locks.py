"""Conversation locks that die with their holder.

Rasa's own Redis lock store keeps a whole queue of tickets in one JSON value, read, changed and
written back without a transaction (two instances can take the same ticket, or delete the queue
while someone waits on it, which drops that message), and each ticket lives 60 s, so the
conversations of an instance that dies stay locked for a minute. Here:

- a ticket number comes from Redis INCR (atomic) and waits in a sorted set, oldest first;
- a holder keeps a heartbeat key alive (TTL `ttl`, refreshed every ttl/4) for its ticket while it
  waits and while it works; a ticket whose heartbeat has gone belongs to a dead process and is
  skipped, so a dead instance's conversations are free again within `ttl` seconds, and at once when
  the supervisor that saw it die frees the tickets listed under its name (kuanxin.store.lock_keys);
- waiting polls every few milliseconds (not Rasa's 1 s steps) and gives up after `wait_limit`
  seconds with a LockError, which the channels answer as "try again" rather than dropping.

Without Redis (one process) an asyncio.Lock per conversation does the same job: FIFO, no polling.
Redis failing makes `lock()` raise LockError: the message is refused as retryable, never lost silently.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LockError, LockStore
from redis.exceptions import RedisError

from kuanxin.store.lock_keys import heartbeat_key, holder_key, queue_key

logger = logging.getLogger(__name__)

TTL_SECONDS = 2.0          # a dead holder's conversations are free again after this
WAIT_LIMIT_SECONDS = 60.0  # a message waits at most this long behind the ones before it
QUEUE_KEEP_SECONDS = 24 * 3600
INSTANCE_ENV = "KUANXIN_INSTANCE"  # the name this process holds tickets under (see kuanxin.store.lock_keys)


class InProcessLockStore(LockStore):
    """One process: a FIFO asyncio.Lock per conversation, forgotten when nobody holds or awaits it."""

    def __init__(self, endpoint_config: Any = None, wait_limit: float = WAIT_LIMIT_SECONDS) -> None:
        self.wait_limit = wait_limit
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        super().__init__()

    @contextlib.asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = 0,
                   wait_time_in_seconds: float = 0) -> AsyncIterator[TicketLock]:
        lock, users = self._locks.get(conversation_id) or (asyncio.Lock(), 0)
        self._locks[conversation_id] = (lock, users + 1)
        try:
            try:
                await asyncio.wait_for(lock.acquire(), self.wait_limit)
            except asyncio.TimeoutError:
                raise LockError(f"conversation busy for {self.wait_limit:.0f}s") from None
            try:
                yield TicketLock(conversation_id)
            finally:
                lock.release()
        finally:
            lock, users = self._locks[conversation_id]
            if users <= 1:
                del self._locks[conversation_id]
            else:
                self._locks[conversation_id] = (lock, users - 1)


class RedisHeartbeatLockStore(LockStore):
    """Several instances: tickets in Redis, each kept alive by its holder's heartbeat (see module doc)."""

    def __init__(self, endpoint_config: Any = None, *, client: aioredis.Redis | None = None,
                 prefix: str | None = None, ttl: float = TTL_SECONDS,
                 wait_limit: float = WAIT_LIMIT_SECONDS) -> None:
        kwargs = dict(getattr(endpoint_config, "kwargs", None) or {})
        self.key_prefix = prefix or kwargs.get("key_prefix") or "kuanxin"
        self.instance = os.environ.get(INSTANCE_ENV) or None  # set by the supervisor (kuanxin.ops.serve)
        self.red = client or aioredis.Redis(
            host=getattr(endpoint_config, "url", None) or "localhost", port=int(kwargs.get("port") or 6379),
            db=int(kwargs.get("db") or 0), password=kwargs.get("password") or None,
            socket_timeout=1.0, socket_connect_timeout=1.0)
        self.ttl, self.wait_limit = ttl, wait_limit
        super().__init__()

    @contextlib.asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = 0,
                   wait_time_in_seconds: float = 0) -> AsyncIterator[TicketLock]:
        queue = queue_key(self.key_prefix, conversation_id)
        try:
            ticket = await self._take_ticket(queue)
        except RedisError as exc:
            raise LockError(f"lock store unavailable: {exc.__class__.__name__}") from None
        heartbeat = asyncio.create_task(self._beat(queue, ticket))
        try:
            await self._wait_for_turn(queue, ticket)
            yield TicketLock(conversation_id)
        finally:
            heartbeat.cancel()
            await self._return_ticket(queue, ticket)

    async def _take_ticket(self, queue: str) -> int:
        ticket = int(await self.red.incr(f"{queue}:n"))
        async with self.red.pipeline(transaction=True) as pipe:
            pipe.set(heartbeat_key(queue, ticket), self.instance or 1, px=int(self.ttl * 1000))
            if self.instance:
                pipe.sadd(holder_key(self.key_prefix, self.instance), heartbeat_key(queue, ticket))
            pipe.zadd(queue, {str(ticket): ticket})
            pipe.expire(queue, QUEUE_KEEP_SECONDS)
            pipe.expire(f"{queue}:n", QUEUE_KEEP_SECONDS)
            await pipe.execute()
        return ticket

    async def _beat(self, queue: str, ticket: int) -> None:
        key = heartbeat_key(queue, ticket)
        while True:
            await asyncio.sleep(self.ttl / 4)
            try:
                await self.red.set(key, self.instance or 1, px=int(self.ttl * 1000), xx=True)
            except RedisError:
                logger.warning("conversation lock heartbeat failed; retrying")

    async def _wait_for_turn(self, queue: str, ticket: int) -> None:
        deadline, pause = time.monotonic() + self.wait_limit, 0.005
        while True:
            try:
                head = await self.red.zrange(queue, 0, 0)
                if not head or int(head[0]) == ticket:
                    return
                if not await self.red.exists(heartbeat_key(queue, int(head[0]))):
                    await self.red.zrem(queue, head[0])  # its holder died: skip it
                    logger.warning("skipped a conversation lock ticket whose holder is gone")
                    continue
            except RedisError as exc:
                raise LockError(f"lock store unavailable: {exc.__class__.__name__}") from None
            if time.monotonic() > deadline:
                raise LockError(f"conversation busy for {self.wait_limit:.0f}s")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    async def _return_ticket(self, queue: str, ticket: int) -> None:
        try:
            async with self.red.pipeline(transaction=True) as pipe:
                pipe.zrem(queue, str(ticket))
                pipe.delete(heartbeat_key(queue, ticket))
                if self.instance:
                    pipe.srem(holder_key(self.key_prefix, self.instance), heartbeat_key(queue, ticket))
                await pipe.execute()
        except RedisError:  # the heartbeat stops, so the ticket expires by itself within ttl
            logger.warning("could not return a conversation lock ticket; it expires in %.0fs", self.ttl)

    async def ping(self) -> bool:
        try:
            return bool(await self.red.ping())
        except RedisError:
            return False
