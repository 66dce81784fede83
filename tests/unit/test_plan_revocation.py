"""A supervisor's revocation of an automated approval (issue 18 item 5): only within the cooling-off window, only by a
supervisor, append-only (a record, an audit entry, the plan ended, the lender's event; the agreement unchanged), and
told to the borrower once; and the console's view of decisions, plans and agreements in staff words."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from kuanxin.console import plans as console_plans
from kuanxin.console.casework import Forbidden
from kuanxin.console.staff import Staff
from kuanxin.store.agreements import RevocationRefused
from kuanxin.store.models import Agreement, AuditEntry, OutboxEvent, PlanRevocation, RepaymentPlan, ServiceRequest
from tests.unit.test_agreements import NOW, TODAY, accepted

HOURS = 48


def supervisor(role: str = "supervisor") -> Staff:
    return Staff(id=1, username="wang", display_name="王主管", role=role)


def test_a_revocation_within_the_window_ends_the_plan_and_records_everything(db, policy):
    book, _, done = accepted(db, policy)
    number, text = done.agreement.number, done.agreement.text
    later = NOW + dt.timedelta(hours=47, minutes=59)
    revocation = book.revoke(number, by="wang", reason="复核后发现收入材料有误", now=later, today=TODAY,
                             cooling_off_hours=HOURS)
    assert (revocation.agreement_number, revocation.revoked_by) == (number, "wang")
    with db.session() as session:
        plan = session.execute(select(RepaymentPlan)).scalar_one()
        agreement = session.execute(select(Agreement)).scalar_one()
        request = session.execute(select(ServiceRequest).where(ServiceRequest.reference == done.request.reference)
                                  ).scalar_one()
        audit = session.execute(select(AuditEntry).where(AuditEntry.action == "revoke_plan")).scalar_one()
        event = session.execute(select(OutboxEvent).where(OutboxEvent.kind == "plan.revoked")).scalar_one()
    assert (plan.status, plan.ended_on, plan.open_key, plan.told_at) == ("revoked", TODAY, None, None)
    assert (agreement.text, agreement.sha256) == (text, done.agreement.sha256)  # never edited
    assert (request.status, request.decided_by) == ("rejected", "wang")
    assert (audit.staff, audit.target, audit.detail) == ("wang", number, "复核后发现收入材料有误")
    assert json.loads(event.payload)["agreement"] == number
    assert [p.agreement_number for p in book.ended_untold(done.plan.borrower_id)] == [number]
    assert book.mark_told(plan.id, later) is True and book.mark_told(plan.id, later) is False  # told once
    assert book.ended_untold(done.plan.borrower_id) == []
    with pytest.raises(RevocationRefused) as again:
        book.revoke(number, by="wang", reason="再撤一次", now=later, today=TODAY, cooling_off_hours=HOURS)
    assert again.value.code == "not_in_force"


@pytest.mark.parametrize("after, code", [(dt.timedelta(hours=HOURS), "window_over"),
                                         (dt.timedelta(days=10), "window_over")])
def test_at_the_end_of_the_window_and_after_it_is_refused_and_nothing_changes(db, policy, after, code):
    book, _, done = accepted(db, policy)
    with pytest.raises(RevocationRefused) as refused:
        book.revoke(done.agreement.number, by="wang", reason="太晚了", now=NOW + after, today=TODAY,
                    cooling_off_hours=HOURS)
    assert refused.value.code == code
    with db.session() as session:
        assert session.execute(select(RepaymentPlan.status)).scalar_one() == "in_force"
        assert session.execute(select(PlanRevocation)).first() is None
        assert session.execute(select(OutboxEvent).where(OutboxEvent.kind == "plan.revoked")).first() is None


def test_no_reason_an_unknown_number_or_an_agent_is_refused(db, policy):
    book, _, done = accepted(db, policy)
    for number, reason, code in ((done.agreement.number, "  ", "no_reason"), ("XY20261122-9999", "原因", "unknown")):
        with pytest.raises(RevocationRefused) as refused:
            book.revoke(number, by="wang", reason=reason, now=NOW, today=TODAY, cooling_off_hours=HOURS)
        assert refused.value.code == code
    with pytest.raises(Forbidden):
        console_plans.revoke(supervisor("agent"), done.agreement.number, "原因", NOW, TODAY, HOURS, db)
    with pytest.raises(console_plans.RevocationError, match="48小时"):
        console_plans.revoke(supervisor(), done.agreement.number, "原因", NOW + dt.timedelta(hours=49), TODAY,
                             HOURS, db)
    console_plans.revoke(supervisor(), done.agreement.number, "原因", NOW, TODAY, HOURS, db)


def test_the_console_reads_decisions_plans_and_an_agreement_in_staff_words(db, policy, monkeypatch):
    monkeypatch.setenv("KUANXIN_TODAY", TODAY.isoformat())
    _, _, done = accepted(db, policy)
    decision = console_plans.decision_lines(db)[0]
    assert (decision.automated, decision.kind, decision.length, decision.outcome) == (
        True, "分期还款", "6期", "助手已自动批准")
    rules = {line.rule: (line.limit, line.value, line.result) for line in decision.rules}
    assert rules["期数或月数"] == ("不超过12期", "6期", "符合")
    assert rules["逾期天数"] == ("不超过90天", "38天", "符合")
    assert rules["逾期总额"] == ("不超过20,000.00元", "2,382.50元", "符合")
    assert rules["没有未办结的异议或投诉"] == ("债务异议、投诉催收", "无", "符合")
    assert [(p.number, p.status) for p in console_plans.plan_lines(db)] == [(done.agreement.number, "履行中")]
    assert console_plans.plan_counts(db)["in_force"] == 1
    record = console_plans.agreement_record(done.agreement.number, HOURS, db)
    assert record is not None and record.identity_check.startswith("本次对话核实了手机号和身份证后四位")
    assert record.template == "分期还款协议模板 第1版" and record.channel == "接口"
    assert [p.amount for p in record.payments][:1] == ["397.08元"] and len(record.payments) == 6
    assert record.revocable_until == done.agreement.accepted_at + dt.timedelta(hours=HOURS)
