"""The supervisors' audit log search (操作日志): every audit entry, filtered by who, what, which borrower and
when, newest first, a page at a time. Read-only: the console has no way to change an entry.

An entry names no borrower itself; it is theirs when its conversation is one of theirs (an escalation or an
assistant session of that borrower), or its target is one of their references (escalation, request, promise) or the
borrower number itself (the privacy commands).
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select, union
from sqlalchemy.sql.elements import ColumnElement

from kuanxin.core.vocab import AuditAction
from kuanxin.store.db import Database, database
from kuanxin.store.models import AuditEntry, ConversationSession, Escalation, PaymentPromise, ServiceRequest

PAGE_SIZE = 50
BORROWER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class AuditQuery:
    staff: str | None = None  # a login name
    action: str | None = None  # an AuditAction value
    borrower_id: str | None = None
    since: dt.datetime | None = None  # naive UTC, inclusive
    until: dt.datetime | None = None  # naive UTC, exclusive


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    total: int
    page: int  # from 1
    pages: int  # at least 1

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


class AuditLog:
    def __init__(self, db: Database | None = None):
        self.db = db or database()

    def find(self, query: AuditQuery, page: int = 1, page_size: int = PAGE_SIZE) -> AuditPage:
        """One page of the entries matching every given filter; a page past the last shows the last."""
        match = _conditions(query)
        with self.db.session() as session:
            total = session.execute(select(func.count()).select_from(AuditEntry).where(*match)).scalar_one()
            pages = max(1, math.ceil(total / page_size))
            page = min(max(1, page), pages)
            entries = list(session.execute(
                select(AuditEntry).where(*match).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                .offset((page - 1) * page_size).limit(page_size)).scalars())
        return AuditPage(entries, total, page, pages)

    def authors(self) -> list[str]:
        """Every login name (or machine author) that wrote an entry, for the filter's choices."""
        with self.db.session() as session:
            return list(session.execute(select(AuditEntry.staff).distinct().order_by(AuditEntry.staff)).scalars())


def _conditions(query: AuditQuery) -> list[ColumnElement]:
    match: list[ColumnElement] = []
    if query.staff:
        match.append(AuditEntry.staff == query.staff)
    if query.action:
        if query.action not in AuditAction.values():
            raise ValueError(f"unknown audit action {query.action!r}")
        match.append(AuditEntry.action == query.action)
    if query.borrower_id:
        match.append(_of_borrower(query.borrower_id))
    if query.since:
        match.append(AuditEntry.at >= query.since)
    if query.until:
        match.append(AuditEntry.at < query.until)
    return match


def _of_borrower(borrower_id: str) -> ColumnElement:
    conversations = union(
        select(Escalation.conversation_id).where(Escalation.borrower_id == borrower_id),
        select(ConversationSession.conversation_id).where(ConversationSession.borrower_id == borrower_id))
    references = union(
        select(Escalation.reference).where(Escalation.borrower_id == borrower_id),
        select(ServiceRequest.reference).where(ServiceRequest.borrower_id == borrower_id),
        select(PaymentPromise.reference).where(PaymentPromise.borrower_id == borrower_id))
    return or_(AuditEntry.conversation_id.in_(conversations), AuditEntry.target.in_(references),
               AuditEntry.target == borrower_id)
