"""Borrowers' documents in the console: GET /console/documents/{id}, for signed-in staff only.

The id is the document's random public id (no reference, borrower or sequence in it). The stored file is read,
decrypted in memory and sent with no-store; nothing is ever written in the clear or served from the storage itself.
Every view is an audit entry (view_document), written before the content is sent. Images are shown inline on the
case page, PDFs open in the browser's own viewer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from kuanxin.console.casework import Casework
from kuanxin.core import clock
from kuanxin.core.vocab import ConsentChannel
from kuanxin.evidence import consent, storage
from kuanxin.evidence.documents import Gone, StoredDocument, for_conversations, open_for_staff
from kuanxin.evidence.sealing import Sealer, Unreadable
from kuanxin.evidence.storage import Missing
from kuanxin.store.db import database
from web.console.auth import require_form, require_staff

router = APIRouter(prefix="/console")
PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
HEADERS = {"Cache-Control": "no-store, private", "Pragma": "no-cache", "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


def file_name(document: StoredDocument) -> str:
    return f"{document.purpose}-{document.received_at:%Y%m%d-%H%M%S}.{document.kind}"


@router.get("/documents/{public_id}")
async def show_document(request: Request, public_id: str, session=Depends(require_staff)) -> Response:
    staff, _csrf = session
    from web.console.routes import page  # the console's error page (routes imports much; keep this one light)
    if not PUBLIC_ID.fullmatch(public_id):
        return page(request, "error.html", staff, None, 404, message="找不到这份材料。")
    try:
        document, content = await run_in_threadpool(open_for_staff, database(), storage.shared(), Sealer.shared(),
                                                    public_id, staff.username, clock.now())
    except Gone:
        return page(request, "error.html", staff, None, 404, message="找不到这份材料,或已按保存期限删除。")
    except (Missing, Unreadable):
        return page(request, "error.html", staff, None, 500, message="这份材料无法读取,请联系技术支持。")
    headers = {**HEADERS, "Content-Disposition": f'inline; filename="{file_name(document)}"'}
    if document.is_image:
        headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return Response(content, media_type=document.media_type, headers=headers)


@dataclass(frozen=True)
class CaseDocuments:
    """What the case page shows of documents: those of the conversation and of the borrower's requests (attached in
    another conversation too), and the borrower's consent in force."""
    items: list[StoredDocument]
    borrower_id: str | None
    consent_at: str | None  # Beijing time of the consent in force; None: none
    consent_version: str | None


def case_documents(accounts, escalation, borrower) -> CaseDocuments:
    references = [r.reference for r in accounts.requests_of(borrower.id)] if borrower else []
    items = for_conversations(accounts.db, [escalation.conversation_id], [escalation.reference, *references])
    given = None
    if borrower is not None:
        with accounts.db.session() as session:
            row = consent.in_force(session, borrower.id)
            given = (f"{clock.beijing_time(row.at):%Y-%m-%d %H:%M}", row.text_version) if row is not None else None
    return CaseDocuments(items, borrower.id if borrower else None, *(given or (None, None)))


@router.post("/documents/withdraw-consent/{escalation_id}")
def withdraw_consent(request: Request, escalation_id: int, signed=Depends(require_form)) -> Response:
    """A borrower asked a person (the hotline, a conversation with staff) to withdraw their document consent."""
    from web.console.routes import page, see
    staff, csrf, _form = signed
    escalation = Casework().escalation(escalation_id)
    if escalation is None or not escalation.borrower_id:
        return page(request, "error.html", staff, csrf, 404, message="找不到这条转人工记录。")
    consent.withdraw(database(), escalation.borrower_id, language="zh", channel=ConsentChannel.STAFF,
                     conversation_id=escalation.conversation_id, now=clock.now(), by=staff.username)
    return see(f"/console/escalations/{escalation_id}")
