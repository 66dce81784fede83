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
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kuanxin.console import plan_report, satisfaction_report
from kuanxin.console.casework import REASONS, REQUEST_KINDS, REQUEST_STATUS
from kuanxin.console.clocks import TargetShare, share_within_target
from kuanxin.console.labels import words
from kuanxin.core import clock, policy
from kuanxin.core.vocab import DecisionOutcome, RequestStatus
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
    plan_figures: plan_report.PlanFigures = field(default_factory=plan_report.PlanFigures)  # offered … time to a plan
    # asked, answered, ratings by topic, outcome and channel: kuanxin/console/satisfaction_report.py
    satisfaction: satisfaction_report.SatisfactionFigures = field(
        default_factory=satisfaction_report.SatisfactionFigures)

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
        report.plan_figures = plan_report.plan_figures(session, start, end, since, until)
        report.satisfaction = satisfaction_report.satisfaction_figures(session, since, until)
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
    writer.writerows(plan_report.csv_rows(report.plan_figures))
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


def html_fragment(report: Report, view: ReportView | None = None) -> Markup:
    """The report's body: the console embeds it, the printable page wraps it; with the view, the comparison with
    the previous period and the trend charts too."""
    change = None
    if view is not None:
        change = {"previous": view.previous, "rows": [c for c in compare(view.report, view.previous)
                                                      if c.figure.code in COMPARED],
                  "charts": trend_charts(view.trend), "by": view.trend.by}
    return Markup(TEMPLATES.get_template("report_body.html").render(
        report=report, charts=chart_data(report), percent=percent, cure_days=CURE_DAYS, change=change, show=show,
        show_change=show_change, words=words, satisfaction_words=satisfaction_report.WORDS))


def html_page(report: Report, view: ReportView | None = None) -> str:
    return TEMPLATES.get_template("report_page.html").render(report=report, body=html_fragment(report, view))


# change over time: every figure named once, the previous period beside this one, and daily or weekly trends ---------

MAX_DAILY_POINTS = 92  # a longer period is shown by week
PLAN_ENDS = ("completed", "broken", "revoked")
# the figures the page compares with the previous period (the CSV compares every figure)
COMPARED = ("conversations", "containment", "escalations", *(f"escalations.{r}" for r in REASONS), "answered.share",
            "promises.made", "promises.kept", "plans.offered", "plans.accepted", *(f"plans.{s}" for s in PLAN_ENDS),
            "reminders.sent", "cure.cured", "cure.rate", "satisfaction.asked", "satisfaction.answered",
            "satisfaction.response_rate", "satisfaction.csat")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run a cell starting so as a formula
NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?%?")  # ... except a plain number, which stays a number


@dataclass(frozen=True)
class Figure:
    code: str  # stable, for machines and the CSV: escalations.human
    label: str  # staff words
    value: float | None  # a count, or a share from 0 to 1 (None when there is nothing to divide by)
    share: bool = False
    minutes: bool = False  # a time in minutes, to one decimal (None when there is nothing to measure)


def figures(report: Report) -> list[Figure]:
    """Every figure of a report, in the order the page and the CSV show them."""
    got: list[Figure] = [
        Figure("conversations", words("figure.conversations"), report.conversations),
        Figure("contained", words("figure.contained"), report.contained),
        Figure("containment", words("figure.containment"), report.containment, share=True),
        Figure("escalations", words("figure.escalations"), sum(report.escalations.values()))]
    got += [Figure(f"escalations.{reason}", words("figure.escalations_by", reason=REASONS.of(reason)),
                   report.escalations.get(reason, 0)) for reason in sorted(set(REASONS) | set(report.escalations))]
    answered = report.answered
    got += [Figure("answered", words("figure.answered"), answered.answered),
            Figure("answered.within_target", words("figure.within_target"), answered.within_target),
            Figure("answered.share", words("figure.within_target_share"),
                   answered.within_target / answered.answered if answered.answered else None, share=True),
            Figure("promises.made", words("figure.promises_made"), report.promises_made)]
    got += [Figure(f"promises.{state}", words("figure.promises_by", state=label), report.promises.get(state, 0))
            for state, label in PROMISE_STATES.items()]
    plans = report.plan_figures  # kuanxin/console/plan_report.py: plans agreed in writing
    got += [Figure("plans.offered", words("figure.plans_offered"), plans.offered),
            Figure("plans.accepted", words("figure.plans_accepted"), plans.accepted)]
    got += [Figure(f"plans.{state}", words(f"figure.plans_{state}"), plans.ended.get(state, 0)) for state in PLAN_ENDS]
    got += plan_decision_figures(plans)
    got += [Figure(f"requests.{kind}.{status}", f"{REQUEST_KINDS[kind]}·{REQUEST_STATUS[status]}",
                   report.requests.get((kind, status), 0)) for kind in REQUEST_KINDS for status in REQUEST_STATUS]
    got += [Figure("reminders.sent", words("figure.reminders_sent"), report.reminders_sent),
            Figure("reminders.failed", words("figure.reminders_failed"), report.reminders_failed),
            Figure("reminders.opted_out", words("figure.opted_out"), report.opted_out),
            Figure("cure.overdue_when_touched", words("figure.touched_overdue"), report.touched_overdue),
            Figure("cure.cured", words("figure.cured", days=CURE_DAYS), report.cured),
            Figure("cure.rate", words("figure.cure_rate", days=CURE_DAYS), report.cure_rate, share=True)]
    got += [Figure(code, label, value, share=share)  # borrower satisfaction, in all and by topic, outcome, channel
            for code, label, value, share in satisfaction_report.figure_rows(report.satisfaction)]
    return got


def plan_decision_figures(plans: plan_report.PlanFigures) -> list[Figure]:
    """The rest of the page's plan rows (kuanxin/console/templates/plan_report.html): acceptance, plans in force,
    who decided and how, time to a plan."""
    got = [Figure("plans.acceptance", words("figure.plans_acceptance"), plans.acceptance, share=True),
           Figure("plans.in_force", words("figure.plans_in_force"), plans.in_force)]
    got += [Figure(f"decisions.automated.{outcome}", words(f"figure.decisions_automated_{outcome}"),
                   plans.automated.get(outcome, 0)) for outcome in DecisionOutcome.values()]
    got += [Figure(f"decisions.staff.{status}", words(f"figure.decisions_staff_{status}"),
                   plans.by_staff.get(status, 0)) for status in (RequestStatus.APPROVED, RequestStatus.REJECTED)]
    return got + [Figure("time_to_plan.median", words("figure.time_to_plan_median"), plans.median_minutes,
                         minutes=True),
                  Figure("time_to_plan.longest", words("figure.time_to_plan_longest"), plans.longest_minutes,
                         minutes=True)]


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The period of the same length just before: a week before a week, the 30 days before 30 days."""
    length = end - start
    return start - length - dt.timedelta(days=1), start - dt.timedelta(days=1)


@dataclass(frozen=True)
class Change:
    figure: Figure
    before: Figure
    delta: float | None  # this minus before; for a share in percentage points; None when either is unknown


def compare(now: Report, before: Report) -> list[Change]:
    changes = []
    for this, earlier in zip(figures(now), figures(before), strict=True):
        if this.value is None or earlier.value is None:
            delta = None
        else:
            delta = round((this.value - earlier.value) * 100, 1) if this.share else this.value - earlier.value
        changes.append(Change(this, earlier, delta))
    return changes


def show(figure: Figure) -> str:
    """A figure as the page and the CSV write it."""
    if figure.share:
        return percent(figure.value)
    if figure.minutes and figure.value is not None:
        return f"{figure.value:.1f}"
    return "—" if figure.value is None else str(int(figure.value))


def show_change(change: Change) -> str:
    if change.delta is None:
        return "—"
    if not change.delta:
        return words("report.flat")
    number = f"{change.delta:+.1f}" if change.figure.share or change.figure.minutes else f"{int(change.delta):+d}"
    return words("report.points", change=number) if change.figure.share else number


def periods(start: dt.date, end: dt.date, by: str) -> list[tuple[dt.date, dt.date]]:
    """The days, or the weeks (Monday to Sunday, cut to the period at either end), from start to end."""
    if by == "day":
        return [(day, day) for day in (start + dt.timedelta(days=n) for n in range((end - start).days + 1))]
    spans, first = [], start
    while first <= end:
        last = min(end, first + dt.timedelta(days=6 - first.weekday()))
        spans.append((first, last))
        first = last + dt.timedelta(days=1)
    return spans


def granularity(start: dt.date, end: dt.date, asked: str | None = None) -> str:
    """By day for a month or less, else by week; by day only when the days fit a chart."""
    days = (end - start).days + 1
    if asked == "week" or days > MAX_DAILY_POINTS:
        return "week"
    return "day" if asked == "day" or days <= 31 else "week"


@dataclass
class Trend:
    by: str  # day | week
    points: list[Report]

    def series(self, code: str) -> list[float | None]:
        return [next(f.value for f in figures(point) if f.code == code) for point in self.points]


def build_trend(db: Database, start: dt.date, end: dt.date, by: str) -> Trend:
    """One report per day or week: each point counts exactly as the period's report does."""
    check_period(start, end)
    return Trend(by, [build_report(db, first, last) for first, last in periods(start, end, by)])


@dataclass
class ReportView:
    """What the report page shows: the period, the one before it, and the period's trend."""
    report: Report
    previous: Report
    trend: Trend


def build_view(db: Database, start: dt.date, end: dt.date, by: str | None = None) -> ReportView:
    report = build_report(db, start, end)
    return ReportView(report, build_report(db, *previous_period(start, end)),
                      build_trend(db, start, end, granularity(start, end, by)))


def point_label(point: Report) -> str:
    return point.start.strftime("%m-%d") if point.start == point.end else \
        f"{point.start.strftime('%m-%d')}~{point.end.strftime('%m-%d')}"


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) and not NUMBER.fullmatch(text) else text


def export_csv(view: ReportView) -> bytes:
    """Every figure of the period, the previous period, their change and the trend, one figure a row, in UTF-8 with
    a byte order mark (Excel then reads the Chinese right)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([words(f"report.csv.{column}") for column in ("part", "start", "end", "figure", "value", "code")])

    def rows(part: str, report: Report, shown: list[tuple[Figure, str]]) -> None:
        writer.writerows([safe_cell(cell) for cell in (part, report.start.isoformat(), report.end.isoformat(),
                                                       figure.label, value, figure.code)]
                         for figure, value in shown)

    now, before = view.report, view.previous
    rows(words("report.this_period"), now, [(f, show(f)) for f in figures(now)])
    rows(words("report.previous_period"), before, [(f, show(f)) for f in figures(before)])
    rows(words("report.change"), now, [(c.figure, show_change(c)) for c in compare(now, before)])
    part = words(f"report.by_{view.trend.by}")
    for point in view.trend.points:
        rows(part, point, [(f, show(f)) for f in figures(point)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# trend charts: columns drawn on the server as SVG (no script, no CDN), sized to read on paper ----------------------

PALETTE = ("#2f7d5b", "#c77d00", "#3b6fb6", "#b42318", "#6b4ea0", "#5f6b66", "#0f7c8a")
CHART = {"width": 720, "height": 270, "left": 52, "right": 708, "top": 14, "bottom": 200}
MAX_X_LABELS = 12
LEGEND_ROW = 4  # legend entries a line


def nice_top(value: float) -> float:
    """A round top for the axis at or above value: 1, 2, 2.5 or 5 times a power of ten."""
    if value <= 0:
        return 1
    power = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def column_chart(title: str, labels: list[str], series: list[tuple[str, list[float | None]]], stacked: bool = False,
                 percent_axis: bool = False) -> dict:
    """The geometry of a column chart: one group (or stack) per point, one colour per series, the axis top, the
    gridlines and which point labels are written (at most MAX_X_LABELS, evenly spaced)."""
    values = [[v or 0 for v in values] for _, values in series]
    heights = [sum(column) for column in zip(*values, strict=True)] if stacked else [v for vs in values for v in vs]
    top = 100.0 if percent_axis else nice_top(max(heights, default=0))
    scale = 100 if percent_axis else 1
    plot_w, plot_h = CHART["right"] - CHART["left"], CHART["bottom"] - CHART["top"]
    slot = plot_w / max(1, len(labels))
    groups = 1 if stacked else len(series)
    width = max(1.0, slot * 0.8 / groups)
    bars = []
    for index in range(len(labels)):
        base = float(CHART["bottom"])
        for number, (name, _) in enumerate(series):
            value = values[number][index] * scale
            height = plot_h * value / top
            x = CHART["left"] + slot * index + slot * 0.1 + (0 if stacked else number * width)
            y = (base - height) if stacked else CHART["bottom"] - height
            bars.append({"x": round(x, 1), "y": round(y, 1), "w": round(width, 1), "h": round(height, 1),
                         "colour": PALETTE[number % len(PALETTE)],
                         "tip": f"{labels[index]} {name}: {_axis_number(value, percent_axis)}"})
            if stacked:
                base -= height
    every = max(1, -(-len(labels) // MAX_X_LABELS))
    ticks = [{"x": round(CHART["left"] + slot * (i + 0.5), 1), "text": label}
             for i, label in enumerate(labels) if i % every == 0]
    grid = [{"y": round(CHART["bottom"] - plot_h * share, 1), "text": _axis_number(top * share, percent_axis)}
            for share in (0, 0.5, 1)]
    legend = [{"name": name, "colour": PALETTE[n % len(PALETTE)], "x": CHART["left"] + 165 * (n % LEGEND_ROW),
               "y": CHART["bottom"] + 44 + 22 * (n // LEGEND_ROW)} for n, (name, _) in enumerate(series)]
    height = CHART["bottom"] + 56 + 22 * ((len(series) - 1) // LEGEND_ROW)
    return {"title": title, "bars": bars, "ticks": ticks, "grid": grid, "legend": legend, **CHART, "height": height}


def _axis_number(value: float, percent_axis: bool) -> str:
    if percent_axis:
        return f"{value:.0f}%" if float(value).is_integer() else f"{value:.1f}%"
    return f"{value:g}"


def trend_charts(trend: Trend) -> list[dict]:
    """The trend charts; the plans chart only when plans agreed in writing are in use."""
    labels = [point_label(point) for point in trend.points]
    reasons = sorted(set(REASONS) | {r for point in trend.points for r in point.escalations})
    charts = [
        column_chart(words("report.chart.conversations"), labels,
                     [(words("figure.conversations"), trend.series("conversations")),
                      (words("figure.contained"), trend.series("contained"))]),
        column_chart(words("figure.containment"), labels, [(words("figure.containment"),
                                                             trend.series("containment"))], percent_axis=True),
        column_chart(words("report.chart.escalations"), labels,
                     [(REASONS.of(r), trend.series(f"escalations.{r}")) for r in reasons
                      if any(trend.series(f"escalations.{r}"))] or [(words("figure.escalations"),
                                                                     trend.series("escalations"))], stacked=True),
        column_chart(words("report.chart.promises"), labels,
                     [(words("figure.promises_made"), trend.series("promises.made")),
                      (words("figure.promises_by", state=PROMISE_STATES["kept"]), trend.series("promises.kept"))]),
        column_chart(words("report.chart.reminders"), labels,
                     [(words("figure.reminders_sent"), trend.series("reminders.sent")),
                      (words("figure.cured", days=CURE_DAYS), trend.series("cure.cured"))]),
    ]
    plans = [(words(f"figure.plans_{state}"), trend.series(f"plans.{state}")) for state in ("accepted", *PLAN_ENDS)]
    if any(any(values) for _, values in plans):
        charts.append(column_chart(words("report.chart.plans"), labels, plans))
    if any(trend.series("satisfaction.asked")):  # the satisfaction question in use
        charts.append(column_chart(words("report.chart.satisfaction"), labels,
                                   [(words("figure.satisfaction_asked"), trend.series("satisfaction.asked")),
                                    (words("figure.satisfaction_answered"), trend.series("satisfaction.answered"))]))
        charts.append(column_chart(words("figure.satisfaction_csat"), labels,
                                   [(words("figure.satisfaction_csat"), trend.series("satisfaction.csat"))],
                                   percent_axis=True))
    return charts
