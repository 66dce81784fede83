"""The REST channel (development, tests, and lenders' own front ends behind their authentication).

Rasa's stock channel answers 200 with an empty list when a turn fails, drops the message when the
client disconnects while it waits for its conversation's lock, and passes any sender id and body
to the tracker store. Here:
- the body must be a JSON object with a well-formed `sender` and a text `message` (400 otherwise);
- an optional `message_id` (8-64 of A-Z a-z 0-9 _ -) makes re-sends safe: the same id is answered
  with the original answer, never handled twice;
- the turn runs to its end even if the client goes away, so nothing it said is lost;
- a turn that could not be handled answers 503 with Retry-After and a Chinese message.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request

from channels import common
from channels.common import (
    MAX_BODY_BYTES,
    RETRY_AFTER_SECONDS,
    clean_text,
    empty_message,
    valid_message_id,
    valid_sender_id,
)
from kuanxin.core import texts
from runtime.turns import ResendSafeMessage

logger = logging.getLogger(__name__)


class BadRequest(ValueError):
    """What was wrong with a request, in the words the client is told."""


def parse_body(raw: bytes) -> tuple[str, str, str | None]:
    """(sender, text, message id) of a REST message body, or BadRequest saying what is wrong."""
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(texts.text("channel.bad_request.too_large", kb=MAX_BODY_BYTES // 1024))
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(texts.text("channel.bad_request.not_json")) from None
    if not isinstance(body, dict):
        raise BadRequest(texts.text("channel.bad_request.not_json"))
    sender, text, message_id = body.get("sender"), body.get("message"), body.get("message_id")
    if not valid_sender_id(sender):
        raise BadRequest(texts.text("channel.bad_request.sender"))
    if not isinstance(text, str):
        raise BadRequest(texts.text("channel.bad_request.message"))
    if message_id is not None and not valid_message_id(message_id):
        raise BadRequest(texts.text("channel.bad_request.message_id"))
    return sender, clean_text(text), message_id


def refused(reason: str) -> response.HTTPResponse:
    message = texts.text("channel.bad_request", reason=reason)
    return response.json({"error": "bad_request", "message": message}, status=400)


def unavailable(text: str = "") -> response.HTTPResponse:
    """Busy: send it again (in the language of the message that could not be handled)."""
    return response.json({"error": "unavailable", "retry": True, "message": common.unavailable(text)}, status=503,
                         headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class RestInput(InputChannel):
    """credentials.yml: `channels.rest.RestInput:`; served at /webhooks/rest/webhook like Rasa's own."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        rest = Blueprint("custom_webhook_RestInput", __name__)

        @rest.route("/", methods=["GET"])
        async def health(_: Request) -> response.HTTPResponse:
            return response.json({"status": "ok"})

        @rest.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> response.HTTPResponse:
            try:
                sender, text, message_id = parse_body(request.body or b"")
            except BadRequest as bad:
                return refused(str(bad))
            if not text:
                return response.json([{"recipient_id": sender, "text": empty_message()}])
            collector = CollectingOutputChannel()
            kind = ResendSafeMessage if message_id else UserMessage
            message = kind(text, collector, sender, input_channel=self.name(), message_id=message_id)
            turn = asyncio.ensure_future(on_new_message(message))
            try:
                await asyncio.shield(turn)  # a client that hangs up cancels the wait, not the turn
            except asyncio.CancelledError:
                logger.info("REST client left before its answer; the turn goes on")
                raise
            except Exception:  # noqa: BLE001 - logged; the client is told to send it again
                logger.exception("REST turn failed")
                return unavailable(text)
            return response.json(collector.messages)

        return rest
