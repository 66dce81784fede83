"""The console's 还款协议 pages: decisions (the assistant's beside the staff's, with the rules that decided), plans by
status, the written agreements and one agreement's record; and a supervisor's revocation of an automated approval
within the cooling-off window. Reading is for every role; the words and rules come from kuanxin/console/plans.py."""
from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from kuanxin.console import plans
from kuanxin.console.casework import Casework, Forbidden
from kuanxin.console.labels import words
from kuanxin.console.live import live
from kuanxin.core import clock, policy
from kuanxin.core.vocab import PlanStatus
from kuanxin.store.db import database
from web.console.auth import require_form, require_staff
from web.console.routes import StaffNames, page, see

router = APIRouter(prefix="/console")
NUMBER = re.compile(r"XY[0-9]{8}-[0-9]{4,9}")


@router.get("/plans", response_class=HTMLResponse)
def plans_page(request: Request, status: str = "", session=Depends(require_staff)) -> Response:
    status = status if status in PlanStatus.values() else ""
    db = database()
    return page(request, "plans.html", *session, status=status, statuses=plans.PLAN_STATUS,
                counts=plans.plan_counts(db), plan_rows=plans.plan_lines(db, status or None),
                decisions=plans.decision_lines(db), agreements=plans.agreement_lines(db),
                assistant=words("decider.assistant"), names=staff_names())


def staff_names() -> StaffNames:
    return StaffNames(Casework().staff_names())


@router.get("/agreements/{number}", response_class=HTMLResponse)
def agreement_page(request: Request, number: str, revoked: str = "", session=Depends(require_staff)) -> Response:
    return record_page(request, number, *session, revoked=revoked == "1")


def record_page(request: Request, number: str, staff, csrf, error: str | None = None, status_code: int = 200,
                revoked: bool = False) -> HTMLResponse:
    record = plans.agreement_record(number, policy.current().plans.cooling_off_hours) if NUMBER.fullmatch(
        number) else None
    if record is None:
        return page(request, "error.html", staff, csrf, 404, message=words("revoke.refused.unknown"))
    return page(request, "agreement.html", staff, csrf, status_code, record=record, error=error, revoked=revoked,
                names=staff_names(), assistant=words("decider.assistant"),
                cooling_off_hours=policy.current().plans.cooling_off_hours)


@router.post("/agreements/{number}/revoke", response_class=HTMLResponse)
def revoke(request: Request, number: str, signed=Depends(require_form)) -> Response:
    staff, csrf, form = signed
    if not NUMBER.fullmatch(number):
        return page(request, "error.html", staff, csrf, 404, message=words("revoke.refused.unknown"))
    try:
        plans.revoke(staff, number, str(form.get("reason", "")), clock.now(), clock.today(),
                     policy.current().plans.cooling_off_hours)
    except Forbidden as exc:
        return page(request, "error.html", staff, csrf, 403, message=str(exc))
    except plans.RevocationError as exc:
        return record_page(request, number, staff, csrf, error=str(exc), status_code=409)
    live().changed("revoke_plan")
    return see(f"/console/agreements/{number}?revoked=1")
