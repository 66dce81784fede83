"""The action-response check kuanxin installs in Rasa accepts and refuses exactly what Rasa's own does."""
import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from runtime import main as rasa_main

GOOD = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "verified", "value": True}], "responses": [{"text": "好的"}]},
]
BAD = [
    {"events": "not a list"},
    {"events": [{"no_event_key": 1}]},
    {"events": [], "responses": "text"},
]


@pytest.mark.parametrize("result", GOOD)
def test_valid_responses_pass_both(result):
    jsonschema.validate(result, RemoteAction.action_response_format_spec())
    assert rasa_main._validate_action_result(None, result) is True


@pytest.mark.parametrize("result", BAD)
def test_invalid_responses_fail_both(result):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server response"):
        rasa_main._validate_action_result(None, result)


def test_install_replaces_the_method():
    rasa_main.install()
    assert RemoteAction._validate_action_result is rasa_main._validate_action_result


EVENTS_OF_EVERY_KIND = [
    {"event": "user", "text": "我逾期了多少钱", "parse_data": {"intent": {"name": "check_overdue", "confidence": 0.9},
                                                          "entities": [{"entity": "phone_number", "value": "1"}]}},
    {"event": "action", "name": "action_listen", "policy": None, "confidence": 1.0},
    {"event": "slot", "name": "verified", "value": True, "timestamp": 1.5},
    {"event": "entities", "entities": []},
    {"event": "bot", "text": "好的", "data": {"buttons": []}, "metadata": {}},
    {"event": "active_loop", "name": "identity_form"},
    {"event": "followup", "name": "action_greet"},
    {"event": "reset_slots"}, {"event": "restart"}, {"event": "rewind"}, {"event": "undo"},
    {"event": "session_started"}, {"event": "pause"}, {"event": "resume"}, {"event": "form", "name": None},
    {"event": "loop_interrupted", "is_interrupted": True}, {"event": "form_validation", "validate": False},
    {"event": "action_execution_rejected", "name": "x"}, {"event": "reminder"}, {"event": "cancel_reminder"},
    {"event": "export"}, {"event": "agent", "text": "x"}, {"event": "user_featurization"},
]
NOT_EVENTS = [
    {"event": "no_such_kind"}, {"no_event": "user"}, {"event": 7}, "user", None, [],
    {"event": "slot", "name": "verified"},                      # a slot without its value
    {"event": "slot", "name": 3, "value": 1},
    {"event": "entities"},                                       # entities are required
    {"event": "user", "parse_data": {"intent": {"name": 5}}},
    {"event": "user", "parse_data": {"entities": [{"entity": "x"}]}},
    {"event": "action", "confidence": "high"},
    {"event": "bot", "timestamp": "yesterday"},
    {"event": "bot", "metadata": "m"},
]
RESULTS = (
    [{"events": [event], "responses": []} for event in EVENTS_OF_EVERY_KIND + NOT_EVENTS]
    + [{"events": EVENTS_OF_EVERY_KIND}, {"events": EVENTS_OF_EVERY_KIND + [NOT_EVENTS[0]]}, {}, {"responses": []},
       {"events": None}, {"events": [], "responses": [{"text": 1}]}, {"events": [], "responses": ["text"]}, []]
)


@pytest.mark.parametrize("result", RESULTS)
def test_the_check_by_kind_agrees_with_the_full_schema(result):
    try:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
        valid = True
    except jsonschema.ValidationError as expected:
        valid = False
        with pytest.raises(jsonschema.ValidationError) as ours:
            rasa_main._validate_action_result(None, result)
        assert ours.value.message.startswith(expected.message)  # Rasa's own error, then the hint
    assert rasa_main._plainly_valid(result) is valid
    if valid:
        assert rasa_main._validate_action_result(None, result) is True
