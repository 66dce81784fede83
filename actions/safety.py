"""The safety protocol's action: a borrower who spoke of suicide or self-harm (kuanxin/lending/safety.py).

runtime/safety.py runs it before anything else, in any state, identity check included: it has left
any form already. The reply comes first and always (the crisis hotline, 120/110, a person coming),
with nothing about money; then the high-priority escalation and the flag that pauses reminders and
collection contact. A failure to record is logged, never said: the borrower has their answer.
"""
from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KuanxinAction, accounts, latest_text, reset_request_slots
from actions.texts import say
from kuanxin.lending.identity import mask_text

logger = logging.getLogger("kuanxin.actions")


def known_borrower(tracker: Tracker, now) -> str | None:
    """The borrower behind the conversation: verified in it, or vouched for by its channel."""
    if tracker.get_slot("verified") and tracker.get_slot("borrower_id"):
        return tracker.get_slot("borrower_id")
    return accounts().bound_borrower(tracker.sender_id, now)


class ActionSafetyProtocol(KuanxinAction):
    def name(self) -> str:
        return "action_safety_protocol"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        say(dispatcher, tracker, "safety.reply")
        try:
            flag, escalation = accounts().raise_safety_flag(
                conversation_id=tracker.sender_id, borrower_id=known_borrower(tracker, self.now()),
                channel=tracker.get_latest_input_channel(), summary=latest_text(tracker),
                today=self.today(), now=self.now())
            logger.warning("safety protocol in conversation %s: escalation %s", mask_text(tracker.sender_id),
                           escalation.reference)
        except Exception:  # noqa: BLE001 - the borrower has their answer; staff must hear of it from the log
            logger.exception("safety protocol: could not record the escalation for conversation %s",
                             mask_text(tracker.sender_id))
        # nothing resumes by itself afterwards: no pending request, no question waiting
        return reset_request_slots() + [SlotSet("pending_intent", None), SlotSet("requested_slot", None)]
