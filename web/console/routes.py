"""Console pages and actions. Every page needs a session; every POST also needs the session's CSRF token."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from kuanxin.console.audit_log import BORROWER_ID, PAGE_SIZE, AuditLog, AuditQuery
from kuanxin.console.casework import (
    ACTIONS,
    ESCALATION_STATUS,
    PRIORITIES,
    REASONS,
    REQUEST_KINDS,
    REQUEST_STATUS,
    STATUSES,
    CaseError,
    Casework,
    Forbidden,
)
from kuanxin.console.clocks import ClockState, by_urgency, clock_of, duration
from kuanxin.console.labels import CHANNELS, INTENTS, Labels, audit_detail, words
from kuanxin.console.live import live
from kuanxin.console.search import MAX_QUERY, Search, SearchError
from kuanxin.console.staff import Staff
from kuanxin.core import clock, policy
from kuanxin.core.money import yuan
from kuanxin.core.vocab import DocumentPurpose
from kuanxin.lending.identity import mask_phone, mask_text
from kuanxin.lending.overdue import loan_statement
from kuanxin.store import preferences
from kuanxin.store.accounts import Accounts, utc_naive
from web.console import rasa_api, transcript
from web.console.auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    directory,
    idle_seconds_left,
    login_limiter,
    new_login_token,
    require_form,
    require_staff,
    same_token,
    set_cookie,
    signed_in,
)
from web.console.documents import case_documents
from web.guard import BadInput, read_form, scrub

templates = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))
templates.env.finalize = scrub  # text from elsewhere (a tracker) with a lone surrogate cannot break a page
templates.env.filters["yuan"] = yuan
templates.env.filters["mask_phone"] = mask_phone
router = APIRouter(prefix="/console")
CHANNEL = re.compile(r"[a-z_]{1,40}")
ROW_ID = 2**31 - 1  # ids beyond an INTEGER column cannot exist (and SQLite refuses to compare them)
EscalationId = Annotated[int, PathParam(ge=1, le=ROW_ID)]
# every code a page shows goes through one of these tables (texts/zh.yml console.*)
templates.env.globals.update(REASONS=REASONS, ACTIONS=ACTIONS, REQUEST_STATUS=REQUEST_STATUS,
                             REQUEST_KINDS=REQUEST_KINDS, ESCALATION_STATUS=ESCALATION_STATUS,
                             PRIORITIES=PRIORITIES, CHANNELS=CHANNELS, INTENTS=INTENTS,
                             CLOCK=Labels("clock", [state.value for state in ClockState]),
                             DOCUMENT_PURPOSES=Labels("document_purpose", DocumentPurpose.values()))
templates.env.filters["duration"] = duration
templates.env.globals["words"] = words
templates.env.filters["audit_detail"] = audit_detail


def page(request: Request, template: str, staff: Staff | None, csrf: str | None, status_code: int = 200,
         **context) -> HTMLResponse:
    return templates.TemplateResponse(request, f"console/{template}", {"staff": staff, "csrf_token": csrf, **context},
                                      status_code=status_code)


def see(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def age(created_at: dt.datetime) -> str:
    return duration(int((utc_naive(clock.now()) - created_at).total_seconds() // 60))


templates.env.filters["age"] = age


def beijing(moment: dt.datetime) -> str:
    """A stored naive-UTC time as Beijing time."""
    return moment.replace(tzinfo=dt.timezone.utc).astimezone(clock.BEIJING).strftime("%Y-%m-%d %H:%M")


templates.env.filters["beijing"] = beijing


# the pages' scripts (files, not inline: a page holds no script of its own)

ASSETS = Path(__file__).parent / "assets"
SCRIPTS = ("live.js", "shortcuts.js", "session.js", "conversation.js", "alerts.js")


@router.get("/assets/{name}")
def asset(name: str) -> Response:
    if name not in SCRIPTS:
        return Response(status_code=404)
    return FileResponse(ASSETS / name, media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


# signing in and out

@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, expired: str = "") -> Response:
    if signed_in(request):
        return see("/console")
    return login_form(request, words("session.expired") if expired == "1" else None)


def login_form(request: Request, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    token = new_login_token()
    response = page(request, "login.html", None, token, status_code, error=error)
    set_cookie(response, LOGIN_COOKIE, token)
    return response


@router.post("/login", response_class=HTMLResponse)
async def log_in(request: Request) -> Response:
    try:
        form = await read_form(request)
    except BadInput as exc:
        return login_form(request, exc.message, exc.status)
    if not same_token(form.get("csrf_token"), request.cookies.get(LOGIN_COOKIE)):
        return login_form(request, "页面已过期,请重新登录。", 403)
    rules, address = policy.current().console, request.client.host if request.client else "?"
    if not login_limiter().allow(address, rules.login_attempts_per_minute):
        return login_form(request, "登录尝试过于频繁,请一分钟后再试。", 429)
    # the password hash and the database off the event loop: a login must not stall every open page's stream
    result = await run_in_threadpool(directory().log_in, str(form.get("username", "")),
                                     str(form.get("password", "")), clock.now(), rules)
    if result.status != "ok":
        login_limiter().failed(address)
    if result.status == "locked":
        until = result.locked_until.replace(tzinfo=dt.timezone.utc).astimezone(clock.BEIJING).strftime("%H:%M")
        return login_form(request, f"连续输错密码次数过多,账户已临时锁定,请在 {until} 后再试。", 423)
    if result.status != "ok":
        return login_form(request, "用户名或密码错误。", 401)
    response = see("/console")
    set_cookie(response, SESSION_COOKIE, result.token)
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


@router.post("/logout")
def log_out(request: Request, _form=Depends(require_form)) -> Response:
    directory().log_out(request.cookies.get(SESSION_COOKIE))
    response = see("/console/login")
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


# the idle timeout: every page warns before its session ends and offers to extend it (web/console/assets/session.js)

def session_timing() -> dict[str, int]:
    """The page's idle timer: the session's lifetime and how long before its end the warning shows."""
    rules = policy.current().console
    return {"idle": rules.idle_minutes * 60, "warn": min(rules.idle_warning_minutes, rules.idle_minutes) * 60}


templates.env.globals["session_timing"] = session_timing


@router.get("/session")
def session_state(request: Request) -> JSONResponse:
    """How long the session has left; asking does not extend it (the page asks before it warns)."""
    left = idle_seconds_left(request)
    return JSONResponse({"seconds_left": left or 0}, status_code=200 if left else 401,
                        headers={"Cache-Control": "no-store"})


@router.post("/session/extend")
def extend_session(request: Request, _form=Depends(require_form)) -> JSONResponse:
    """继续使用: a person's request, so the session is touched (by require_form) and starts its idle time again."""
    return JSONResponse({"seconds_left": idle_seconds_left(request) or 0}, headers={"Cache-Control": "no-store"})


# the queue

@router.get("", response_class=HTMLResponse)
def queue(request: Request, status: str = "open", reason: str = "", priority: str = "", channel: str = "",
          day: str = "", mine: str = "", session=Depends(require_staff)) -> HTMLResponse:
    since = until = None
    if day:
        try:
            start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), clock.BEIJING)
            since, until = start, start + dt.timedelta(days=1)
        except ValueError:
            day = ""
    # only known values reach the database (a NUL byte, for one, is an error on PostgreSQL)
    status = status if status in STATUSES or status == "all" else "open"
    reason = reason if reason in REASONS else ""
    priority = priority if priority in PRIORITIES else ""
    channel = channel if CHANNEL.fullmatch(channel) else ""
    mine = "1" if mine == "1" else ""
    casework, now = Casework(), clock.now()
    escalations = casework.queue(status=None if status == "all" else status, reason=reason or None,
                                 priority=priority or None, channel=channel or None, since=since, until=until,
                                 owner=session[0].username if mine else None)
    filters = {"status": status, "reason": reason, "priority": priority, "channel": channel, "day": day,
               "mine": mine}
    holdings = casework.holdings()
    return page(request, "queue.html", *session, rows=by_urgency(escalations, now, policy.current().service_clock),
                counts=casework.counts_by_status(), filters=filters, names=StaffNames(casework.staff_names()),
                me=next((h for h in holdings if h.username == session[0].username), None))


class StaffNames(dict):
    """login name -> display name, so pages name colleagues as they call each other; an author who is no member of
    staff (the assistant's own records) in words, never as a login name."""

    def get(self, username, default=None):  # type: ignore[override]
        return super().get(username) or words("staff.other")


# search (every role; reads are not audited)

def beijing_day(text: str, days: int = 0) -> dt.datetime | None:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), clock.BEIJING) + dt.timedelta(days=days)
    except ValueError:
        return None


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, q: str = "", status: str = "", since: str = "", until: str = "",
           session=Depends(require_staff)) -> HTMLResponse:
    status = status if status in STATUSES else ""
    start, end = beijing_day(since[:10]), beijing_day(until[:10], days=1)  # the last day included
    filters = {"q": mask_text(q[:MAX_QUERY]),  # the console never shows a full phone number
               "status": status, "since": since[:10] if start else "",
               "until": until[:10] if end else ""}
    hits, error = [], None
    try:
        hits = Search().find(q, status=status or None, since=start, until=end)
    except SearchError as exc:
        error = str(exc)
    return page(request, "search.html", *session, hits=hits, error=error, filters=filters,
                searched=bool(q.strip()), status_code=200 if error is None else 422)


# one conversation

@router.get("/escalations/{escalation_id}", response_class=HTMLResponse)
def conversation(request: Request, escalation_id: EscalationId, session=Depends(require_staff)) -> HTMLResponse:
    return conversation_page(request, escalation_id, *session)


def conversation_page(request: Request, escalation_id: int, staff: Staff, csrf: str, error: str | None = None,
                      status_code: int = 200) -> HTMLResponse:
    casework = Casework()
    escalation = casework.escalation(escalation_id)
    if escalation is None:
        return page(request, "error.html", staff, csrf, 404, message="找不到这条转人工记录。")
    try:
        tracker, rasa_error = rasa_api.tracker(escalation.conversation_id), None
    except rasa_api.RasaUnavailable as exc:
        tracker, rasa_error = {}, str(exc)
    accounts, today = Accounts(), clock.today()
    borrower = accounts.borrower_profile(escalation.borrower_id) if escalation.borrower_id else None
    holdings = casework.holdings()
    return page(
        request, "conversation.html", staff, csrf, status_code, error=error, rasa_error=rasa_error,
        escalation=escalation, clock=clock_of(escalation, clock.now(), policy.current().service_clock),
        holdings=holdings, names=StaffNames(casework.staff_names()),
        turns=transcript.turns(tracker), slots=transcript.filled_slots(tracker), seen=transcript.latest(tracker),
        paused=transcript.is_paused(tracker), borrower=borrower, today=today,
        statements=[loan_statement(loan, today) for loan in borrower.loans] if borrower else [],
        requests=accounts.requests_of(borrower.id) if borrower else [],
        reminder_preferences=preferences.stated(accounts.db, borrower.id) if borrower else [],
        related=casework.escalations_of(escalation.conversation_id, escalation.borrower_id),
        notes=casework.notes_of(escalation.conversation_id), audit=casework.audit_of(escalation.conversation_id),
        safety_flags=casework.safety_flags_of(escalation.conversation_id),
        case_documents=case_documents(accounts, escalation, borrower))


@router.post("/escalations/{escalation_id}/{action}", response_class=HTMLResponse)
def act(request: Request, escalation_id: EscalationId, action: str, signed=Depends(require_form)) -> Response:
    staff, csrf, form = signed
    casework, now = Casework(), clock.now()
    escalation = casework.escalation(escalation_id)
    if escalation is None or action not in ESCALATION_ACTIONS:
        return page(request, "error.html", staff, csrf, 404, message="找不到这条记录或操作。")
    try:
        ESCALATION_ACTIONS[action](casework, escalation, staff, form, now)
    except Forbidden as exc:
        return page(request, "error.html", staff, csrf, 403, message=str(exc))
    except (CaseError, rasa_api.RasaUnavailable) as exc:
        return conversation_page(request, escalation_id, staff, csrf, error=str(exc), status_code=409)
    live().changed(action)
    return see(f"/console/escalations/{escalation_id}")


def _take_over(casework, escalation, staff, _form, now) -> None:
    casework.check_may_hold(escalation, staff)  # a colleague's conversation is not paused from under them
    rasa_api.pause(escalation.conversation_id)
    casework.take_over(escalation.id, staff, now)


def _hand_back(casework, escalation, staff, _form, now) -> None:
    rasa_api.resume(escalation.conversation_id)
    casework.hand_back(escalation.id, staff, now)


def _reply(casework, escalation, staff, form, now) -> None:
    text = str(form.get("text", "")).strip()
    if not text:
        raise CaseError("回复内容不能为空。")
    if len(text) > 1000:
        raise CaseError("回复太长了,请控制在1000字以内。")
    rasa_api.send_staff_reply(escalation.conversation_id, text, staff.display_name)
    casework.record_reply(escalation.id, staff, text, now)


ESCALATION_ACTIONS = {
    "claim": lambda casework, escalation, staff, _form, now: casework.claim(escalation.id, staff, now),
    "assign": lambda casework, escalation, staff, form, now: casework.assign(
        escalation.id, staff, str(form.get("to", "")), now),
    "take-over": _take_over,
    "hand-back": _hand_back,
    "reply": _reply,
    "resolve": lambda casework, escalation, staff, form, now: casework.resolve(
        escalation.id, staff, str(form.get("outcome", "")), now),
    "note": lambda casework, escalation, staff, form, now: casework.add_note(
        escalation.conversation_id, staff, str(form.get("text", "")), now),
    "clear-safety": lambda casework, escalation, staff, form, now: casework.clear_safety_flags(
        escalation.conversation_id, staff, str(form.get("note", "")), now),
}


@router.post("/requests/{reference}/decide", response_class=HTMLResponse)
def decide(request: Request, reference: str, signed=Depends(require_form)) -> Response:
    staff, csrf, form = signed
    back = form.get("escalation_id", "")
    escalation = Casework().escalation(int(back)) if re.fullmatch(r"[0-9]{1,9}", back) else None
    try:
        Casework().decide_request(reference, staff, str(form.get("decision", "")), str(form.get("reason", "")),
                                  clock.now(), escalation.conversation_id if escalation else None)
    except Forbidden as exc:
        return page(request, "error.html", staff, csrf, 403, message=str(exc))
    except CaseError as exc:
        if escalation:
            return conversation_page(request, escalation.id, staff, csrf, error=str(exc), status_code=409)
        return page(request, "error.html", staff, csrf, 409, message=str(exc))
    live().changed("decide")
    return see(f"/console/escalations/{escalation.id}" if escalation else "/console")


# the audit log (supervisors only): who did what, to which borrower, when; a page at a time

@router.get("/audit", response_class=HTMLResponse)
def audit_log(request: Request, who: str = "", action: str = "", borrower: str = "", since: str = "", until: str = "",
              page_number: Annotated[int, Query(alias="page", ge=1, le=ROW_ID)] = 1,
              session=Depends(require_staff)) -> HTMLResponse:
    staff, csrf = session
    if not staff.is_supervisor:
        return page(request, "error.html", staff, csrf, 403, message=words("audit_log.supervisors_only"))
    log = AuditLog()
    authors = log.authors()
    start, end = beijing_day(since[:10]), beijing_day(until[:10], days=1)  # the last day included
    error = None
    if start and end and end <= start:
        start = end = None
        error = words("audit_log.bad_dates")
    filters = {"who": who if who in authors else "", "action": action if action in ACTIONS else "",
               "borrower": borrower.strip()[:64] if BORROWER_ID.fullmatch(borrower.strip()[:64]) else "",
               "since": since[:10] if start else "", "until": until[:10] if end else ""}
    found = log.find(AuditQuery(staff=filters["who"] or None, action=filters["action"] or None,
                                borrower_id=filters["borrower"] or None,
                                since=utc_naive(start) if start else None, until=utc_naive(end) if end else None),
                     page_number)
    names = AuthorNames(Casework().staff_names())
    return page(request, "audit.html", staff, csrf, found=found, filters=filters, error=error, names=names,
                authors=sorted(authors, key=names.get), page_size=PAGE_SIZE,
                query={key: value for key, value in filters.items() if value})


class AuthorNames(StaffNames):
    """An audit entry's author as staff read it: a colleague by display name, the borrower as such."""

    def get(self, username, default=None):  # type: ignore[override]
        return words("audit_log.borrower_party") if username == "borrower" else super().get(username)


# the team: who holds what (supervisors), taking new escalations or not (everyone)

@router.get("/team", response_class=HTMLResponse)
def team(request: Request, given: str = "", session=Depends(require_staff)) -> HTMLResponse:
    staff, csrf = session
    if not staff.is_supervisor:
        return page(request, "error.html", staff, csrf, 403, message="只有主管可以查看分工。")
    return page(request, "team.html", staff, csrf, holdings=Casework().holdings(),
                given=int(given) if given.isdigit() else None)


@router.post("/team/round-robin", response_class=HTMLResponse)
def round_robin(request: Request, signed=Depends(require_form)) -> Response:
    staff, csrf, _form = signed
    try:
        given = Casework().assign_round_robin(staff, clock.now())
    except Forbidden as exc:
        return page(request, "error.html", staff, csrf, 403, message=str(exc))
    except CaseError as exc:
        return page(request, "error.html", staff, csrf, 409, message=str(exc))
    live().changed("assign")
    return see(f"/console/team?given={len(given)}")


@router.post("/availability", response_class=HTMLResponse)
def availability(request: Request, signed=Depends(require_form)) -> Response:
    staff, _csrf, form = signed
    Casework().set_available(staff, form.get("available") == "1")
    return see("/console")
