"""What a borrower owes and why: the overdue maths, to the cent.

A schedule row is overdue when its due date is before today and something on it is unpaid.
Its paid amount covers interest first, then principal. Per overdue row:
    penalty (罚息)   = unpaid principal × penalty_daily_rate × days overdue
    late fee (违约金) = the loan's late_fee, once per overdue row
less what the lender's payments already covered of them. Where the payment ledger has been applied
(kuanxin/lending/ledger.py), the penalty accrued up to its last payment is on the row (penalty_accrued,
accrued_to) and only the days since are added here, on the principal still unpaid.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from kuanxin.core.money import ZERO, to_money

if TYPE_CHECKING:  # records are handed in; this layer never reads or writes the store
    from kuanxin.store.models import Loan, ScheduleRow


@dataclass(frozen=True)
class OverdueRow:
    period: int
    due_date: dt.date
    days_overdue: int
    unpaid_principal: Decimal
    unpaid_interest: Decimal
    penalty: Decimal
    late_fee: Decimal

    @property
    def total(self) -> Decimal:
        return self.unpaid_principal + self.unpaid_interest + self.penalty + self.late_fee


@dataclass(frozen=True)
class NextDue:
    period: int
    due_date: dt.date
    amount: Decimal


@dataclass(frozen=True)
class LoanStatement:
    loan_id: str
    product: str
    status: str
    penalty_daily_rate: Decimal
    rows: tuple[OverdueRow, ...]
    next_due: NextDue | None

    def _sum(self, field: str) -> Decimal:
        return sum((getattr(row, field) for row in self.rows), ZERO)

    @property
    def unpaid_principal(self) -> Decimal:
        return self._sum("unpaid_principal")

    @property
    def unpaid_interest(self) -> Decimal:
        return self._sum("unpaid_interest")

    @property
    def penalty(self) -> Decimal:
        return self._sum("penalty")

    @property
    def late_fees(self) -> Decimal:
        return self._sum("late_fee")

    @property
    def total(self) -> Decimal:
        return self._sum("total")

    @property
    def is_overdue(self) -> bool:
        return bool(self.rows)

    @property
    def earliest_overdue_date(self) -> dt.date | None:
        return min((row.due_date for row in self.rows), default=None)

    def overdue_since(self) -> dt.date:
        """The earliest overdue due date, for a loan that is overdue (ValueError for one that is not)."""
        if self.earliest_overdue_date is None:
            raise ValueError(f"loan {self.loan_id} is not overdue")
        return self.earliest_overdue_date

    @property
    def days_overdue(self) -> int:
        return max((row.days_overdue for row in self.rows), default=0)

    @property
    def daily_penalty_growth(self) -> Decimal:
        """How much the penalty grows each further day, at today's unpaid principal."""
        return to_money(self.unpaid_principal * self.penalty_daily_rate)


def unpaid_parts(row: ScheduleRow) -> tuple[Decimal, Decimal]:
    """(unpaid principal, unpaid interest) of a row, payments covering interest first."""
    paid = to_money(row.paid or ZERO)
    to_interest = min(paid, to_money(row.interest))
    to_principal = min(paid - to_interest, to_money(row.principal))
    return to_money(row.principal) - to_principal, to_money(row.interest) - to_interest


def is_fully_paid(row: ScheduleRow) -> bool:
    return unpaid_parts(row) == (ZERO, ZERO)


def outstanding_charges(row: ScheduleRow, loan: Loan, today: dt.date) -> tuple[Decimal, Decimal]:
    """(penalty, late fee) a row owes today, after what payments covered of them."""
    if today <= row.due_date:
        return ZERO, ZERO
    principal, interest = unpaid_parts(row)
    since = max(row.accrued_to or row.due_date, row.due_date)
    accrued = to_money(row.penalty_accrued or ZERO) + to_money(
        principal * Decimal(loan.penalty_daily_rate) * max(0, (today - since).days))
    charged = bool(row.late_fee_charged) or principal + interest > 0
    late_fee = to_money(loan.late_fee) - to_money(row.paid_late_fee or ZERO) if charged else ZERO
    return max(ZERO, accrued - to_money(row.paid_penalty or ZERO)), max(ZERO, late_fee)


def overdue_row(row: ScheduleRow, loan: Loan, today: dt.date) -> OverdueRow | None:
    if row.due_date >= today:
        return None
    principal, interest = unpaid_parts(row)
    penalty, late_fee = outstanding_charges(row, loan, today)
    if principal + interest + penalty + late_fee == ZERO:
        return None
    return OverdueRow(
        period=row.period,
        due_date=row.due_date,
        days_overdue=(today - row.due_date).days,
        unpaid_principal=principal,
        unpaid_interest=interest,
        penalty=penalty,
        late_fee=late_fee,
    )


def next_due(schedule: Iterable[ScheduleRow], today: dt.date) -> NextDue | None:
    for row in sorted(schedule, key=lambda r: r.due_date):
        if row.due_date >= today and not is_fully_paid(row):
            principal, interest = unpaid_parts(row)
            return NextDue(row.period, row.due_date, principal + interest)
    return None


def loan_statement(loan: Loan, today: dt.date) -> LoanStatement:
    rows = tuple(r for r in (overdue_row(row, loan, today) for row in loan.schedule) if r)
    return LoanStatement(
        loan_id=loan.id,
        product=loan.product,
        status=loan.status,
        penalty_daily_rate=Decimal(loan.penalty_daily_rate),
        rows=tuple(sorted(rows, key=lambda r: r.due_date)),
        next_due=next_due(loan.schedule, today),
    )
