"""Anger, swearing, despair about money without danger (intent express_frustration).

The first time in a conversation: a calm, respectful answer that offers help. The second time: a
person (escalation reason `frustration`, normal priority). Inside a form the same action answers
(actions/answers.py), and the form asks its question again. Danger is never handled here: the
safety protocol (runtime/safety.py) takes those messages before any intent is looked at.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KuanxinAction, accounts, intent_of, latest_text, session_events
from actions.escalation import adds_to_a_complaint, escalate
from actions.texts import language_of, say, text_for

INTENT = "express_frustration"
REASON = "frustration"


def times_this_session(tracker: Tracker, intent: str = INTENT) -> int:
    """How many of the borrower's messages in this session had the intent (the latest included)."""
    return sum(intent_of(event) == intent for event in session_events(tracker))


class ActionRespondToFrustration(KuanxinAction):
    def name(self) -> str:
        return "action_respond_to_frustration"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if adds_to_a_complaint(tracker):
            escalate(dispatcher, tracker, "collection_abuse", self.policy(), self.today(), self.now())
            return []
        if times_this_session(tracker) < 2:
            say(dispatcher, tracker, "feelings.calm", buttons=[
                {"title": text_for(tracker, "feelings.button.hardship"), "payload": "/state_hardship"},
                {"title": text_for(tracker, "feelings.button.overdue"), "payload": "/check_overdue"},
                {"title": text_for(tracker, "feelings.button.human"), "payload": "/request_human"}])
            return []
        policy = self.policy()
        escalation, _created = accounts().open_escalation(
            conversation_id=tracker.sender_id,
            borrower_id=tracker.get_slot("borrower_id") if tracker.get_slot("verified") else None,
            reason=REASON, priority="normal", channel=tracker.get_latest_input_channel(),
            summary=latest_text(tracker), today=self.today(), now=self.now())
        say(dispatcher, tracker, "feelings.handover", reference=escalation.reference,
            response_time=policy.words(language_of(tracker)).response_time["normal"])
        return []
