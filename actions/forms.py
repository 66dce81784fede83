"""Shared behaviour of kuanxin's form validation actions.

Each validator reads the latest message itself (with kuanxin's Chinese parsers), so one
message such as "延期两个月,因为我失业了" can fill several slots. Interruptions that need a
person are left to the rules (by extracting nothing); "算了"/"不要了" cancels the form.
"""
from __future__ import annotations

from abc import abstractmethod
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KuanxinAction, latest_intent, user_messages

HAND_OVER_INTENTS = {"request_human", "report_collection_abuse", "dispute_debt"}
CANCEL_INTENTS = {"deny", "goodbye"}


def trigger_text(tracker: Tracker, intent: str) -> str:
    """The text of the latest message with this intent: what the borrower first asked for."""
    return next((text for text, said in user_messages(tracker) if said == intent), "")


def activating(tracker: Tracker) -> bool:
    """True while the form is being activated: it has not asked for anything yet.

    Rasa marks the loop active before the first validation, so the requested slot tells.
    """
    return tracker.get_slot("requested_slot") is None


class FormValidator(KuanxinAction):
    """Validates one form; subclasses fill `slots` from the message in `fill`."""

    form: str
    slots: tuple[str, ...]
    confirm_slot = "confirm_request"

    def name(self) -> str:
        return f"validate_{self.form}"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        intent = latest_intent(tracker)
        requested = tracker.get_slot("requested_slot")
        answering = requested is not None  # not activating: the form has asked something
        if answering and intent in HAND_OVER_INTENTS:
            return []  # the rules hand the conversation over
        values = {slot: tracker.get_slot(slot) for slot in self.slots}
        if answering and requested != self.confirm_slot and intent in CANCEL_INTENTS:
            return self.cancel()
        said_before = len(dispatcher.messages)
        found = await self.fill(dispatcher, tracker, values, requested)
        values.update(found)
        missing = None if self.done_early(values) else self.next_slot(values)
        nothing_said = len(dispatcher.messages) == said_before
        if answering and missing == requested and requested not in found and nothing_said:
            self.not_understood(dispatcher, requested)
        return [SlotSet(k, v) for k, v in found.items()] + [SlotSet("requested_slot", missing)]

    def done_early(self, values: dict) -> bool:
        """The form ends before all slots are filled, e.g. when a rule already refused the request."""
        return bool(values.get("request_blocked"))

    def next_slot(self, values: dict) -> str | None:
        return next((slot for slot in self.slots if values.get(slot) is None), None)

    def confirmation(self, tracker: Tracker, requested: str | None) -> dict:
        """The borrower's yes or no to the summary the form showed."""
        intent = latest_intent(tracker)
        if requested != self.confirm_slot or activating(tracker) or intent not in ("affirm", "deny"):
            return {}
        return {self.confirm_slot: intent == "affirm"}

    def cancel(self) -> list[EventType]:
        return [SlotSet(self.confirm_slot, False), SlotSet("requested_slot", None)]

    def not_understood(self, dispatcher: CollectingDispatcher, slot: str) -> None:
        dispatcher.utter_message(text="抱歉,没有识别到需要的信息。如果不想继续办理,说「算了」就可以退出。")

    @abstractmethod
    async def fill(self, dispatcher: CollectingDispatcher, tracker: Tracker, values: dict,
                   requested: str | None) -> dict:
        """New slot values found in the message (only those found; absent means unchanged)."""

    def on_failure(self, tracker: Tracker) -> list[EventType]:
        # End the form rather than loop on a failure; the apology has been said.
        return [SlotSet("request_blocked", True), SlotSet("requested_slot", None)]
