"""The ASGI app `kuanxin serve` runs beside Rasa (uvicorn --factory web.app:create_app).

Each feature brings its own router; this module only assembles them.
"""
from __future__ import annotations

from fastapi import FastAPI

from web import demo_site


def create_app() -> FastAPI:
    app = FastAPI(title="kuanxin web", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/health", include_in_schema=False)
    def health() -> dict:
        return {"status": "ok"}

    app.include_router(demo_site.router)
    return app
