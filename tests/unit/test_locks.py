"""Conversation locks: FIFO, free again soon after their holder dies, honest when Redis is gone."""
from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import redis
import redis.asyncio as aioredis
from rasa.core.lock_store import LockError

from kuanxin.store.lock_keys import queue_key, release_instance
from runtime.locks import InProcessLockStore, RedisHeartbeatLockStore

REDIS = "redis://127.0.0.1:6379/0"


def redis_store(**kwargs) -> RedisHeartbeatLockStore:
    client = aioredis.Redis.from_url(REDIS, socket_timeout=1, socket_connect_timeout=1)
    return RedisHeartbeatLockStore(client=client, prefix=f"kxtest{uuid.uuid4().hex[:8]}", **kwargs)


async def _in_order(store) -> list[int]:
    served: list[int] = []

    async def turn(n: int) -> None:
        async with store.lock("c1"):
            await asyncio.sleep(0.01)
            served.append(n)

    tasks = []
    for n in range(10):
        tasks.append(asyncio.create_task(turn(n)))
        await asyncio.sleep(0.005)  # each takes its ticket before the next
    await asyncio.gather(*tasks)
    return served


@pytest.mark.parametrize("make", [InProcessLockStore, redis_store])
def test_messages_of_one_conversation_are_served_one_at_a_time_in_arrival_order(make):
    assert asyncio.run(_in_order(make())) == list(range(10))


def test_in_process_locks_are_forgotten_when_free():
    store = InProcessLockStore()

    async def use() -> None:
        async with store.lock("c1"):
            pass
    asyncio.run(use())
    assert store._locks == {}


def test_a_dead_holders_ticket_frees_the_conversation_within_its_ttl():
    store = redis_store(ttl=0.5)

    async def scenario() -> float:
        queue = queue_key(store.key_prefix, "c1")
        await store._take_ticket(queue)  # taken by a process that then dies: no heartbeat, never returned
        started = time.monotonic()
        async with store.lock("c1"):
            return time.monotonic() - started
    waited = asyncio.run(scenario())
    assert 0.3 < waited < 1.0


@pytest.mark.slow
def test_a_living_holder_keeps_its_lock_past_the_ttl():
    store = redis_store(ttl=0.3)

    async def scenario() -> list[str]:
        order: list[str] = []

        async def long_turn() -> None:
            async with store.lock("c1"):
                await asyncio.sleep(1.0)  # three TTLs: the heartbeat must keep it
                order.append("long")

        async def next_turn() -> None:
            await asyncio.sleep(0.05)
            async with store.lock("c1"):
                order.append("next")
        await asyncio.gather(long_turn(), next_turn())
        return order
    assert asyncio.run(scenario()) == ["long", "next"]


def test_redis_gone_is_a_lock_error_not_a_hang():
    client = aioredis.Redis(host="127.0.0.1", port=1, socket_timeout=0.5, socket_connect_timeout=0.5)
    store = RedisHeartbeatLockStore(client=client, prefix="kxgone")

    async def scenario() -> None:
        async with store.lock("c1"):
            pass
    started = time.monotonic()
    with pytest.raises(LockError):
        asyncio.run(scenario())
    assert time.monotonic() - started < 2


def test_waiting_too_long_is_a_lock_error():
    store = InProcessLockStore(wait_limit=0.2)

    async def scenario() -> None:
        async with store.lock("c1"):
            async with store.lock("c1"):
                pass
    with pytest.raises(LockError):
        asyncio.run(scenario())


def test_the_supervisor_frees_a_dead_instances_conversations_at_once(monkeypatch):
    monkeypatch.setenv("KUANXIN_INSTANCE", "rasa-7")
    dead = redis_store(ttl=30)  # its heartbeats would keep the conversation locked for 30 s
    monkeypatch.delenv("KUANXIN_INSTANCE")
    survivor = RedisHeartbeatLockStore(client=dead.red, prefix=dead.key_prefix)

    async def scenario() -> float:
        await dead._take_ticket(queue_key(dead.key_prefix, "c1"))
        freed = release_instance(redis.Redis.from_url(REDIS), dead.key_prefix, "rasa-7")
        assert freed == 1
        started = time.monotonic()
        async with survivor.lock("c1"):
            return time.monotonic() - started
    assert asyncio.run(scenario()) < 0.2
