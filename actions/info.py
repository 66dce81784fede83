"""Greeting and the lender's configurable texts (policy.yml)."""
from __future__ import annotations

from abc import ABC
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KuanxinAction
from actions.texts import say
from kuanxin import texts

MENU = [
    {"title": texts.text("button.check_overdue"), "payload": "/check_overdue"},
    {"title": texts.text("button.request_installment"), "payload": "/request_installment"},
    {"title": texts.text("button.request_deferral"), "payload": "/request_deferral"},
    {"title": texts.text("button.repayment_methods"), "payload": "/ask_repayment_methods"},
    {"title": texts.text("button.human"), "payload": "/request_human"},
]


class ActionGreet(KuanxinAction):
    def name(self) -> str:
        return "action_greet"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        say(dispatcher, tracker, "greet.welcome", buttons=MENU)
        return []


class ActionPolicyText(KuanxinAction):
    text_key: str

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(text=self.policy().texts[self.text_key])
        return []


class ActionRepaymentMethods(ActionPolicyText):
    text_key = "repayment_methods"

    def name(self) -> str:
        return "action_repayment_methods"


class ActionPreventionTips(ActionPolicyText):
    text_key = "prevention"

    def name(self) -> str:
        return "action_prevention_tips"


class ActionCatalogueText(KuanxinAction, ABC):
    """Says one message of the text catalogue, as it is."""

    text_key: str

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        say(dispatcher, tracker, self.text_key)
        return []


class ActionExplainRights(ActionCatalogueText):
    """What collection may and may not do, and where to complain (the rules in shared/domain)."""

    text_key = "rights.summary"

    def name(self) -> str:
        return "action_explain_rights"


class ActionCancelNothing(ActionCatalogueText):
    """算了 with no form open: nothing to undo, and no generic menu either."""

    text_key = "cancel.nothing_to_cancel"

    def name(self) -> str:
        return "action_cancel_nothing"
