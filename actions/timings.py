"""The actions' side of the per-stage timings, in Rasa's process or an action server's (runtime.timings has
Rasa's side and the why).

With KUANXIN_STAGE_TIMINGS naming a folder, each action call appends one JSON line to
`actions-<pid>.jsonl`: its sender id and action name, the executor's whole time, the tracker parse,
the time inside account-database transactions and the time of their SQL statements.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import Tracker
from sqlalchemy import event
from sqlalchemy.engine import Engine

from kuanxin.store.db import Database

ENV = "KUANXIN_STAGE_TIMINGS"
_call: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("kuanxin_action_call", default=None)


def _add(name: str, seconds: float) -> None:
    call = _call.get()
    if call is not None:
        call["stages"][name] += seconds


def _recorded_calls(run: Callable[..., Any], out: Path) -> Callable[..., Any]:
    @functools.wraps(run)
    async def run_and_record(self: ActionExecutor, action_call: dict[str, Any]) -> Any:
        call: dict[str, Any] = {"sender": action_call.get("sender_id"), "action": action_call.get("next_action"),
                                "stages": defaultdict(float)}
        token = _call.set(call)
        started = time.perf_counter()
        try:
            return await run(self, action_call)
        finally:
            call["stages"]["executor"] = time.perf_counter() - started
            _call.reset(token)
            with out.open("a", encoding="utf-8") as lines:
                lines.write(json.dumps(call) + "\n")
    return run_and_record


def _timed_parse(from_dict: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(from_dict)
    def parse(state: dict[str, Any]) -> Tracker:
        started = time.perf_counter()
        try:
            return from_dict(state)
        finally:
            _add("tracker parse", time.perf_counter() - started)
    return parse


def _timed_session(session: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(session)
    @contextlib.contextmanager
    def timed(self: Database) -> Iterator[Any]:
        started = time.perf_counter()
        try:
            with session(self) as opened:
                yield opened
        finally:
            _add("db transactions", time.perf_counter() - started)
    return timed


def _before_statement(conn: Any, _cursor: Any, _statement: Any, _parameters: Any, _context: Any,
                      _executemany: Any) -> None:
    conn.info.setdefault("kuanxin_started", []).append(time.perf_counter())


def _after_statement(conn: Any, _cursor: Any, _statement: Any, _parameters: Any, _context: Any,
                     _executemany: Any) -> None:
    _add("db statements", time.perf_counter() - conn.info["kuanxin_started"].pop())
    call = _call.get()
    if call is not None:
        call["statements"] = call.get("statements", 0) + 1


def install() -> None:
    folder = os.environ.get(ENV)
    if not folder or getattr(ActionExecutor.run, "records_timings", False):
        return
    out = Path(folder) / f"actions-{os.getpid()}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    ActionExecutor.run = _recorded_calls(ActionExecutor.run, out)
    ActionExecutor.run.records_timings = True  # type: ignore[attr-defined]
    Tracker.from_dict = staticmethod(_timed_parse(Tracker.from_dict))  # type: ignore[method-assign]
    Database.session = _timed_session(Database.session)  # type: ignore[method-assign]
    event.listen(Engine, "before_cursor_execute", _before_statement)
    event.listen(Engine, "after_cursor_execute", _after_statement)
