"""Plans in the outcome report (issue 18 item 6), worked out by hand on a real database: offers counted once per
conversation, loan and kind; acceptances and the acceptance rate; plans ended kept, broken or revoked; the
assistant's decisions beside the staff's; and the time from the first message of the session to the plan."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

from sqlalchemy import select

from kuanxin.console import analytics
from kuanxin.console.casework import Casework
from kuanxin.console.plan_report import duration_words
from kuanxin.console.staff import Staff
from kuanxin.core.vocab import DecisionOutcome
from kuanxin.store.accounts import Accounts, utc_naive
from kuanxin.store.models import ConversationSession, RepaymentPlan
from tests.unit.test_agreements import NOW, TODAY, accepted

BOSS = Staff(id=1, username="wang", display_name="王主管", role="supervisor")


def test_plans_offered_accepted_ended_decided_and_the_time_to_a_plan(db, policy):
    book, draft, done = accepted(db, policy)  # accepted at 10:00 Beijing in conversation c-1
    with db.session() as session:
        session.add(ConversationSession(conversation_id="c-1", started_at=utc_naive(NOW - dt.timedelta(minutes=12)),
                                        borrower_id="B1007"))
        session.add(ConversationSession(conversation_id="c-1", started_at=utc_naive(NOW - dt.timedelta(days=3))))
    offer = dict(borrower_id="B1007", loan_id="L7001", kind="installment", conversation_id="c-1", now=NOW)
    assert book.record_offer(length=6, sha256=draft.sha256, **offer) is True
    assert book.record_offer(length=6, sha256=draft.sha256, **offer) is False  # the same text shown again
    book.record_offer(length=12, sha256="1" * 64, **offer)  # a changed offer in the same conversation: still one
    book.record_offer(**{**offer, "conversation_id": "c-2"}, length=3, sha256="2" * 64)  # another one, not accepted
    book.record_decision(borrower_id="B1001", loan_id="L1001", kind="installment", outcome=DecisionOutcome.REVIEW,
                         length=24, rules={}, conversation_id="c-3", now=NOW)
    book.record_decision(borrower_id="B1004", loan_id="L4001", kind="installment", outcome=DecisionOutcome.REFUSED,
                         length=None, rules=[], conversation_id="c-4", now=NOW)
    request, _ = Accounts(db).submit_request(borrower_id="B1001", loan_id="L1001", kind="deferral",
                                             conversation_id="c-3", today=TODAY, now=NOW, months=2, reason="失业")
    Casework(db).decide_request(request.reference, BOSS, "approve", "材料齐全", NOW)
    book.revoke(done.agreement.number, by="wang", reason="复核", now=NOW + dt.timedelta(hours=1), today=TODAY,
                cooling_off_hours=48)

    report = analytics.build_report(db, TODAY, TODAY)
    figures = report.plan_figures
    assert (figures.offered, figures.accepted, figures.acceptance) == (2, 1, 0.5)
    assert dict(figures.ended) == {"revoked": 1} and figures.in_force == 0
    assert dict(figures.automated) == {"approved": 1, "review": 1, "refused": 1}
    assert dict(figures.by_staff) == {"approved": 1}  # the revocation counts as revoked, not as a staff rejection
    assert figures.minutes_to_plan == [12.0] and figures.median_shown == "12.0分钟"
    rows = analytics.csv_text(report).splitlines()
    for row in ("plans,offered,2", "plans,accepted,1", "plans,acceptance,50.0%", "plans,ended_revoked,1",
                "plan_decisions,automated_review,1", "plan_decisions,staff_approved,1",
                "time_to_plan,median_minutes,12.0"):
        assert row in rows, row
    page = analytics.html_fragment(report)
    assert "协议出示" in page and "达成协议用时" in page and "12.0分钟 / 12.0分钟" in page

    before = analytics.build_report(db, TODAY - dt.timedelta(days=7), TODAY - dt.timedelta(days=1)).plan_figures
    assert (before.offered, before.accepted, before.acceptance, before.median_shown) == (0, 0, None, "—")
    with db.session() as session:
        assert session.execute(select(RepaymentPlan.status)).scalar_one() == "revoked"


def test_durations_read_as_staff_say_them():
    assert duration_words(None) == "—" and duration_words(4.46) == "4.5分钟" and duration_words(125) == "2小时5分钟"


def test_the_web_reports_csv_holds_every_plan_row_the_page_shows(db, policy):
    book, _draft, done = accepted(db, policy)  # accepted at 10:00 Beijing in conversation c-1
    with db.session() as session:
        session.add(ConversationSession(conversation_id="c-1", started_at=utc_naive(NOW - dt.timedelta(minutes=12)),
                                        borrower_id="B1007"))
    book.record_decision(borrower_id="B1001", loan_id="L1001", kind="installment", outcome=DecisionOutcome.REVIEW,
                         length=24, rules={}, conversation_id="c-3", now=NOW)
    request, _ = Accounts(db).submit_request(borrower_id="B1001", loan_id="L1001", kind="deferral",
                                             conversation_id="c-3", today=TODAY, now=NOW, months=2, reason="失业")
    Casework(db).decide_request(request.reference, BOSS, "reject", "材料不全", NOW)

    view = analytics.build_view(db, TODAY, TODAY)
    rows = list(csv.reader(io.StringIO(analytics.export_csv(view).decode("utf-8-sig"))))
    this_period = {code: value for part, _start, _end, _label, value, code in rows[1:] if part == "本期"}
    page = analytics.html_fragment(view.report, view)
    plan_table = page[page.index('id="plan-figures"'):page.index("</table>", page.index('id="plan-figures"'))]
    shown = set(re.findall(r'data-figure="([a-z_.]+)"', plan_table))
    assert shown == {"plans.offered", "plans.accepted", "plans.kept", "plans.broken", "plans.revoked",
                     "plans.in_force", "decisions.automated", "decisions.staff", "time_to_plan"}
    # every one of those rows has its figures in the CSV, with the values the page shows
    assert this_period["plans.offered"] == "0" and this_period["plans.accepted"] == "1"
    assert this_period["plans.acceptance"] == "—"  # accepted without an offer recorded: nothing to divide by
    assert (this_period["plans.completed"], this_period["plans.broken"], this_period["plans.revoked"]) == ("0",) * 3
    assert this_period["plans.in_force"] == "1"
    assert [this_period[f"decisions.automated.{o}"] for o in ("approved", "review", "refused")] == ["1", "1", "0"]
    assert [this_period[f"decisions.staff.{s}"] for s in ("approved", "rejected")] == ["0", "1"]
    assert (this_period["time_to_plan.median"], this_period["time_to_plan.longest"]) == ("12.0", "12.0")
    assert "12.0分钟 / 12.0分钟" in page and "1 / 1 / 0" in page and "0 / 1" in page
    labels = {code: label for part, _s, _e, label, _v, code in rows[1:] if part == "本期"}
    assert labels["time_to_plan.median"] == "达成协议用时·中位数(分钟)"
    assert labels["plans.in_force"] == "还款计划·期末履行中"
    changes = {code: value for part, *_rest, value, code in rows[1:] if part == "变化"}
    assert changes["time_to_plan.median"] == "—" and changes["decisions.staff.rejected"] == "+1"
    assert done.plan.status == "in_force"
