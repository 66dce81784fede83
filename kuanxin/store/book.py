"""The book of accounts read in batches: every borrower with their loans, and each one's segment today."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kuanxin.core.policy import SegmentPolicy
from kuanxin.lending.segments import AccountSegment, classify
from kuanxin.store.db import Database
from kuanxin.store.models import Borrower, Loan

BATCH = 500  # borrowers loaded at a time: memory stays flat however large the book is


def borrowers_with_loans(db: Database) -> Iterator[Borrower]:
    """Every borrower with loans and schedules, BATCH at a time."""
    last = ""
    while True:
        with db.session() as session:
            batch = list(session.execute(
                select(Borrower).where(Borrower.id > last).order_by(Borrower.id).limit(BATCH)
                .options(selectinload(Borrower.loans).selectinload(Loan.schedule))).scalars())
        if not batch:
            return
        yield from batch
        last = batch[-1].id


def segment_accounts(db: Database, today: dt.date, policy: SegmentPolicy) -> Iterator[AccountSegment]:
    for borrower in borrowers_with_loans(db):
        yield classify(borrower, today, policy)


def accounts_in(db: Database, today: dt.date, policy: SegmentPolicy, segment: str, size: str,
                limit: int) -> tuple[list[AccountSegment], int]:
    """The class's accounts, largest amount first, at most `limit` of them; and how many there are."""
    found = [a for a in segment_accounts(db, today, policy) if (a.segment, a.size) == (segment, size)]
    found.sort(key=lambda a: (-a.amount, -a.days_overdue, a.borrower_id))
    return found[:limit], len(found)
