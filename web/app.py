"""The ASGI app `kuanxin serve` runs beside Rasa (uvicorn --factory web.app:create_app).

Each feature brings its own router; this module assembles them and decides how failures are answered:
malformed requests get a 4xx (web.guard), an unreachable database or Redis a Chinese "try again later"
page (503 with Retry-After; JSON for machine endpoints), anything else a Chinese error page with 500.
No answer carries a traceback or an internal name; the log gets the details.
"""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler as default_http_error
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import exc as sql_errors
from starlette.exceptions import HTTPException

from kuanxin.lending.privacy import install_log_masking
from web import agreements, demo_site, documents, guard, lender_api, payment_news, ready, sms
from web.console import documents as console_documents
from web.console import events as console_events
from web.console import insights
from web.console import live as console_live
from web.console import plans as console_plans
from web.console import routes as console
from web.console.auth import NotSignedIn

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 10
# a database answering "no" to a query is a fault of ours, not an outage
QUERY_FAULTS = (sql_errors.IntegrityError, sql_errors.DataError, sql_errors.ProgrammingError,
                sql_errors.NotSupportedError)


def unavailable_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [sql_errors.DBAPIError, sql_errors.TimeoutError]
    try:
        import redis.exceptions
        errors += [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError]
    except ImportError:  # pragma: no cover - redis is installed with rasa
        pass
    return tuple(errors)


def answer(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """A Chinese error page under /console, JSON elsewhere; falls back to a page without a template."""
    path = request.url.path
    if guard.is_console(path):
        try:
            response = console.page(request, "error.html", None, None, status, message=message)
        except Exception:  # noqa: BLE001 - the error page itself must not fail
            logger.exception("the console's error page could not be drawn")
            body, _ = guard.plain_answer(path, status, message)
            response = HTMLResponse(body, status_code=status)
    else:
        content = {"error": guard.ENGLISH.get(status, "error")}
        if status == 503:
            content["retry_after"] = RETRY_AFTER_SECONDS
        response = JSONResponse(content, status_code=status)
    response.headers.update(headers or {})
    return response


def guard_answer(path: str, status: int) -> tuple[bytes, bytes]:
    """The guard's refusals: the console's own error page when it can be drawn."""
    if guard.is_console(path):
        try:
            html = console.templates.get_template("console/error.html").render(
                staff=None, csrf_token=None, message=guard.message_for(status))
            return html.encode("utf-8"), b"text/html; charset=utf-8"
        except Exception:  # noqa: BLE001 - a page without the template is still a page
            logger.exception("the console's error page could not be drawn")
    return guard.plain_answer(path, status)


def create_app() -> FastAPI:
    install_log_masking()  # no full phone or ID number in the web app's log, whoever logs it
    app = FastAPI(title="kuanxin web", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(guard.RequestGuard, render=guard_answer)

    @app.get("/health", include_in_schema=False)
    def health() -> dict:
        return {"status": "ok"}

    app.include_router(ready.router)
    app.include_router(demo_site.router)
    app.include_router(console.router)
    app.include_router(console_live.router)
    app.include_router(insights.router)
    app.include_router(console_events.router)
    app.include_router(console_plans.router)
    app.include_router(sms.router)
    app.include_router(lender_api.router)
    app.include_router(agreements.router)
    app.include_router(documents.router)
    app.include_router(console_documents.router)
    sweeper = payment_news.Sweeper()  # payments pushed into conversations left open (web/payment_news.py)
    app.add_event_handler("startup", sweeper.start)
    app.add_event_handler("shutdown", sweeper.stop)

    @app.exception_handler(NotSignedIn)
    async def to_login(_request: Request, _exc: NotSignedIn) -> RedirectResponse:
        return RedirectResponse("/console/login", status_code=303)

    @app.exception_handler(guard.BadInput)
    async def bad_input(request: Request, exc: guard.BadInput) -> Response:
        headers = {"Connection": "close"} if exc.status == 413 else None
        return answer(request, exc.status, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def bad_address(request: Request, _exc: RequestValidationError) -> Response:
        # e.g. /console/escalations/abc: a page that does not exist, not a list of validation errors
        if guard.is_console(request.url.path):
            return answer(request, 404, guard.MESSAGES[404])
        return answer(request, 400, guard.MESSAGES[400])

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if guard.is_console(request.url.path):
            return answer(request, exc.status_code, guard.message_for(exc.status_code, exc.detail),
                          dict(exc.headers or {}))
        return await default_http_error(request, exc)

    async def service_unavailable(request: Request, exc: Exception) -> Response:
        if isinstance(exc, QUERY_FAULTS) and not getattr(exc, "connection_invalidated", False):
            return await internal_error(request, exc)
        logger.warning("%s %s: a store is unreachable (%s)", request.method, request.url.path,
                       type(getattr(exc, "orig", None) or exc).__name__)
        return answer(request, 503, guard.UNAVAILABLE, {"Retry-After": str(RETRY_AFTER_SECONDS)})

    for error in unavailable_errors():
        app.add_exception_handler(error, service_unavailable)

    async def internal_error(request: Request, exc: Exception) -> Response:
        # registered for Exception, Starlette logs the traceback itself after this answer has been sent
        if isinstance(exc, QUERY_FAULTS):
            logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return answer(request, 500, guard.INTERNAL)

    app.add_exception_handler(Exception, internal_error)
    return app
