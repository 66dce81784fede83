"""The loan's own facts and what it takes to settle it today, to the cent.

The overdue maths is kuanxin.lending.overdue's (penalty = unpaid principal × penalty_daily_rate × days,
one late fee per overdue row, payments covering interest first); this module only adds what
a borrower asks about the loan itself:
    annual rate, original amount, term, start and last due date, periods paid and remaining,
    the next due instalment, how each overdue charge was computed, and
    settlement today (一次性结清) = remaining principal (overdue and not yet due)
                                  + overdue interest + penalty + late fees
                                  + prepayment fee (policy rate × principal not yet due).
Interest of instalments not yet due is not charged on settlement. Whether early settlement is
offered at all is the policy's decision (policy.yml, settlement).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from kuanxin.core.money import ZERO, to_money
from kuanxin.core.policy import SettlementPolicy
from kuanxin.lending.overdue import LoanStatement, NextDue, OverdueRow, is_fully_paid, loan_statement, unpaid_parts

if TYPE_CHECKING:  # records are handed in; this layer never reads or writes the store
    from kuanxin.store.models import Loan

HUNDRED = Decimal("100")
DAYS_PER_YEAR = 365


@dataclass(frozen=True)
class Charge:
    """How one overdue instalment's charges were computed: principal × days × daily rate, and the late fee."""
    period: int
    due_date: dt.date
    days_overdue: int
    unpaid_principal: Decimal
    unpaid_interest: Decimal
    penalty_daily_rate: Decimal
    penalty: Decimal
    late_fee: Decimal

    @classmethod
    def of(cls, row: OverdueRow, penalty_daily_rate: Decimal) -> Charge:
        return cls(row.period, row.due_date, row.days_overdue, row.unpaid_principal, row.unpaid_interest,
                   penalty_daily_rate, row.penalty, row.late_fee)


@dataclass(frozen=True)
class Settlement:
    """What settling the whole loan today costs, part by part."""
    allowed: bool
    overdue_principal: Decimal  # unpaid principal of overdue instalments
    future_principal: Decimal  # principal of instalments not yet due (repaid early)
    overdue_interest: Decimal
    penalty: Decimal
    late_fees: Decimal
    prepayment_fee_rate: Decimal
    prepayment_fee: Decimal

    @property
    def remaining_principal(self) -> Decimal:
        return self.overdue_principal + self.future_principal

    @property
    def total(self) -> Decimal:
        return self.remaining_principal + self.overdue_interest + self.penalty + self.late_fees + self.prepayment_fee


@dataclass(frozen=True)
class LoanFacts:
    loan_id: str
    product: str
    status: str  # active | litigation | settled
    as_of: dt.date
    principal: Decimal
    annual_rate: Decimal  # a fraction: 0.18
    start_date: dt.date
    last_due_date: dt.date | None
    term: int  # number of periods
    periods_paid: int  # fully paid
    periods_overdue: int
    late_fee: Decimal
    statement: LoanStatement
    charges: tuple[Charge, ...]
    settlement: Settlement

    @property
    def annual_rate_percent(self) -> Decimal:
        """The annual rate as a percentage: 0.18 -> 18.00, 0.096 -> 9.600."""
        return self.annual_rate * HUNDRED

    @property
    def interest_per_10000_a_year(self) -> Decimal:
        """What the annual rate means: the interest on 10,000.00 borrowed for a whole year."""
        return to_money(Decimal("10000") * self.annual_rate)

    @property
    def penalty_daily_rate(self) -> Decimal:
        return self.statement.penalty_daily_rate

    @property
    def penalty_annual_rate(self) -> Decimal:
        """The daily penalty rate over a 365-day year, as a fraction (0.0005 -> 0.1825)."""
        return self.penalty_daily_rate * DAYS_PER_YEAR

    @property
    def periods_remaining(self) -> int:
        return self.term - self.periods_paid

    @property
    def next_due(self) -> NextDue | None:
        return self.statement.next_due

    @property
    def settled(self) -> bool:
        return self.status == "settled" or self.settlement.total == ZERO


def settlement(loan: Loan, statement: LoanStatement, policy: SettlementPolicy) -> Settlement:
    overdue_periods = {row.period for row in statement.rows}
    future = sum((unpaid_parts(row)[0] for row in loan.schedule if row.period not in overdue_periods), ZERO)
    return Settlement(
        allowed=policy.allowed,
        overdue_principal=statement.unpaid_principal,
        future_principal=future,
        overdue_interest=statement.unpaid_interest,
        penalty=statement.penalty,
        late_fees=statement.late_fees,
        prepayment_fee_rate=policy.prepayment_fee_rate,
        prepayment_fee=to_money(future * policy.prepayment_fee_rate),
    )


def loan_facts(loan: Loan, today: dt.date, policy: SettlementPolicy) -> LoanFacts:
    statement = loan_statement(loan, today)
    schedule = sorted(loan.schedule, key=lambda row: row.period)
    return LoanFacts(
        loan_id=loan.id,
        product=loan.product,
        status=loan.status,
        as_of=today,
        principal=to_money(loan.principal),
        annual_rate=Decimal(loan.annual_rate),
        start_date=loan.start_date,
        last_due_date=max((row.due_date for row in schedule), default=None),
        term=len(schedule),
        periods_paid=sum(1 for row in schedule if is_fully_paid(row)),
        periods_overdue=len(statement.rows),
        late_fee=to_money(loan.late_fee),
        statement=statement,
        charges=tuple(Charge.of(row, statement.penalty_daily_rate) for row in statement.rows),
        settlement=settlement(loan, statement, policy),
    )
