"""Documents in WeChat: image and file messages, fetched through WeChat's media API, with the same checks, consent
and storage as the widget's (kuanxin.evidence).

A borrower must be verified in the conversation (its tracker) and have something open to attach to. Before the first
document the consent text is sent, and nothing is fetched or stored; the borrower agrees by replying the catalogue's
`documents.consent.word` (exactly), recorded with the version and SHA-256 of the text in their language, and then
sends the document again. What was received is told as a bot message in the transcript and sent to the borrower.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.shared.core.events import BotUttered
from sanic import Sanic

from kuanxin.core import clock, texts
from kuanxin.core import policy as policies
from kuanxin.core.vocab import ConsentChannel
from kuanxin.evidence import consent, storage
from kuanxin.evidence.cleaning import Refused
from kuanxin.evidence.documents import NoConsent, Upload, accept, received_text, refusal_text, size_text
from kuanxin.evidence.sealing import Sealer
from kuanxin.evidence.targets import target_for
from kuanxin.store.db import database
from kuanxin.wechat.api import MediaTooLarge, WeChatApi, WeChatApiError, mask_openid
from kuanxin.wechat.inbound import Incoming

logger = logging.getLogger(__name__)
CHANNEL = ConsentChannel.WECHAT


def consent_words() -> dict[str, str]:
    """The reply that gives consent, in each language: the exact words the consent request names."""
    return {texts.text("documents.consent.word", language).casefold(): language for language in texts.LANGUAGES}


async def tracker_state(app: Sanic, openid: str) -> tuple[str | None, str | None]:
    """(the borrower verified in this conversation, or None; the form being filled in, or None)."""
    agent = getattr(app.ctx, "agent", None)
    tracker = await agent.tracker_store.retrieve(openid) if agent is not None else None
    if tracker is None:
        return None, None
    borrower = tracker.get_slot("borrower_id") if tracker.get_slot("verified") is True else None
    form = tracker.active_loop_name
    return (borrower if isinstance(borrower, str) and borrower else None, form if isinstance(form, str) else None)


async def record_in_transcript(app: Sanic, openid: str, text: str) -> None:
    """The assistant's message about a document, in the conversation's transcript (staff read it there)."""
    agent = getattr(app.ctx, "agent", None)
    if agent is None:
        return
    try:
        tracker = await agent.tracker_store.get_or_create_tracker(openid)
        tracker.update(BotUttered(text, metadata={"kuanxin_documents": True}))
        await agent.tracker_store.save(tracker)
    except Exception:  # noqa: BLE001 - the borrower is told anyway; the transcript misses one line
        logger.exception("could not record a document message for %s", mask_openid(openid))


async def give_consent(app: Sanic, openid: str, language: str) -> str:
    """The borrower replied the consent words: recorded for the text in their language, if they are verified."""
    borrower, _form = await tracker_state(app, openid)
    if borrower is None:
        return texts.text("documents.not_verified", language)
    shown = consent.consent_text(language)
    row = await asyncio.to_thread(consent.give, database(), borrower, shown_sha256=shown.sha256, language=language,
                                  channel=CHANNEL, conversation_id=openid, now=clock.now())
    return texts.text("documents.consent.given", language, at=f"{clock.beijing_time(row.at):%Y-%m-%d %H:%M}")


async def take_document(api: WeChatApi, app: Sanic, incoming: Incoming, language: str) -> list[str]:
    """What the borrower is told about an image or file message (the document is stored when all is well)."""
    name = incoming.name or texts.text("documents.photo_name", language)
    borrower, form = await tracker_state(app, incoming.openid)
    if borrower is None:
        return [texts.text("documents.not_verified", language)]
    db = database()
    if not await asyncio.to_thread(consent.has_consent, db, borrower):
        word = texts.text("documents.consent.word", language)
        return [consent.consent_text(language).text, texts.text("documents.consent.wechat_ask", language, word=word)]
    target = await asyncio.to_thread(target_for, db, borrower, incoming.openid, form)
    if target is None:
        return [texts.text("documents.no_request", language)]
    rules = policies.current().documents
    try:
        data = await api.download_media(incoming.media_id, rules.max_bytes)
    except MediaTooLarge:
        return [refusal_text(Refused("too_large", limit=size_text(rules.max_bytes)), name, rules, language)]
    except WeChatApiError:
        return [texts.text("documents.fetch_failed", language, name=name)]
    sent = Upload(borrower, incoming.openid, CHANNEL, target.purpose, target.reference, name, data)
    try:
        document = await asyncio.to_thread(accept, db, storage.shared(), Sealer.shared(), sent, rules, clock.now())
    except NoConsent:
        return [texts.text("documents.no_consent", language)]
    except Refused as refused:
        return [refusal_text(refused, name, rules, language)]
    said = received_text(document, name, language)
    await record_in_transcript(app, incoming.openid, said)
    return [said]


def is_consent_reply(text: Any) -> str | None:
    """The language of a reply that gives consent, or None."""
    return consent_words().get(text.strip().casefold()) if isinstance(text, str) else None
