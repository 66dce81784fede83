"""The console's 事件投递 page (supervisors only): the events sent to the lender and their deliveries, and
重新投递, which queues an event again (audited). The words and times come from kuanxin/console/events.py."""
from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from kuanxin.console import events
from kuanxin.console.casework import CaseError, Casework, Forbidden
from kuanxin.core import clock
from kuanxin.store.db import database
from web.console.auth import require_form, require_staff
from web.console.routes import page, see

router = APIRouter(prefix="/console")
EVENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SUPERVISORS_ONLY = "只有主管可以查看和重新投递事件。"


@router.get("/events", response_class=HTMLResponse)
def events_page(request: Request, failing: str = "", replayed: str = "", session=Depends(require_staff)) -> Response:
    staff, csrf = session
    if not staff.is_supervisor:
        return page(request, "error.html", staff, csrf, 403, message=SUPERVISORS_ONLY)
    failing_only = failing == "1"
    return page(request, "events.html", staff, csrf, lines=events.event_lines(database(), failing_only),
                counts=events.counts(database()), failing_only=failing_only,
                replayed=replayed if EVENT_ID.fullmatch(replayed) else "")


@router.post("/events/{event_id}/replay", response_class=HTMLResponse)
def replay(request: Request, event_id: str, signed=Depends(require_form)) -> Response:
    staff, csrf, _form = signed
    if not EVENT_ID.fullmatch(event_id):
        return page(request, "error.html", staff, csrf, 404, message="找不到这条事件。")
    try:
        Casework().replay_event(event_id, staff, clock.now())
    except Forbidden:
        return page(request, "error.html", staff, csrf, 403, message=SUPERVISORS_ONLY)
    except CaseError as exc:
        return page(request, "error.html", staff, csrf, 404, message=str(exc))
    return see(f"/console/events?replayed={event_id}")
