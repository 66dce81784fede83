"""A conversation page's live signals: `transcript` when its conversation moves on in the conversation store (seen
through the store's own table, as another process writes it), `typing` while its borrower types (through Redis from
the chat channel's process, or asked of the channel without Redis); both reach only the pages of that conversation,
and only that the borrower types ever travels, never what."""
from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from sqlalchemy import create_engine, insert

from channels.webchat import TYPING_EVERY_SECONDS, TYPING_SECONDS, TypingBoard
from kuanxin.console.live import LiveQueue
from kuanxin.store.transcripts import EVENTS, Transcripts
from tests.unit.test_live_queue import REDIS, redis_reachable


async def heard(signals: asyncio.Queue, seconds: float = 5) -> dict:
    return await asyncio.wait_for(signals.get(), seconds)


async def silent(signals: asyncio.Queue, seconds: float = 0.5) -> bool:
    try:
        await asyncio.wait_for(signals.get(), seconds)
    except asyncio.TimeoutError:
        return True
    return False


class ConversationStore:
    """A conversation store's `events` table, written the way Rasa's SQLTrackerStore writes it."""

    def __init__(self, url: str):
        self.engine = create_engine(url, future=True)
        EVENTS.metadata.create_all(self.engine)
        self.transcripts = Transcripts(url)

    def say(self, sender: str, text: str) -> float:
        at = time.time()
        event = {"event": "user", "text": text, "timestamp": at}
        with self.engine.begin() as connection:
            connection.execute(insert(EVENTS).values(sender_id=sender, type_name="user", timestamp=at,
                                                     intent_name=None, action_name=None, data=json.dumps(event)))
        return at


@pytest.fixture
def store(tmp_path):
    made = ConversationStore(f"sqlite:///{tmp_path / 'conversations.db'}")
    yield made
    made.transcripts.close()
    made.engine.dispose()


def test_the_newest_event_time_of_each_conversation_is_read_in_one_query(store):
    assert store.transcripts.latest_event_times(["c1"]) == {}
    store.say("c1", "你好")
    latest = store.say("c1", "我想延期")
    other = store.say("c2", "转人工")
    assert store.transcripts.latest_event_times(["c1", "c2", "c3"]) == {"c1": latest, "c2": other}


def test_a_new_message_reaches_the_pages_of_its_conversation_only(db, store):
    drawn_with = store.say("c1", "你好")
    store.say("c2", "你好")

    async def scenario():
        live = LiveQueue(db, None, poll_seconds=0.1)
        live.conversation_marks = store.transcripts.latest_event_times
        try:
            async with live.page("c1", drawn_with) as c1, live.page("c2", None) as c2, live.page() as queue:
                assert await heard(c2) == {"what": "transcript", "conversation": "c2"}  # drawn without a mark
                assert await silent(c1)  # nothing new since it was drawn
                await asyncio.to_thread(store.say, "c1", "我想延期三个月")  # as Rasa, another process, writes it
                told = await heard(c1)
                return told, await silent(c2), await silent(queue), await silent(c1)
        finally:
            await live.stop()

    assert asyncio.run(scenario()) == ({"what": "transcript", "conversation": "c1"}, True, True, True)


def test_a_message_between_drawing_the_page_and_opening_its_stream_is_told(db, store):
    drawn_with = store.say("c1", "你好")
    store.say("c1", "还在吗")  # before the page's stream opened

    async def scenario():
        live = LiveQueue(db, None, poll_seconds=0.1)
        live.conversation_marks = store.transcripts.latest_event_times
        try:
            async with live.page("c1", drawn_with) as c1:
                return await heard(c1)
        finally:
            await live.stop()

    assert asyncio.run(scenario()) == {"what": "transcript", "conversation": "c1"}


def test_typing_travels_through_redis_to_the_pages_of_that_conversation_only(db):
    if not redis_reachable():
        pytest.skip("Redis not reachable")
    prefix = "kxtest" + uuid.uuid4().hex[:8]

    async def scenario():
        chat, web = LiveQueue(db, REDIS, prefix, poll_seconds=60), LiveQueue(db, REDIS, prefix, poll_seconds=60)
        web.typing_now = lambda conversations: set(conversations)  # never asked: Redis carries typing itself
        try:
            async with web.page("c1") as c1, web.page("c2") as c2, web.page() as queue:
                await asyncio.sleep(0.3)  # subscribed
                await asyncio.to_thread(chat.changed, "typing", "c1")  # what the chat channel's process does
                return await heard(c1), await silent(c2), await silent(queue)
        finally:
            await chat.stop()
            await web.stop()

    assert asyncio.run(scenario()) == ({"what": "typing", "conversation": "c1"}, True, True)


def test_without_redis_the_watcher_asks_the_chat_channel_who_is_typing(db):
    board = TypingBoard()

    async def scenario():
        live = LiveQueue(db, None, poll_seconds=0.1)
        live.typing_now = lambda conversations: set(board.typing_now(sorted(conversations)))
        try:
            async with live.page("c1") as c1, live.page("c2") as c2:
                assert await silent(c1, 0.3)
                board.typing("c1")
                return await heard(c1), await silent(c2, 0.3)
        finally:
            await live.stop()

    assert asyncio.run(scenario()) == ({"what": "typing", "conversation": "c1"}, True)


def test_the_channel_passes_typing_on_at_most_every_moment_and_forgets_it_soon():
    now = [100.0]
    board = TypingBoard(clock_seconds=lambda: now[0])
    assert board.typing("s1") is True
    now[0] += TYPING_EVERY_SECONDS / 2
    assert board.typing("s1") is False  # a client sending more often is not passed on more often
    assert board.typing("s2") is True  # another borrower is
    assert board.typing_now(["s1", "s2", "s3"]) == ["s1", "s2"]
    now[0] += TYPING_SECONDS
    assert board.typing_now(["s1", "s2"]) == []  # stopped typing
    assert board.typing("s1") is True
    board.stopped("s1")  # their message was sent
    assert board.typing_now(["s1"]) == []
