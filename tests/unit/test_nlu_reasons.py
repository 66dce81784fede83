"""A request said with the hardship behind it (runtime/nlu.py request_with_its_reason): a close call between the two
is the request; a hardship with a request far behind, or a request beside anything else, is left as classified.
A promise said before a plan asked for the rest (promise_beside_plan) is the promise."""
from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

from runtime.nlu import promise_beside_plan, request_beside_legitimacy, request_with_its_reason


def classified(*ranking: tuple[str, float], text: str = "…") -> Message:
    entries = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    return Message(data={"text": text, "intent": entries[0], INTENT_RANKING_KEY: entries})


@pytest.mark.parametrize("first, second", [(("request_deferral", 0.52), ("state_hardship", 0.48)),
                                           (("state_hardship", 0.55), ("request_installment", 0.43))])
def test_a_close_call_between_a_request_and_its_hardship_is_the_request(first, second):
    message = classified(first, second, ("greet", 0.0))
    request_with_its_reason(message)
    request = first[0] if first[0].startswith("request") else second[0]
    assert message.get("intent") == {"name": request, "confidence": pytest.approx(first[1] + second[1])}
    assert [entry["name"] for entry in message.get(INTENT_RANKING_KEY)] == [request, "greet"]


@pytest.mark.parametrize("ranking", [
    [("state_hardship", 0.8), ("request_deferral", 0.15)],  # "我失业了 还不上": a hardship
    [("request_deferral", 0.5), ("check_overdue", 0.48)],  # a request beside a question: not its reason
    [("ask_consequences", 0.5), ("state_hardship", 0.48)],
    [("request_deferral", 1.0)],
])
def test_anything_else_is_left_as_classified(ranking):
    message = classified(*ranking)
    before = (dict(message.get("intent")), list(message.get(INTENT_RANKING_KEY)))
    request_with_its_reason(message)
    assert (message.get("intent"), message.get(INTENT_RANKING_KEY)) == before


@pytest.mark.parametrize("text, intent", [("你好 我想分期 每期多少 顺便问下你们是正规平台吗", "request_installment"),
                                           ("我想延期 你们是正规的吗", "request_deferral")])
def test_a_plan_asked_for_beside_whether_we_are_genuine_is_the_request(text, intent):
    message = classified(("ask_legitimacy", 0.7), ("greet", 0.2), (intent, 0.1), text=text)
    request_beside_legitimacy(message)
    assert message.get("intent") == {"name": intent, "confidence": pytest.approx(0.8)}
    assert [entry["name"] for entry in message.get(INTENT_RANKING_KEY)] == [intent, "greet"]


@pytest.mark.parametrize("text, ranking", [
    ("你们是不是骗子", [("ask_legitimacy", 0.9)]),  # no plan named
    ("分期还是延期好 你们是正规的吗", [("ask_legitimacy", 0.9)]),  # two plans: which one is not said
    ("别让我分期 你们是骗子吧", [("ask_legitimacy", 0.9)]),  # a plan refused
    ("有人打电话让我分期 是不是骗子", [("ask_legitimacy", 0.9)]),  # someone else's offer: a scam check
    ("收到短信说可以延期 是你们发的吗 正规吗", [("ask_legitimacy", 0.9)]),
    ("自称你们客服的人让我先转钱办延期 是诈骗吧", [("ask_legitimacy", 0.9)]),
    ("我想分期 你们是正规的吗", [("request_installment", 0.6), ("ask_legitimacy", 0.4)]),  # already the request
])
def test_the_legitimacy_question_without_one_plan_wanted_is_left_as_classified(text, ranking):
    message = classified(*ranking, text=text)
    before = (dict(message.get("intent")), list(message.get(INTENT_RANKING_KEY)))
    request_beside_legitimacy(message)
    assert (message.get("intent"), message.get(INTENT_RANKING_KEY)) == before


@pytest.mark.parametrize("text, plan_request", [("我下个月5号还2000 剩下的能分期吗", "request_installment"),
                                                 ("15号先还1000 剩下的申请延期行吗", "request_deferral")])
def test_a_promise_said_before_a_plan_for_the_rest_is_the_promise(text, plan_request):
    message = classified((plan_request, 0.6), ("promise_to_pay", 0.3), ("greet", 0.1), text=text)
    promise_beside_plan(message)
    assert message.get("intent") == {"name": "promise_to_pay", "confidence": pytest.approx(0.9)}
    assert [entry["name"] for entry in message.get(INTENT_RANKING_KEY)] == ["promise_to_pay", "greet"]


@pytest.mark.parametrize("text, ranking", [
    ("我想分期", [("request_installment", 0.9)]),  # no promise
    ("每个月5号还2000能分期吗", [("request_installment", 0.9)]),  # the plan's own payments
    ("我下个月5号还2000 剩下的能分期吗", [("promise_to_pay", 0.6), ("request_installment", 0.4)]),  # already it
    ("下个月5号还2000 你们是骗子吧", [("ask_legitimacy", 0.9)]),  # not a plan request
])
def test_anything_but_a_promise_before_a_plan_is_left_as_classified(text, ranking):
    message = classified(*ranking, text=text)
    before = (dict(message.get("intent")), list(message.get(INTENT_RANKING_KEY)))
    promise_beside_plan(message)
    assert (message.get("intent"), message.get(INTENT_RANKING_KEY)) == before
