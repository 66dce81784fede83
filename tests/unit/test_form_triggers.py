"""Which message started the request in hand (actions/forms.py trigger_text): only the messages since the request's
form last ended before its latest start, so an earlier request of the same kind never fills a new one."""
from __future__ import annotations

from rasa_sdk import Tracker

from actions.forms import request_messages, trigger_text
from actions.relief import asked_for_waiver


def said(text: str, intent: str) -> dict:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent, "confidence": 0.9}}}


def loop(name: str | None) -> dict:
    return {"event": "active_loop", "name": name}


def action(name: str) -> dict:
    return {"event": "action", "name": name}


def tracker(*events: dict) -> Tracker:
    latest = next(e for e in reversed(events) if e["event"] == "user")
    active = next((e["name"] for e in reversed(events) if e["event"] == "active_loop"), None)
    return Tracker("conversation-1", {}, {"text": latest["text"], "intent": latest["parse_data"]["intent"]},
                   list(events), False, None, {"name": active} if active else {}, "action_listen")


def test_the_identity_check_between_the_request_and_its_form_is_inside_the_request():
    events = tracker(said("我想延期三个月", "request_deferral"), loop("identity_form"), said("13812345678", "inform"),
                     said("123X", "inform"), loop(None), action("deferral_form"), loop("deferral_form"))
    assert trigger_text(events, "request_deferral", plan="deferral") == "我想延期三个月"


def test_a_request_that_ended_does_not_fill_the_next_one():
    events = tracker(said("我想延期三个月", "request_deferral"), action("deferral_form"), loop("deferral_form"),
                     said("算了", "cancel"), loop(None), action("action_submit_deferral"),
                     said("我想分期", "request_installment"), action("installment_form"), loop("installment_form"),
                     said("算了 还是延期吧", "cancel"), loop(None), action("deferral_form"), loop("deferral_form"))
    assert trigger_text(events, "request_deferral", plan="deferral") == "算了 还是延期吧"
    assert [text for text, _ in request_messages(events, "deferral_form")] == ["算了 还是延期吧", "我想分期"]


def test_once_the_form_ended_its_own_messages_are_still_the_request_in_hand():
    """What the submit action reads: the episode that just ended."""
    events = tracker(said("我15号还1000", "promise_to_pay"), action("promise_form"), loop("promise_form"),
                     said("对", "affirm"), loop(None), action("action_submit_promise"),
                     said("我下个月5号还2000 剩下的能分期吗", "promise_to_pay"), action("promise_form"),
                     loop("promise_form"), said("对", "affirm"), loop(None))
    assert [text for text, _ in request_messages(events, "promise_form")] == ["对", "我下个月5号还2000 剩下的能分期吗"]


def test_a_plan_follows_a_promise_from_the_message_that_wanted_it():
    events = tracker(said("我下个月5号还2000 剩下的分6期", "promise_to_pay"), action("promise_form"),
                     loop("promise_form"), said("对", "affirm"), loop(None), action("action_submit_promise"),
                     action("installment_form"), loop("installment_form"))
    assert trigger_text(events, "request_installment", plan="installment") == "我下个月5号还2000 剩下的分6期"
    assert trigger_text(events, "request_installment") == "对"  # without the plan: the latest message


def test_a_waiver_asked_for_again_reads_only_its_own_messages():
    events = tracker(said("罚息能减免吗 我失业了", "request_penalty_waiver"), action("waiver_form"),
                     loop("waiver_form"), said("不用了", "deny"), loop(None), action("action_submit_waiver"),
                     said("还是帮我申请减免吧", "request_penalty_waiver"), action("waiver_form"), loop("waiver_form"))
    assert trigger_text(events, "request_penalty_waiver") == "还是帮我申请减免吧"
    assert asked_for_waiver(events) == "还是帮我申请减免吧"
    events = tracker(said("罚息能减免吗", "request_penalty_waiver"), action("waiver_form"), loop("waiver_form"),
                     said("不用了", "deny"), loop(None), action("action_submit_waiver"), said("能减免吗", "greet"),
                     action("waiver_form"), loop("waiver_form"))
    assert asked_for_waiver(events) is None  # started some other way: no reason of its own


def test_an_earlier_session_is_not_the_request_in_hand():
    events = tracker(said("我想延期三个月", "request_deferral"), {"event": "session_started"},
                     said("想延期 孩子住院了", "state_hardship"), action("deferral_form"), loop("deferral_form"))
    assert trigger_text(events, "request_deferral") == "想延期 孩子住院了"
