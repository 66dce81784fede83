import datetime as dt
from decimal import Decimal

import pytest

from kuanxin.lending import eligibility
from kuanxin.lending.overdue import loan_statement
from tests.conftest import make_loan, make_request

D = dt.date
TODAY = D(2026, 11, 22)


def overdue_loan(days, principal="1000.00", **kwargs):
    return make_loan([(TODAY - dt.timedelta(days=days), principal, "0.00", "0.00")], **kwargs)


def codes(decision):
    return {f.code for f in decision.failures}


def deferral(loan, requests=(), months=3, reason="失业了", today=TODAY, policy=None):
    return eligibility.check_deferral(loan, loan_statement(loan, today), requests, months, reason, today,
                                      policy.deferral)


# --- deferral ---------------------------------------------------------------------------------

@pytest.mark.parametrize("days, ok", [(1, True), (90, True), (91, False)])
def test_deferral_days_overdue_boundary(policy, days, ok):
    decision = deferral(overdue_loan(days), policy=policy)
    assert decision.eligible is ok
    assert ("deferral_too_late" in codes(decision)) is not ok


@pytest.mark.parametrize("months, ok", [(0, False), (1, True), (3, True), (4, False)])
def test_deferral_months_boundary(policy, months, ok):
    decision = deferral(overdue_loan(5), months=months, policy=policy)
    assert ("deferral_months" not in codes(decision)) is ok


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_deferral_needs_a_reason(policy, reason):
    assert "deferral_reason" in codes(deferral(overdue_loan(5), reason=reason, policy=policy))


@pytest.mark.parametrize("status", ["litigation", "settled"])
def test_deferral_needs_an_active_loan(policy, status):
    assert "loan_not_active" in codes(deferral(overdue_loan(5, status=status), policy=policy))


def test_nothing_overdue_cannot_be_deferred(policy):
    loan = make_loan([(TODAY + dt.timedelta(days=3), "1000.00", "0.00", "0.00")])
    assert "nothing_overdue" in codes(deferral(loan, policy=policy))


@pytest.mark.parametrize("created_on, status, ok", [
    (D(2025, 11, 22), "approved", True),    # exactly 12 months ago: outside the window
    (D(2025, 11, 23), "approved", False),   # 12 months less a day: inside
    (D(2026, 11, 1), "pending", False),
    (D(2026, 11, 1), "rejected", True),
    (D(2026, 11, 1), "cancelled", True),
])
def test_deferral_once_in_twelve_months(policy, created_on, status, ok):
    requests = [make_request("deferral", status, created_on)]
    decision = deferral(overdue_loan(5), requests, policy=policy)
    assert ("deferral_recent" not in codes(decision)) is ok


def test_deferral_on_another_loan_does_not_count(policy):
    requests = [make_request("deferral", "approved", D(2026, 11, 1), loan_id="L2")]
    assert deferral(overdue_loan(5), requests, policy=policy).eligible


def test_new_due_date_is_earliest_overdue_plus_months_at_month_end():
    loan = make_loan([(D(2026, 1, 31), "100.00", "0.00", "0.00"), (D(2026, 2, 28), "100.00", "0.00", "0.00")])
    statement = loan_statement(loan, D(2026, 3, 5))
    assert eligibility.deferred_due_date(statement, 1) == D(2026, 2, 28)
    assert eligibility.deferred_due_date(statement, 3) == D(2026, 4, 30)


def test_deferral_whose_new_date_has_passed_is_refused(policy):
    loan = overdue_loan(68)  # due 2026-09-15: +2 months = 2026-11-15, already past
    assert "deferral_date_passed" in codes(deferral(loan, months=2, policy=policy))
    assert deferral(loan, months=3, policy=policy).eligible


# --- installments ------------------------------------------------------------------------------

def installment(loan, requests=(), periods=6, policy=None):
    return eligibility.check_installment(loan, loan_statement(loan, TODAY), requests, periods, policy.installment)


@pytest.mark.parametrize("days, ok", [(180, True), (181, False)])
def test_installment_days_overdue_boundary(policy, days, ok):
    decision = installment(overdue_loan(days, principal="2000.00"), policy=policy)
    assert ("installment_too_late" not in codes(decision)) is ok


def test_installment_minimum_total_boundary(policy):
    # 1 day overdue: principal + 0.0005 × principal (penalty) + 30.00 late fee
    at_limit = overdue_loan(1, principal="469.77")   # 469.77 + 0.23 + 30 = 500.00
    below = overdue_loan(1, principal="469.76")      # 469.76 + 0.23 + 30 = 499.99
    assert loan_statement(at_limit, TODAY).total == Decimal("500.00")
    assert loan_statement(below, TODAY).total == Decimal("499.99")
    assert installment(at_limit, policy=policy).eligible
    assert "installment_too_small" in codes(installment(below, policy=policy))


@pytest.mark.parametrize("periods, ok", [(3, True), (6, True), (12, True), (24, True), (36, True),
                                         (2, False), (4, False), (48, False)])
def test_installment_periods_allowed(policy, periods, ok):
    assert installment(overdue_loan(10, "3000.00"), periods=periods, policy=policy).eligible is ok


@pytest.mark.parametrize("status, ok", [("pending", False), ("approved", False), ("rejected", True)])
def test_one_active_plan_per_loan(policy, status, ok):
    requests = [make_request("installment", status, D(2026, 10, 1))]
    decision = installment(overdue_loan(10, "3000.00"), requests, policy=policy)
    assert ("installment_exists" not in codes(decision)) is ok


def test_installment_refused_for_litigation(policy):
    assert "loan_not_active" in codes(installment(overdue_loan(10, "3000.00", status="litigation"), policy=policy))


def test_plan_splits_half_up_with_remainder_in_last_and_monthly_dates():
    plan = eligibility.installment_plan(Decimal("1000.00"), 3, D(2026, 1, 31))
    assert [i.amount for i in plan] == [Decimal("333.33"), Decimal("333.33"), Decimal("333.34")]
    assert [i.due_date for i in plan] == [D(2026, 2, 28), D(2026, 3, 31), D(2026, 4, 30)]
    assert sum(i.amount for i in plan) == Decimal("1000.00")


def test_plan_rounding_up_makes_the_last_installment_smaller():
    plan = eligibility.installment_plan(Decimal("100.00"), 6, D(2028, 1, 29))
    assert [i.amount for i in plan] == [Decimal("16.67")] * 5 + [Decimal("16.65")]
    assert plan[0].due_date == D(2028, 2, 29)  # leap year
    assert plan[-1].due_date == D(2028, 7, 29)


def test_policy_file_holds_the_documented_defaults(policy):
    assert policy.deferral.max_days_overdue == 90
    assert (policy.deferral.min_months, policy.deferral.max_months, policy.deferral.cooldown_months) == (1, 3, 12)
    assert policy.installment.max_days_overdue == 180
    assert policy.installment.min_total_overdue == Decimal("500.00")
    assert policy.installment.allowed_periods == (3, 6, 12, 24, 36)
    assert (policy.identity.max_failures, policy.identity.lockout_minutes) == (3, 30)
    assert policy.promise_max_days_ahead == 30
