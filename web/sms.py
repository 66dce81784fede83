"""Replies to reminder SMS, forwarded by the SMS gateway: 退订 / 取消提醒 / TD stop reminders at once,
and the first one is confirmed by one SMS back (sent after the answer, so the gateway never waits on itself).

POST /sms/inbound with `Authorization: Bearer {KUANXIN_SMS_KEY}` and {"from": phone, "text": reply}.
Any well-formed reply gets 200, whether or not the phone is a borrower's, so the endpoint tells
nobody who borrows here; other replies are not read (a person answers the hotline). Anything else gets
a 4xx with a JSON reason: another content type (415), a body over 4 KB or not a JSON object of two
strings (400), strings with control characters or lone surrogates (400).
"""
from __future__ import annotations

import json
import logging

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from kuanxin.core import clock
from kuanxin.lending.identity import mask_phone
from kuanxin.reminders.optout import confirm_opt_out, is_opt_out_reply, opt_out_by_phone
from kuanxin.reminders.sms import SmsConfigError, SmsGateway, SmsSettings, sms_settings
from kuanxin.store.db import database
from web.guard import CONTROL, CONTROL_IN_TEXT, SURROGATE

logger = logging.getLogger(__name__)
router = APIRouter()
MAX_BODY = 4096  # a reply SMS is at most a few hundred characters
# a gateway may leave the type out or call JSON text; a form or XML is not what this endpoint reads
JSON_TYPES = ("", "application/json", "text/json", "text/plain")
EXPECTED = {"error": "expected JSON {\"from\": phone, \"text\": reply}"}


def well_formed(reply: object) -> bool:
    if not isinstance(reply, dict):
        return False
    sender, text = reply.get("from"), reply.get("text")
    return (isinstance(sender, str) and isinstance(text, str) and len(sender) <= 32
            and not SURROGATE.search(sender + text) and not CONTROL.search(sender)
            and not CONTROL_IN_TEXT.search(text))


@router.post("/sms/inbound", include_in_schema=False)
async def inbound(request: Request, background: BackgroundTasks) -> JSONResponse:
    try:
        settings = sms_settings()
    except SmsConfigError:
        settings = None
    if settings is None:
        return JSONResponse({"error": "SMS is not configured"}, status_code=404)
    if not settings.accepts(request.headers.get("authorization")):
        return JSONResponse({"error": "unauthorised"}, status_code=401)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in JSON_TYPES and not content_type.endswith("+json"):
        return JSONResponse({"error": "expected Content-Type application/json"}, status_code=415)
    body = await request.body()
    try:
        reply = json.loads(body.decode("utf-8")) if len(body) <= MAX_BODY else None
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: arrays nested a thousand deep
        reply = None
    if not well_formed(reply):
        return JSONResponse(EXPECTED, status_code=400)
    phone = reply["from"].removeprefix("+86").strip()
    if not is_opt_out_reply(reply["text"]):
        return JSONResponse({"opted_out": False})
    # recorded first: a failed confirmation loses nothing
    recorded = await run_in_threadpool(opt_out_by_phone, database(), phone, "sms", clock.now())
    outcome = "no borrower" if recorded is None else "recorded" if recorded.new else "already"
    logger.info("SMS opt-out from %s (%s)", mask_phone(phone), outcome)
    if recorded is not None and recorded.new:
        background.add_task(_confirm, settings, phone)
    return JSONResponse({"opted_out": True})


async def _confirm(settings: SmsSettings, phone: str) -> None:
    gateway = SmsGateway(settings)
    try:
        await confirm_opt_out(gateway, phone)
    finally:
        await gateway.close()
