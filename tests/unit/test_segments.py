"""Account classes at every boundary, small/large at the threshold, and the summary on a real database."""
import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from kuanxin.core.policy import parse_policy
from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.lending.segments import classify, summarize
from kuanxin.store.book import segment_accounts
from kuanxin.store.demo import demo_document
from kuanxin.store.importer import load_document
from kuanxin.store.models import Borrower
from tests.conftest import make_loan

TODAY = dt.date(2026, 11, 22)


def borrower_with(*loans):
    borrower = Borrower(id="B1", name="张伟", phone="13812345678", id_last4="123X", id_masked="x")
    borrower.loans = list(loans)
    return borrower


def overdue_by(days: int, principal: str = "1000.00", interest: str = "0.00", status: str = "active"):
    due = TODAY - dt.timedelta(days=days)
    return make_loan([(due, principal, interest, "0.00")], status=status, rate="0", late_fee="0.00")


@pytest.mark.parametrize(("days", "segment"), [
    (1, "early"), (30, "early"), (31, "middle"), (90, "middle"), (91, "late"), (400, "late"),
])
def test_days_overdue_boundaries(policy, days, segment):
    assert classify(borrower_with(overdue_by(days)), TODAY, policy.segments).segment == segment


@pytest.mark.parametrize(("due_in", "segment"), [(0, "upcoming"), (3, "upcoming"), (4, "current")])
def test_upcoming_boundaries(policy, due_in, segment):
    loan = make_loan([(TODAY + dt.timedelta(days=due_in), "800.00", "50.00", "0.00")])
    account = classify(borrower_with(loan), TODAY, policy.segments)
    assert account.segment == segment
    if segment == "upcoming":
        assert (account.amount, account.due_date, account.treatment) == (Decimal("850.00"),
                                                                         TODAY + dt.timedelta(days=due_in), "reminder")


def test_small_and_large_at_the_threshold(policy):
    just_below = classify(borrower_with(overdue_by(45, "4999.99")), TODAY, policy.segments)
    at = classify(borrower_with(overdue_by(45, "5000.00")), TODAY, policy.segments)
    assert (just_below.size, just_below.treatment) == ("small", "reminder")
    assert (at.size, at.treatment, at.amount) == ("large", "collection", Decimal("5000.00"))


def test_litigation_wins_and_settled_needs_every_loan(policy):
    assert classify(borrower_with(overdue_by(10), overdue_by(200, status="litigation")), TODAY,
                    policy.segments).segment == "litigation"
    paid = make_loan([(TODAY - dt.timedelta(days=40), "100.00", "0.00", "100.00")], status="settled")
    assert classify(borrower_with(paid), TODAY, policy.segments).segment == "settled"
    assert classify(borrower_with(paid, overdue_by(5)), TODAY, policy.segments).segment == "early"


def test_the_longest_arrears_decide_and_amounts_add_up(policy):
    account = classify(borrower_with(overdue_by(10, "300.00"), overdue_by(95, "200.00")), TODAY, policy.segments)
    assert (account.segment, account.days_overdue, account.amount) == ("late", 95, Decimal("500.00"))


def test_bad_segment_rules_are_refused():
    raw = yaml.safe_load((PROJECT_ROOT / "policy.yml").read_text(encoding="utf-8"))
    raw["segments"]["treatment"]["late"]["large"] = "threaten"
    with pytest.raises(ValueError, match="segments.treatment.late"):
        parse_policy(raw)


def test_summary_of_the_demo_book(db, policy):
    load_document(db, demo_document())
    rows = {(r.segment, r.size): r for r in summarize(segment_accounts(db, TODAY, policy.segments), policy.segments)}
    assert sum(r.accounts for r in rows.values()) == 6
    assert (rows[("early", "small")].accounts, rows[("early", "small")].amount) == (1, Decimal("446.40"))
    assert (rows[("late", "large")].accounts, rows[("late", "large")].amount) == (1, Decimal("10247.52"))
    assert rows[("late", "large")].treatment == "legal_review"
    assert rows[("litigation", "large")].accounts == 1 and rows[("settled", "small")].accounts == 1


@pytest.mark.slow
def test_kuanxin_segments_prints_the_table(tmp_path):
    env = dict(os.environ, KUANXIN_DATABASE_URL=f"sqlite:///{tmp_path / 'book.db'}", KUANXIN_TODAY="2026-11-22")
    kuanxin = str(Path(sys.executable).parent / "kuanxin")
    subprocess.run([kuanxin, "db", "demo"], env=env, check=True, capture_output=True)
    out = subprocess.run([kuanxin, "segments"], env=env, check=True, capture_output=True, text=True).stdout
    assert "late        large          1       10,247.52  legal_review" in out
    assert out.rstrip().endswith("total                      6       23,683.81")
