"""The ASGI app `kuanxin serve` runs beside Rasa (uvicorn --factory web.app:create_app).

Each feature brings its own router; this module only assembles them.
"""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler as default_http_error
from fastapi.exception_handlers import request_validation_exception_handler as default_validation_error
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException

from web import demo_site, sms
from web.console import insights
from web.console import routes as console
from web.console.auth import NotSignedIn


def create_app() -> FastAPI:
    app = FastAPI(title="kuanxin web", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/health", include_in_schema=False)
    def health() -> dict:
        return {"status": "ok"}

    app.include_router(demo_site.router)
    app.include_router(console.router)
    app.include_router(insights.router)
    app.include_router(sms.router)

    @app.exception_handler(NotSignedIn)
    async def to_login(_request: Request, _exc: NotSignedIn) -> RedirectResponse:
        return RedirectResponse("/console/login", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def bad_address(request: Request, exc: RequestValidationError):
        # e.g. /console/escalations/abc: a page that does not exist, not a list of validation errors
        if request.url.path.startswith("/console"):
            return console.page(request, "error.html", None, None, 404, message="找不到这个页面。")
        return await default_validation_error(request, exc)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if request.url.path.startswith("/console"):
            return console.page(request, "error.html", None, None, exc.status_code, message=exc.detail)
        return await default_http_error(request, exc)

    return app
