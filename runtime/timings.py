"""Where a turn's time goes, stage by stage: for the benchmark (bench.turns), off unless asked for.

With KUANXIN_STAGE_TIMINGS naming a folder, the Rasa process appends one JSON line per turn to
`rasa-<pid>.jsonl` there: the whole turn (lock included), the conversation lock, the tracker store's
read and write, each NLU component, the policies (each graph node, per prediction), each remote
action's request building, HTTP round trip and the rest of its handling. The action server writes
its side (actions.timings). Without the variable nothing here is installed and no turn pays for it.
Nothing a borrower typed is written: only the sender id, stage names and seconds.
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

from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.engine.graph import GraphNode
from rasa.utils.endpoints import EndpointConfig

ENV = "KUANXIN_STAGE_TIMINGS"

_turn: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("kuanxin_turn", default=None)
_phase: contextvars.ContextVar[str] = contextvars.ContextVar("kuanxin_phase", default="other")


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """Adds the block's duration to the current turn's `name` (nothing outside a turn)."""
    turn = _turn.get()
    started = time.perf_counter()
    try:
        yield
    finally:
        if turn is not None:
            turn["stages"][name] += time.perf_counter() - started


def _timed(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        with stage(name):
            return await method(*args, **kwargs)
    return timed


def _in_phase(phase: str, method: Callable[..., Any], is_async: bool) -> Callable[..., Any]:
    """The method runs with graph nodes counted under `phase` (nlu or policy), its own total as `phase`."""
    if is_async:
        @functools.wraps(method)
        async def phased_async(*args: Any, **kwargs: Any) -> Any:
            token = _phase.set(phase)
            try:
                with stage(phase):
                    return await method(*args, **kwargs)
            finally:
                _phase.reset(token)
        return phased_async

    @functools.wraps(method)
    def phased(*args: Any, **kwargs: Any) -> Any:
        token = _phase.set(phase)
        try:
            with stage(phase):
                return method(*args, **kwargs)
        finally:
            _phase.reset(token)
    return phased


def _timed_node(call: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(call)
    def timed_node(self: GraphNode, *inputs: Any) -> Any:
        with stage(f"{_phase.get()}: {self._component_class.__name__}"):
            return call(self, *inputs)
    return timed_node


def _recorded_turns(handle: Callable[..., Any], out: Path) -> Callable[..., Any]:
    @functools.wraps(handle)
    async def handle_and_record(self: Agent, message: Any) -> Any:
        lock_class = type(self.lock_store)
        if not getattr(lock_class.lock, "timed", False):  # the class endpoints.yml chose, known only now
            lock_class.lock = _timed_lock(lock_class.lock)
            lock_class.lock.timed = True
        turn: dict[str, Any] = {"sender": message.sender_id, "stages": defaultdict(float)}
        token = _turn.set(turn)
        started = time.perf_counter()
        try:
            return await handle(self, message)
        finally:
            turn["stages"]["turn"] = time.perf_counter() - started
            _turn.reset(token)
            with out.open("a", encoding="utf-8") as lines:
                lines.write(json.dumps(turn) + "\n")
    return handle_and_record


def _timed_lock(lock: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(lock)
    @contextlib.asynccontextmanager
    async def timed_lock(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        async with lock(*args, **kwargs) as held:
            turn = _turn.get()
            if turn is not None:
                turn["stages"]["lock"] += time.perf_counter() - started
            yield held
    return timed_lock


def _timed_processor(processor_handle: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(processor_handle)
    async def handle(self: MessageProcessor, message: Any) -> Any:
        with stage("processor"):
            return await processor_handle(self, message)
    return handle


def _remote_call(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def run(self: RemoteAction, *args: Any, **kwargs: Any) -> Any:
        turn = _turn.get()
        if turn is not None:
            turn.setdefault("actions", []).append(self.name())
        with stage("remote action"):
            return await method(self, *args, **kwargs)
    return run


def _request_with_phase(request: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(request)
    async def timed_request(self: EndpointConfig, *args: Any, **kwargs: Any) -> Any:
        with stage("remote action: HTTP round trip"):
            return await request(self, *args, **kwargs)
    return timed_request


def _timed_sync(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def timed(*args: Any, **kwargs: Any) -> Any:
        with stage(name):
            return method(*args, **kwargs)
    return timed


def install() -> None:
    """Last of runtime.main's fixes (it wraps theirs), and only when KUANXIN_STAGE_TIMINGS is set."""
    folder = os.environ.get(ENV)
    if not folder or getattr(Agent.handle_message, "records_timings", False):
        return
    out = Path(folder) / f"rasa-{os.getpid()}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    Agent.handle_message = _recorded_turns(Agent.handle_message, out)
    Agent.handle_message.records_timings = True  # type: ignore[attr-defined]
    MessageProcessor.handle_message = _timed_processor(MessageProcessor.handle_message)
    FailSafeTrackerStore.retrieve = _timed("tracker store: read", FailSafeTrackerStore.retrieve)
    FailSafeTrackerStore.save = _timed("tracker store: write", FailSafeTrackerStore.save)
    MessageProcessor.parse_message = _in_phase("nlu", MessageProcessor.parse_message, is_async=True)
    MessageProcessor._predict_next_with_tracker = _in_phase(
        "policy", MessageProcessor._predict_next_with_tracker, is_async=False)
    GraphNode.__call__ = _timed_node(GraphNode.__call__)
    RemoteAction.run = _remote_call(RemoteAction.run)
    RemoteAction._action_call_format = _timed_sync("remote action: request body", RemoteAction._action_call_format)
    EndpointConfig.request = _request_with_phase(EndpointConfig.request)
