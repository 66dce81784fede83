"""Staff search (搜索): conversations and cases by reference, phone tail, borrower name or loan id, filtered by
date and status. Every lookup is one SQL query with bound parameters; nothing loops over the book in Python.
Reads are not audited; a query holding a phone or ID number is never logged.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from kuanxin.console.analytics import PROMISE_STATES
from kuanxin.console.casework import ESCALATION_STATUS, REQUEST_KINDS, REQUEST_STATUS
from kuanxin.lending.identity import mask_phone, mask_text
from kuanxin.store.accounts import utc_naive
from kuanxin.store.db import Database, database
from kuanxin.store.models import Borrower, Escalation, Loan, PaymentPromise, ServiceRequest, phone_tail

log = logging.getLogger(__name__)
MAX_QUERY = 64
LIMIT = 100
REFERENCE = re.compile(r"(RG|YQ|FQ|JM|CN)[0-9]{8}-[0-9]{4,10}")
PHONE_TAIL = re.compile(r"[0-9]{4}")
FULL_PHONE = re.compile(r"1[0-9]{10}")
Window = tuple[dt.datetime | None, dt.datetime | None]  # naive UTC: from (inclusive), to (exclusive)
MATCHED = {"reference": "编号", "phone_tail": "手机尾号", "phone": "手机号", "name": "姓名", "loan": "贷款编号"}


class SearchError(ValueError):
    """A query that cannot be searched, with a message for staff."""


@dataclass(frozen=True)
class Hit:
    kind: str  # escalation | request | promise
    reference: str
    what: str  # the staff word of what it is: 转人工, 延期还款, 还款承诺…
    borrower: str  # the name, or 未核实 when the conversation never verified
    phone: str  # masked: 138****5678
    matched: str  # 编号, 手机尾号, 手机号, 姓名, 贷款编号
    status: str  # in Chinese
    at: dt.datetime  # naive UTC
    escalation_id: int | None  # the conversation page (/console/escalations/{id}), when there is one


def clean_query(text: str | None) -> str:
    """Control and format characters out, spaces squeezed, at most MAX_QUERY characters; raises on longer."""
    text = "".join(ch for ch in (text or "") if unicodedata.category(ch)[0] != "C" or ch in " \t")
    text = " ".join(text.split())
    if len(text) > MAX_QUERY:
        raise SearchError(f"搜索内容太长了,请控制在{MAX_QUERY}个字以内。")
    return text


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Search:
    def __init__(self, db: Database | None = None):
        self.db = db or database()

    def find(self, query: str | None, *, status: str | None = None, since: dt.datetime | None = None,
             until: dt.datetime | None = None) -> list[Hit]:
        """Hits for the query, newest first. `status` is an escalation status (open, claimed, resolved): it filters
        the conversations found; `since`/`until` filter everything found by when it was created."""
        text = clean_query(query)
        # a query holding a phone or ID number is never logged, not even masked
        log.info("console search: %s", text if mask_text(text) == text else "(withheld: holds a phone or ID number)")
        if not text:
            return []
        window = (utc_naive(since) if since else None, utc_naive(until) if until else None)
        if REFERENCE.fullmatch(text.upper()):
            return self._by_reference(text.upper(), status, window)
        compact = text.replace(" ", "").replace("-", "")
        if PHONE_TAIL.fullmatch(compact):
            key, condition = "phone_tail", phone_tail(Borrower.phone) == compact  # ix_borrowers_phone_tail
        elif FULL_PHONE.fullmatch(compact):
            key, condition = "phone", Borrower.phone == compact
        else:
            loan_owner = select(Loan.borrower_id).where(Loan.id == text).scalar_subquery()
            key, condition = "name", or_(Borrower.name.like(_like(text), escape="\\"), Borrower.id == loan_owner)
        return self._escalations_of(condition, key, text, status, window)

    def _escalations_of(self, borrower_match: ColumnElement, key: str, text: str, status: str | None,
                        window: Window) -> list[Hit]:
        query = (select(Escalation, Borrower, Loan.id).join(Borrower, Escalation.borrower_id == Borrower.id)
                 .outerjoin(Loan, and_(Loan.borrower_id == Borrower.id, Loan.id == text))
                 .where(borrower_match, *_escalation_filters(status, window))
                 .order_by(Escalation.created_at.desc(), Escalation.id.desc()).limit(LIMIT))
        with self.db.session() as session:
            rows = session.execute(query).all()
        return [_escalation_hit(escalation, borrower, "loan" if key == "name" and loan_id else key)
                for escalation, borrower, loan_id in rows]

    def _by_reference(self, reference: str, status: str | None, window: Window) -> list[Hit]:
        with self.db.session() as session:
            if reference.startswith("RG"):
                row = session.execute(
                    select(Escalation, Borrower).outerjoin(Borrower, Escalation.borrower_id == Borrower.id)
                    .where(Escalation.reference == reference, *_escalation_filters(status, window))).first()
                return [_escalation_hit(row[0], row[1], "reference")] if row else []
            model = PaymentPromise if reference.startswith("CN") else ServiceRequest
            row = session.execute(
                select(model, Borrower).join(Borrower, model.borrower_id == Borrower.id)
                .where(model.reference == reference, *_within(model.created_at, window))).first()
            if row is None:
                return []
            record, borrower = row
            # its conversation's latest escalation, else the borrower's: the page where staff see both
            page = session.execute(
                select(Escalation.id).where(or_(Escalation.conversation_id == record.conversation_id,
                                                Escalation.borrower_id == record.borrower_id))
                .order_by((Escalation.conversation_id == record.conversation_id).desc(),
                          Escalation.created_at.desc()).limit(1)).scalar_one_or_none()
        if isinstance(record, PaymentPromise):
            what, state = "还款承诺", PROMISE_STATES.get(record.status, record.status)
        else:
            what, state = REQUEST_KINDS.of(record.type), REQUEST_STATUS.of(record.status)
        return [Hit(kind="promise" if isinstance(record, PaymentPromise) else "request", reference=reference,
                    what=what, borrower=borrower.name, phone=mask_phone(borrower.phone), matched=MATCHED["reference"],
                    status=state, at=record.created_at, escalation_id=page)]


def _within(column, window: Window) -> list[ColumnElement]:
    since, until = window
    return ([column >= since] if since else []) + ([column < until] if until else [])


def _escalation_filters(status: str | None, window: Window) -> list[ColumnElement]:
    return _within(Escalation.created_at, window) + ([Escalation.status == status] if status else [])


def _escalation_hit(escalation: Escalation, borrower: Borrower | None, key: str) -> Hit:
    return Hit(kind="escalation", reference=escalation.reference or "", what="转人工",
               borrower=borrower.name if borrower else "未核实",
               phone=mask_phone(borrower.phone) if borrower else "", matched=MATCHED[key],
               status=ESCALATION_STATUS.of(escalation.status), at=escalation.created_at,
               escalation_id=escalation.id)
