"""The loan's own facts and the settlement figure, worked by hand, on a real database (SQLite and PostgreSQL)."""
import datetime as dt
from decimal import Decimal

import pytest
import yaml

from actions import loan_render
from actions.loan_facts import question_kind, topics_in
from kuanxin.core import texts
from kuanxin.core.policy import SettlementPolicy, parse_policy
from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.lending.loan_facts import loan_facts
from kuanxin.store import importer
from kuanxin.store.accounts import Accounts
from kuanxin.store.demo import demo_document
from tests.conftest import make_borrower, make_loan

D = dt.date
TODAY = D(2026, 11, 22)
FREE = SettlementPolicy(allowed=True, prepayment_fee_rate=Decimal("0"))


def stored_loan(db, rows, **kwargs):
    """The loan written to the database and read back as the actions read it."""
    with db.session() as session:
        session.add(make_borrower([make_loan(rows, **kwargs)]))
    return Accounts(db).borrower_profile("B1").loans[0]


# A 12,000.00 loan in four instalments of 3,000.00 principal + 180.00 interest, penalty 0.05% a day, late fee 30.00:
#   1  2026-08-01  paid in full
#   2  2026-09-01  paid 1,000.00 -> interest 180.00 first, then 820.00 principal: 2,180.00 principal unpaid
#                  82 days overdue (Sep 30 + Oct 31 + Nov 21): 2,180.00 × 82 × 0.0005 = 89.38
#   3  2026-10-01  unpaid, 52 days (Oct 31 + Nov 21): 3,000.00 × 52 × 0.0005 = 78.00
#   4  2026-12-01  not yet due
ROWS = [(D(2026, 8, 1), "3000.00", "180.00", "3180.00"),
        (D(2026, 9, 1), "3000.00", "180.00", "1000.00"),
        (D(2026, 10, 1), "3000.00", "180.00", "0.00"),
        (D(2026, 12, 1), "3000.00", "180.00", "0.00")]


def test_the_loans_facts(db):
    facts = loan_facts(stored_loan(db, ROWS), TODAY, FREE)
    assert (facts.principal, facts.annual_rate_percent, facts.interest_per_10000_a_year) == (
        Decimal("12000.00"), Decimal("18"), Decimal("1800.00"))
    assert (facts.term, facts.start_date, facts.last_due_date) == (4, D(2026, 1, 1), D(2026, 12, 1))
    assert (facts.periods_paid, facts.periods_remaining, facts.periods_overdue) == (1, 3, 2)
    assert (facts.next_due.period, facts.next_due.due_date, facts.next_due.amount) == (4, D(2026, 12, 1),
                                                                                      Decimal("3180.00"))
    assert facts.penalty_annual_rate == Decimal("0.1825")  # 0.05% × 365


def test_each_overdue_charge_is_principal_times_days_times_the_daily_rate(db):
    facts = loan_facts(stored_loan(db, ROWS), TODAY, FREE)
    assert [(c.period, c.due_date, c.days_overdue, c.unpaid_principal, c.unpaid_interest, c.penalty, c.late_fee)
            for c in facts.charges] == [
        (2, D(2026, 9, 1), 82, Decimal("2180.00"), Decimal("0.00"), Decimal("89.38"), Decimal("30.00")),
        (3, D(2026, 10, 1), 52, Decimal("3000.00"), Decimal("180.00"), Decimal("78.00"), Decimal("30.00")),
    ]
    assert facts.statement.total == Decimal("5587.38")  # 5,180.00 + 180.00 + 167.38 + 60.00


def test_settlement_is_remaining_principal_plus_overdue_interest_and_charges(db):
    s = loan_facts(stored_loan(db, ROWS), TODAY, FREE).settlement
    assert (s.overdue_principal, s.future_principal, s.remaining_principal) == (
        Decimal("5180.00"), Decimal("3000.00"), Decimal("8180.00"))
    assert (s.overdue_interest, s.penalty, s.late_fees, s.prepayment_fee) == (
        Decimal("180.00"), Decimal("167.38"), Decimal("60.00"), Decimal("0.00"))
    assert s.total == Decimal("8587.38")  # the 180.00 interest of instalment 4, not yet due, is not charged


def test_prepayment_fee_is_on_the_principal_repaid_early_rounded_half_up(db):
    rows = [(D(2026, 10, 1), "1000.00", "10.00", "0.00"),  # overdue: no prepayment fee on it
            (D(2026, 12, 1), "1000.50", "10.00", "0.00")]
    s = loan_facts(stored_loan(db, rows), TODAY, SettlementPolicy(True, Decimal("0.01"))).settlement
    assert s.prepayment_fee == Decimal("10.01")  # 1,000.50 × 1% = 10.005 -> 10.01
    # 2,000.50 + 10.00 + 1,000.00 × 52 × 0.0005 (26.00) + 30.00 + 10.01
    assert s.total == Decimal("2076.51")


def test_a_loan_not_yet_overdue_settles_for_its_principal(db):
    rows = [(D(2026, 10, 1), "1000.00", "50.00", "1050.00"), (D(2026, 12, 1), "1000.00", "50.00", "0.00")]
    facts = loan_facts(stored_loan(db, rows), TODAY, FREE)
    assert not facts.charges and facts.periods_overdue == 0
    assert facts.settlement.total == Decimal("1000.00")


def test_a_settled_loan_owes_nothing(db):
    rows = [(D(2026, 9, 1), "1000.00", "50.00", "1050.00"), (D(2026, 10, 1), "1000.00", "50.00", "1050.00")]
    facts = loan_facts(stored_loan(db, rows, status="settled"), TODAY, FREE)
    assert facts.settled and facts.settlement.total == Decimal("0.00")
    assert (facts.periods_paid, facts.periods_remaining, facts.next_due) == (2, 0, None)


def test_demo_borrowers_settlement_figures(db, policy):
    importer.load_document(db, demo_document())
    accounts = Accounts(db)
    l1001 = loan_facts(accounts.borrower_profile("B1001").loans[0], TODAY, policy.settlement)
    # 650.00 + 1,000.00 + 1,000.00 overdue + 4 × 1,000.00 not yet due; 300.00 interest; 44.60 penalty; 90.00 fees
    assert (l1001.settlement.remaining_principal, l1001.settlement.total) == (Decimal("6650.00"), Decimal("7084.60"))
    assert (l1001.periods_paid, l1001.periods_remaining, l1001.next_due.due_date) == (5, 7, D(2026, 12, 15))
    l3001 = loan_facts(accounts.borrower_profile("B1003").loans[0], TODAY, policy.settlement)
    # 7 × 1,666.67 - 0.04 principal, 5 × 300.00 interest, 264.17 penalty, 5 × 30.00 fees
    assert l3001.settlement.total == Decimal("13580.82")


# the policy ------------------------------------------------------------------------------------

def raw_policy():
    return yaml.safe_load((PROJECT_ROOT / "policy.yml").read_text(encoding="utf-8"))


def test_settlement_policy_is_read_and_checked():
    raw = raw_policy()
    assert parse_policy(raw).settlement == SettlementPolicy(True, Decimal("0"))
    raw["settlement"] = {"allowed": False, "prepayment_fee_rate": "0.02"}
    assert parse_policy(raw).settlement == SettlementPolicy(False, Decimal("0.02"))
    for bad in ({"allowed": "yes"}, {"prepayment_fee_rate": "-0.01"}, {"prepayment_fee_rate": "1"},
                {"prepayment_fee_rate": "两个点"}, {"prepayment_fee": "0.01"}):
        raw["settlement"] = bad
        with pytest.raises(ValueError, match="settlement"):
            parse_policy(raw)


# the words ------------------------------------------------------------------------------------

def zh(key, **values):
    return texts.text(key, **values)


def test_the_charges_are_shown_as_they_were_computed(db):
    reply = loan_render.facts_text(zh, [loan_facts(stored_loan(db, ROWS), TODAY, FREE)], ("rate", "charges"), TODAY)
    assert "年化利率:18%" in reply and "利息约1,800.00元" in reply
    assert "罚息日利率0.05%(按365天折合年化18.25%)" in reply
    assert "第2期(应还日2026年9月1日,逾期82天):2,180.00元 × 82天 × 0.05% = 罚息89.38元,违约金30.00元" in reply
    assert "第3期(应还日2026年10月1日,逾期52天):3,000.00元 × 52天 × 0.05% = 罚息78.00元,违约金30.00元" in reply
    assert "罚息合计167.38元,违约金合计60.00元" in reply


def test_settlement_and_both_figures_are_labelled(db):
    facts = [loan_facts(stored_loan(db, ROWS), TODAY, FREE)]
    settle = loan_render.settlement_text(zh, facts, TODAY, "400-800-0000")
    assert "今天一次性结清需还8,587.38元" in settle
    assert "剩余本金:8,180.00元(已逾期5,180.00元 + 未到期3,000.00元)" in settle
    both = loan_render.both_text(zh, facts, TODAY)
    assert "逾期应还:5,587.38元" in both and "一次性结清:8,587.38元" in both


def test_settlement_not_allowed_by_the_policy_says_so(db):
    facts = [loan_facts(stored_loan(db, ROWS), TODAY, SettlementPolicy(False, Decimal("0")))]
    settle = loan_render.settlement_text(zh, facts, TODAY, "400-800-0000")
    assert "不能提前一次性结清" in settle and "已逾期的5,587.38元请尽快还上" in settle
    assert "8,587.38" not in settle


@pytest.mark.parametrize("text, kind", [
    ("还要还多少钱才能还清", "settlement"), ("一次性还完要多少", "settlement"), ("提前还款要多少钱", "settlement"),
    ("结清要多少", "settlement"), ("我逾期了多少钱", "overdue"), ("逾期的部分还清要多少", "overdue"),
    ("查一下欠款", "overdue"), ("我还要还多少", "ambiguous"), ("我欠你们多少钱", "ambiguous"),
    ("/check_overdue", "other")])
def test_what_an_amount_question_asks_for(text, kind):
    assert question_kind(text) == kind


@pytest.mark.parametrize("text, topics", [
    ("我这笔贷款年利率是多少", ("rate",)), ("借了多少 分几期", ("amount", "term")), ("还了几期了", ("progress",)),
    ("下期什么时候还多少", ("next_due",)),
    ("一共借了多少 分了几期 还剩几期没还", ("amount", "term", "progress")), ("罚息怎么算的", ("charges",)),
    ("我的贷款信息", ())])
def test_which_facts_a_question_names(text, topics):
    assert topics_in(text) == topics
