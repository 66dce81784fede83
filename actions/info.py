"""Greeting and the lender's configurable texts (policy.yml)."""
from __future__ import annotations

from abc import ABC
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KuanxinAction, latest_text
from actions.escalation import escalate, reports_what_a_collector_did
from actions.texts import language_of, say, text_for
from kuanxin.core import language

# the greeting's menu: (catalogue key of the title, payload); then the other language, named in its own words
MENU = [("button.check_overdue", "/check_overdue"), ("button.request_installment", "/request_installment"),
        ("button.request_deferral", "/request_deferral"), ("button.repayment_methods", "/ask_repayment_methods"),
        ("button.human", "/request_human")]


def menu(tracker: Tracker) -> list[dict]:
    """The greeting's buttons in the conversation's language, and one to switch to the other language
    (its payload is the switch word runtime/language.py reads: "English" / "中文")."""
    buttons = [{"title": text_for(tracker, key), "payload": payload} for key, payload in MENU]
    other = language.OTHER[language_of(tracker)]
    return [*buttons, {"title": language.SWITCH_BUTTON[other], "payload": language.SWITCH_BUTTON[other]}]


class ActionGreet(KuanxinAction):
    def name(self) -> str:
        return "action_greet"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        say(dispatcher, tracker, "greet.welcome", buttons=menu(tracker))
        return []


class ActionExplainLegitimacy(KuanxinAction):
    """"你们是不是骗子": how to tell the lender from impostors (every contact channel from the policy)."""

    def name(self) -> str:
        return "action_explain_legitimacy"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        say(dispatcher, tracker, "legitimacy.answer")
        return []


class ActionPolicyText(KuanxinAction):
    text_key: str

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(text=self.policy().words(language_of(tracker)).texts[self.text_key])
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
    """What collection may and may not do, and where to complain (the rules in shared/domain); a
    question that reports what a collector did ("催收让我转他个人卡 可以吗") is filed as a complaint."""

    text_key = "rights.summary"

    def name(self) -> str:
        return "action_explain_rights"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if reports_what_a_collector_did(latest_text(tracker)):
            escalate(dispatcher, tracker, "collection_abuse", self.policy(), self.today(), self.now())
            return []
        return await super().act(dispatcher, tracker, domain)


class ActionCancelNothing(ActionCatalogueText):
    """算了 with no form open: nothing to undo, and no generic menu either."""

    text_key = "cancel.nothing_to_cancel"

    def name(self) -> str:
        return "action_cancel_nothing"
