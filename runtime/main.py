"""`python -m runtime.main ...` runs the Rasa command line with kuanxin's fixes to Rasa 3.6 internals.

1. Speed: Rasa checks every action-server response with ``jsonschema.validate()``, which first
   re-validates the response *schema* against its meta-schema on every call; with jsonschema
   4.17 that was two thirds of Rasa's CPU time per message (py-spy, `make bench`). Here the
   validator is built once and reused: responses get exactly the same checks and errors.
2. Robustness: LogisticRegressionClassifier raises on a message with no features (an empty or
   blank message), which the REST channel turns into an HTTP 500 with no reply. Such a message
   now gets no intent (confidence 0), so the FallbackClassifier marks it nlu_fallback and the
   borrower is asked, politely, to say what they need.
3. Faults: store failures are answered as "try again" instead of blank-tracker turns (runtime.stores),
   a re-sent message is answered once (runtime.turns), every request passes a guard and the
   instance has /live and /ready (runtime.health); the lock stores are runtime.locks (endpoints*.yml).
   A message that speaks of suicide or self-harm gets the safety protocol before anything else
   (runtime.safety). Each message sets the language of its own reply (runtime.language).
   No full phone or ID number is stored or logged (runtime.privacy).
4. Start-up: a configured conversation store or Redis that cannot be reached stops the start with its
   variable's name (kuanxin.ops.preflight); the HTTP API token comes from KUANXIN_RASA_TOKEN in the
   environment, never from the command line (where `ps` would show it).
5. Speed, measured turn by turn (bench.turns): Rasa's work repeated on every turn for nothing is done once
   (runtime.speed), the classifier builds its feature matrix in one step (runtime.nlu), and an action's
   answer is checked event by event against that event's own kind (below), the full check kept for errors;
   the rule policy reads its rules once (runtime.rule_keys); with the action endpoint `in-process` the actions
   run in this process (runtime.actions_in_process).
"""
from __future__ import annotations

import functools
import os
import sys
from typing import Any

from jsonschema import validators
from rasa.core.actions.action import RemoteAction
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message

from kuanxin.core import settings
from kuanxin.core.settings import rasa_store_env
from kuanxin.ops import preflight
from kuanxin.wechat.config import check_settings_or_exit
from runtime import (
    actions_in_process,
    health,
    language,
    nlu,
    payment_news,
    privacy,
    rule_keys,
    safety,
    satisfaction,
    speed,
    stores,
    timings,
    turns,
)


@functools.lru_cache(maxsize=1)
def _response_validator():
    schema = RemoteAction.action_response_format_spec()
    return validators.validator_for(schema)(schema)


@functools.lru_cache(maxsize=1)
def _validators_by_event() -> tuple[Any, dict[str, Any]]:
    """The response schema without its events' items, and a validator per event name: the event schema
    with, instead of its oneOf over every kind of event, the one branch whose `event` constant is that name."""
    schema = RemoteAction.action_response_format_spec()
    event_schema = dict(schema["properties"]["events"]["items"])
    branches = event_schema.pop("oneOf")
    outer = {**schema, "properties": {**schema["properties"], "events": {"type": "array"}}}
    by_name = {branch["properties"]["event"]["const"]: {**event_schema, "allOf": [branch]} for branch in branches}
    return (validators.validator_for(outer)(outer),
            {name: validators.validator_for(one)(one) for name, one in by_name.items()})


def _plainly_valid(result: Any) -> bool:
    """True only for a response the full schema accepts, checking each event against its own kind alone.

    An event (an object with a string `event`, as required) can match no oneOf branch but the one whose
    constant is its name, so "exactly one branch matches" is "that branch matches"; the full check runs
    only for what this says no to, and gives Rasa's error. Trying every branch on every event was most of
    Rasa's own time in an action call, the wait for the action server aside (profiled under bench.turns)."""
    outer, by_name = _validators_by_event()
    if not outer.is_valid(result):
        return False
    for event in result.get("events") or []:
        name = event.get("event") if isinstance(event, dict) else None
        one = by_name.get(name) if isinstance(name, str) else None
        if one is None or not one.is_valid(event):
            return False
    return True


def _validate_action_result(self: RemoteAction, result: dict) -> bool:
    if _plainly_valid(result):
        return True
    error = validators.exceptions.best_match(_response_validator().iter_errors(result))
    if error is not None:
        error.message += (". Failed to validate Action server response from API, make sure your response "
                          "from the Action endpoint is valid.")
        raise error
    return True


_classify = LogisticRegressionClassifier.process


def _classify_unless_featureless(self: LogisticRegressionClassifier, messages: list[Message]) -> list[Message]:
    featureless = [m for m in messages if nlu.sentence_width(m) == 0]  # the features, not a matrix of them
    for message in featureless:
        message.set(INTENT, {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [], add_to_output=True)
    rest = [m for m in messages if m not in featureless]
    if rest:
        _classify(self, rest)
    return messages


def _with_health_routes(create_app):
    @functools.wraps(create_app)
    def create(*args, **kwargs):
        app = create_app(*args, **kwargs)
        health.add_routes(app)
        app.register_listener(speed.close_sessions, "after_server_stop")
        if os.environ.get("KUANXIN_ACTION_ENDPOINT") == actions_in_process.URL:
            app.register_listener(actions_in_process.start, "before_server_start")
        return app
    return create


def install() -> None:
    import rasa.server

    RemoteAction._validate_action_result = _validate_action_result
    LogisticRegressionClassifier.process = _classify_unless_featureless
    speed.install()
    rule_keys.install()
    actions_in_process.install()  # an action endpoint whose url is `in-process`: actions run here
    stores.install()
    privacy.install()  # wraps stores' save: what is stored has no full phone or ID number; logs masked
    turns.install()
    safety.install()  # wraps turns' handler: a borrower in crisis is answered before anything else
    language.install()  # every message sets the language it is answered in, before the reply is chosen
    payment_news.install()  # wraps language's: a payment that arrived is told at the next message, before the reply
    satisfaction.install()  # wraps payment_news's: the answer to the satisfaction question, read as typed
    if not getattr(rasa.server.create_app, "__wrapped__", None):
        rasa.server.create_app = _with_health_routes(rasa.server.create_app)
    timings.install()  # last, around all of the above; only when the benchmark asks (KUANXIN_STAGE_TIMINGS)


def _token_from_environment(argv: list[str]) -> list[str]:
    token = settings.current().given("KUANXIN_RASA_TOKEN")
    return argv + ["--auth-token", token] if token and "--auth-token" not in argv else argv


def main() -> None:
    if sys.argv[1:2] == ["run"]:
        check_settings_or_exit()
        try:  # endpoints.production.yml reads these, split from KUANXIN_TRACKER_STORE_URL / KUANXIN_REDIS_URL
            os.environ.update(rasa_store_env(os.environ))
            preflight.check_stores(os.environ)
        except ValueError as exc:
            raise SystemExit(f"kuanxin: {exc}") from None
        sys.argv = _token_from_environment(sys.argv)
    install()
    from rasa.__main__ import main as rasa_main
    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
