"""Eligibility for deferral (延期还款) and installment plans (分期还款), from the policy file.

Each check returns every rule that failed, with the rule named in words the borrower can
read, so a refusal can say exactly why and what is still open.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta

from kuanxin.models import Loan, ServiceRequest
from kuanxin.money import to_money, yuan
from kuanxin.overdue import LoanStatement
from kuanxin.policy import DeferralPolicy, InstallmentPolicy

OPEN_OR_GRANTED = ("pending", "approved")


@dataclass(frozen=True)
class RuleFailure:
    code: str
    explanation: str


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


def _rule(ok: bool, code: str, explanation: str) -> RuleFailure | None:
    return None if ok else RuleFailure(code, explanation)


def _loan_is_active(loan: Loan) -> RuleFailure | None:
    status_words = {"litigation": "已进入诉讼程序", "settled": "已结清"}
    return _rule(loan.status == "active", "loan_not_active",
                 f"借款{loan.id}{status_words.get(loan.status, '不是正常状态')},不能在线申请")


def _has_overdue(statement: LoanStatement) -> RuleFailure | None:
    return _rule(statement.is_overdue, "nothing_overdue", f"借款{statement.loan_id}目前没有逾期金额")


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
              f"延期还款要求逾期不超过{policy.max_days_overdue}天,借款{loan.id}已逾期{statement.days_overdue}天"),
        _rule(not statement.is_overdue or statement.days_overdue > policy.max_days_overdue
              or deferred_due_date(statement, policy.max_months) > today, "deferral_date_passed",
              f"即使延期{policy.max_months}个月,新的还款日也已经过去,延期帮不上忙"),
        _rule(earlier is None, "deferral_recent",
              f"每笔借款{policy.cooldown_months}个月内只能申请一次延期,借款{loan.id}在"
              f"{earlier.created_on:%Y年%m月%d日}已有一笔延期申请" if earlier else ""),
    ])


def months_allowed(months: int, policy: DeferralPolicy) -> RuleFailure | None:
    return _rule(policy.min_months <= months <= policy.max_months, "deferral_months",
                 f"延期时长须为{policy.min_months}到{policy.max_months}个月")


def new_date_ahead(statement: LoanStatement, months: int, today: dt.date) -> RuleFailure | None:
    """A deferral whose new due date has already passed would leave the borrower overdue."""
    if not statement.is_overdue:
        return None
    new_due = deferred_due_date(statement, months)
    return _rule(new_due > today, "deferral_date_passed",
                 f"延期{months}个月后的还款日{new_due:%Y年%m月%d日}已经过去,请选择更长的延期")


def check_deferral(loan: Loan, statement: LoanStatement, requests: Iterable[ServiceRequest],
                   months: int | None, reason: str | None, today: dt.date,
                   policy: DeferralPolicy) -> Decision:
    pre = deferral_precheck(loan, statement, requests, today, policy)
    return _decide([
        *pre.failures,
        months_allowed(months, policy) if months is not None else RuleFailure(
            "deferral_months", f"请说明延期几个月({policy.min_months}到{policy.max_months}个月)"),
        new_date_ahead(statement, months, today) if months is not None and not pre.failures else None,
        _rule(bool(reason and reason.strip()), "deferral_reason", "申请延期需要说明原因"),
    ])


def deferred_due_date(statement: LoanStatement, months: int) -> dt.date:
    """The overdue amount's new due date: earliest overdue due date + N calendar months."""
    return statement.earliest_overdue_date + relativedelta(months=months)


def installment_precheck(loan: Loan, statement: LoanStatement, requests: Iterable[ServiceRequest],
                         policy: InstallmentPolicy) -> Decision:
    """The installment rules that do not depend on the number of periods."""
    return _decide([
        _loan_is_active(loan),
        _has_overdue(statement),
        _rule(statement.days_overdue <= policy.max_days_overdue, "installment_too_late",
              f"分期还款要求逾期不超过{policy.max_days_overdue}天,借款{loan.id}已逾期{statement.days_overdue}天"),
        _rule(statement.total >= policy.min_total_overdue, "installment_too_small",
              f"逾期总额满{yuan(policy.min_total_overdue)}才能申请分期,借款{loan.id}目前为{yuan(statement.total)}"),
        _rule(active_plan(requests, loan.id) is None, "installment_exists",
              f"借款{loan.id}已有一个分期方案(审核中或已生效)"),
    ])


def periods_allowed(periods: int | None, policy: InstallmentPolicy) -> RuleFailure | None:
    choices = "、".join(str(p) for p in policy.allowed_periods)
    return _rule(periods in policy.allowed_periods, "installment_periods", f"分期期数可选{choices}期")


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
