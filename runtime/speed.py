"""Rasa 3.6 work that every turn repeated for nothing, done once (measured with bench.turns and a profiler).

Event classes by name: every event read back from the conversation store or an action's answer is
rebuilt through Event.resolve_by_type, which walks Rasa's whole class tree of events (and asks
inspect.isabstract of each) to find the one class with that name: for a tracker of 150 events, about
three quarters of the time of reading it back. The tree does not change once Rasa has started, so the
class found for a name is kept; a name not found is looked up the slow way each time, as before.

Connections to the action server: Rasa opens a new HTTP client session, so a new TCP connection, for
every action it asks the action server to run (and closes it after). Here each endpoint keeps one
session per event loop with its connections alive for KEEPALIVE_SECONDS, less than the action server's
own idle limit (Sanic's 5 s), so a connection is never reused while the server is closing it. Same
headers, authentication and timeout as Rasa's; 2 ms less per action call on this machine.

The model's graph: for every message (NLU) and every action it predicts (policies), Rasa's DaskGraphRunner
works out again which nodes the targets need, builds a dask graph of them and has dask schedule it, one
node at a time in this process. Here the nodes a set of targets needs are put in order once (each after
the nodes it needs, otherwise in the model's order) and called in that order, each with the outputs of
its inputs as dask passes them: the same calls with the same arguments, without the scheduling.
"""
from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.events import Event
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

KEEPALIVE_SECONDS = 2.0
_kept: list[aiohttp.ClientSession] = []

_resolve_by_type = Event.resolve_by_type
_event_classes: dict[str, type[Event]] = {}


def resolve_event_class(type_name: str, default: Any = None) -> Any:
    """Event.resolve_by_type, with the class found for each name remembered."""
    found = _event_classes.get(type_name)
    if found is None:
        found = _resolve_by_type(type_name, default)
        if found is not None and found is not default and found.type_name == type_name:
            _event_classes[type_name] = found
    return found


class _KeptSession:
    """What `async with endpoint.session() as session` gets: the endpoint's live session, left open."""

    def __init__(self, endpoint: EndpointConfig) -> None:
        self.endpoint = endpoint

    async def __aenter__(self) -> aiohttp.ClientSession:
        return kept_session(self.endpoint)

    async def __aexit__(self, *_exc: object) -> None:
        return None


def kept_session(endpoint: EndpointConfig) -> aiohttp.ClientSession:
    """The endpoint's client session on the running loop, made as EndpointConfig.session makes it."""
    loop = asyncio.get_running_loop()
    held = endpoint.__dict__.get("_kuanxin_session")
    if held is None or held[0] is not loop or held[1].closed:
        auth = (aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
                if endpoint.basic_auth else None)
        session = aiohttp.ClientSession(headers=endpoint.headers, auth=auth,
                                        timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                                        connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS))
        endpoint.__dict__["_kuanxin_session"] = held = (loop, session)
        _kept.append(session)
    return held[1]


async def close_sessions(*_args: Any) -> None:
    """At shutdown (a Sanic listener): close the sessions kept open."""
    while _kept:
        session = _kept.pop()
        if not session.closed:
            await session.close()


Plan = list[tuple[str, tuple[str, ...]]]  # (node, the names of what it needs), each after what it needs


def execution_plan(schema: GraphSchema, targets: list[str]) -> Plan:
    """The nodes the targets need, each after the nodes it needs and otherwise in the schema's order."""
    needed = schema.minimal_graph_schema(targets).nodes
    plan: Plan = []
    placed: set[str] = set()
    waiting = dict(needed)
    while waiting:
        ready = [name for name, node in waiting.items()
                 if all(need in placed or need not in needed for need in node.needs.values())]
        if not ready:
            raise GraphRunError(f"The graph has a cycle among {sorted(waiting)}.")
        for name in ready:
            plan.append((name, tuple(waiting.pop(name).needs.values())))
            placed.add(name)
    return plan


def run_planned(self: DaskGraphRunner, inputs: dict[str, Any] | None = None,
                targets: list[str] | None = None) -> dict[str, Any]:
    """DaskGraphRunner.run without dask: the planned nodes called in order (see the module's docstring)."""
    run_targets = targets if targets else self._graph_schema.target_names
    plans: dict[tuple[str, ...], Plan] = self.__dict__.setdefault("_kuanxin_plans", {})
    plan = plans.get(tuple(run_targets))
    if plan is None:
        plan = plans[tuple(run_targets)] = execution_plan(self._graph_schema, run_targets)
    outputs: dict[str, Any] = {}
    for name, value in (inputs or {}).items():
        if isinstance(value, str) and any(value == node for node, _ in plan):
            raise GraphRunError(f"Input value '{value}' clashes with a node name. Make sure that none of the "
                                f"input names passed to the `run` method are the same as node names in the "
                                f"graph schema.")
        outputs[name] = (name, value)  # as dask hands an input to the nodes that need it
    try:
        for name, needs in plan:
            # a need nothing provides is passed as its name, as dask does (GraphNode warns about it)
            outputs[name] = self._instantiated_nodes[name](*(outputs.get(need, need) for need in needs))
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e
    return dict(outputs[target] for target in run_targets)


def install() -> None:
    Event.resolve_by_type = staticmethod(resolve_event_class)  # type: ignore[method-assign,assignment]
    EndpointConfig.session = lambda self: _KeptSession(self)  # type: ignore[method-assign,assignment,return-value]
    DaskGraphRunner.run = run_planned  # type: ignore[method-assign]
