"""Eligibility for deferral (延期还款) and installment plans (分期还款), from the policy file.

Each check returns every rule that failed, with the catalogue text (texts/zh.yml, through
kuanxin.core.texts) that names the rule in words the borrower can read, so a refusal can say exactly
why and what is still open.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from dateutil.relativedelta import relativedelta

from kuanxin.core import texts
from kuanxin.core.formats import Day, Items, Money
from kuanxin.core.money import to_money
from kuanxin.core.policy import DeferralPolicy, InstallmentPolicy
from kuanxin.lending.overdue import LoanStatement

if TYPE_CHECKING:  # records are handed in; this layer never reads or writes the store
    from kuanxin.store.models import Loan, ServiceRequest

OPEN_OR_GRANTED = ("pending", "approved")


@dataclass(frozen=True)
class RuleFailure:
    """A rule that failed: `code` names the rule, `key` the catalogue text (texts/zh.yml) that explains it."""

    code: str
    key: str
    values: dict[str, object] = field(default_factory=dict, hash=False)

    def explain(self, language: str = texts.DEFAULT_LANGUAGE) -> str:
        return texts.text(self.key, language, None, **self.values)

    @property
    def explanation(self) -> str:
        return self.explain()


@dataclass(frozen=True)
class Decision:
    failures: tuple[RuleFailure, ...] = ()

    @property
    def eligible(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class PlanItem:
    number: int
    due_date: dt.date
    amount: Decimal


def _decide(checks: Iterable[RuleFailure | None]) -> Decision:
    return Decision(tuple(failure for failure in checks if failure))


def _rule(ok: bool, code: str, key: str, **values: object) -> RuleFailure | None:
    return None if ok else RuleFailure(code, key, values)


def _day(day: dt.date) -> Day:
    return Day(day)  # shown in the language of the refusal


NOT_ACTIVE_KEYS = {"litigation": "eligibility.loan_not_active.litigation",
                   "settled": "eligibility.loan_not_active.settled"}


def _loan_is_active(loan: Loan) -> RuleFailure | None:
    return _rule(loan.status == "active", "loan_not_active",
                 NOT_ACTIVE_KEYS.get(loan.status, "eligibility.loan_not_active.other"), loan_id=loan.id)


def _has_overdue(statement: LoanStatement) -> RuleFailure | None:
    return _rule(statement.is_overdue, "nothing_overdue", "eligibility.nothing_overdue", loan_id=statement.loan_id)


def recent_deferral(requests: Iterable[ServiceRequest], loan_id: str, today: dt.date,
                    cooldown_months: int) -> ServiceRequest | None:
    since = today - relativedelta(months=cooldown_months)
    return next((r for r in requests if r.loan_id == loan_id and r.type == "deferral"
                 and r.status in OPEN_OR_GRANTED and r.created_on > since), None)


def active_plan(requests: Iterable[ServiceRequest], loan_id: str) -> ServiceRequest | None:
    return next((r for r in requests if r.loan_id == loan_id and r.type == "installment"
                 and r.status in OPEN_OR_GRANTED), None)


def deferral_precheck(loan: Loan, statement: LoanStatement, requests: Iterable[ServiceRequest],
                      today: dt.date, policy: DeferralPolicy) -> Decision:
    """The deferral rules that do not depend on what the borrower asks for."""
    earlier = recent_deferral(requests, loan.id, today, policy.cooldown_months)
    return _decide([
        _loan_is_active(loan),
        _has_overdue(statement),
        _rule(statement.days_overdue <= policy.max_days_overdue, "deferral_too_late",
              "eligibility.deferral.too_late", max_days=policy.max_days_overdue, loan_id=loan.id,
              days=statement.days_overdue),
        _rule(not statement.is_overdue or statement.days_overdue > policy.max_days_overdue
              or deferred_due_date(statement, policy.max_months) > today, "deferral_date_passed",
              "eligibility.deferral.too_late_for_any", months=policy.max_months),
        _rule(earlier is None, "deferral_recent", "eligibility.deferral.recent",
              **({"cooldown_months": policy.cooldown_months, "loan_id": loan.id, "day": _day(earlier.created_on)}
                 if earlier else {})),
    ])


def months_allowed(months: int, policy: DeferralPolicy) -> RuleFailure | None:
    return _rule(policy.min_months <= months <= policy.max_months, "deferral_months", "eligibility.deferral.months",
                 min_months=policy.min_months, max_months=policy.max_months)


def new_date_ahead(statement: LoanStatement, months: int, today: dt.date) -> RuleFailure | None:
    """A deferral whose new due date has already passed would leave the borrower overdue."""
    if not statement.is_overdue:
        return None
    new_due = deferred_due_date(statement, months)
    return _rule(new_due > today, "deferral_date_passed", "eligibility.deferral.date_passed",
                 months=months, day=_day(new_due))


def check_deferral(loan: Loan, statement: LoanStatement, requests: Iterable[ServiceRequest],
                   months: int | None, reason: str | None, today: dt.date,
                   policy: DeferralPolicy) -> Decision:
    pre = deferral_precheck(loan, statement, requests, today, policy)
    return _decide([
        *pre.failures,
        months_allowed(months, policy) if months is not None else RuleFailure(
            "deferral_months", "eligibility.deferral.months_missing",
            {"min_months": policy.min_months, "max_months": policy.max_months}),
        new_date_ahead(statement, months, today) if months is not None and not pre.failures else None,
        _rule(bool(reason and reason.strip()), "deferral_reason", "eligibility.deferral.reason"),
    ])


def deferred_due_date(statement: LoanStatement, months: int) -> dt.date:
    """The overdue amount's new due date: earliest overdue due date + N calendar months."""
    return statement.overdue_since() + relativedelta(months=months)


def installment_precheck(loan: Loan, statement: LoanStatement, requests: Iterable[ServiceRequest],
                         policy: InstallmentPolicy) -> Decision:
    """The installment rules that do not depend on the number of periods."""
    return _decide([
        _loan_is_active(loan),
        _has_overdue(statement),
        _rule(statement.days_overdue <= policy.max_days_overdue, "installment_too_late",
              "eligibility.installment.too_late", max_days=policy.max_days_overdue, loan_id=loan.id,
              days=statement.days_overdue),
        _rule(statement.total >= policy.min_total_overdue, "installment_too_small",
              "eligibility.installment.too_small", min_total=Money(policy.min_total_overdue), loan_id=loan.id,
              total=Money(statement.total)),
        _rule(active_plan(requests, loan.id) is None, "installment_exists", "eligibility.installment.exists",
              loan_id=loan.id),
    ])


def replan_precheck(loan: Loan, remaining: Decimal, policy: InstallmentPolicy) -> Decision:
    """A new installment plan in place of the plan in force (kuanxin/lending/replan.py): the loan is active and what
    the plan in force leaves unpaid is not too small to split. The arrears rules were the plan in force's to pass."""
    return _decide([
        _loan_is_active(loan),
        _rule(remaining >= policy.min_total_overdue, "installment_too_small", "eligibility.installment.too_small",
              min_total=Money(policy.min_total_overdue), loan_id=loan.id, total=Money(remaining)),
    ])


def periods_allowed(periods: int | None, policy: InstallmentPolicy) -> RuleFailure | None:
    choices = Items(policy.allowed_periods)
    return _rule(periods in policy.allowed_periods, "installment_periods", "eligibility.installment.periods",
                 choices=choices)


def check_installment(loan: Loan, statement: LoanStatement, requests: Iterable[ServiceRequest],
                      periods: int | None, policy: InstallmentPolicy) -> Decision:
    pre = installment_precheck(loan, statement, requests, policy)
    return _decide([*pre.failures, periods_allowed(periods, policy)])


def installment_plan(total: Decimal, periods: int, today: dt.date) -> list[PlanItem]:
    """Equal installments rounded half-up, the last taking the remainder; monthly from a month after today."""
    each = (to_money(total) / periods).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    items = [PlanItem(n, today + relativedelta(months=n), each) for n in range(1, periods)]
    last = to_money(total) - each * (periods - 1)
    items.append(PlanItem(periods, today + relativedelta(months=periods), last))
    return items
