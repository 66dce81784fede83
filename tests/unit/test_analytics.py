"""Outcome analytics on a fixture whose answers are worked out by hand, on SQLite and PostgreSQL."""
import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal

import pytest

from kuanxin.console import analytics
from kuanxin.store.models import (
    Borrower,
    ConversationSession,
    Escalation,
    PaymentPromise,
    Reminder,
    ReminderOptOut,
    ServiceRequest,
)
from tests.conftest import make_loan

START, END = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
D = dt.date
UTC = dt.datetime  # stored times are naive UTC; Beijing is UTC+8


def borrower(borrower_id, rows):
    """rows: (due date, amount, paid, paid_on)."""
    loan = make_loan([(due, amount, "0.00", paid) for due, amount, paid, _ in rows], loan_id=f"L-{borrower_id}")
    for row, (*_, paid_on) in zip(loan.schedule, rows, strict=True):
        row.paid_on = paid_on
    return Borrower(id=borrower_id, name="测试", phone=f"1380000{len(borrower_id):04d}{borrower_id[-1]}",
                    id_last4="1234", id_masked="x", loans=[loan])


def reminder(borrower_id, day, status="sent"):
    return Reminder(borrower_id=borrower_id, day=day, kind="segment", segment="early", channel="sms",
                    recipient="138****0000", amount=Decimal("1.00"), status=status, attempts=1,
                    created_at=UTC(2026, 11, 1))


def promise(status, created):
    return PaymentPromise(borrower_id="B1", promised_date=created.date() + dt.timedelta(days=3),
                          amount=Decimal("100.00"), status=status, created_at=created)


def request(kind, status, created_on):
    return ServiceRequest(borrower_id="B1", type=kind, status=status, created_on=created_on,
                          created_at=dt.datetime.combine(created_on, dt.time()))


@pytest.fixture
def book(db):
    with db.session() as session:
        session.add_all([
            borrower("B1", [(D(2026, 10, 20), "1000.00", "1000.00", D(2026, 11, 8))]),  # cured 6 days after
            borrower("B2", [(D(2026, 11, 10), "1000.00", "0.00", None)]),  # still overdue
            borrower("B3", [(D(2026, 10, 1), "1000.00", "500.00", D(2026, 11, 4)),
                            (D(2026, 10, 15), "1000.00", "1000.00", D(2026, 10, 20))]),  # half paid
            borrower("B4", [(D(2026, 11, 1), "1000.00", "1000.00", D(2026, 12, 5))]),  # paid, but after 7 days
            borrower("B5", [(D(2026, 11, 6), "1000.00", "1000.00", D(2026, 11, 6))]),  # reminded before due
        ])
        session.add_all([
            ConversationSession(conversation_id="c1", started_at=UTC(2026, 11, 5, 2), borrower_id="B1"),
            ConversationSession(conversation_id="c1", started_at=UTC(2026, 11, 10, 2), borrower_id="B1"),
            ConversationSession(conversation_id="c2", started_at=UTC(2026, 11, 12, 3)),
            ConversationSession(conversation_id="c3", started_at=UTC(2026, 11, 20, 1), borrower_id="B2"),
            ConversationSession(conversation_id="c4", started_at=UTC(2026, 10, 31, 15, 59)),  # 10-31 23:59 Beijing
            ConversationSession(conversation_id="c5", started_at=UTC(2026, 10, 31, 16, 0)),  # 11-01 00:00 Beijing
            ConversationSession(conversation_id="c6", started_at=UTC(2026, 11, 30, 16, 0)),  # 12-01 Beijing
            Escalation(conversation_id="c1", borrower_id="B1", reason="collection_abuse", priority="high",
                       created_at=UTC(2026, 11, 5, 2, 10)),
            Escalation(conversation_id="c2", reason="human", priority="normal", created_at=UTC(2026, 11, 12, 4)),
            Escalation(conversation_id="c6", reason="dispute", priority="normal", created_at=UTC(2026, 12, 2)),
            request("deferral", "pending", D(2026, 11, 3)), request("deferral", "approved", D(2026, 11, 4)),
            request("installment", "rejected", D(2026, 11, 15)), request("waiver", "pending", D(2026, 10, 30)),
            promise("kept", UTC(2026, 11, 2)), promise("broken", UTC(2026, 11, 6)),
            promise("broken", UTC(2026, 11, 9)), promise("open", UTC(2026, 11, 29)),
            promise("kept", UTC(2026, 10, 20)),
            reminder("B1", D(2026, 11, 2)), reminder("B3", D(2026, 11, 3)), reminder("B4", D(2026, 11, 25)),
            reminder("B5", D(2026, 11, 4)), reminder("B2", D(2026, 11, 6), "failed"),
            reminder("B2", D(2026, 10, 31)),
            ReminderOptOut(borrower_id="B6", channel="sms", at=UTC(2026, 11, 3)),
            ReminderOptOut(borrower_id="B7", channel="wechat", at=UTC(2026, 11, 30, 15)),
            ReminderOptOut(borrower_id="B8", channel="sms", at=UTC(2026, 10, 30)),
        ])
    return db


def test_figures_worked_out_by_hand(book):
    report = analytics.build_report(book, START, END)
    assert (report.conversations, report.contained, analytics.percent(report.containment)) == (5, 3, "60.0%")
    assert dict(report.escalations) == {"collection_abuse": 1, "human": 1}
    assert dict(report.requests) == {("deferral", "pending"): 1, ("deferral", "approved"): 1,
                                     ("installment", "rejected"): 1}
    assert (report.promises_made, dict(report.promises)) == (4, {"kept": 1, "broken": 2, "open": 1})
    assert (report.reminders_sent, report.reminders_failed, report.opted_out) == (4, 1, 2)
    assert (report.touched_overdue, report.cured, analytics.percent(report.cure_rate)) == (4, 1, "25.0%")


def test_csv_and_printable_page(book):
    report = analytics.build_report(book, START, END)
    rows = [line.split(",") for line in analytics.csv_text(report).splitlines()]
    assert ["containment", "", "60.0%"] in rows and ["requests", "deferral/approved", "1"] in rows
    assert ["cure", "cured_within_7_days", "1"] in rows and ["promises", "made", "4"] in rows
    page = analytics.html_page(report)
    assert page.count("<svg") == 4 and "指标说明" in page and "自助解决率" in page
    assert '<strong id="m-containment">60.0%</strong>' in page


def test_an_empty_period_and_bad_periods(db):
    empty = analytics.build_report(db, START, END)
    assert (empty.conversations, analytics.percent(empty.containment), empty.cured) == (0, "—", 0)
    assert "本期没有记录" in analytics.html_page(empty)
    for start, end in ((END, START), (D(2025, 1, 1), D(2026, 1, 2))):
        with pytest.raises(ValueError):
            analytics.build_report(db, start, end)


def test_an_unknown_code_is_shown_in_words_never_as_itself(db):
    # the database refuses a reason outside kuanxin.core.vocab (test_migrations); the page names one regardless
    report = analytics.build_report(db, START, END)
    report.escalations["<script>x</script>"] += 1
    page = analytics.html_page(report)
    assert "<script>" not in page and "script" not in page and "其他原因" in page


@pytest.mark.slow
def test_the_report_command(tmp_path):
    env = {**os.environ, "KUANXIN_DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}", "KUANXIN_VAR_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "kuanxin.ops.cli", "report", "--from", "2026-11-01", "--to",
                           "2026-11-30", "--out", str(tmp_path / "out")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "0 conversations" in done.stdout
    assert (tmp_path / "out" / "kuanxin-report-2026-11-01-2026-11-30.csv").read_text().startswith("metric,detail")
    bad = subprocess.run([sys.executable, "-m", "kuanxin.ops.cli", "report", "--from", "2026-11-30", "--to", "11月"],
                         env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr and "Traceback" not in bad.stderr
