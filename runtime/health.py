"""Liveness, readiness and a guard in front of every route of a Rasa instance.

- `GET /live`: the process answers (its event loop turns).
- `GET /ready`: it can take turns now: the model is loaded, the conversation store and the lock store
  answer, and its actions are loaded (in its process) or its action server answers. 503 with the failing
  parts otherwise; the supervisor and nginx (or Kubernetes) send traffic only to ready instances.
- Every request whose address carries control characters or lone surrogates, or whose body is larger
  than MAX_REQUEST_BYTES, is refused with a 400/413 before any route (and so before the tracker
  store) sees it.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
import urllib.request
from typing import Any
from urllib.parse import unquote

from sanic import Sanic, response
from sanic.request import Request
from sqlalchemy import text

from kuanxin.core import texts
from kuanxin.core.safe_text import has_unsafe_characters, valid_sender_id
from runtime import actions_in_process

logger = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1024 * 1024  # the console's event appends are small; model uploads are not used
CHECK_TIMEOUT = 1.5


async def _tracker_store_answers(agent: Any) -> bool:
    store = getattr(agent.tracker_store, "_tracker_store", agent.tracker_store)
    engine = getattr(store, "engine", None)
    if engine is None:
        return True  # in memory: nothing to reach

    def ping() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    await asyncio.wait_for(asyncio.to_thread(ping), CHECK_TIMEOUT)
    return True


async def _lock_store_answers(agent: Any) -> bool:
    ping = getattr(agent.lock_store, "ping", None)
    return bool(await asyncio.wait_for(ping(), CHECK_TIMEOUT)) if ping else True


async def _action_server_answers() -> bool:
    endpoint = os.environ.get("KUANXIN_ACTION_ENDPOINT", "")
    if not endpoint:
        return True
    if endpoint == actions_in_process.URL:
        return actions_in_process.loaded()
    url = endpoint.rsplit("/webhook", 1)[0] + "/health"

    def get() -> bool:
        with urllib.request.urlopen(url, timeout=CHECK_TIMEOUT) as answer:  # noqa: S310 - our own server
            return answer.status == 200
    return await asyncio.to_thread(get)


async def failing_parts(app: Sanic) -> list[str]:
    agent = getattr(app.ctx, "agent", None)
    if agent is None or not agent.is_ready():
        return ["model"]
    checks = {"tracker_store": _tracker_store_answers(agent), "lock_store": _lock_store_answers(agent),
              "action_server": _action_server_answers()}
    results = await asyncio.gather(*checks.values(), return_exceptions=True)
    return [name for name, ok in zip(checks, results, strict=True) if ok is not True]


_last_check: dict[str, tuple[float, list[str]]] = {}
RECHECK_SECONDS = 1.0


async def failing_now(app: Sanic) -> list[str]:
    """failing_parts(), checked at most once a second: cheap enough to ask before acknowledging a push."""
    checked_at, failing = _last_check.get(app.name, (0.0, []))
    if time.monotonic() - checked_at > RECHECK_SECONDS:
        failing = await failing_parts(app)
        _last_check[app.name] = (time.monotonic(), failing)
    return failing


def add_routes(app: Sanic) -> None:
    app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BYTES

    @app.get("/live")
    async def live(_: Request) -> response.HTTPResponse:
        return response.json({"live": True})

    @app.get("/ready")
    async def ready(request: Request) -> response.HTTPResponse:
        failing = await failing_parts(request.app)
        _last_check[request.app.name] = (time.monotonic(), failing)
        return response.json({"ready": not failing, "failing": failing}, status=503 if failing else 200)

    @app.on_request
    async def refuse_unreadable_addresses(request: Request) -> response.HTTPResponse | None:
        try:
            path = request.path
            query = request.query_string
        except Exception:  # noqa: BLE001 - an address Sanic cannot even decode
            return _bad_address()
        if has_unsafe_characters(unquote(path)) or has_unsafe_characters(unquote(query)):
            return _bad_address()
        if path.startswith("/conversations/") and not valid_sender_id(unquote(path.split("/")[2])):
            return _bad_address()  # a conversation id no channel would accept
        return None


def _bad_address() -> response.HTTPResponse:
    return response.json({"error": "bad_request", "message": texts.text("channel.bad_address")}, status=400)
