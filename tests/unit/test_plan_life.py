"""A plan's life from the ledger: payments counted toward it oldest first, the next payment and what is left, broken
by a payment missed beyond the grace days, completed when all are paid."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from kuanxin.lending.eligibility import installment_plan
from kuanxin.lending.plan_life import progress

D = Decimal
AGREED = dt.date(2026, 11, 22)
PLAN = installment_plan(D("2382.50"), 6, AGREED)  # 5 × 397.08 + 397.10, the first on 22 Dec
GRACE = 5


def test_before_the_first_date_the_first_payment_is_next_and_everything_is_left():
    now = progress(PLAN, [], AGREED, GRACE)
    assert now.status == "in_force"
    assert (now.next_payment.number, now.next_payment.due_date, now.next_payment.left) == (
        1, dt.date(2026, 12, 22), D("397.08"))
    assert (now.remaining, now.payments_left) == (D("2382.50"), 6)


def test_a_payment_kept_moves_the_plan_on():
    paid = [(dt.date(2026, 12, 20), D("397.08"))]
    now = progress(PLAN, paid, dt.date(2027, 1, 2), GRACE)
    assert now.status == "in_force"
    assert (now.next_payment.number, now.remaining, now.payments_left) == (2, D("1985.42"), 5)


def test_a_partial_payment_leaves_the_rest_of_that_payment_next():
    now = progress(PLAN, [(dt.date(2026, 12, 21), D("300.00"))], dt.date(2026, 12, 23), GRACE)
    assert (now.status, now.next_payment.number, now.next_payment.left) == ("in_force", 1, D("97.08"))


def test_late_within_the_grace_days_keeps_the_plan():
    paid = [(dt.date(2026, 12, 27), D("397.08"))]  # 22 Dec + 5 days
    assert progress(PLAN, paid, dt.date(2027, 1, 5), GRACE).status == "in_force"


def test_a_payment_missed_beyond_the_grace_days_breaks_the_plan_the_day_after():
    assert progress(PLAN, [], dt.date(2026, 12, 27), GRACE).status == "in_force"  # the last day of grace
    broken = progress(PLAN, [], dt.date(2026, 12, 28), GRACE)
    assert (broken.status, broken.ended_on) == ("broken", dt.date(2026, 12, 28))
    late = [(dt.date(2026, 12, 29), D("397.08"))]  # paid after the grace: still broken
    assert progress(PLAN, late, dt.date(2027, 1, 3), GRACE).status == "broken"


def test_a_charge_back_takes_back_what_it_reversed():
    paid = [(dt.date(2026, 12, 20), D("397.08")), (dt.date(2026, 12, 24), D("-397.08"))]
    assert progress(PLAN, paid, dt.date(2026, 12, 29), GRACE).status == "broken"


def test_all_paid_completes_the_plan_on_the_day_the_last_cent_arrived():
    paid = [(dt.date(2026, 12, 22), D("397.08")), (dt.date(2027, 1, 10), D("1985.42"))]  # the rest paid ahead
    done = progress(PLAN, paid, dt.date(2027, 1, 12), GRACE)
    assert (done.status, done.ended_on, done.remaining, done.next_payment) == (
        "completed", dt.date(2027, 1, 10), D("0.00"), None)
