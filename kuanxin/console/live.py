"""The live queue: every open console page hears when the queue changed (a new escalation, a claim, an assignment,
a resolution, a colleague's decision) and redraws without a reload.

Two sources, one signal:
- a change made through this console is announced at once: through Redis pub/sub when KUANXIN_REDIS_URL is set, so
  every instance hears it, else to this process's pages only;
- each process also watches the account database's high-water mark (the newest escalation and audit entry) every
  few seconds (policy.yml console.live_poll_seconds), which catches what other processes write (the action server
  opening escalations) and other instances when there is no Redis.
A page asks for the queue again when told; what it shows is always read from the database.

A conversation page also names its conversation, and hears two things only about it:
- `transcript`: the conversation store moved on (a borrower's message, the assistant's answer, a colleague's reply),
  found by watching each watched conversation's newest event time every live_poll_seconds (`conversation_marks`,
  given by the web app: the tracker store's table, or Rasa's HTTP API when Rasa keeps conversations in memory);
- `typing`: the borrower is typing in the web chat (never what they type). The chat channel publishes it through
  Redis; without Redis the watcher asks the chat channel (`typing_now`, given by the web app).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Collection

import redis
import redis.asyncio as aioredis
from sqlalchemy import func, select

from kuanxin.core import policy, settings
from kuanxin.store.db import Database, database
from kuanxin.store.models import AuditEntry, Escalation

log = logging.getLogger(__name__)
CHANNEL = "console-queue"
BACKLOG = 16  # signals kept for a slow page; older ones are dropped (the next one redraws it all anyway)
ABOUT_ONE_CONVERSATION = ("transcript", "typing")  # heard only by the pages of the conversation they name
ConversationMarks = Callable[[Collection[str]], dict[str, float]]  # conversation id -> its newest event time
TypingNow = Callable[[Collection[str]], set[str]]  # of these conversations, those whose borrower is typing


class Watching:
    """What one conversation page is shown: its conversation and the newest event time it has seen."""

    def __init__(self, conversation: str, seen: float | None):
        self.conversation, self.seen = conversation, seen


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
        self._watching: dict[asyncio.Queue, Watching] = {}  # conversation pages
        self.conversation_marks: ConversationMarks | None = None
        self.typing_now: TypingNow | None = None  # asked only without Redis, which carries typing itself
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task] = []

    @contextlib.asynccontextmanager
    async def page(self, conversation: str | None = None, seen: float | None = None) -> AsyncIterator[asyncio.Queue]:
        """One open page: signals arrive on the queue until it leaves. The first page of the process waits for the
        database's mark to be read, so a change made as it opens is not taken for the starting point. A conversation
        page names its conversation and the newest event time it was drawn with (`seen`), so a message that came
        between drawing the page and opening its stream is still told."""
        await self._start()
        signals: asyncio.Queue = asyncio.Queue(BACKLOG)
        self._pages.add(signals)
        if conversation:
            self._watching[signals] = Watching(conversation, seen)
        try:
            yield signals
        finally:
            self._pages.discard(signals)
            self._watching.pop(signals, None)

    def changed(self, what: str, conversation: str | None = None) -> None:
        """Called (from any thread) after a change is committed: every page everywhere hears it (only the pages of
        `conversation`, for what is about one conversation alone: ABOUT_ONE_CONVERSATION)."""
        message = {"what": what, **({"conversation": conversation} if conversation else {})}
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
        pages = list(self._pages)
        if message.get("what") in ABOUT_ONE_CONVERSATION:
            pages = [page for page, watching in list(self._watching.items())
                     if watching.conversation == message.get("conversation")]
        for signals in pages:
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
        self._tasks.append(asyncio.create_task(self._watch_conversations()))
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
            if mark != last:  # also after an unreadable start: a redraw too many is harmless, one missed is not
                self._tell({"what": "queue"})
            last = mark

    async def _watch_conversations(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            watched = {watching.conversation for watching in list(self._watching.values())}
            if not watched:
                continue
            await self._look_at(watched)

    async def _look_at(self, watched: set[str]) -> None:
        """Tells each conversation page whose conversation moved on since it last looked; and, without Redis, the
        pages of a borrower who is typing."""
        marks, typing = await asyncio.gather(self._ask(self.conversation_marks, watched, {}),
                                             self._ask(None if self.redis_url else self.typing_now, watched, set()))
        for page, watching in list(self._watching.items()):
            mark = marks.get(watching.conversation)
            if mark is not None and mark != watching.seen:
                watching.seen = mark
                with contextlib.suppress(asyncio.QueueFull):
                    page.put_nowait({"what": "transcript", "conversation": watching.conversation})
        for conversation in typing:
            self._tell({"what": "typing", "conversation": conversation})

    @staticmethod
    async def _ask(source, watched: set[str], nothing):
        if source is None:
            return nothing
        try:
            return await asyncio.to_thread(source, watched)
        except Exception as exc:  # noqa: BLE001 - an unreachable store must not end the watcher
            log.warning("live conversations: %s unreadable (%s)", getattr(source, "__name__", "source"),
                        type(exc).__name__)
            return nothing

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
