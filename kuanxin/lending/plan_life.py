"""A plan in force, through its life: what each plan payment has received, what comes next, what is left, and
whether the plan was kept, completed or broken.

The payments from the lender's ledger (kuanxin/lending/ledger.py) made on the loan since the agreement count toward
the plan's payments, oldest first (a charge-back, a negative entry, takes back what it reversed). A plan payment
still not covered `grace_days` after its date breaks the plan, on the day after the grace ends; a plan whose
payments are all covered is completed. Computed from the whole ledger each time, so the order in which entries
arrived never matters. No I/O here.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from kuanxin.core.money import ZERO, to_money
from kuanxin.core.vocab import PlanStatus
from kuanxin.lending.eligibility import PlanItem


@dataclass(frozen=True)
class PlanPayment:
    number: int
    due_date: dt.date
    amount: Decimal
    paid: Decimal  # what the ledger has covered of it so far

    @property
    def left(self) -> Decimal:
        return self.amount - self.paid


@dataclass(frozen=True)
class PlanProgress:
    status: str  # PlanStatus: in_force | completed | broken
    payments: tuple[PlanPayment, ...]
    ended_on: dt.date | None = None  # the day it was completed or broke

    @property
    def total(self) -> Decimal:
        return sum((p.amount for p in self.payments), ZERO)

    @property
    def paid(self) -> Decimal:
        return sum((p.paid for p in self.payments), ZERO)

    @property
    def remaining(self) -> Decimal:
        return self.total - self.paid

    @property
    def next_payment(self) -> PlanPayment | None:
        """The first plan payment not fully covered yet."""
        return next((p for p in self.payments if p.left > 0), None)

    @property
    def payments_left(self) -> int:
        return sum(1 for p in self.payments if p.left > 0)


def _covered(items: Sequence[PlanItem], paid: Decimal) -> tuple[PlanPayment, ...]:
    """`paid` spread over the items, oldest first."""
    covered, left = [], max(paid, ZERO)
    for item in items:
        share = min(item.amount, left)
        covered.append(PlanPayment(item.number, item.due_date, item.amount, to_money(share)))
        left -= share
    return tuple(covered)


def paid_by(payments: Iterable[tuple[dt.date, Decimal]], day: dt.date) -> Decimal:
    return sum((amount for paid_on, amount in payments if paid_on <= day), ZERO)


def progress(items: Sequence[PlanItem], payments: Sequence[tuple[dt.date, Decimal]], today: dt.date,
             grace_days: int) -> PlanProgress:
    """The plan as of today, from its payments (number, date, amount) and the ledger's (paid_on, amount) entries
    on the loan since the agreement (later ones than today are not counted yet)."""
    known = [(day, amount) for day, amount in payments if day <= today]
    due_so_far = ZERO
    for item in items:  # broken: some payment not covered by the end of its grace days, and those days are over
        due_so_far += item.amount
        grace_end = item.due_date + dt.timedelta(days=grace_days)
        if grace_end < today and paid_by(known, grace_end) < due_so_far:
            return PlanProgress(PlanStatus.BROKEN, _covered(items, paid_by(known, today)),
                                grace_end + dt.timedelta(days=1))
    covered = _covered(items, paid_by(known, today))
    if items and all(p.left <= 0 for p in covered):
        total = sum((item.amount for item in items), ZERO)
        completed_on = next(day for day in sorted({d for d, _ in known}) if paid_by(known, day) >= total)
        return PlanProgress(PlanStatus.COMPLETED, covered, completed_on)
    return PlanProgress(PlanStatus.IN_FORCE, covered)
