"""The web chat channel: socket.io for the widget, with private, server-chosen sessions.

Rasa's stock socket.io channel lets any client join any session id it names and trusts the
session id and metadata in every message. Here the server picks an unguessable session id, the
browser proves it on reload with a credential only we can make (kuanxin.core.signin.ResumeKeys), and
each socket's session is kept server-side: a message is always filed under its socket's session.
A lender-signed token binds the session to a signed-in borrower, who then skips the identity check.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from socketio import AsyncRedisManager, AsyncServer

from channels.common import (
    RETRY_AFTER_SECONDS,
    clean_text,
    empty_message,
    unavailable,
    valid_message_id,
)
from kuanxin.console.live import live
from kuanxin.core import clock, language, settings
from kuanxin.core.signin import ResumeKeys, borrower_from_token
from kuanxin.core.staff_reply import staff_name
from kuanxin.store.accounts import Accounts
from runtime.turns import ResendSafeMessage

logger = logging.getLogger(__name__)

HISTORY_LIMIT = 200  # messages replayed to a reloaded page
TYPING_SECONDS = 4.0  # a borrower counts as typing this long after the widget last said so (it says so every 2 s)
TYPING_EVERY_SECONDS = 1.5  # at most one typing signal a session passes on in this time, whatever a client sends
MAX_WATCHED = 50  # conversations one typing question may name
NAMESPACE = "/"
MAX_CREDENTIAL_CHARS = 4096  # a lender token or resume credential; anything longer is not one


def same_secret(given: Any, expected: str) -> bool:
    return isinstance(given, str) and bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def plain_credential(value: Any) -> str | None:
    """A token or credential as the browser sent it, if it is printable ASCII of a sane length; else none."""
    if isinstance(value, str) and 0 < len(value) <= MAX_CREDENTIAL_CHARS and value.isascii() and value.isprintable():
        return value
    return None


HANDLED = {"ok": True}
EMPTY = {"ok": False, "retry": False}  # the answer itself arrives as a bot message


def retry(text: str) -> dict[str, Any]:
    """Send it again: the turn failed; the notice is in the language of the message that failed."""
    return {"ok": False, "retry": True, "retry_after": RETRY_AFTER_SECONDS, "text": unavailable(text)}


def widget_message(message: dict[str, Any]) -> dict[str, Any]:
    """One bot message as the widget draws it: text, quick replies, who sent it, and its language (the widget's
    own words follow it)."""
    payload: dict[str, Any] = {"text": message.get("text") or ""}
    written_in = language.written_in(payload["text"])
    if written_in:
        payload["lang"] = written_in
    buttons = message.get("buttons") or message.get("quick_replies") or []
    if buttons:
        payload["quick_replies"] = [{"title": b.get("title", ""), "payload": b.get("payload", "")}
                                    for b in buttons if isinstance(b, dict)]
    blocks = widget_blocks(message.get("custom"))
    if blocks:
        payload["blocks"] = blocks
    name = staff_name(message)
    if name:
        payload["staff"] = {"name": name}
    return payload


BLOCK_FIELDS = {  # the fields of each block type the widget draws, and of each of its rows
    "text": (("text",), ()),
    "schedule": (("caption", "columns"), ("period", "label", "day", "shown")),
    "amounts": (("title",), ("label", "shown", "note", "total")),
    "terms": (("title",), ("label", "shown", "note", "total")),  # an agreement's key terms, drawn as a card
    "pay": (("label", "url", "note"), ()),  # pay now: a button to the lender's own payment page (actions/paying.py)
}


def widget_blocks(custom: Any) -> list[dict[str, Any]]:
    """The structured parts of a message (actions/render.py Composed) the widget draws natively: only known
    block types pass, with their known fields as plain text (or a flag), so the widget never meets anything else."""
    blocks = custom.get("blocks") if isinstance(custom, dict) else None
    drawn: list[dict[str, Any]] = []
    for block in blocks if isinstance(blocks, list) else []:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCK_FIELDS or (kind == "text" and not isinstance(block.get("text"), str)):
            continue
        if kind == "pay" and not str(block.get("url") or "").startswith(("https://", "http://")):
            continue  # a link the widget opens is a web page, never a script
        fields, row_fields = BLOCK_FIELDS[kind]
        clean: dict[str, Any] = {"type": kind, **{name: plain(block.get(name)) for name in fields}}
        if row_fields:
            rows = block.get("rows") if isinstance(block.get("rows"), list) else []
            clean["rows"] = [{name: plain(row.get(name)) for name in row_fields}
                             for row in rows if isinstance(row, dict)]
        drawn.append(clean)
    return drawn


def plain(value: Any) -> Any:
    """A block's value as the widget may show it: text, a flag, or a list of texts; anything else is empty text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, list):
        return [str(item) for item in value if isinstance(item, (str, int))]
    return "" if value is None or isinstance(value, dict) else str(value)


def history_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The borrower's and the bot's messages of a conversation, oldest first, for a reloaded page."""
    history = []
    for event in events:
        if event.get("event") == "user" and event.get("text"):
            history.append({"from": "user", "text": event["text"]})
        elif event.get("event") == "bot" and event.get("text"):
            history.append({"from": "bot", **widget_message({"text": event["text"], **(event.get("data") or {})})})
    return history[-HISTORY_LIMIT:]


def shared_rooms() -> AsyncRedisManager | None:
    """With several Rasa instances, emits go through Redis so a staff reply reaches a socket on any instance."""
    url = settings.redis_url()
    return AsyncRedisManager(url, channel=f"{settings.redis_prefix()}-webchat") if url else None


class WebChatOutput(OutputChannel):
    """Sends each bot message as one event to every socket of the session (its room)."""

    @classmethod
    def name(cls) -> str:
        return "webchat"

    def __init__(self, sio: AsyncServer, bot_message_evt: str):
        self.sio, self.bot_message_evt = sio, bot_message_evt

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        if message.get("text") or message.get("custom") or message.get("buttons"):
            await self.sio.emit(self.bot_message_evt, widget_message(message), room=recipient_id,
                                namespace=NAMESPACE)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


class TypingBoard:
    """Which borrowers are typing in the web chat: only that they are, never what. Each signal is passed on to the
    console pages of that conversation through Redis (kuanxin.console.live) when configured; without Redis the
    console asks this process (GET /webhooks/webchat/typing), so the board is also kept here, for a few seconds."""

    def __init__(self, clock_seconds: Callable[[], float] = time.monotonic):
        self.clock_seconds = clock_seconds
        self._last: dict[str, float] = {}

    def typing(self, session_id: str) -> bool:
        """Notes a typing signal; False when one was passed on for this session moments ago (nothing to pass on)."""
        now = self.clock_seconds()
        if now - self._last.get(session_id, -math.inf) < TYPING_EVERY_SECONDS:
            return False
        self._last[session_id] = now
        if len(self._last) > 10_000:  # forget the borrowers who stopped typing long ago
            self._last = {sid: at for sid, at in self._last.items() if now - at < TYPING_SECONDS}
        return True

    def stopped(self, session_id: str) -> None:
        """The message was sent: no longer typing."""
        self._last.pop(session_id, None)

    def typing_now(self, session_ids: list[str]) -> list[str]:
        now = self.clock_seconds()
        return [sid for sid in session_ids if now - self._last.get(sid, -math.inf) < TYPING_SECONDS]


async def tell_console_typing(session_id: str) -> None:
    """Through Redis to every web instance's pages of this conversation; a lost signal costs only the hint."""
    if not settings.redis_url():
        return
    try:
        await asyncio.to_thread(live().changed, "typing", session_id)
    except Exception:  # noqa: BLE001 - the borrower's chat never fails for the staff's hint
        logger.warning("could not pass on a typing signal")


class AppAwareBlueprint(SocketBlueprint):
    """Remembers the Sanic app it joins, so the channel can read trackers for a reloaded page."""

    def register(self, app: Sanic, options: dict[str, Any]) -> None:
        self.ctx.app = app
        super().register(app, options)


class WebChatInput(InputChannel):
    """socket.io input for the kuanxin widget (credentials.yml: `channels.webchat.WebChatInput`)."""

    @classmethod
    def name(cls) -> str:
        return "webchat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(user_message_evt=credentials.get("user_message_evt", "user_uttered"),
                   bot_message_evt=credentials.get("bot_message_evt", "bot_uttered"),
                   socketio_path=credentials.get("socketio_path", "/socket.io"),
                   signed_in_hours=float(credentials.get("signed_in_hours", 12)))

    def __init__(self, user_message_evt: str = "user_uttered", bot_message_evt: str = "bot_uttered",
                 socketio_path: str = "/socket.io", signed_in_hours: float = 12):
        self.user_message_evt, self.bot_message_evt = user_message_evt, bot_message_evt
        self.socketio_path = socketio_path
        self.signed_in_for = dt.timedelta(hours=signed_in_hours)
        self.sio: AsyncServer | None = None
        self._accounts: Accounts | None = None
        self.typing_board = TypingBoard()

    def get_output_channel(self) -> OutputChannel | None:
        # Used for messages that do not answer a borrower's message (staff replies from the console).
        return WebChatOutput(self.sio, self.bot_message_evt) if self.sio else None

    def accounts(self) -> Accounts:
        if self._accounts is None:
            self._accounts = Accounts()
        return self._accounts

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # CORS is left to Sanic (`rasa run --cors`), as in Rasa's own channel.
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[], client_manager=shared_rooms())
        self.sio = sio
        webchat = AppAwareBlueprint(sio, self.socketio_path, "webchat_webhook", __name__)
        keys = ResumeKeys(settings.webchat_secret())

        @webchat.route("/", methods=["GET"])
        async def health(_: Request) -> response.HTTPResponse:
            return response.json({"status": "ok"})

        @webchat.route("/typing", methods=["GET"])
        async def typing_now(request: Request) -> response.HTTPResponse:
            """For the console without Redis: which of the named conversations have a borrower typing. Needs the
            token of Rasa's HTTP API, as the console's other calls do."""
            if not same_secret(request.args.get("token"), settings.rasa_token()):
                return response.json({"error": "unauthorised"}, status=401)
            asked = [c for c in request.args.getlist("conversation", [])[:MAX_WATCHED] if isinstance(c, str)]
            return response.json({"typing": self.typing_board.typing_now(asked)})

        @sio.on("user_typing", namespace=NAMESPACE)
        async def borrower_typing(sid: str, _data: Any = None) -> None:
            """The widget says the borrower is typing (never what): the console shows 对方正在输入… for a moment."""
            session_id = (await sio.get_session(sid, namespace=NAMESPACE)).get("session_id")
            if session_id and self.typing_board.typing(session_id):
                await tell_console_typing(session_id)

        @sio.on("session_request", namespace=NAMESPACE)
        async def session_request(sid: str, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            borrower_id = self.signed_in_borrower(plain_credential(data.get("token")))
            session_id = keys.session_to_resume(plain_credential(data.get("resume")), borrower_id)
            resumed = session_id is not None
            if not resumed:
                session_id = keys.new_session_id()
                if borrower_id:
                    self.bind(session_id, borrower_id)
            earlier = (await sio.get_session(sid, namespace=NAMESPACE)).get("session_id")
            if earlier and earlier != session_id:
                await sio.leave_room(sid, earlier, namespace=NAMESPACE)
            await sio.save_session(sid, {"session_id": session_id}, namespace=NAMESPACE)
            # (Rasa 3.6's own channel calls enter_room without await: with python-socketio 5.x it never joins)
            await sio.enter_room(sid, session_id, namespace=NAMESPACE)
            await sio.emit("session_confirm", {"resume": keys.credential(session_id, borrower_id),
                                               "signed_in": bool(borrower_id), "resumed": resumed},
                           room=sid, namespace=NAMESPACE)
            if resumed:
                await sio.emit("history", await self.history(webchat, session_id), room=sid, namespace=NAMESPACE)

        @sio.on(self.user_message_evt, namespace=NAMESPACE)
        async def handle_message(sid: str, data: Any) -> dict[str, Any]:
            """The return value is the socket.io acknowledgement the widget waits for before its next message."""
            session_id = (await sio.get_session(sid, namespace=NAMESPACE)).get("session_id")
            if not session_id:
                return {"ok": False, "retry": False, "text": ""}  # skipped session_request: nowhere to file it
            self.typing_board.stopped(session_id)
            text = data.get("message") if isinstance(data, dict) else None
            text = clean_text(text) if isinstance(text, str) else ""
            output = WebChatOutput(sio, self.bot_message_evt)
            if not text:
                await output.send_text_message(session_id, empty_message())
                return EMPTY
            message_id = data.get("message_id")
            return await self.answer(on_new_message, output, session_id, text,
                                     message_id if valid_message_id(message_id) else None)

        return webchat

    def signed_in_borrower(self, token: Any) -> str | None:
        """The borrower a valid lender token names, if they are in our records; otherwise nobody."""
        borrower_id = borrower_from_token(token, settings.webchat_secret())
        if borrower_id is None:
            return None
        try:
            return borrower_id if self.accounts().borrower_profile(borrower_id) else None
        except Exception:  # noqa: BLE001 - the borrower can still verify by phone and ID
            logger.exception("could not look up a signed-in borrower")
            return None

    def bind(self, session_id: str, borrower_id: str) -> None:
        now = clock.now()
        self.accounts().bind_sender(sender_id=session_id, channel=self.name(), borrower_id=borrower_id,
                                    now=now, expires_at=now + self.signed_in_for)

    async def answer(self, on_new_message: Callable[[UserMessage], Awaitable[Any]], output: WebChatOutput,
                     session_id: str, text: str, message_id: str | None = None) -> dict[str, Any]:
        await self.typing(output, session_id, True)
        # client metadata is never passed on: nothing a browser says can vouch for a borrower
        kind = ResendSafeMessage if message_id else UserMessage
        message = kind(text, output, session_id, input_channel=self.name(), message_id=message_id)
        try:
            await asyncio.shield(asyncio.ensure_future(on_new_message(message)))  # a closed tab ends no turn
            return HANDLED
        except Exception:  # noqa: BLE001 - the widget shows the notice and sends the message again
            logger.exception("web chat turn failed")
            return retry(text)
        finally:
            await self.typing(output, session_id, False)

    @staticmethod
    async def typing(output: WebChatOutput, session_id: str, on: bool) -> None:
        try:
            await output.sio.emit("bot_typing", {"typing": on}, room=session_id, namespace=NAMESPACE)
        except Exception:  # noqa: BLE001 - a missing typing dot is no reason to lose the turn's answer
            logger.warning("could not show the typing indicator")

    @staticmethod
    async def history(webchat: AppAwareBlueprint, session_id: str) -> list[dict[str, Any]]:
        agent = getattr(getattr(webchat.ctx, "app", None), "ctx", None)
        agent = getattr(agent, "agent", None)
        if agent is None:
            return []
        try:
            tracker = await agent.tracker_store.retrieve(session_id)
        except Exception:  # noqa: BLE001 - a page without history is better than no chat
            logger.exception("could not read the conversation for a reloaded page")
            return []
        return history_of([event.as_dict() for event in tracker.events]) if tracker else []
