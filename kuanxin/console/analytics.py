"""What the assistant achieves over a period: the figures, their CSV, and a printable page with charts.

Definitions (also written on the page):
- a conversation is a session of the assistant started in the period (a long pause starts a new one);
- contained: no escalation to staff was opened in it (from its start until the conversation's next session);
- escalations, requests and promises are counted by the day they were made, in their state today;
- a reminder counts as sent once the WeChat API or the SMS gateway accepted it;
- answered within target: of the escalations opened in the period and answered (claimed, assigned, taken over,
  replied to or resolved), those answered within the target for their priority (policy.yml `service_clock`,
  service hours only: kuanxin.console.clocks);
- cured: a borrower who was overdue on the day of a sent reminder or of a conversation they were verified
  in, and paid every instalment that was overdue that day within 7 days of it.
Days are Beijing days; both ends of the period are included.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kuanxin.console.casework import REASONS, REQUEST_KINDS, REQUEST_STATUS
from kuanxin.console.clocks import TargetShare, share_within_target
from kuanxin.core import clock, policy
from kuanxin.lending.overdue import is_fully_paid
from kuanxin.store.accounts import utc_naive
from kuanxin.store.db import Database
from kuanxin.store.models import (
    Borrower,
    ConversationSession,
    Escalation,
    Loan,
    PaymentPromise,
    Reminder,
    ReminderOptOut,
    ScheduleRow,
    ServiceRequest,
)

CURE_DAYS = 7
MAX_DAYS = 366  # one report covers at most a year
PROMISE_STATES = {"kept": "已兑现", "broken": "未兑现", "open": "待跟进"}
TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


@dataclass
class Report:
    start: dt.date
    end: dt.date
    conversations: int = 0
    contained: int = 0
    escalations: Counter = field(default_factory=Counter)  # reason -> count
    requests: Counter = field(default_factory=Counter)  # (type, status) -> count
    promises: Counter = field(default_factory=Counter)  # status -> count
    reminders_sent: int = 0
    reminders_failed: int = 0
    opted_out: int = 0
    touched_overdue: int = 0
    cured: int = 0
    answered: TargetShare = TargetShare(0, 0)  # escalations answered, and within their target

    @property
    def containment(self) -> float | None:
        return self.contained / self.conversations if self.conversations else None

    @property
    def cure_rate(self) -> float | None:
        return self.cured / self.touched_overdue if self.touched_overdue else None

    @property
    def promises_made(self) -> int:
        return sum(self.promises.values())


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The period as naive UTC [from, to), how timestamps are stored."""
    def midnight(day):
        return utc_naive(dt.datetime.combine(day, dt.time(), clock.BEIJING))
    return midnight(start), midnight(end + dt.timedelta(days=1))


def check_period(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise ValueError("the period ends before it starts")
    if (end - start).days >= MAX_DAYS:
        raise ValueError(f"a report covers at most {MAX_DAYS} days")


def build_report(db: Database, start: dt.date, end: dt.date) -> Report:
    check_period(start, end)
    since, until = period_bounds(start, end)
    report = Report(start, end)
    with db.session() as session:
        sessions = list(session.execute(select(ConversationSession).where(
            ConversationSession.started_at >= since, ConversationSession.started_at < until)).scalars())
        report.conversations = len(sessions)
        report.contained = report.conversations - _escalated(session, sessions)
        opened = list(session.execute(select(Escalation).where(
            Escalation.created_at >= since, Escalation.created_at < until)).scalars())
        report.escalations = Counter(escalation.reason for escalation in opened)
        report.answered = share_within_target(opened, policy.current().service_clock)
        report.requests = Counter({(kind, status): n for kind, status, n in session.execute(
            select(ServiceRequest.type, ServiceRequest.status, func.count())
            .where(ServiceRequest.created_on >= start, ServiceRequest.created_on <= end)
            .group_by(ServiceRequest.type, ServiceRequest.status)).all()})
        report.promises = Counter({status: n for status, n in session.execute(
            select(PaymentPromise.status, func.count())
            .where(PaymentPromise.created_at >= since, PaymentPromise.created_at < until)
            .group_by(PaymentPromise.status)).all()})
        sent = list(session.execute(select(Reminder.borrower_id, Reminder.day).where(
            Reminder.day >= start, Reminder.day <= end, Reminder.status == "sent")).all())
        report.reminders_sent = len(sent)
        report.reminders_failed = session.execute(select(func.count()).select_from(Reminder).where(
            Reminder.day >= start, Reminder.day <= end, Reminder.status == "failed")).scalar_one()
        report.opted_out = session.execute(select(func.count()).select_from(ReminderOptOut).where(
            ReminderOptOut.at >= since, ReminderOptOut.at < until)).scalar_one()
        touches = defaultdict(set)
        for borrower_id, day in sent:
            touches[borrower_id].add(day)
        for s in sessions:
            if s.borrower_id:
                touches[s.borrower_id].add(clock.beijing_date(s.started_at))
        report.touched_overdue, report.cured = _cures(session, touches)
    return report


def _escalated(session, sessions: list[ConversationSession]) -> int:
    """How many of the sessions had an escalation opened before the conversation's next session."""
    ids = {s.conversation_id for s in sessions}
    if not ids:
        return 0
    first = min(s.started_at for s in sessions)
    starts = defaultdict(list)
    for conversation_id, started_at in session.execute(
            select(ConversationSession.conversation_id, ConversationSession.started_at)
            .where(ConversationSession.conversation_id.in_(ids), ConversationSession.started_at >= first)).all():
        starts[conversation_id].append(started_at)
    opened = defaultdict(list)
    for conversation_id, created_at in session.execute(
            select(Escalation.conversation_id, Escalation.created_at)
            .where(Escalation.conversation_id.in_(ids), Escalation.created_at >= first)).all():
        opened[conversation_id].append(created_at)
    escalated = 0
    for s in sessions:
        later = [t for t in starts[s.conversation_id] if t > s.started_at]
        ends = min(later) if later else dt.datetime.max
        escalated += any(s.started_at <= t < ends for t in opened[s.conversation_id])
    return escalated


def _cures(session, touches: dict) -> tuple[int, int]:
    """(borrowers overdue on a touch day, of whom cured within CURE_DAYS of such a day)."""
    if not touches:
        return 0, 0
    borrowers = session.execute(select(Borrower).where(Borrower.id.in_(touches))
                                .options(selectinload(Borrower.loans).selectinload(Loan.schedule))).scalars()
    touched = cured = 0
    for borrower in borrowers:
        rows = [row for loan in borrower.loans for row in loan.schedule]
        outcomes = [_cured_after(rows, day) for day in sorted(touches[borrower.id])]
        outcomes = [o for o in outcomes if o is not None]
        touched += bool(outcomes)
        cured += any(outcomes)
    return touched, cured


def _cured_after(rows: list[ScheduleRow], day: dt.date) -> bool | None:
    """None when nothing was overdue that day; else whether all of it was paid within CURE_DAYS."""
    overdue = [row for row in rows if row.due_date < day and not _paid_before(row, day)]
    if not overdue:
        return None
    by = day + dt.timedelta(days=CURE_DAYS)
    return all(is_fully_paid(row) and row.paid_on is not None and row.paid_on <= by for row in overdue)


def _paid_before(row: ScheduleRow, day: dt.date) -> bool:
    return is_fully_paid(row) and (row.paid_on is None or row.paid_on < day)


# output ------------------------------------------------------------------------------------

def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


def csv_text(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["metric", "detail", "value"])
    writer.writerow(["period", f"{report.start.isoformat()}..{report.end.isoformat()}", ""])
    writer.writerows([["conversations", "", report.conversations], ["contained", "", report.contained],
                      ["containment", "", percent(report.containment)]])
    writer.writerows(["escalations", reason, report.escalations.get(reason, 0)]
                     for reason in sorted(set(REASONS) | set(report.escalations)))
    writer.writerows(["requests", f"{kind}/{status}", report.requests.get((kind, status), 0)]
                     for kind in REQUEST_KINDS for status in REQUEST_STATUS)
    writer.writerows([["promises", "made", report.promises_made]] +
                     [["promises", state, report.promises.get(state, 0)] for state in PROMISE_STATES])
    writer.writerows([["reminders", "sent", report.reminders_sent], ["reminders", "failed", report.reminders_failed],
                      ["reminders", "opted_out", report.opted_out],
                      ["cure", "overdue_when_touched", report.touched_overdue],
                      ["cure", f"cured_within_{CURE_DAYS}_days", report.cured],
                      ["cure", "rate", percent(report.cure_rate)],
                      ["escalations_answered", "", report.answered.answered],
                      ["escalations_answered", "within_target", report.answered.within_target]])
    return out.getvalue()


def bars(items: list[tuple[str, int]]) -> list[dict]:
    """Horizontal bars for the SVG charts: label, value, width in percent of the largest."""
    top = max((value for _, value in items), default=0) or 1
    return [{"label": label, "value": value, "width": round(value * 100 / top, 1)} for label, value in items]


def chart_data(report: Report) -> dict:
    return {
        "escalations": bars([(REASONS.of(r), report.escalations.get(r, 0))
                             for r in sorted(set(REASONS) | set(report.escalations))]),
        "requests": bars([(f"{REQUEST_KINDS[k]} · {REQUEST_STATUS[s]}", report.requests.get((k, s), 0))
                          for k in REQUEST_KINDS for s in REQUEST_STATUS if report.requests.get((k, s), 0)]),
        "promises": bars([("承诺还款", report.promises_made)] +
                         [(label, report.promises.get(state, 0)) for state, label in PROMISE_STATES.items()]),
        "reminders": bars([("已发送", report.reminders_sent), ("发送失败", report.reminders_failed),
                           ("退订", report.opted_out)]),
    }


def html_fragment(report: Report) -> Markup:
    """The report's body: the console embeds it, the printable page wraps it."""
    return Markup(TEMPLATES.get_template("report_body.html").render(
        report=report, charts=chart_data(report), percent=percent, cure_days=CURE_DAYS))


def html_page(report: Report) -> str:
    return TEMPLATES.get_template("report_page.html").render(report=report, body=html_fragment(report))
