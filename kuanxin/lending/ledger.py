"""Applying the lender's payments to what a loan owes, in the policy's order (还款冲销), to the cent.

The payment ledger (kuanxin/store: one row per lender payment, a charge-back as a negative entry naming
the payment it reverses) is replayed in date order over the loan's schedule:
- a row's penalty (罚息) accrues each day after its due date on the principal then unpaid, so a payment
  stops the penalty on what it repaid from its day on (with no payment this is exactly
  kuanxin/lending/overdue.py's unpaid principal × daily rate × days overdue);
- the late fee (违约金) is charged once, when a row is still not repaid after its due date;
- a payment covers the instalments oldest first; within each, overdue charges in the policy's
  allocation_order (e.g. late_fee, penalty, interest, principal); rows not yet due take only interest
  and principal; what is left over is the loan's credit.
A reversal cancels (part of) the payment it names, as if that money had never arrived: balances are
recomputed from the whole ledger every time, so the order in which entries reach us does not matter.

The result is written onto the schedule rows (paid, paid_penalty, paid_late_fee, penalty_accrued,
accrued_to), from which overdue.py states today's figures without the ledger.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from kuanxin.core.money import ZERO, to_money


@dataclass(frozen=True)
class Entry:
    """One ledger entry: a payment (amount > 0) or a reversal (amount < 0) of the payment `reverses`."""
    payment_id: str
    paid_on: dt.date  # Beijing date
    amount: Decimal
    reverses: str | None = None


@dataclass(frozen=True)
class Instalment:
    """A schedule row's terms and what was paid on it before the ledger began (the lender's opening figure)."""
    period: int
    due_date: dt.date
    principal: Decimal
    interest: Decimal
    opening_paid: Decimal = ZERO


@dataclass
class Applied:
    """What the ledger has done to one instalment."""
    period: int
    paid: Decimal  # to interest and principal, the opening figure included
    paid_penalty: Decimal = ZERO
    paid_late_fee: Decimal = ZERO
    penalty_accrued: Decimal = ZERO  # through accrued_to
    accrued_to: dt.date | None = None
    late_fee_charged: bool = False
    paid_on: dt.date | None = None  # the last day a payment reached this instalment


@dataclass
class LoanLedger:
    rows: dict[int, Applied]
    credit: Decimal = ZERO  # paid beyond everything the schedule holds
    by_payment: dict[str, Decimal] = field(default_factory=dict)  # each payment's amount after reversals


def net_payments(entries: Iterable[Entry]) -> list[Entry]:
    """The payments that stand, each less what was reversed of it, in date order (then id, for ties)."""
    entries = list(entries)
    reversed_of: dict[str, Decimal] = {}
    for entry in entries:
        if entry.amount < 0 and entry.reverses:
            reversed_of[entry.reverses] = reversed_of.get(entry.reverses, ZERO) - entry.amount
    standing = [Entry(e.payment_id, e.paid_on, max(ZERO, e.amount - reversed_of.get(e.payment_id, ZERO)))
                for e in entries if e.amount > 0]
    return sorted((e for e in standing if e.amount > 0), key=lambda e: (e.paid_on, e.payment_id))


class _Row:
    """An instalment's running balances while the ledger is replayed."""

    def __init__(self, terms: Instalment, daily_rate: Decimal, late_fee: Decimal):
        self.terms, self.daily_rate, self.late_fee = terms, daily_rate, late_fee
        opening = min(to_money(terms.opening_paid), terms.interest + terms.principal)
        self.interest = terms.interest - min(opening, terms.interest)
        self.principal = terms.principal - (opening - min(opening, terms.interest))
        self.applied = Applied(terms.period, paid=opening)

    def owes(self, charge: str) -> Decimal:
        applied = self.applied
        return {"late_fee": self.late_fee - applied.paid_late_fee if applied.late_fee_charged else ZERO,
                "penalty": applied.penalty_accrued - applied.paid_penalty,
                "interest": self.interest, "principal": self.principal}[charge]

    def accrue_to(self, day: dt.date) -> None:
        """Penalty and late fee up to `day`, on what was unpaid before `day`'s payments."""
        due, applied = self.terms.due_date, self.applied
        if day <= due:
            return
        if not applied.late_fee_charged and self.interest + self.principal > 0:
            applied.late_fee_charged = True
        start = max(applied.accrued_to or due, due)
        if day > start and self.principal > 0:
            applied.penalty_accrued += to_money(self.principal * self.daily_rate * (day - start).days)
        applied.accrued_to = max(day, applied.accrued_to or day)

    def take(self, charge: str, available: Decimal, day: dt.date) -> Decimal:
        amount = min(available, self.owes(charge))
        if amount <= 0:
            return ZERO
        applied = self.applied
        if charge == "late_fee":
            applied.paid_late_fee += amount
        elif charge == "penalty":
            applied.paid_penalty += amount
        else:
            applied.paid += amount
            if charge == "interest":
                self.interest -= amount
            else:
                self.principal -= amount
        applied.paid_on = day
        return amount


def replay(instalments: Sequence[Instalment], daily_rate: Decimal, late_fee: Decimal, entries: Iterable[Entry],
           order: Sequence[str]) -> LoanLedger:
    """The loan's instalments after every standing payment of the ledger, applied in the policy's order."""
    rows = [_Row(terms, Decimal(daily_rate), to_money(late_fee))
            for terms in sorted(instalments, key=lambda t: (t.due_date, t.period))]
    ledger = LoanLedger({row.terms.period: row.applied for row in rows})
    for payment in net_payments(entries):
        ledger.by_payment[payment.payment_id] = payment.amount
        left = payment.amount
        for row in rows:
            row.accrue_to(payment.paid_on)
            charges = order if row.terms.due_date < payment.paid_on else [c for c in order
                                                                          if c in ("interest", "principal")]
            for charge in charges:
                left -= row.take(charge, left, payment.paid_on)
        ledger.credit += left
    return ledger
