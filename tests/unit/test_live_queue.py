"""The live queue's signals: a change announced on one instance reaches the pages of every instance through Redis
pub/sub; without Redis, this process's pages; and what another process writes is seen through the database."""
from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid

import pytest
import redis

from kuanxin.console.live import LiveQueue, queue_mark
from kuanxin.store.accounts import Accounts
from tests.unit.test_records import NOW, TODAY

REDIS = os.environ.get("KUANXIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


async def heard(signals: asyncio.Queue, seconds: float = 5) -> dict:
    return await asyncio.wait_for(signals.get(), seconds)


def open_escalation(db, conversation: str) -> None:
    Accounts(db).open_escalation(conversation_id=conversation, borrower_id=None, reason="human", priority="normal",
                                 channel="webchat", summary="人工", today=TODAY, now=NOW + dt.timedelta(minutes=1))


def test_a_change_reaches_the_pages_of_every_instance_through_redis(db):
    if not redis_reachable():
        pytest.skip("Redis not reachable")
    prefix = "kxtest" + uuid.uuid4().hex[:8]

    async def scenario():
        instances = [LiveQueue(db, REDIS, prefix, poll_seconds=60) for _ in range(2)]  # two web instances
        try:
            async with instances[0].page() as first, instances[1].page() as second:
                await asyncio.sleep(0.3)  # both subscribed
                await asyncio.to_thread(instances[0].changed, "claim")  # a route runs in a worker thread
                return await heard(first), await heard(second)
        finally:
            for instance in instances:
                await instance.stop()

    assert asyncio.run(scenario()) == ({"what": "claim"}, {"what": "claim"})


def test_without_redis_a_change_reaches_this_processs_pages(db):
    async def scenario():
        live = LiveQueue(db, None, poll_seconds=60)
        try:
            async with live.page() as one, live.page() as two:
                await asyncio.to_thread(live.changed, "resolve")
                return await heard(one), await heard(two)
        finally:
            await live.stop()

    assert asyncio.run(scenario()) == ({"what": "resolve"}, {"what": "resolve"})


def test_what_another_process_writes_is_seen_through_the_database(db):
    before = queue_mark(db)
    open_escalation(db, "elsewhere-0")
    assert queue_mark(db)[0] > before[0]

    async def scenario():
        live = LiveQueue(db, None, poll_seconds=0.1)
        try:
            async with live.page() as signals:
                await asyncio.sleep(0.3)  # the watcher has its first mark
                await asyncio.to_thread(open_escalation, db, "elsewhere-1")  # as the action server would
                return await heard(signals)
        finally:
            await live.stop()

    assert asyncio.run(scenario()) == {"what": "queue"}
