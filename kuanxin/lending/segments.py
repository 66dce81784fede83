"""Account segmentation as of today: which class each borrower is in, and what the lender does about it.

A borrower's class comes from all their loans: litigation if any loan is in litigation, settled if
every loan is, otherwise by the longest days overdue (early, middle, late), or upcoming when nothing
is overdue but an instalment falls due within a few days, else current. Small or large by the
overdue amount (for upcoming accounts, the amount falling due). Thresholds and treatments: policy.yml.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from kuanxin.core.money import to_money
from kuanxin.core.policy import SEGMENTS, SegmentPolicy
from kuanxin.core.vocab import AccountSize, LoanStatus, Segment
from kuanxin.lending.overdue import loan_statement

if TYPE_CHECKING:  # records are handed in; this layer never reads or writes the store
    from kuanxin.store.models import Borrower

@dataclass(frozen=True)
class AccountSegment:
    borrower_id: str
    segment: str
    size: str  # small | large
    days_overdue: int
    amount: Decimal  # overdue total; for upcoming accounts, the amount falling due
    due_date: dt.date | None  # the earliest overdue date, or the next due date
    treatment: str
    phone: str = ""  # for staff views, shown masked


@dataclass(frozen=True)
class SegmentSummary:
    segment: str
    size: str
    accounts: int
    amount: Decimal
    treatment: str


def classify(borrower: Borrower, today: dt.date, policy: SegmentPolicy) -> AccountSegment:
    statements = [loan_statement(loan, today) for loan in borrower.loans]
    overdue = [s for s in statements if s.is_overdue and s.status != LoanStatus.SETTLED]
    days = max((s.days_overdue for s in overdue), default=0)
    amount = to_money(sum((s.total for s in overdue), Decimal("0")))
    due_date = min((row.due_date for s in overdue for row in s.rows), default=None)  # the earliest of them all
    if any(loan.status == LoanStatus.LITIGATION for loan in borrower.loans):
        segment = Segment.LITIGATION
    elif borrower.loans and all(loan.status == LoanStatus.SETTLED for loan in borrower.loans):
        segment = Segment.SETTLED
    elif days > policy.middle_until_days:
        segment = Segment.LATE
    elif days > policy.early_until_days:
        segment = Segment.MIDDLE
    elif days >= 1:
        segment = Segment.EARLY
    else:
        upcoming = [s.next_due for s in statements if s.status == LoanStatus.ACTIVE and s.next_due
                    and (s.next_due.due_date - today).days <= policy.upcoming_within_days]
        segment = Segment.UPCOMING if upcoming else Segment.CURRENT
        if upcoming:
            due_date = min(n.due_date for n in upcoming)
            amount = to_money(sum((n.amount for n in upcoming if n.due_date == due_date), Decimal("0")))
    size = "large" if amount >= policy.large_from else "small"
    return AccountSegment(borrower.id, segment, size, days, amount, due_date, policy.treatment[segment][size],
                          borrower.phone)


def summarize(accounts: Iterable[AccountSegment], policy: SegmentPolicy) -> list[SegmentSummary]:
    """Counts and amounts for every class and size, in policy order, zero rows included."""
    cells: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for account in accounts:
        count, amount = cells.get((account.segment, account.size), (0, Decimal("0")))
        cells[(account.segment, account.size)] = (count + 1, amount + account.amount)
    return summary_rows(cells, policy)


def summary_rows(cells: dict[tuple[str, str], tuple[int, Decimal]], policy: SegmentPolicy) -> list[SegmentSummary]:
    """One row per class and size in policy order from (class, size) -> (accounts, amount); absent cells are zero."""
    return [SegmentSummary(segment, size, *_cell(cells.get((segment, size))), policy.treatment[segment][size])
            for segment in SEGMENTS for size in AccountSize.values()]


def _cell(found: tuple[int, Decimal] | None) -> tuple[int, Decimal]:
    return (found[0], to_money(found[1])) if found else (0, to_money(Decimal("0")))
