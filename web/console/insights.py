"""Console pages for the lender's view of the book: account classes with drill-down, broken promises,
and the outcome report. Read-only: any signed-in staff member may see them."""
from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from kuanxin.console import analytics
from kuanxin.core import clock, policy
from kuanxin.core.policy import SEGMENTS
from kuanxin.reminders.promises import broken_promises
from kuanxin.reminders.selection import safety_paused
from kuanxin.store import classes
from kuanxin.store.db import database
from web.console.auth import require_staff
from web.console.routes import page

router = APIRouter(prefix="/console")
SEGMENT_NAMES = {"upcoming": "即将到期", "early": "逾期1-30天", "middle": "逾期31-90天", "late": "逾期90天以上",
                 "litigation": "诉讼中", "settled": "已结清", "current": "正常"}
SIZE_NAMES = {"small": "小额", "large": "大额"}
TREATMENT_NAMES = {"reminder": "自动提醒", "collection": "人工联系", "legal_review": "法务审核", "none": "无需处理"}
DRILL_LIMIT = 500
BROKEN_DAYS = 30
LABELS = {"SEGMENT_NAMES": SEGMENT_NAMES, "SIZE_NAMES": SIZE_NAMES, "TREATMENT_NAMES": TREATMENT_NAMES}


@router.get("/segments", response_class=HTMLResponse)
def segments(request: Request, session=Depends(require_staff)) -> HTMLResponse:
    rules, today = policy.current().segments, clock.today()
    as_of, current = classes.for_staff(database(), today, rules)
    rows = classes.summary(database(), rules)
    broken = broken_promises(database(), today - dt.timedelta(days=BROKEN_DAYS))
    return page(request, "segments.html", *session, rows=rows, today=as_of, current=current, rules=rules, broken=broken,
                broken_days=BROKEN_DAYS, total_accounts=sum(r.accounts for r in rows),
                total_amount=sum(r.amount for r in rows), **LABELS)


@router.get("/segments/{segment}/{size}", response_class=HTMLResponse)
def segment_accounts_page(request: Request, segment: str, size: str, session=Depends(require_staff)) -> HTMLResponse:
    if segment not in SEGMENTS or size not in SIZE_NAMES:
        return page(request, "error.html", *session, 404, message="没有这个账户分类。")
    rules, today = policy.current().segments, clock.today()
    as_of, current = classes.for_staff(database(), today, rules)
    shown, total = classes.accounts_in(database(), rules, segment, size, DRILL_LIMIT)
    with database().session() as db_session:  # borrowers in crisis: no contact until staff clear the flag
        paused = safety_paused(db_session)
    return page(request, "segment_accounts.html", *session, segment=segment, size=size, accounts=shown, total=total,
                today=as_of, current=current, treatment=rules.treatment[segment][size], paused=paused, **LABELS)


def _period(start: str, end: str) -> tuple[dt.date, dt.date, str | None]:
    """The asked period, or this month so far; with a message when the asked one is not a period."""
    today = clock.today()
    default = (today.replace(day=1), today)
    if not start and not end:
        return *default, None
    try:
        first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
        analytics.check_period(first, last)
    except ValueError:
        return *default, f"统计期间无效(开始日期须早于结束日期,最长{analytics.MAX_DAYS}天),已显示本月数据。"
    return first, last, None


def _by(by: str) -> str | None:
    return by if by in ("day", "week") else None


@router.get("/report", response_class=HTMLResponse)
def report(request: Request, start: str = "", end: str = "", by: str = "",
           session=Depends(require_staff)) -> HTMLResponse:
    first, last, error = _period(start[:20], end[:20])
    view = analytics.build_view(database(), first, last, _by(by))
    return page(request, "report.html", *session, error=error, start=first, end=last, by=view.trend.by,
                body=analytics.html_fragment(view.report, view))


@router.get("/report.csv")
def report_csv(start: str = "", end: str = "", by: str = "", _session=Depends(require_staff)) -> Response:
    """Every figure: this period, the previous one, the change and the trend (Excel-safe: BOM, no formulas)."""
    first, last, _ = _period(start[:20], end[:20])
    return Response(analytics.export_csv(analytics.build_view(database(), first, last, _by(by))),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="kuanxin-report-{first}-{last}.csv"'})


@router.get("/report/print", response_class=HTMLResponse)
def report_print(start: str = "", end: str = "", by: str = "", _session=Depends(require_staff)) -> HTMLResponse:
    first, last, _ = _period(start[:20], end[:20])
    view = analytics.build_view(database(), first, last, _by(by))
    return HTMLResponse(analytics.html_page(view.report, view))
