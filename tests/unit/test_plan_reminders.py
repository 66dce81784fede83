"""Reminders before each plan payment (issue 18 item 4): `plans.remind_days_before` days before a plan payment's date
(and up to the date), once per plan payment, by the same lawful-contact rules and caps as every reminder, saying
only what an upcoming reminder says; a payment already late or paid is not reminded, and the loan's own overdue
reminder stays off while the plan is kept. The real run against the SMS gateway double."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from kuanxin.reminders.optout import opt_out
from kuanxin.store.models import Payment, Reminder, RepaymentPlan
from tests.unit import test_reminders
from tests.unit.test_reminders import MORNING, TODAY, add_borrower, at, remind

gateway, sms = test_reminders.gateway, test_reminders.sms  # the SMS gateway double's fixtures

PHONE = "13800000009"


def with_plan(db, first_due: dt.date, amount: str = "500.00", periods: int = 3) -> None:
    """A borrower 38 days overdue whose installment plan's first payment falls on `first_due`, monthly after it."""
    add_borrower(db, "P1", PHONE, overdue_days=38, principal="1500.00")
    payments = [{"n": n, "due": (first_due + dt.timedelta(days=30 * (n - 1))).isoformat(), "amount": amount}
                for n in range(1, periods + 1)]
    with db.session() as session:
        session.add(RepaymentPlan(agreement_number="XY20261101-0001", borrower_id="P1", loan_id="L-P1",
                                  kind="installment", starts_on=dt.date(2026, 11, 1), payments=json.dumps(payments),
                                  status="in_force", open_key="L-P1"))


def outcome_of(report) -> tuple[str, str | None, str | None]:
    mine = [o for o in report.outcomes if o.plan.candidate.borrower_id == "P1"]
    assert len(mine) == 1
    return mine[0].status, mine[0].plan.candidate.kind, mine[0].plan.skip


@pytest.mark.parametrize(("days_ahead", "reminded"), [(4, False), (3, True), (1, True), (0, True)])
def test_a_plan_payment_is_reminded_from_n_days_before_its_date(db, policy, sms, days_ahead, reminded):
    assert policy.plans.remind_days_before == 3
    with_plan(db, TODAY + dt.timedelta(days=days_ahead))
    report = remind(db, policy, gateway=sms)
    if reminded:
        assert outcome_of(report) == ("sent", "plan_payment", None)
        (message,) = sms.sent
        day = TODAY + dt.timedelta(days=days_ahead)
        assert message["to"] == PHONE and message["text"].startswith(
            f"【宽心消费金融(演示)】温馨提醒:您的借款将于{day.year}年{day.month}月{day.day}日到期,应还500.00元。")
        assert not any(word in message["text"] for word in ("协议", "逾期", "L-P1", "征信"))
        with db.session() as session:
            record = session.execute(select(Reminder)).scalar_one()
        assert (record.kind, record.due_date, record.amount) == ("plan_payment", day, 500)
    else:  # not yet: and the loan's overdue reminder stays off while the plan is kept
        assert outcome_of(report) == ("skipped", "segment", "plan_in_force") and sms.sent == []


def test_once_per_plan_payment_then_the_next_one_in_its_turn(db, policy, sms):
    with_plan(db, TODAY + dt.timedelta(days=3))
    assert outcome_of(remind(db, policy, gateway=sms))[0] == "sent"
    next_day = remind(db, policy, now=at(10, day=TODAY + dt.timedelta(days=1)), gateway=sms)
    assert outcome_of(next_day) == ("skipped", "plan_payment", "plan_payment_reminded")
    with db.session() as session:  # the first payment is made; the second is reminded 3 days before its date
        session.add(Payment(id="PAY-1", loan_id="L-P1", amount=Decimal("500.00"), paid_on=TODAY + dt.timedelta(days=2),
                            paid_at=dt.datetime(2026, 11, 24, 2, 0), channel="bank_card", source="file",
                            received_at=dt.datetime(2026, 11, 24, 2, 5)))
    second_due = TODAY + dt.timedelta(days=33)
    report = remind(db, policy, now=at(10, day=second_due - dt.timedelta(days=3)), gateway=sms)
    assert outcome_of(report) == ("sent", "plan_payment", None)
    assert [m["to"] for m in sms.sent] == [PHONE, PHONE]


def test_a_late_or_paid_plan_payment_is_not_reminded(db, policy, sms):
    with_plan(db, TODAY - dt.timedelta(days=1))  # late, within the grace days: the plan rules handle it
    assert outcome_of(remind(db, policy, gateway=sms)) == ("skipped", "segment", "plan_in_force")
    assert sms.sent == []


def test_the_lawful_contact_rules_still_apply(db, policy, sms):
    with_plan(db, TODAY + dt.timedelta(days=2))
    early = remind(db, policy, now=at(7, 59), gateway=sms)  # before the contact hours: nothing at all
    assert early.in_hours is False and early.outcomes == [] and sms.sent == []
    opt_out(db, "P1", "sms", MORNING)
    assert outcome_of(remind(db, policy, gateway=sms)) == ("skipped", "plan_payment", "opted_out")
    assert sms.sent == []
