"""What the account database holds about one borrower, what a deletion request changes there, and which
conversations must stay whole while a dispute or complaint about them is open.

A borrower's records are found table by table of the models, so a table added later is covered without an
edit here: a row is theirs when it names them (borrower_id), one of their loans (loan_id), one of their
conversations (conversation_id), their phone number, or, for an audit entry, one of their references.
Staff accounts and sessions are never a borrower's.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Table, and_, delete, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from kuanxin.core.vocab import AuditAction, EscalationReason, EscalationStatus
from kuanxin.store.db import Database
from kuanxin.store.models import Base

TABLES = Base.metadata.tables
NOT_THE_BORROWERS = frozenset({"staff_members", "staff_sessions"})
# an open dispute of the debt or complaint about collection: its conversations are evidence, kept whole
OPEN_CASE_REASONS = (EscalationReason.DISPUTE.value, EscalationReason.COLLECTION_ABUSE.value)
OPEN_CASE_STATUSES = (EscalationStatus.OPEN.value, EscalationStatus.CLAIMED.value)
# Free text written by or about the borrower in records the lender keeps: a deletion replaces it.
FREE_TEXT = {"service_requests": ("reason", "decision_reason"), "escalations": ("summary", "outcome"),
             "conversation_notes": ("text",), "audit_entries": ("detail",), "safety_flags": ("clear_note",),
             "satisfaction_comments": ("comment",)}
# links to the borrower nothing needs kept: a deletion removes them (a channel no longer vouches for them)
REMOVED = ("sender_bindings", "identity_pending_phones")
PRIVACY_ACTIONS = (AuditAction.PRIVACY_EXPORT.value, AuditAction.PRIVACY_DELETE.value,
                   AuditAction.PRIVACY_RETENTION.value)


class Subject:
    """One borrower as the database knows them: their row, loans, conversations and references."""

    def __init__(self, connection: Connection, borrower: dict[str, Any]):
        self.id, self.phone = borrower["id"], borrower["phone"]
        self.borrower = borrower
        self.loans = set(connection.execute(
            select(TABLES["loans"].c.id).where(TABLES["loans"].c.borrower_id == self.id)).scalars())
        self.conversations = conversations_of(connection, self.id, self.phone)
        self.references = {self.id} | _references(connection, self.id)

    def owns(self, table: Table) -> ColumnElement | None:
        """The condition selecting this borrower's rows of `table` (None: the table holds none of theirs)."""
        if table.name in NOT_THE_BORROWERS | {"borrowers"}:
            return None
        columns, found = table.c, []
        if "borrower_id" in columns:
            found.append(columns.borrower_id == self.id)
        if "loan_id" in columns:  # in_(()) selects nothing, so a table of theirs is listed even when empty
            found.append(columns.loan_id.in_(sorted(self.loans)))
        if "conversation_id" in columns:
            found.append(columns.conversation_id.in_(sorted(self.conversations)))
        if "phone" in columns:
            found.append(columns.phone == self.phone)
        if table.name == "audit_entries":
            found.append(columns.target.in_(sorted(self.references)))
        return or_(*found) if found else None


def subject(connection: Connection, borrower_id: str) -> Subject | None:
    row = connection.execute(select(TABLES["borrowers"]).where(TABLES["borrowers"].c.id == borrower_id)).mappings()
    borrower = row.first()
    return Subject(connection, dict(borrower)) if borrower else None


def conversations_of(connection: Connection, borrower_id: str, phone: str | None = None) -> set[str]:
    """Every conversation known to be the borrower's: recorded with them (sessions, requests, promises,
    escalations, safety flags), bound to them, or where their phone number passed the identity check."""
    found: set[str] = set()
    for table in TABLES.values():
        if "borrower_id" in table.c and "conversation_id" in table.c:
            found |= set(connection.execute(select(table.c.conversation_id).where(
                table.c.borrower_id == borrower_id, table.c.conversation_id.isnot(None))).scalars())
    bindings = TABLES["sender_bindings"]
    found |= set(connection.execute(select(bindings.c.sender_id)
                                    .where(bindings.c.borrower_id == borrower_id)).scalars())
    if phone:
        attempts = TABLES["identity_attempts"]
        found |= set(connection.execute(select(attempts.c.conversation_id).where(
            attempts.c.phone == phone, attempts.c.succeeded.is_(True))).scalars())
    return found


def _references(connection: Connection, borrower_id: str) -> set[str]:
    found: set[str] = set()
    for table in TABLES.values():
        if "reference" in table.c and "borrower_id" in table.c:
            found |= set(connection.execute(select(table.c.reference).where(
                table.c.borrower_id == borrower_id, table.c.reference.isnot(None))).scalars())
    return found


def records_of(db: Database, borrower_id: str) -> tuple[Subject, dict[str, list[dict[str, Any]]]] | None:
    """The borrower and every row of theirs, by table (as stored; the caller masks what it shows)."""
    with db.engine.connect() as connection:
        person = subject(connection, borrower_id)
        if person is None:
            return None
        records: dict[str, list[dict[str, Any]]] = {"borrowers": [person.borrower]}
        for table in Base.metadata.sorted_tables:
            owns = person.owns(table)
            if owns is not None:
                rows = connection.execute(select(table).where(owns).order_by(*table.primary_key.columns))
                records[table.name] = [dict(row) for row in rows.mappings()]
    return person, records


def _open_cases(connection: Connection, *about: ColumnElement) -> list[dict[str, Any]]:
    """Open disputes and collection complaints (any of `about`, when given), oldest first."""
    escalations = TABLES["escalations"]
    query = (select(escalations.c.reference, escalations.c.conversation_id, escalations.c.borrower_id)
             .where(escalations.c.reason.in_(OPEN_CASE_REASONS), escalations.c.status.in_(OPEN_CASE_STATUSES))
             .order_by(escalations.c.created_at, escalations.c.id))
    if about:
        query = query.where(or_(*about))
    return [dict(row) for row in connection.execute(query).mappings()]


def open_cases_of(db: Database, borrower_id: str) -> list[str]:
    """References of the open disputes and collection complaints by or about this borrower."""
    escalations = TABLES["escalations"]
    with db.engine.connect() as connection:
        person = subject(connection, borrower_id)
        about = [escalations.c.borrower_id == borrower_id]
        if person is not None and person.conversations:
            about.append(escalations.c.conversation_id.in_(sorted(person.conversations)))
        return [case["reference"] or "" for case in _open_cases(connection, *about)]


def conversations_held(db: Database) -> dict[str, str]:
    """Conversation -> the open dispute or complaint that keeps it whole: the case's own conversation and,
    when the borrower is known, every conversation of theirs (the debt's history is the evidence)."""
    held: dict[str, str] = {}
    with db.engine.connect() as connection:
        for case in _open_cases(connection):
            reference = case["reference"] or ""
            held.setdefault(case["conversation_id"], reference)
            person = subject(connection, case["borrower_id"]) if case["borrower_id"] else None
            for conversation in person.conversations if person else ():
                held.setdefault(conversation, reference)
    return held


def anonymise_records(db: Database, borrower_id: str, placeholder: str) -> dict[str, int]:
    """A deletion request in the account database: free text replaced by `placeholder`, bindings and
    waiting phone numbers removed; the records themselves stay. Rows changed, by table; twice changes nothing."""
    changed: dict[str, int] = {}
    with db.engine.begin() as connection:
        person = subject(connection, borrower_id)
        if person is None:
            return changed
        for name, columns in FREE_TEXT.items():
            table, owns = TABLES[name], person.owns(TABLES[name])
            if owns is None:
                continue
            if name == "audit_entries":  # what the privacy commands recorded names no one's free text
                owns = and_(owns, table.c.action.notin_(PRIVACY_ACTIONS))
            for column in columns:
                done = connection.execute(update(table).where(owns, table.c[column].isnot(None),
                                                              table.c[column] != placeholder)
                                          .values({column: placeholder}))
                changed[f"{name}.{column}"] = done.rowcount
        for name in REMOVED:
            owns = person.owns(TABLES[name])
            if owns is not None:
                changed[name] = connection.execute(delete(TABLES[name]).where(owns)).rowcount
    return changed
