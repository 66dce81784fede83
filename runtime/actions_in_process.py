"""Custom actions run inside Rasa's own process, when the action endpoint's url is `in-process`.

Over HTTP every action call is a request to the action server: Rasa's client, the server's framework, the
JSON both ways and, on two cores, each process waiting its turn for one. Measured by bench.turns, that round
trip was the largest single stage of a turn. Here the same rasa-sdk executor that the action server runs is
called directly, with the same package of actions, and answers the way the server would:

- the request and the answer each pass through JSON, so an action sees copies (never Rasa's own tracker
  objects) and an answer the action server could not have sent (a Decimal, say) fails the same way; the
  domain, the same object in every call (Rasa keeps it) and 0.8 ms of JSON a call, is copied once and that
  copy given to every call: actions and rasa-sdk only read it;
- a rejection (a form's value refused) is Rasa's ActionExecutionRejection, as the server's 400 becomes;
- an unknown action or an action that raises is a RasaException, as the server's 404 or 500 becomes, so
  Rasa's processor goes on without the action's events; the error is logged here (masked, as every record).

The actions run one at a time on an event loop of their own, in a thread, as they ran on the action server's
loop: an action waiting on the account database (slow, or not answering while PostgreSQL restarts) holds up
other actions, as before, but never Rasa's loop, which goes on taking messages and answering /ready. The
turn's own lock keeps one conversation's turns in order either way.
"""
from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
from typing import Any

from rasa.core.actions.action import ActionExecutionRejection
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig
from rasa_sdk import interfaces as sdk

URL = "in-process"
PACKAGE = "actions"
logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def executor() -> Any:
    from rasa_sdk.executor import ActionExecutor  # imports the actions package, with its own set-up

    found = ActionExecutor()
    found.register_package(PACKAGE)
    return found


def through_json(value: Any) -> Any:
    """The value as the other side of an HTTP call would read it."""
    return json.loads(json.dumps(value, ensure_ascii=False))


_domains: dict[int, tuple[Any, Any]] = {}  # id of Rasa's domain dict: (that dict, its copy)


def domain_copy(domain: Any) -> Any:
    """One copy per domain Rasa sends (the dict is kept alive beside its id, so the id is not reused)."""
    held = _domains.get(id(domain))
    if held is None or held[0] is not domain:
        _domains.clear()  # a new model replaces the domain
        held = _domains[id(domain)] = (domain, through_json(domain))
    return held[1]


def as_received(action_call: dict[str, Any]) -> dict[str, Any]:
    """The action call as the action server would parse it from the request."""
    domain = action_call.get("domain")
    request = through_json({key: value for key, value in action_call.items() if key != "domain"})
    if domain is not None:
        request["domain"] = domain_copy(domain)
    return request


@functools.lru_cache(maxsize=1)
def actions_loop() -> asyncio.AbstractEventLoop:
    """The event loop the actions run on, in a thread of its own (made at the first call, or at start-up)."""
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="kuanxin-actions", daemon=True).start()
    return loop


async def answer(request: dict[str, Any]) -> Any:
    """On the actions' loop: the executor's answer, as JSON would carry it back."""
    return through_json(await executor().run(request))


async def run_action(action_call: dict[str, Any]) -> dict[str, Any]:
    """The action server's answer to `action_call`, or the exception Rasa would raise for its error."""
    name = action_call.get("next_action")
    try:
        request = as_received(action_call)  # here: Rasa's objects are read on Rasa's thread only
        running = asyncio.run_coroutine_threadsafe(answer(request), actions_loop())
        return await asyncio.wait_for(asyncio.wrap_future(running), DEFAULT_REQUEST_TIMEOUT)  # as Rasa's HTTP call
    except sdk.ActionExecutionRejection as rejected:
        raise ActionExecutionRejection(rejected.action_name, rejected.message) from None
    except sdk.ActionNotFoundException as missing:
        raise RasaException(f"Failed to execute custom action '{name}': {missing.message}") from None
    except Exception as error:
        logger.exception("Custom action '%s' failed.", name)
        raise RasaException(f"Failed to execute custom action '{name}'") from error


async def start(*_args: Any) -> None:
    """At Rasa's start (a Sanic listener): the actions' thread started and the actions imported, so the first
    borrower does not wait for them, and a package that cannot load stops the start."""
    await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_load(), actions_loop()))


async def _load() -> None:
    executor()


def loaded() -> bool:
    """Whether the actions were imported (for /ready)."""
    return executor.cache_info().currsize == 1


def in_process(endpoint: EndpointConfig | None) -> bool:
    return endpoint is not None and endpoint.url == URL


def _request_or_run(request: Any) -> Any:
    @functools.wraps(request)
    async def request_or_run(self: EndpointConfig, *args: Any, **kwargs: Any) -> Any:
        if in_process(self):
            return await run_action(kwargs["json"])
        return await request(self, *args, **kwargs)
    return request_or_run


def install() -> None:
    if not getattr(EndpointConfig.request, "runs_in_process", False):
        EndpointConfig.request = _request_or_run(EndpointConfig.request)  # type: ignore[method-assign]
        EndpointConfig.request.runs_in_process = True  # type: ignore[attr-defined]
