"""The WeChat Official Account channel (服务号): WeChat pushes to /webhooks/wechat/webhook.

WeChat waits 5 seconds for an answer and then pushes the same message again, so every push is
checked (kuanxin.wechat.inbound), acknowledged at once with "success", and its turn runs in the
background; the answer goes out through the customer-service message API. Retries are recognised
(kuanxin.wechat.inbox) so a message makes exactly one turn, and each borrower's turns run in order.
The sender id is the OpenID; after an identity check in WeChat the OpenID is bound to the borrower.
Settings come from KUANXIN_WECHAT_* (kuanxin.wechat.config); with none set the channel is off.
"""
from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request

from channels import wechat_documents
from channels.common import RETRY_AFTER_SECONDS, clean_text, language_of_text
from kuanxin.core import texts
from kuanxin.core.settings import redis_prefix, redis_url
from kuanxin.store.accounts import Accounts
from kuanxin.wechat.api import OutsideServiceWindow, WeChatApi, WeChatApiError, mask_openid
from kuanxin.wechat.config import WeChatSettings, settings_from_env
from kuanxin.wechat.inbound import Inbound, Incoming, Refused
from kuanxin.wechat.inbox import SerialQueues, seen_messages
from kuanxin.wechat.render import buttons_of, choice_payload, render_turn
from runtime.health import failing_now
from runtime.turns import ResendSafeMessage

logger = logging.getLogger(__name__)

MAX_CHOICE_CHARS = 12  # longer replies are sentences, not a pick from the last choices


class WeChatOutput(OutputChannel):
    """Sends through the customer-service API; used for staff replies from the console."""

    @classmethod
    def name(cls) -> str:
        return "wechat"

    def __init__(self, api: WeChatApi):
        self.api = api

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        await send_all(self.api, recipient_id, render_turn([message]))

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


async def send_all(api: WeChatApi, openid: str, texts: list[str]) -> None:
    """Sends the texts in order; stops at the first refusal (the rest would be refused too)."""
    for text in texts:
        try:
            await api.send_text(openid, text)
        except OutsideServiceWindow:
            return  # logged by the client; the borrower will see the answer in the next conversation
        except WeChatApiError:
            logger.error("undelivered WeChat answer to %s", mask_openid(openid))
            return


class WeChatInput(InputChannel):
    """credentials.yml: `channels.wechat.WeChatInput:`, no keys (the settings are secrets, from the environment)."""

    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(settings_from_env())  # a bad setting raises WeChatConfigError with the variable's name

    def __init__(self, settings: WeChatSettings | None):
        self.settings = settings
        self.inbound = Inbound(settings) if settings else None
        self.api = WeChatApi(settings) if settings else None
        self.seen = seen_messages(redis_url(), redis_prefix())
        self.queues = SerialQueues()
        self._accounts: Accounts | None = None

    def get_output_channel(self) -> OutputChannel | None:
        return WeChatOutput(self.api) if self.api else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        wechat = Blueprint("wechat_webhook", __name__)

        @wechat.route("/", methods=["GET"])
        async def health(_: Request) -> response.HTTPResponse:
            return response.json({"status": "ok" if self.settings else "not configured"})

        @wechat.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> response.HTTPResponse:
            if self.inbound is None:
                return response.text("WeChat is not configured", status=404)
            try:
                return response.text(self.inbound.verify_url(_query(request)))
            except Refused as refused:
                logger.warning("WeChat URL check refused: %s", refused)
                return response.text("", status=refused.status)

        @wechat.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> response.HTTPResponse:
            if self.inbound is None:
                return response.text("WeChat is not configured", status=404)
            try:
                incoming = self.inbound.read(_query(request), request.body or b"")
            except Refused as refused:
                logger.warning("WeChat push refused: %s", refused)
                return response.text("", status=refused.status)
            if incoming is not None and await failing_now(request.app):
                # not acknowledged: WeChat pushes the message again in a few seconds, when it may be handled
                logger.warning("WeChat push not taken: the instance is not ready")
                return response.text("", status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
            # claim() is atomic (in this event loop, or in Redis): concurrent retries cannot both pass
            if incoming is not None and await self.seen.claim(incoming.dedup_key):
                self.queues.submit(incoming.openid, functools.partial(self.take_turn, incoming, on_new_message,
                                                                      request.app))
            return response.text("success")

        return wechat

    def accounts(self) -> Accounts:
        if self._accounts is None:
            self._accounts = Accounts()
        return self._accounts

    async def take_turn(self, incoming: Incoming, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                        app: Sanic) -> None:
        assert self.api is not None
        if incoming.kind == "unsubscribe":
            # the borrower left the account: nobody who inherits the OpenID's chat should be vouched for
            await asyncio.to_thread(self.accounts().unbind_sender, incoming.openid)
            return
        if incoming.kind in ("image", "file"):  # a document: checked, consented, stored (channels/wechat_documents)
            language = await self.conversation_language(app, incoming.openid)
            await send_all(self.api, incoming.openid,
                           await wechat_documents.take_document(self.api, app, incoming, language))
            return
        text = clean_text(incoming.text)
        agreeing = wechat_documents.is_consent_reply(text)
        if agreeing:
            await send_all(self.api, incoming.openid, [await wechat_documents.give_consent(app, incoming.openid,
                                                                                           agreeing)])
            return
        if not text:
            language = await self.conversation_language(app, incoming.openid)
            key = "channel.wechat.unsupported" if incoming.kind == "unsupported" else "channel.wechat.unheard"
            await send_all(self.api, incoming.openid, [texts.text(key, language)])
            return
        text = await self.picked_choice(app, incoming.openid, text) or text
        collector = CollectingOutputChannel()
        # WeChat's retries of one push share its key: an instance that takes over a retry answers it once
        message = ResendSafeMessage(text, collector, incoming.openid, input_channel=self.name(),
                                    message_id=message_id_of(incoming.dedup_key))
        try:
            await on_new_message(message)
        except Exception:  # noqa: BLE001 - nothing was recorded: the borrower is told to send it again
            logger.exception("WeChat turn failed for %s", mask_openid(incoming.openid))
            collector.messages = [{"text": texts.text("channel.unavailable", language_of_text(text))}]
        language = await self.conversation_language(app, incoming.openid)
        await send_all(self.api, incoming.openid, render_turn(collector.messages, language))

    @staticmethod
    async def conversation_language(app: Sanic, openid: str) -> str:
        """The language the conversation is answered in (its `language` slot, runtime/language.py)."""
        agent = getattr(app.ctx, "agent", None)
        try:
            tracker = await agent.tracker_store.retrieve(openid) if agent is not None else None
        except Exception:  # noqa: BLE001 - the texts are then in the default language
            logger.exception("could not read the language of %s", mask_openid(openid))
            tracker = None
        language = tracker.get_slot("language") if tracker is not None else None
        return language if language in texts.LANGUAGES else texts.DEFAULT_LANGUAGE

    @staticmethod
    async def picked_choice(app: Sanic, openid: str, text: str) -> str | None:
        """The payload of a choice the borrower answered by number or title (the choices are in the tracker)."""
        agent = getattr(app.ctx, "agent", None)
        if len(text) > MAX_CHOICE_CHARS or agent is None:
            return None
        try:
            tracker = await agent.tracker_store.retrieve(openid)
        except Exception:  # noqa: BLE001 - without the choices the text still goes to the assistant
            logger.exception("could not read the last choices of %s", mask_openid(openid))
            return None
        return choice_payload(text, last_choices(tracker.events if tracker else []))


def last_choices(events) -> list[dict[str, str]]:
    """The buttons the assistant offered since the borrower last spoke."""
    for event in reversed(list(events)):
        kind = getattr(event, "type_name", None)
        if kind == "user":
            return []
        if kind == "bot" and buttons_of(event.data or {}):
            return buttons_of(event.data or {})
    return []


def message_id_of(dedup_key: str) -> str:
    """A stable message id for a push (its key holds the OpenID, so it is hashed, not stored)."""
    return "wx-" + hashlib.sha256(dedup_key.encode()).hexdigest()[:40]


def _query(request: Request) -> dict[str, str]:
    return {key: values[0] for key, values in request.args.items() if values}
