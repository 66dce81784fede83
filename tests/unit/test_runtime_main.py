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
