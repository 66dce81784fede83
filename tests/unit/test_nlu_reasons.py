"""A request said with the hardship behind it (runtime/nlu.py request_with_its_reason): a close call between the two
is the request; a hardship with a request far behind, or a request beside anything else, is left as classified."""
from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

from runtime.nlu import request_with_its_reason


def classified(*ranking: tuple[str, float]) -> Message:
    entries = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    return Message(data={"text": "…", "intent": entries[0], INTENT_RANKING_KEY: entries})


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
