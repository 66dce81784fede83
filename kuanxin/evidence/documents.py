"""Accepting a borrower's document, showing it to staff, deleting it when the policy's retention ends.

`accept` runs every check before anything is written: consent in force, size, count per request, type by content,
the policy's kinds, the image re-encode or the PDF check. Only then is the cleaned file sealed (AES-GCM) and put in
the storage under a random key, and its row and audit entry written in one transaction (the stored object is
deleted again if that fails). A refusal is `Refused` with the reason of its catalogue text."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kuanxin.core import texts
from kuanxin.core.policy import DocumentPolicy
from kuanxin.core.vocab import AuditAction, BindingChannel, DocumentKind, DocumentPurpose
from kuanxin.evidence import consent
from kuanxin.evidence.cleaning import MEDIA_TYPES, Cleaned, Refused, clean
from kuanxin.evidence.sealing import Sealer
from kuanxin.evidence.sniff import sniff
from kuanxin.evidence.storage import Storage, new_object_key
from kuanxin.store.accounts import utc_naive
from kuanxin.store.db import Database, serialize
from kuanxin.store.models import AuditEntry, Document

MAX_NAME = 80  # characters of the borrower's file name repeated back to them (never stored)


class NoConsent(Exception):
    """No consent in force: nothing was stored; the borrower is told how else to send it (documents.no_consent)."""


@dataclass(frozen=True)
class Upload:
    borrower_id: str
    conversation_id: str
    channel: BindingChannel | str
    purpose: DocumentPurpose | str
    reference: str | None  # the request or escalation it supports; None while the request is being filed
    name: str  # the file's name as the borrower sent it: repeated in answers only, proves nothing
    data: bytes


@dataclass(frozen=True)
class StoredDocument:
    public_id: str
    borrower_id: str
    conversation_id: str
    purpose: str
    reference: str | None
    kind: str
    received_kind: str
    size: int
    received_at: dt.datetime  # naive UTC
    purged: bool

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[DocumentKind(self.kind)]

    @property
    def is_image(self) -> bool:
        return self.kind != DocumentKind.PDF


def _stored(row: Document) -> StoredDocument:
    return StoredDocument(row.public_id, row.borrower_id, row.conversation_id, row.purpose, row.reference, row.kind,
                          row.received_kind, row.size, row.received_at, row.purged_at is not None)


def shown_name(name: str) -> str:
    """The file name as it may be repeated to the borrower: printable, without folders, not too long."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    printable = "".join(character for character in base if character.isprintable()).strip()
    return printable[:MAX_NAME] or "?"


def refusal_text(refused: Refused, name: str, rules: DocumentPolicy, language: str = texts.DEFAULT_LANGUAGE) -> str:
    """The borrower's sentence for a refusal, with the policy's limits filled in."""
    values: dict[str, object] = {"name": shown_name(name), "kinds": kinds_text(rules.kinds, language),
                                 **refused.values}
    return texts.text(f"documents.refused.{refused.reason}", language, None, **values)


def kinds_text(kinds: Iterable[str], language: str = texts.DEFAULT_LANGUAGE) -> str:
    return "、".join(texts.text(f"documents.kind.{kind}", language) for kind in kinds) if language == "zh" else \
        ", ".join(texts.text(f"documents.kind.{kind}", language) for kind in kinds)


def check(upload: Upload, rules: DocumentPolicy, already: int) -> Cleaned:
    """Every check on the content, in the order the borrower would want to hear of them; Refused or the clean file."""
    data = upload.data
    if len(data) > rules.max_bytes:
        raise Refused("too_large", limit=size_text(rules.max_bytes))
    if not data:
        raise Refused("empty")
    if already >= rules.max_per_request:
        raise Refused("too_many", limit=rules.max_per_request)
    found = sniff(data)
    if found.kind is None:
        raise Refused("executable" if found.executable else "unknown_type")
    if found.kind.value not in rules.kinds:
        raise Refused("kind_not_allowed", kind=texts.text(f"documents.kind.{found.kind.value}"))
    return clean(found.kind, data, rules.max_pixels)


def size_text(size: int) -> str:
    """A byte count as borrowers read it: 10MB, 2.5MB, 500KB."""
    if size >= 1024 * 1024:
        return f"{round(size / (1024 * 1024), 1):g}MB"
    return f"{max(1, round(size / 1024))}KB"


def attached_count(session: Session, upload: Upload) -> int:
    """Documents already attached to the same request (or, while it is being filed, in the same conversation)."""
    query = select(func.count(Document.id)).where(Document.borrower_id == upload.borrower_id,
                                                  Document.purpose == str(upload.purpose),
                                                  Document.purged_at.is_(None))
    query = (query.where(Document.reference == upload.reference) if upload.reference
             else query.where(Document.reference.is_(None), Document.conversation_id == upload.conversation_id))
    return int(session.execute(query).scalar_one())


def attachment_key(upload: Upload) -> str:
    """What uploads counted together serialize on (kuanxin.store.db.serialize)."""
    where = upload.reference or f"conversation:{upload.conversation_id}"
    return f"documents:{upload.borrower_id}:{upload.purpose}:{where}"


def accept(db: Database, storage: Storage, sealer: Sealer, upload: Upload, rules: DocumentPolicy,
           now: dt.datetime) -> StoredDocument:
    """Checks, seals and stores the document; NoConsent or Refused (nothing stored) otherwise."""
    purpose = DocumentPurpose(str(upload.purpose))
    with db.session() as session:
        given = consent.in_force(session, upload.borrower_id)
        consent_id = given.id if given is not None else None
    if consent_id is None:
        raise NoConsent(upload.borrower_id)
    received = sniff(upload.data[:4096]).kind
    with db.session() as session:
        cleaned = check(upload, rules, attached_count(session, upload))
    object_key = new_object_key()
    storage.put(object_key, sealer.seal(object_key, cleaned.data))
    try:
        with db.session() as session:
            # counted again where it is written: two uploads at the same instant both passed the count above
            serialize(session, attachment_key(upload))
            if attached_count(session, upload) >= rules.max_per_request:
                raise Refused("too_many", limit=rules.max_per_request)
            row = Document(public_id=secrets.token_urlsafe(24), borrower_id=upload.borrower_id,
                           conversation_id=upload.conversation_id, channel=str(upload.channel),
                           purpose=purpose.value, reference=upload.reference, kind=cleaned.kind.value,
                           received_kind=(received or cleaned.kind).value, size=len(cleaned.data),
                           sha256=hashlib.sha256(cleaned.data).hexdigest(), object_key=object_key,
                           consent_id=consent_id, received_at=utc_naive(now))
            session.add(row)
            session.add(AuditEntry(at=utc_naive(now), staff="borrower", action=AuditAction.ATTACH_DOCUMENT,
                                   conversation_id=upload.conversation_id, target=upload.reference,
                                   detail=f"{purpose.value} {row.kind} {row.size} bytes"))
            session.flush()
            return _stored(row)
    except BaseException:
        storage.delete(object_key)  # no row, no object: a failed write leaves nothing behind
        raise


def received_text(document: StoredDocument, name: str, language: str = texts.DEFAULT_LANGUAGE) -> str:
    """What the conversation is told: the file, where it was attached, and that a photo's metadata was removed."""
    what = texts.text(f"documents.purpose.{document.purpose}", language)
    key = "documents.received.cleaned" if document.is_image else "documents.received"
    return texts.text(key, language, name=shown_name(name), what=what)


def for_conversations(db: Database, conversation_ids: Iterable[str] = (), references: Iterable[str] = ()
                      ) -> list[StoredDocument]:
    """The documents of these conversations or attached to these requests, oldest first (the console's case page)."""
    conversations, refs = set(conversation_ids), {ref for ref in references if ref}
    if not conversations and not refs:
        return []
    query = select(Document).where(Document.conversation_id.in_(conversations) | Document.reference.in_(refs))
    with db.session() as session:
        return [_stored(row) for row in session.execute(query.order_by(Document.id)).scalars()]


def find(db: Database, public_id: str) -> StoredDocument | None:
    with db.session() as session:
        row = session.execute(select(Document).where(Document.public_id == public_id)).scalar_one_or_none()
        return _stored(row) if row is not None else None


class Gone(Exception):
    """No such document, or its file was deleted by the retention purge."""


def open_for_staff(db: Database, storage: Storage, sealer: Sealer, public_id: str, staff: str,
                   now: dt.datetime) -> tuple[StoredDocument, bytes]:
    """The document's content for a signed-in staff member, decrypted in memory; the view is audited first, so no
    view goes unrecorded (one that then fails to read is recorded too: it was attempted)."""
    with db.session() as session:
        row = session.execute(select(Document).where(Document.public_id == public_id)).scalar_one_or_none()
        if row is None or row.object_key is None:
            raise Gone(public_id)
        session.add(AuditEntry(at=utc_naive(now), staff=staff, action=AuditAction.VIEW_DOCUMENT,
                               conversation_id=row.conversation_id, target=row.reference,
                               detail=f"{row.purpose} {row.kind} #{row.id}"))
        document, object_key = _stored(row), row.object_key
    return document, sealer.open(object_key, storage.get(object_key))


@dataclass(frozen=True)
class Purged:
    cutoff: dt.datetime  # naive UTC: documents received before it were deleted
    count: int


def purge(db: Database, storage: Storage, rules: DocumentPolicy, now: dt.datetime, by: str,
          dry_run: bool = False) -> Purged:
    """Deletes the stored files of documents older than the policy's retention days; each row stays, marked purged,
    so a case still shows what was received and when. One audit entry records the run."""
    cutoff = utc_naive(now) - relativedelta(days=rules.retention_days)
    with db.session() as session:
        due = list(session.execute(select(Document).where(Document.received_at < cutoff,
                                                          Document.purged_at.is_(None))).scalars())
        if dry_run:
            return Purged(cutoff, len(due))
        for row in due:
            if row.object_key is not None:
                storage.delete(row.object_key)
            row.object_key, row.purged_at = None, utc_naive(now)
        session.add(AuditEntry(at=utc_naive(now), staff=by, action=AuditAction.PURGE_DOCUMENTS,
                               detail=f"{len(due)} documents received before {cutoff:%Y-%m-%d %H:%M} UTC "
                                      f"({rules.retention_days} days)"))
    return Purged(cutoff, len(due))


def delete_borrowers(db: Database, storage: Storage, borrower_id: str, now: dt.datetime) -> int:
    """A deletion request: the stored files of every document the borrower attached are deleted; the rows stay,
    marked purged, so a case still shows what was received and when. The caller audits the request."""
    with db.session() as session:
        rows = list(session.execute(select(Document).where(Document.borrower_id == borrower_id,
                                                           Document.purged_at.is_(None))).scalars())
        for row in rows:
            if row.object_key is not None:
                storage.delete(row.object_key)
            row.object_key, row.purged_at = None, utc_naive(now)
    return len(rows)
