"""The book of accounts read in batches for classifying it: every borrower with their loans and schedules.

Read as plain rows, not ORM objects: the classification only reads attributes, and building a million
borrowers' fourteen million ORM objects cost more than classifying them (kuanxin/store/classes.py).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select

from kuanxin.core.policy import SegmentPolicy
from kuanxin.lending.segments import AccountSegment, classify
from kuanxin.store.db import Database
from kuanxin.store.models import Borrower, Loan, ScheduleRow

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Row
    from sqlalchemy.orm import Session

BATCH = 500  # borrowers loaded at a time: memory stays flat however large the book is


class LoanRows:
    """A loan's row with its schedule's rows: what kuanxin.lending.overdue reads of a Loan."""

    __slots__ = ("_row", "schedule")

    def __init__(self, row: Row, schedule: list[Row]):
        self._row, self.schedule = row, schedule

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


class BorrowerRows:
    __slots__ = ("id", "phone", "loans")

    def __init__(self, borrower_id: str, phone: str, loans: list[LoanRows]):
        self.id, self.phone, self.loans = borrower_id, phone, loans


def borrowers_with_loans(db: Database) -> Iterator[BorrowerRows]:
    """Every borrower with loans and schedules (in period order), BATCH at a time, by borrower id."""
    last = ""
    while True:
        with db.engine.connect() as connection:
            borrowers = connection.execute(select(Borrower.id, Borrower.phone).where(Borrower.id > last)
                                           .order_by(Borrower.id).limit(BATCH)).all()
            if not borrowers:
                return
            batch = with_loans(connection, borrowers)
        yield from batch
        last = borrowers[-1].id


def borrowers_by_id(reader: Connection | Session, ids: list[str]) -> list[BorrowerRows]:
    """These borrowers (at most a few hundred ids) with their loans and schedules, read through `reader`: the
    sync passes its own session, so the rows it has just written are read as it left them."""
    borrowers = reader.execute(select(Borrower.id, Borrower.phone).where(Borrower.id.in_(ids))
                               .order_by(Borrower.id)).all()
    return with_loans(reader, borrowers) if borrowers else []


def with_loans(reader: Connection | Session, borrowers: list[Row]) -> list[BorrowerRows]:
    loans = reader.execute(select(Loan.__table__).where(
        Loan.borrower_id.in_([b.id for b in borrowers])).order_by(Loan.id)).all()
    rows = reader.execute(select(ScheduleRow.__table__).where(
        ScheduleRow.loan_id.in_([loan.id for loan in loans])).order_by(ScheduleRow.loan_id,
                                                                      ScheduleRow.period)).all()
    schedules: dict[str, list[Row]] = {}
    for row in rows:
        schedules.setdefault(row.loan_id, []).append(row)
    owned: dict[str, list[LoanRows]] = {}
    for loan in loans:
        owned.setdefault(loan.borrower_id, []).append(LoanRows(loan, schedules.get(loan.id, [])))
    return [BorrowerRows(borrower.id, borrower.phone, owned.get(borrower.id, [])) for borrower in borrowers]


def segment_accounts(db: Database, today: dt.date, policy: SegmentPolicy) -> Iterator[AccountSegment]:
    for borrower in borrowers_with_loans(db):
        yield classify(cast(Borrower, borrower), today, policy)  # reads the attributes a Borrower has
