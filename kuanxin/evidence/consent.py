"""The separate consent to keep sensitive personal information (个人信息保护法 Arts. 28-30) before the first
document is stored, and its withdrawal: append-only rows (document_consents), the latest of a borrower in force.

The text shown is the catalogue's `documents.consent.<version>` with the policy's values filled in; the row records
the version and the SHA-256 of the text exactly as shown, and a consent is taken only for the text in force now
(the client hands back the digest of what it showed), so nobody is held to words they were not shown."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kuanxin.core import policy as policies
from kuanxin.core import texts
from kuanxin.core.vocab import AuditAction, ConsentChannel, ConsentDecision
from kuanxin.store.accounts import utc_naive
from kuanxin.store.db import Database
from kuanxin.store.models import AuditEntry, DocumentConsent

VERSION = "documents.consent.v1"  # a new wording gets a new key, so every recorded version can be shown again


class StaleConsentText(Exception):
    """The digest handed back is not that of the consent text in force: show the text again."""


@dataclass(frozen=True)
class ConsentText:
    version: str
    language: str
    text: str
    sha256: str


def consent_text(language: str = texts.DEFAULT_LANGUAGE, policy: policies.Policy | None = None) -> ConsentText:
    policy = policy or policies.current()
    shown = texts.text(VERSION, language, policy, retention_days=policy.documents.retention_days)
    return ConsentText(VERSION, language if language in texts.LANGUAGES else texts.DEFAULT_LANGUAGE, shown,
                       hashlib.sha256(shown.encode("utf-8")).hexdigest())


def latest(session: Session, borrower_id: str) -> DocumentConsent | None:
    newest = select(func.max(DocumentConsent.id)).where(DocumentConsent.borrower_id == borrower_id)
    return session.execute(select(DocumentConsent).where(DocumentConsent.id == newest.scalar_subquery())
                           ).scalar_one_or_none()


def in_force(session: Session, borrower_id: str) -> DocumentConsent | None:
    """The consent the borrower's documents may be stored under now, or None (never asked, or withdrawn)."""
    row = latest(session, borrower_id)
    return row if row is not None and row.decision == ConsentDecision.GIVEN else None


def has_consent(db: Database, borrower_id: str) -> bool:
    with db.session() as session:
        return in_force(session, borrower_id) is not None


def give(db: Database, borrower_id: str, *, shown_sha256: str, language: str, channel: ConsentChannel | str,
         conversation_id: str | None, now: dt.datetime, policy: policies.Policy | None = None) -> DocumentConsent:
    """Records the consent to the text whose digest the client showed; StaleConsentText when it is not the one in
    force (the policy's retention days or the wording changed since it was shown)."""
    shown = consent_text(language, policy)
    if shown_sha256 != shown.sha256:
        raise StaleConsentText(shown.version)
    return _record(db, borrower_id, ConsentDecision.GIVEN, shown, channel, conversation_id, now)


def withdraw(db: Database, borrower_id: str, *, language: str, channel: ConsentChannel | str,
             conversation_id: str | None, now: dt.datetime, by: str = "borrower",
             policy: policies.Policy | None = None) -> DocumentConsent:
    """From now on no new document is stored; what was stored stays until deleted on request or by retention.
    `by` is who recorded it: the borrower themself, or the member of staff they asked (channel staff)."""
    return _record(db, borrower_id, ConsentDecision.WITHDRAWN, consent_text(language, policy), channel,
                   conversation_id, now, by)


def _record(db: Database, borrower_id: str, decision: ConsentDecision, shown: ConsentText,
            channel: ConsentChannel | str, conversation_id: str | None, now: dt.datetime,
            by: str = "borrower") -> DocumentConsent:
    with db.session() as session:
        row = DocumentConsent(borrower_id=borrower_id, decision=decision.value, text_version=shown.version,
                              text_sha256=shown.sha256, language=shown.language, channel=str(channel),
                              conversation_id=conversation_id, at=utc_naive(now))
        session.add(row)
        session.add(AuditEntry(at=utc_naive(now), staff=by, action=AuditAction.DOCUMENT_CONSENT,
                               conversation_id=conversation_id, target=borrower_id,
                               detail=f"{decision.value} {shown.version} sha256={shown.sha256[:16]}"))
        session.flush()
        return row
