"""A plan's honest terms: total, cost and the annualised rate of its cash flows, against hand-worked cases."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from kuanxin.lending.eligibility import installment_plan
from kuanxin.lending.plan_terms import PlanFee, annual_rate_percent, monthly_irr, present_value, terms

D = Decimal
TODAY = dt.date(2026, 11, 22)


def test_a_fee_free_plan_costs_nothing_and_its_rate_is_zero():
    plan = terms(D("2382.50"), installment_plan(D("2382.50"), 6, TODAY), PlanFee())
    assert [item.amount for item in plan.payments] == [D("397.08")] * 5 + [D("397.10")]
    assert (plan.total_paid, plan.cost, plan.annual_rate) == (D("2382.50"), D("0.00"), D("0.00"))
    assert str(plan.annual_rate) == "0.00"


def test_a_flat_monthly_fee_is_about_eighteen_percent_a_year():
    # 1,200.00 over 12 months with 10.00 a month on top: 110.00 a month. The annuity formula
    # 1200 = 110 × (1 - (1 + r)^-12) / r holds at r = 1.49767 % a month: 17.97 % a year, not the 10 % it looks
    plan = terms(D("1200.00"), installment_plan(D("1200.00"), 12, TODAY), PlanFee(per_period=D("10.00")))
    assert {item.amount for item in plan.payments} == {D("110.00")}
    assert (plan.total_paid, plan.cost, plan.annual_rate) == (D("1320.00"), D("120.00"), D("17.97"))
    r = monthly_irr(D("1200.00"), [D("110.00")] * 12)
    assert abs(D("110.00") * (1 - (1 + r) ** -12) / r - D("1200.00")) < D("0.000001")


def test_a_one_off_fee_is_paid_with_the_first_payment():
    # 60.00 once, on 1,200.00 over 12 months: 160.00 then 11 × 100.00; 0.7916 % a month, 9.50 % a year
    plan = terms(D("1200.00"), installment_plan(D("1200.00"), 12, TODAY), PlanFee(once=D("60.00")))
    assert [item.amount for item in plan.payments] == [D("160.00")] + [D("100.00")] * 11
    assert (plan.cost, plan.annual_rate) == (D("60.00"), D("9.50"))
    assert abs(present_value(monthly_irr(D("1200.00"), [p.amount for p in plan.payments]),
                             [p.amount for p in plan.payments]) - D("1200.00")) < D("0.000001")


def test_the_rate_of_payments_that_repay_less_than_owed_is_not_negative():
    assert annual_rate_percent(D("100.00"), [D("50.00")]) == D("0.00")
    assert annual_rate_percent(D("100.00"), []) == D("0.00")


def test_a_ruinous_fee_is_still_computed():
    # 100.00 repaid with 300.00 a month later: 200 % a month, 2,400 % a year
    assert annual_rate_percent(D("100.00"), [D("300.00")]) == D("2400.00")
