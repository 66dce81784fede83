"""What an installment plan really costs: every payment, the total, the cost over today's overdue amount, and the
annualised rate of the actual cash flows, so that no fee can hide in a schedule.

The rate is the plan's internal rate of return: the monthly rate r at which the payments, discounted month by
month, are worth exactly today's overdue amount, annualised as 12 × r (the IRR method Chinese consumer-finance
rules use for 年化利率). A fee-free plan is 0.00 %. Computed in Decimal, to two decimals of a percent.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from kuanxin.core.money import ZERO, to_money
from kuanxin.lending.eligibility import PlanItem

PERCENT = Decimal("0.01")
_TOLERANCE = Decimal("1e-12")


@dataclass(frozen=True)
class PlanFee:
    """What the policy charges for a plan: an amount on every payment, and one with the first."""
    per_period: Decimal = ZERO
    once: Decimal = ZERO


@dataclass(frozen=True)
class PlanTerms:
    financed: Decimal  # today's overdue amount, which the plan replaces
    payments: tuple[PlanItem, ...]

    @property
    def total_paid(self) -> Decimal:
        return sum((item.amount for item in self.payments), ZERO)

    @property
    def cost(self) -> Decimal:
        return self.total_paid - self.financed

    @property
    def annual_rate(self) -> Decimal:
        """The annualised rate in percent (17.97 is 17.97 %)."""
        return annual_rate_percent(self.financed, [item.amount for item in self.payments])


def with_fees(plan: Sequence[PlanItem], fee: PlanFee) -> tuple[PlanItem, ...]:
    """The plan's payments with the policy's fees added: per period on each, the one-off fee on the first."""
    return tuple(PlanItem(item.number, item.due_date,
                          to_money(item.amount + fee.per_period + (fee.once if index == 0 else ZERO)))
                 for index, item in enumerate(plan))


def terms(financed: Decimal, plan: Sequence[PlanItem], fee: PlanFee) -> PlanTerms:
    return PlanTerms(to_money(financed), with_fees(plan, fee))


def annual_rate_percent(financed: Decimal, monthly_payments: Sequence[Decimal]) -> Decimal:
    if not monthly_payments or sum(monthly_payments, ZERO) <= financed:
        return ZERO.quantize(PERCENT)
    return (monthly_irr(financed, monthly_payments) * 12 * 100).quantize(PERCENT, rounding=ROUND_HALF_UP)


def monthly_irr(financed: Decimal, payments: Sequence[Decimal]) -> Decimal:
    """The monthly rate at which the payments (one a month, the first a month from now) are worth `financed`.

    Their present value falls as the rate rises, so bisection finds it; 200 halvings reach far below a cent."""
    with localcontext() as context:
        context.prec = 40
        low, high = ZERO, Decimal(1)
        while present_value(high, payments) > financed:  # a rate above 100 % a month: widen
            high *= 2
        for _ in range(200):
            middle = (low + high) / 2
            if present_value(middle, payments) > financed:
                low = middle
            else:
                high = middle
            if high - low < _TOLERANCE:
                break
        return (low + high) / 2


def present_value(rate: Decimal, payments: Sequence[Decimal]) -> Decimal:
    factor, value = Decimal(1) + rate, ZERO
    for month, amount in enumerate(payments, 1):
        value += Decimal(amount) / factor ** month
    return value
