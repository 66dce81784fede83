"""Actions run in Rasa's process (runtime.actions_in_process) answer as the action server would, error for error,
and `kuanxin serve` runs an action server only when KUANXIN_ACTIONS asks for one."""
from __future__ import annotations

import asyncio
import threading
from decimal import Decimal

import pytest
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig
from rasa_sdk import Action
from rasa_sdk import events as sdk_events
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection as SdkRejection

from kuanxin.core import settings
from kuanxin.ops.serve import IN_PROCESS, Servers
from runtime import actions_in_process

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [greet]
slots:
  note: {type: any, mappings: [{type: custom}]}
actions: [test_echo, test_rejecting, test_raising, test_decimal]
""")


RAN_ON: list[str] = []


class Echo(Action):
    """Answers with what it read, and scribbles on what it was given (which must stay its own copy)."""

    def name(self):
        return "test_echo"

    def run(self, dispatcher, tracker, domain):
        RAN_ON.append(threading.current_thread().name)
        tracker.latest_message["entities"].append({"entity": "scribbled"})
        domain["slots"]["note"]["scribbled"] = True
        dispatcher.utter_message(text=f"heard {tracker.latest_message['text']}")
        return [sdk_events.SlotSet("note", sorted(domain["slots"]))]


class Rejecting(Action):
    def name(self):
        return "test_rejecting"

    def run(self, dispatcher, tracker, domain):
        raise SdkRejection("test_rejecting", "not for this form")


class Raising(Action):
    def name(self):
        return "test_raising"

    def run(self, dispatcher, tracker, domain):
        raise RuntimeError("the database went away")


class Decimals(Action):
    def name(self):
        return "test_decimal"

    def run(self, dispatcher, tracker, domain):
        return [sdk_events.SlotSet("note", Decimal("3084.60"))]  # JSON cannot carry it, so neither could HTTP


@pytest.fixture
def in_process(monkeypatch):
    executor = ActionExecutor()
    for action in (Echo, Rejecting, Raising, Decimals):
        executor.register_action(action)
    monkeypatch.setattr(actions_in_process, "executor", lambda: executor)
    actions_in_process.install()
    return EndpointConfig(IN_PROCESS)


def run(name, endpoint, tracker):
    return asyncio.run(RemoteAction(name, endpoint).run(_Channel(), _Nlg(), tracker, DOMAIN))


class _Channel:
    @staticmethod
    def name():
        return "rest"


class _Nlg:
    async def generate(self, *args, **kwargs):
        return None


def tracker() -> DialogueStateTracker:
    tracker = DialogueStateTracker("s1", DOMAIN.slots)
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("你好", {"name": "greet", "confidence": 1.0}, []))
    return tracker


def test_an_action_runs_in_process_on_copies_of_the_tracker_and_domain(in_process):
    conversation = tracker()
    events = run("test_echo", in_process, conversation)
    assert [e.text for e in events if hasattr(e, "text")] == ["heard 你好"]
    assert SlotSet("note", ["note"]) in events
    assert conversation.latest_message.entities == []  # the action scribbled on its own copy
    assert "scribbled" not in DOMAIN.as_dict()["slots"]["note"]
    assert run("test_echo", in_process, conversation)  # and again, on the same domain


def test_errors_are_the_ones_rasa_gets_from_the_action_server(in_process):
    with pytest.raises(ActionExecutionRejection) as rejected:
        run("test_rejecting", in_process, tracker())
    assert rejected.value.action_name == "test_rejecting" and "not for this form" in rejected.value.message
    for name in ("test_raising", "test_decimal", "no_such_action"):
        with pytest.raises(RasaException, match=f"Failed to execute custom action '{name}'"):
            run(name, in_process, tracker())


def test_the_actions_run_on_a_thread_of_their_own(in_process):
    RAN_ON.clear()
    run("test_echo", in_process, tracker())
    assert RAN_ON == ["kuanxin-actions"] != [threading.current_thread().name]


def test_kuanxin_serve_runs_an_action_server_only_when_asked(tmp_path):
    def servers(env, **options):
        return Servers(5005, 5055, "t", tmp_path / "model.tar.gz", {"PATH": "/usr/bin", **env}, **options)

    default = servers({})
    assert default.env["KUANXIN_ACTION_ENDPOINT"] == IN_PROCESS and default.names() == ["rasa"]
    assert default.health_urls() == ["http://127.0.0.1:5005/"]
    beside = servers({"KUANXIN_ACTIONS": "server"})
    assert beside.env["KUANXIN_ACTION_ENDPOINT"] == "http://127.0.0.1:5055/webhook"
    assert beside.names() == ["actions", "rasa"] and beside.health_urls()[0] == "http://127.0.0.1:5055/health"
    proxied = servers({}, action_endpoint="http://127.0.0.1:9999/webhook")  # something in between: a server
    assert proxied.env["KUANXIN_ACTION_ENDPOINT"] == "http://127.0.0.1:9999/webhook" and "actions" in proxied.names()
    assert "actions" in servers({}, rasa_module="rasa").names()  # stock Rasa cannot run them in its process
    with pytest.raises(ValueError, match="KUANXIN_ACTIONS must be in-process or server"):
        servers({"KUANXIN_ACTIONS": "inprocess"})
    assert settings.of({"KUANXIN_ACTIONS": "thread"}).given("KUANXIN_ACTIONS") == "thread"
