"""Documents from the chat widget: POST /documents/status, /documents/consent and /documents/upload.

Each request carries the widget's resume credential (and the lender's token for a signed-in borrower): the same
proof that gives a browser its own conversation back (kuanxin.core.signin.ResumeKeys), so a browser can attach
documents only to its own conversation. The borrower must be verified in that conversation (its tracker in Rasa),
have consented to the keeping of documents (kuanxin.evidence.consent), and have something open to attach them to
(kuanxin.evidence.targets). An upload is refused from its Content-Length before its body is read when it is over
the policy's size. Every answer is JSON with the borrower's sentence in `text`; the conversation is told what was
received (a bot message in the transcript, through Rasa).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from kuanxin.core import clock, settings, texts
from kuanxin.core import policy as policies
from kuanxin.core.signin import ResumeKeys, borrower_from_token
from kuanxin.core.vocab import ConsentChannel
from kuanxin.evidence import consent, storage
from kuanxin.evidence.cleaning import Refused
from kuanxin.evidence.documents import (
    NoConsent,
    Upload,
    accept,
    kinds_text,
    received_text,
    refusal_text,
    shown_name,
    size_text,
)
from kuanxin.evidence.sealing import Sealer
from kuanxin.evidence.targets import target_for
from kuanxin.store.db import database
from web.console import rasa_api

logger = logging.getLogger(__name__)
router = APIRouter()
MULTIPART_SLACK = 16 * 1024  # the form's other fields and part headers around the file
MAX_FIELD = 4096  # a credential, a token, a digest
# what the widget's file picker offers (the server decides by content, whatever the picker allowed)
ACCEPT = {"jpeg": "image/jpeg,.jpg,.jpeg", "png": "image/png,.png", "pdf": "application/pdf,.pdf",
          "heic": "image/heic,image/heif,.heic,.heif"}
HEADERS = {"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"}  # the lender's page may be elsewhere
CHANNEL = ConsentChannel.WEBCHAT  # the same value as BindingChannel.WEBCHAT, which documents record


def answer(content: dict, status: int = 200) -> JSONResponse:
    return JSONResponse(content, status_code=status, headers=HEADERS)


def language_of(value: object) -> str:
    return value if isinstance(value, str) and value in texts.LANGUAGES else texts.DEFAULT_LANGUAGE


def refusal(reason: str, language: str, status: int = 200, **values: object) -> JSONResponse:
    return answer({"ok": False, "reason": reason, "text": texts.text(f"documents.{reason}", language, **values)},
                  status)


async def fields_of(request: Request, max_bytes: int = 0) -> dict[str, object] | None:
    """The form's fields (a file as UploadFile); None for anything the widget would not send."""
    try:
        form = await request.form(max_files=1 if max_bytes else 0, max_fields=10, max_part_size=MAX_FIELD)
    except Exception:  # noqa: BLE001 - python-multipart's own errors on garbage
        return None
    found: dict[str, object] = {}
    for name, value in form.multi_items():
        if isinstance(value, str) and (len(value) > MAX_FIELD or not value.isprintable()):
            return None
        found[name] = value
    return found


def session_of(fields: dict[str, object]) -> str | None:
    """The conversation this browser proves it owns, as the web chat channel would resume it."""
    token = fields.get("token") if isinstance(fields.get("token"), str) else None
    borrower = borrower_from_token(token, settings.webchat_secret()) if token else None
    return ResumeKeys(settings.webchat_secret()).session_to_resume(fields.get("resume"), borrower)


def verified_borrower(session_id: str) -> tuple[str | None, str | None]:
    try:
        return rasa_api.conversation_state(session_id)
    except rasa_api.RasaUnavailable:
        logger.warning("documents: the conversation's state could not be read")
        return None, None


def consent_offer(language: str) -> dict[str, str]:
    shown = consent.consent_text(language)
    return {"version": shown.version, "text": shown.text, "sha256": shown.sha256,
            "agree": texts.text("documents.consent.agree", language),
            "decline": texts.text("documents.consent.decline", language)}


@dataclass(frozen=True)
class Asker:
    """The browser's conversation and the borrower verified in it (form: the request form being filled in)."""
    session_id: str
    borrower: str
    form: str | None


def asker_of(fields: dict[str, object] | None, language: str) -> Asker | JSONResponse:
    """Who is asking, or the refusal: 403 for a credential that proves no conversation, 200 with the sentence for a
    conversation not verified (the widget shows it)."""
    session_id = session_of(fields) if fields is not None else None
    if session_id is None:
        return refusal("not_verified", language, 403)
    borrower, form = verified_borrower(session_id)
    if borrower is None:
        return refusal("not_verified", language)
    return Asker(session_id, borrower, form)


# Each route reads the form on the event loop; everything after it (Rasa's API, the database, image work, the
# storage) runs in the thread pool, so an upload never stalls the web app's other requests and streams.

@router.post("/documents/status")
async def status(request: Request) -> JSONResponse:
    """What the widget needs before the first upload: verified? consented (else the text to show)? limits."""
    fields = await fields_of(request)
    return await run_in_threadpool(status_of, fields, language_of((fields or {}).get("lang")))


def status_of(fields: dict[str, object] | None, language: str) -> JSONResponse:
    asker = asker_of(fields, language)
    if isinstance(asker, JSONResponse):
        return asker
    rules = policies.current().documents
    given = consent.has_consent(database(), asker.borrower)
    return answer({"ok": True, "consented": given, **({} if given else {"consent": consent_offer(language)}),
                   "accept": ",".join(ACCEPT[kind] for kind in rules.kinds), "max_bytes": rules.max_bytes,
                   "kinds": kinds_text(rules.kinds, language)})


@router.post("/documents/consent")
async def give_consent(request: Request) -> JSONResponse:
    """The borrower's answer to the consent text: recorded when given (with the digest of what was shown)."""
    fields = await fields_of(request)
    return await run_in_threadpool(record_consent, fields, language_of((fields or {}).get("lang")))


def record_consent(fields: dict[str, object] | None, language: str) -> JSONResponse:
    asker = asker_of(fields, language)
    if isinstance(asker, JSONResponse):
        return asker
    if (fields or {}).get("decision") != "given":
        return refusal("no_consent", language)  # declining records nothing: nothing is kept, nothing is asked again
    try:
        row = consent.give(database(), asker.borrower, shown_sha256=str((fields or {}).get("sha256") or ""),
                           language=language, channel=CHANNEL, conversation_id=asker.session_id, now=clock.now())
    except consent.StaleConsentText:
        return answer({"ok": False, "reason": "stale_consent", "consent": consent_offer(language)})
    at = f"{clock.beijing_time(row.at):%Y-%m-%d %H:%M}"
    return answer({"ok": True, "text": texts.text("documents.consent.given", language, at=at)})


@router.post("/documents/upload")
async def upload(request: Request) -> JSONResponse:
    language = language_of(request.query_params.get("lang"))
    name = shown_name(request.query_params.get("name") or "?")
    rules = policies.current().documents
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        return answer({"ok": False, "reason": "length_required"}, 411)
    declared = request.query_params.get("size", "")  # the widget names a file too large instead of sending it
    if int(length) > rules.max_bytes + MULTIPART_SLACK or (declared.isdigit() and int(declared) > rules.max_bytes):
        # refused before one byte of the body is read
        return answer({"ok": False, "reason": "too_large", "text": refusal_text(
            Refused("too_large", limit=size_text(rules.max_bytes)), name, rules, language)}, 413)
    fields = await fields_of(request, rules.max_bytes)
    file = (fields or {}).get("file")
    if fields is not None and not isinstance(file, UploadFile):
        return answer({"ok": False, "reason": "no_file"}, 400)
    data = await file.read(rules.max_bytes + 1) if isinstance(file, UploadFile) else b""
    name = shown_name(file.filename or name) if isinstance(file, UploadFile) else name
    return await run_in_threadpool(store_upload, fields, name, data, language)


def store_upload(fields: dict[str, object] | None, name: str, data: bytes, language: str) -> JSONResponse:
    asker = asker_of(fields, language)
    if isinstance(asker, JSONResponse):
        return asker
    db, rules = database(), policies.current().documents
    if not consent.has_consent(db, asker.borrower):
        return refusal("no_consent", language)
    target = target_for(db, asker.borrower, asker.session_id, asker.form)
    if target is None:
        return refusal("no_request", language)
    sent = Upload(asker.borrower, asker.session_id, CHANNEL, target.purpose, target.reference, name, data)
    try:
        document = accept(db, storage.shared(), Sealer.shared(), sent, rules, clock.now())
    except NoConsent:
        return refusal("no_consent", language)
    except Refused as refused:
        return answer({"ok": False, "reason": refused.reason, "text": refusal_text(refused, name, rules, language)})
    said = received_text(document, name, language)
    return answer({"ok": True, "text": said, "told": tell(asker.session_id, said)})


def tell(session_id: str, text: str) -> bool:
    """The conversation hears what was received; the widget shows the answer itself when Rasa could not be told."""
    try:
        rasa_api.tell(session_id, text)
        return True
    except rasa_api.RasaUnavailable:
        logger.warning("documents: the conversation could not be told of a document received")
        return False
