"""Decisions within limits: inside the policy's envelope the assistant approves, outside it staff review, and every
decision lists every rule it applied with the limit and the borrower's value."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kuanxin.core import texts
from kuanxin.core.policy import Envelope
from kuanxin.lending.decisions import History, decide
from kuanxin.lending.overdue import loan_statement
from tests.conftest import make_loan

TODAY = dt.date(2026, 11, 22)


def loan_38_days_overdue():
    """Two instalments of 1,000.00 + 150.00 due 15 Oct and 15 Nov, 0.05 % a day, 30.00 late fee each: on 22 Nov
    38 days overdue, 2,300.00 + 19.00 + 3.50 penalty + 60.00 fees = 2,382.50."""
    return make_loan([(dt.date(2026, 10, 15), "1000.00", "150.00", "0.00"),
                      (dt.date(2026, 11, 15), "1000.00", "150.00", "0.00")])


@pytest.fixture
def statement():
    statement = loan_statement(loan_38_days_overdue(), TODAY)
    assert (statement.days_overdue, statement.total) == (38, Decimal("2382.50"))
    return statement


def test_six_installments_for_38_days_and_2382_50_are_approved_with_every_rule_recorded(statement, policy):
    decision = decide("installment", statement, 6, History(), policy.envelopes["installment"], TODAY)
    assert decision.approved and decision.outside == ()
    assert decision.record() == {"kind": "installment", "outcome": "approved", "rules": [
        {"rule": "days_overdue", "limit": "90", "value": "38", "passed": True},
        {"rule": "amount", "limit": "20000.00", "value": "2382.50", "passed": True},
        {"rule": "length", "limit": "12", "value": "6", "passed": True},
        {"rule": "broken_plan", "limit": "12", "value": "", "passed": True},
        {"rule": "open_escalation", "limit": "dispute,collection_abuse", "value": "", "passed": True}]}


def test_twenty_four_periods_go_to_staff_and_the_borrower_is_told_why(statement, policy):
    decision = decide("installment", statement, 24, History(), policy.envelopes["installment"], TODAY)
    assert decision.outcome == "review"
    assert [rule.code for rule in decision.outside] == ["length"]
    assert decision.reasons() == ["分24期,我最多只能直接批准12期"]
    assert decision.reasons("en") == ["24 installments, and I can approve at most 12 myself"]


def test_each_limit_of_the_envelope_sends_to_staff(statement):
    tight = Envelope(max_days_overdue=30, max_amount=Decimal("2000.00"), max_length=3, broken_plan_months=12,
                     once_per_months=12)
    history = History(plans_broken_on=(dt.date(2026, 3, 1),), approved_on=(dt.date(2026, 6, 1),),
                      open_escalations=("dispute", "human"))
    decision = decide("deferral", statement, 6, history, tight, TODAY)
    assert decision.outcome == "review"
    assert {rule.code for rule in decision.outside} == {"days_overdue", "amount", "length", "broken_plan",
                                                        "recent_plan", "open_escalation"}
    reasons = decision.reasons()
    assert "借款已逾期38天,我只能直接批准逾期不超过30天的延期" in reasons
    assert "逾期总额2,382.50元,我只能直接批准2,000.00元以内的延期" in reasons
    assert any("2026年3月1日" in reason for reason in reasons)
    assert {rule.code: rule.value for rule in decision.rules}["open_escalation"] == "dispute"


def test_what_lies_beyond_the_lookback_does_not_count(statement, policy):
    long_ago = History(plans_broken_on=(dt.date(2025, 11, 1),), open_escalations=("human",))
    assert decide("installment", statement, 12, long_ago, policy.envelopes["installment"], TODAY).approved


def test_a_kind_without_an_envelope_is_always_for_staff(statement):
    decision = decide("installment", statement, 3, History(), None, TODAY)
    assert decision.outcome == "review"
    assert decision.reasons() == [texts.text("decision.rule.installment.staff_only")]


def test_the_demo_policy_approves_a_one_month_deferral_once_a_year(policy):
    envelope = policy.envelopes["deferral"]
    assert (envelope.max_length, envelope.once_per_months, envelope.max_days_overdue) == (1, 12, 90)
    assert policy.envelopes["installment"].max_length == 12


def test_the_envelope_in_the_policy_is_checked_and_names_the_bad_key():
    from kuanxin.core.policy import PolicyError, parse_envelopes, parse_plan_life
    assert parse_envelopes(None) == {}  # no envelope: staff decide everything, as before
    with pytest.raises(PolicyError, match=r"automatic_decisions.installment.max_periods: give a whole number"):
        parse_envelopes({"installment": {"max_days_overdue": 90, "max_amount": "1.00", "max_periods": 0,
                                         "broken_plan_months": 12}})
    with pytest.raises(PolicyError, match="unknown kind waiver"):
        parse_envelopes({"waiver": {}})
    with pytest.raises(PolicyError, match=r"plans.grace_days"):
        parse_plan_life({"grace_days": -1})
    assert parse_plan_life({"grace_days": 3}).grace_days == 3
