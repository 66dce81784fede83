"""runtime.speed: event classes found by name as Rasa finds them, and HTTP connections to an endpoint kept alive
(a real local server counts the connections)."""
import asyncio

import aiohttp
import pytest
from aiohttp import web
from rasa.shared.core import events as rasa_events
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

from runtime import speed

EVENT_NAMES = sorted({cls.type_name for cls in all_subclasses(Event)})


@pytest.mark.parametrize("name", EVENT_NAMES)
def test_each_event_name_gives_rasas_class(name):
    assert speed.resolve_event_class(name) is speed._resolve_by_type(name)
    assert speed.resolve_event_class(name) is speed._resolve_by_type(name)  # the remembered one


def test_unknown_names_behave_as_in_rasa():
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        speed.resolve_event_class("no_such_event")
    assert speed.resolve_event_class("no_such_event", rasa_events.SlotSet) is rasa_events.SlotSet
    assert speed.resolve_event_class("topic") is None
    assert "no_such_event" not in speed._event_classes


def test_installed_events_round_trip():
    speed.install()
    stored = [rasa_events.UserUttered("我逾期了多少钱", {"name": "check_overdue", "confidence": 0.9}),
              rasa_events.SlotSet("verified", True), rasa_events.ActionExecuted("action_listen"),
              rasa_events.BotUttered("好的")]
    again = rasa_events.deserialise_events([e.as_dict() for e in stored])
    assert [type(e) for e in again] == [type(e) for e in stored]
    assert again == stored


@pytest.fixture
def counting_server():
    """A local HTTP server answering JSON; records the client port of each request (one per connection)."""
    seen: list[int] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(request.transport.get_extra_info("peername")[1])
        body = await request.json()
        return web.json_response({"echo": body, "auth": request.headers.get("Authorization"),
                                  "x": request.headers.get("X-Test")})

    return seen, answer


async def _serve(answer):
    app = web.Application()
    app.router.add_post("/webhook", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}/webhook"


def test_requests_to_an_endpoint_share_one_connection(counting_server):
    seen, answer = counting_server
    speed.install()

    async def scenario():
        runner, url = await _serve(answer)
        try:
            endpoint = EndpointConfig(url, headers={"X-Test": "yes"},
                                      basic_auth={"username": "u", "password": "p"})
            answers = [await endpoint.request(json={"n": n}, method="post") for n in range(3)]
            session = speed.kept_session(endpoint)
            assert session.timeout.total == DEFAULT_REQUEST_TIMEOUT
            await speed.close_sessions()
            assert session.closed
            answers.append(await endpoint.request(json={"n": 3}, method="post"))  # a new session after closing
            await speed.close_sessions()
            return answers
        finally:
            await runner.cleanup()

    answers = asyncio.run(scenario())
    assert [a["echo"] for a in answers] == [{"n": n} for n in range(4)]
    assert all(a["x"] == "yes" and a["auth"] == aiohttp.BasicAuth("u", "p").encode() for a in answers)
    assert len(set(seen[:3])) == 1  # three requests, one connection
    assert seen[3] != seen[0]


def test_an_idle_connection_is_not_reused_after_the_keepalive(counting_server, monkeypatch):
    seen, answer = counting_server
    monkeypatch.setattr(speed, "KEEPALIVE_SECONDS", 0.2)
    speed.install()

    async def scenario():
        runner, url = await _serve(answer)
        try:
            endpoint = EndpointConfig(url)
            await endpoint.request(json={}, method="post")
            await asyncio.sleep(0.3)
            await endpoint.request(json={}, method="post")
            await speed.close_sessions()
        finally:
            await runner.cleanup()

    asyncio.run(scenario())
    assert len(seen) == 2 and seen[0] != seen[1]


def test_each_event_loop_gets_its_own_session(counting_server):
    _, answer = counting_server
    speed.install()
    endpoint = EndpointConfig("http://127.0.0.1:9/unused")

    async def session_now():
        return speed.kept_session(endpoint)

    first = asyncio.run(session_now())
    second = asyncio.run(session_now())
    assert first is not second
    asyncio.run(speed.close_sessions())


def test_a_restarted_server_is_reached_on_a_new_connection(counting_server):
    """The action server dies and is started again on its port (the supervisor does this): the kept
    connection is gone with it, and the next action call opens a new one instead of failing."""
    seen, answer = counting_server
    speed.install()

    async def scenario():
        runner, url = await _serve(answer)
        endpoint = EndpointConfig(url)
        first = await endpoint.request(json={"n": 1}, method="post")
        port = int(url.split(":")[2].split("/")[0])
        await runner.cleanup()
        app = web.Application()
        app.router.add_post("/webhook", answer)
        again = web.AppRunner(app)
        await again.setup()
        await web.TCPSite(again, "127.0.0.1", port).start()
        try:
            second = await endpoint.request(json={"n": 2}, method="post")
        finally:
            await speed.close_sessions()
            await again.cleanup()
        return first, second

    first, second = asyncio.run(scenario())
    assert first["echo"] == {"n": 1} and second["echo"] == {"n": 2}
    assert len(seen) == 2 and seen[0] != seen[1]
