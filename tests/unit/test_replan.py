"""Re-planning while a plan is in force (policy.yml `plans.replan`, kuanxin/lending/replan.py): inside the rules the new
plan splits what the plan in force leaves unpaid and supersedes it; each rule at its edge sends the request to staff
review, named in the borrower's terms. Through the real database (SQLite and PostgreSQL)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select

from kuanxin.core import texts
from kuanxin.core.policy import PolicyError, ReplanPolicy, parse_plan_life
from kuanxin.lending import plans
from kuanxin.lending.decisions import History
from kuanxin.lending.eligibility import PlanItem
from kuanxin.lending.plan_life import progress
from kuanxin.lending.replan import PlanInForce, decide_replan, span_months
from kuanxin.store.accounts import Accounts
from kuanxin.store.agreements import PlanBook
from kuanxin.store.importer import load_document
from kuanxin.store.models import AuditEntry, OutboxEvent, Payment, RepaymentPlan
from testkit.plans import BORROWER, LOAN, document_with_plan_borrower

TODAY = dt.date(2026, 11, 22)
NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def accept(db, policy, periods: int, today: dt.date = TODAY):
    """The borrower asks for `periods` installments today: (the decision, the acceptance when it was approved)."""
    book = PlanBook(db)
    borrower = Accounts(db).borrower_profile(BORROWER)
    loan = plans.find_loan(borrower, LOAN)
    in_force = book.in_force_on(LOAN, today, policy.plans.grace_days)
    quote = plans.quote_installment(borrower, loan, periods, today, policy, in_force)
    assert quote.decision.eligible
    decision = plans.installment_decision(quote, periods, book.history(BORROWER, LOAN, "installment"), today, policy)
    if not decision.approved:
        return decision, None
    draft = plans.installment_agreement(borrower, quote, periods, today, policy, "zh")
    done = book.accept(borrower_id=BORROWER, loan_id=LOAN, length=periods, draft=draft, rules=decision.record(),
                       channel="rest", conversation_id="c-1", identity_check={"method": "identity"}, today=today,
                       now=NOW, supersedes=draft.terms["values"].get("supersedes"))
    return decision, done


def pay(db, amount: str, day: dt.date, ident: str = "P-1") -> None:
    with db.session() as session:
        session.add(Payment(id=ident, loan_id=LOAN, amount=Decimal(amount), paid_on=day, channel="bank_card",
                            paid_at=dt.datetime.combine(day, dt.time(2)), source="file",
                            received_at=dt.datetime.combine(day, dt.time(3))))


@pytest.fixture
def plan_db(db):
    load_document(db, document_with_plan_borrower())
    return db


def test_a_replan_splits_what_the_plan_left_unpaid_and_supersedes_it_in_one_transaction(plan_db, policy):
    _, first = accept(plan_db, policy, 6)
    pay(plan_db, "397.08", TODAY)  # the first payment, already in the ledger: never owed again
    decision, second = accept(plan_db, policy, 12)
    assert decision.approved and {r.code for r in decision.rules} >= {"replans", "plan_late", "total_length"}
    agreement = second.agreement
    assert agreement.supersedes == first.agreement.number and agreement.template == "agreement.installment.replan.v1"
    for shown in [f"本协议取代协议{first.agreement.number}", "原协议共需还款2,382.50元", "已还397.08元",
                  "尚未还清1,985.42元", "分12期", "第1期 2026年12月22日 165.45元", "第12期 2027年11月22日 165.47元",
                  "共需还款1,985.42元,比原协议未还款项多0.00元", "年化费率0.00%"]:
        assert shown in agreement.text, shown
    payments = json.loads(second.plan.payments)
    assert sum(Decimal(p["amount"]) for p in payments) == Decimal("1985.42")
    book = PlanBook(plan_db)
    assert book.agreement(first.agreement.number).text == first.agreement.text  # never edited
    with plan_db.session() as session:
        old = session.execute(select(RepaymentPlan).where(
            RepaymentPlan.agreement_number == first.agreement.number)).scalar_one()
        decided = session.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "automated_decision")).scalar_one()
        events = session.execute(select(OutboxEvent).where(OutboxEvent.kind == "plan.accepted")
                                 .order_by(OutboxEvent.seq)).scalars().all()
    assert (old.status, old.ended_on, old.open_key) == ("superseded", TODAY, None)
    assert [p.agreement_number for p in book.plans_in_force(BORROWER)] == [agreement.number]
    assert decided == 2 and json.loads(events[-1].payload)["supersedes"] == first.agreement.number
    # the payment made today under the old plan is not counted again toward the new one; a later one is
    assert book.progress(second.plan, TODAY, 5).remaining == Decimal("1985.42")
    pay(plan_db, "165.45", TODAY, "P-2")  # paid the same day, after the new agreement
    later = book.progress(second.plan, TODAY, 5)
    assert (later.remaining, later.next_payment.number) == (Decimal("1819.97"), 2)


def test_a_second_replan_within_the_months_goes_to_staff_and_says_why(plan_db, policy):
    accept(plan_db, policy, 6)
    accept(plan_db, policy, 6)
    decision, done = accept(plan_db, policy, 3)
    assert done is None and [r.code for r in decision.outside] == ["replans"]
    assert decision.reasons() == ["这笔借款12个月内已经重新分期1次,我最多只能直接批准1次"]
    two = dataclasses.replace(policy, plans=dataclasses.replace(policy.plans, replan=ReplanPolicy(2, 12)))
    assert accept(plan_db, two, 3)[0].approved  # the policy's number, not ours


def test_a_replan_needs_the_loan_active_and_enough_left_not_the_arrears_rules(plan_db, policy):
    _, first = accept(plan_db, policy, 6)
    book, accounts = PlanBook(plan_db), Accounts(plan_db)
    borrower = accounts.borrower_profile(BORROWER)
    loan = plans.find_loan(borrower, LOAN)
    assert [f.code for f in plans.precheck("installment", borrower, loan, TODAY, policy).failures] == [
        "installment_exists"]  # without the plan in force handed in: the eligibility rules as before
    in_force = book.in_force_on(LOAN, TODAY, 5)
    assert in_force is not None and in_force.agreement_number == first.agreement.number
    assert plans.precheck("installment", borrower, loan, TODAY, policy, in_force=in_force).eligible
    pay(plan_db, "1882.50", TODAY)  # 500.00 left: still enough to split; 499.99 is not
    assert plans.precheck("installment", borrower, loan, TODAY, policy,
                          in_force=book.in_force_on(LOAN, TODAY, 5)).eligible
    pay(plan_db, "0.01", TODAY, "P-2")
    refused = plans.precheck("installment", borrower, loan, TODAY, policy, in_force=book.in_force_on(LOAN, TODAY, 5))
    assert [f.code for f in refused.failures] == ["installment_too_small"]
    assert "499.99" in refused.failures[0].explain()


def test_a_plan_with_a_payment_past_its_date_unpaid_cannot_be_replanned_automatically(plan_db, policy):
    """Agreed 1 Oct, first payment due 20 Nov unpaid: within its grace days (not broken), but late."""
    items = [{"n": 1, "due": "2026-11-20", "amount": "1191.25"}, {"n": 2, "due": "2026-12-20", "amount": "1191.25"}]
    with plan_db.session() as session:
        session.add(RepaymentPlan(agreement_number="XY20261001-0001", borrower_id=BORROWER, loan_id=LOAN,
                                  kind="installment", starts_on=dt.date(2026, 10, 1), payments=json.dumps(items),
                                  status="in_force", open_key=LOAN))
    decision, done = accept(plan_db, policy, 6)
    assert done is None and [r.code for r in decision.outside] == ["plan_late"]
    assert decision.reasons() == ["协议XY20261001-0001在2026年11月20日应还的1,191.25元还没有还上,"
                                  "有逾期未还的期数时重新分期需要人工审核"]
    pay(plan_db, "1191.25", dt.date(2026, 11, 21))
    decision, done = accept(plan_db, policy, 6)  # paid: inside the rules; 1 Oct to 22 May is 8 months
    assert done is not None and done.agreement.supersedes == "XY20261001-0001"
    assert {"rule": "total_length", "limit": "12", "value": "8", "passed": True} in decision.record()["rules"]


def plan_in_force(first_start: dt.date, due: dt.date = dt.date(2026, 12, 22), replans=()) -> PlanInForce:
    items = [PlanItem(1, due, Decimal("1000.00")), PlanItem(2, due + dt.timedelta(days=31), Decimal("1000.00"))]
    return PlanInForce("XY20261001-0001", "installment", first_start, progress(items, [], TODAY, 5), tuple(replans))


def decide(policy, plan: PlanInForce, periods: int, kind: str = "installment"):
    last_due = TODAY + relativedelta(months=periods)
    return decide_replan(kind, plan, periods, last_due, History(), policy.envelopes.get(kind), policy.plans.replan,
                         TODAY)


@pytest.mark.parametrize("first_start, periods, span, inside", [
    (dt.date(2026, 10, 22), 11, 12, True),  # a month into the first plan: 11 more months make 12
    (dt.date(2026, 10, 22), 12, 13, False),
    (dt.date(2026, 10, 23), 11, 12, True),  # 11 months and 30 days: a part month counts as one
    (dt.date(2026, 10, 21), 11, 13, False),
])
def test_the_whole_span_since_the_first_plan_must_fit_the_envelope(policy, first_start, periods, span, inside):
    decision = decide(policy, plan_in_force(first_start), periods)
    rule = next(r for r in decision.rules if r.code == "total_length")
    assert (rule.value, rule.passed, decision.approved) == (str(span), inside, inside)
    if not inside:
        start = f"{first_start.year}年{first_start.month}月{first_start.day}日"
        assert decision.reasons() == [f"从{start}的第一份协议算起要{span}个月才能还完,"
                                      "我最多只能直接批准12个月以内的安排"]


def test_a_replan_a_year_ago_no_longer_counts_a_day_less_does(policy):
    year_ago = dt.date(2025, 11, 22)
    assert decide(policy, plan_in_force(TODAY, replans=[year_ago]), 6).approved
    late = decide(policy, plan_in_force(TODAY, replans=[year_ago + dt.timedelta(days=1)]), 6)
    assert [r.code for r in late.outside] == ["replans"]


def test_a_payment_due_today_is_not_late_yet_one_due_yesterday_is(policy):
    assert decide(policy, plan_in_force(TODAY, due=TODAY), 6).approved
    late = decide(policy, plan_in_force(TODAY, due=TODAY - dt.timedelta(days=1)), 6)
    assert [r.code for r in late.outside] == ["plan_late"]


def test_a_deferral_in_place_of_a_plan_in_force_always_goes_to_staff(policy):
    decision = decide(policy, plan_in_force(TODAY), 1, kind="deferral")
    assert not decision.approved and [r.code for r in decision.outside] == ["replan_kind"]
    assert decision.reasons("zh") == ["协议XY20261001-0001正在履行,改为延期需要工作人员审核"]
    assert "agreement XY20261001-0001 is in force" in decision.reasons("en")[0]


def test_span_months_counts_a_part_month_as_one():
    assert span_months(dt.date(2026, 11, 22), dt.date(2027, 11, 22)) == 12
    assert span_months(dt.date(2026, 11, 22), dt.date(2027, 11, 23)) == 13
    assert span_months(dt.date(2026, 1, 31), dt.date(2026, 2, 28)) == 1


def test_the_replan_policy_is_read_with_its_ranges_checked():
    assert parse_plan_life({"replan": {"max_replans": 0, "within_months": 6}}).replan == ReplanPolicy(0, 6)
    assert parse_plan_life({}).replan == ReplanPolicy(1, 12)
    for bad in ({"max_replans": -1}, {"within_months": 0}, {"max_replan": 1}):
        with pytest.raises(PolicyError):
            parse_plan_life({"replan": bad})
    assert texts.text("console.rule.replans")  # staff read every new rule's name


def test_staff_read_the_replan_rules_in_their_words(policy):
    from kuanxin.console.plans import rule_lines
    decision = decide(policy, plan_in_force(dt.date(2026, 10, 22), TODAY - dt.timedelta(days=1), [TODAY]), 12)
    lines = {line.rule: (line.limit, line.value, line.result) for line in rule_lines("installment", decision.record())}
    assert lines["近期重新分期次数"] == ("不超过1次", "1次", "不符合")
    assert lines["从第一份协议算起的总月数"] == ("不超过12个月", "13个月", "不符合")
    assert lines["原协议没有逾期未还的期数"] == ("", "2026-11-21", "不符合")
    deferral = decide(policy, plan_in_force(TODAY), 1, kind="deferral")
    assert [(line.rule, line.result) for line in rule_lines("deferral", deferral.record())] == [
        ("协议履行中只能自动批准重新分期", "不符合")]


def test_the_page_of_a_replan_offered_in_wechat_draws_the_very_text_offered(plan_db, policy, monkeypatch):
    monkeypatch.setenv("KUANXIN_TODAY", "2026-11-22")
    from web import agreements
    monkeypatch.setattr(agreements, "book", lambda: PlanBook(plan_db))
    _, first = accept(plan_db, policy, 6)
    borrower = Accounts(plan_db).borrower_profile(BORROWER)
    in_force = PlanBook(plan_db).in_force_on(LOAN, TODAY, 5)
    quote = plans.quote_installment(borrower, plans.find_loan(borrower, LOAN), 12, TODAY, policy, in_force)
    offered = plans.installment_agreement(borrower, quote, 12, TODAY, policy, "zh")
    drawn = agreements.offered({"b": BORROWER, "l": LOAN, "k": "installment", "n": "12", "d": "2026-11-22", "g": "zh"})
    assert drawn is not None and drawn.sha256 == offered.sha256 and f"取代协议{first.agreement.number}" in drawn.text
