"""Reports that show change, on SQLite and PostgreSQL: daily and weekly trends whose points add up to the period,
the previous period beside this one with deltas, charts drawn on the server, and a CSV of every figure that Excel
reads right and never runs as a formula."""
import csv
import datetime as dt
import io

import pytest

from kuanxin.console import analytics
from kuanxin.store.models import RepaymentPlan
from tests.unit.test_analytics import END, START, book  # noqa: F401 - the fixture worked out by hand

D = dt.date
ADDITIVE = ("conversations", "contained", "escalations", "escalations.human", "escalations.collection_abuse",
            "promises.made", "promises.kept", "promises.broken", "reminders.sent", "reminders.failed",
            "reminders.opted_out", "plans.offered", "plans.accepted", "plans.completed", "plans.broken",
            "plans.revoked")


def value(report, code):
    return next(f.value for f in analytics.figures(report) if f.code == code)


def plan(number, starts_on, status="in_force", ended_on=None):
    return RepaymentPlan(agreement_number=number, borrower_id="B1", loan_id="L-B1", kind="installment",
                         starts_on=starts_on, payments="[]", status=status, ended_on=ended_on)


def test_weeks_run_monday_to_sunday_cut_to_the_period():
    # 2026-11-01 is a Sunday, 2026-11-30 a Monday
    weeks = analytics.periods(START, END, "week")
    assert weeks[0] == (D(2026, 11, 1), D(2026, 11, 1)) and weeks[1] == (D(2026, 11, 2), D(2026, 11, 8))
    assert weeks[-1] == (D(2026, 11, 30), D(2026, 11, 30)) and len(weeks) == 6
    assert len(analytics.periods(START, END, "day")) == 30
    assert analytics.granularity(START, END) == "day" and analytics.granularity(START, D(2026, 12, 31)) == "week"
    assert analytics.granularity(START, END, "week") == "week"
    assert analytics.granularity(D(2026, 1, 1), D(2026, 12, 31), "day") == "week"  # too many days for a chart
    assert analytics.previous_period(START, END) == (D(2026, 10, 2), D(2026, 10, 31))
    assert analytics.previous_period(D(2026, 11, 16), D(2026, 11, 22)) == (D(2026, 11, 9), D(2026, 11, 15))


@pytest.mark.parametrize("by", ["day", "week"])
def test_the_trends_points_add_up_to_the_period(book, by):  # noqa: F811
    with book.session() as session:
        session.add_all([plan("XY1", D(2026, 11, 3)), plan("XY2", D(2026, 11, 10), "completed", D(2026, 11, 27)),
                         plan("XY3", D(2026, 10, 1), "broken", D(2026, 11, 12))])
    report = analytics.build_report(book, START, END)
    trend = analytics.build_trend(book, START, END, by)
    assert trend.by == by and trend.points[0].start == START and trend.points[-1].end == END
    for code in ADDITIVE:
        assert sum(trend.series(code)) == value(report, code), code
    assert (value(report, "plans.completed"), value(report, "plans.broken")) == (1, 1)
    if by == "day":
        days = {point.start: point for point in trend.points}
        assert days[D(2026, 11, 5)].conversations == 1 and days[D(2026, 11, 5)].escalations == {"collection_abuse": 1}
        assert value(days[D(2026, 11, 5)], "containment") == 0 and value(days[D(2026, 11, 10)], "containment") == 1
        assert value(days[D(2026, 11, 7)], "containment") is None  # no conversation that day: no rate, not 0%
    else:
        assert [len(analytics.periods(p.start, p.end, "day")) for p in trend.points] == [1, 7, 7, 7, 7, 1]


def test_this_period_beside_the_previous_one(book):  # noqa: F811
    view = analytics.build_view(book, START, END)
    assert (view.previous.start, view.previous.end) == (D(2026, 10, 2), D(2026, 10, 31))
    changes = {c.figure.code: c for c in analytics.compare(view.report, view.previous)}
    # October: one conversation (10-31 23:59 Beijing), not escalated; a kept promise; a reminder; an opt-out
    assert (changes["conversations"].figure.value, changes["conversations"].before.value) == (5, 1)
    assert changes["conversations"].delta == 4 and analytics.show_change(changes["conversations"]) == "+4"
    assert changes["containment"].delta == -40.0  # 60% against 100%: in percentage points
    assert analytics.show_change(changes["containment"]) == "-40.0个百分点"
    assert analytics.show_change(changes["promises.kept"]) == "持平"
    assert changes["reminders.opted_out"].delta == 1
    assert changes["answered.share"].delta is None and analytics.show_change(changes["answered.share"]) == "—"
    page = analytics.html_page(view.report, view)
    assert 'id="comparison"' in page and "与上期对比" in page and "2026-10-02 至 2026-10-31" in page
    assert page.count('class="chart trend"') == 5 and "每日趋势" in page  # no plans yet: no plans chart
    assert 'data-figure="containment"' in page


def test_the_csv_holds_every_figure_and_is_safe_in_excel(book):  # noqa: F811
    view = analytics.build_view(book, START, END, "week")
    data = analytics.export_csv(view)
    assert data.startswith("\ufeff".encode()) and "\r\n" in data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["部分", "开始日期", "结束日期", "指标", "数值", "指标代码"]
    codes = [f.code for f in analytics.figures(view.report)]
    parts = {}
    for part, *_, code in rows[1:]:
        parts.setdefault(part, []).append(code)
    assert parts["本期"] == codes and parts["上期"] == codes and parts["变化"] == codes
    assert parts["每周"] == codes * 6
    assert ["本期", "2026-11-01", "2026-11-30", "自助解决率", "60.0%", "containment"] in rows
    assert ["变化", "2026-11-01", "2026-11-30", "自助解决率", "'-40.0个百分点", "containment"] in rows
    assert ["每周", "2026-11-02", "2026-11-08", "会话数", "1", "conversations"] in rows
    assert not [cell for row in rows for cell in row
                if cell.startswith(analytics.FORMULA_START) and not analytics.NUMBER.fullmatch(cell)]


def test_a_cell_is_never_a_formula():
    assert analytics.safe_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    for risky in ("+1+1", "-1+cmd", "@SUM(A1)", "\tx", "\rx"):
        assert analytics.safe_cell(risky).startswith("'"), risky
    for number in ("12", "+3", "-2", "60.0%"):
        assert analytics.safe_cell(number) == number  # numbers stay numbers


def test_column_charts_scale_to_a_round_top():
    assert [analytics.nice_top(v) for v in (0, 0.4, 1, 3, 7, 12, 26, 180, 4100)] == \
        [1, 1, 1, 5, 10, 20, 50, 200, 5000]
    chart = analytics.column_chart("会话", ["11-01", "11-02"], [("会话数", [4, 2]), ("未转人工", [3, None])])
    bars = chart["bars"]
    assert len(bars) == 4 and [line["text"] for line in chart["grid"]] == ["0", "2.5", "5"]
    plot = chart["bottom"] - chart["top"]
    assert bars[0]["h"] == pytest.approx(plot * 4 / 5, abs=0.1) and bars[3]["h"] == 0
    stacked = analytics.column_chart("原因", ["11-01"], [("a", [2]), ("b", [3])], stacked=True)
    first, second = stacked["bars"]
    assert second["y"] + second["h"] == pytest.approx(first["y"], abs=0.2)  # one stack
    assert second["y"] == pytest.approx(chart["top"], abs=0.2)  # 5 of 5: the top
    share = analytics.column_chart("率", ["11-01"], [("率", [0.6])], percent_axis=True)
    assert share["grid"][-1]["text"] == "100%" and share["bars"][0]["h"] == pytest.approx(plot * 0.6, abs=0.1)
    many = analytics.column_chart("日", [f"d{n}" for n in range(60)], [("x", [1] * 60)])
    assert len(many["ticks"]) <= analytics.MAX_X_LABELS
