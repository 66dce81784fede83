"""A web app that answers 500 on /boom (after the response has started, as the real one's error handler does)."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    @app.post("/form")
    def form() -> dict:
        return {"ok": True}

    @app.get("/health")
    def health() -> dict:
        return {"ok": True}

    async def internal_error(_request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "internal"}, status_code=500)

    app.add_exception_handler(Exception, internal_error)
    return app
