"""The satisfaction question after an outcome, its answer and the optional comment: thin adapters over
kuanxin.lending.satisfaction (the rules, typed answers) and kuanxin.store.satisfaction (the records and the
once-a-day rules).

- `offer_question` is called by the actions that reach an outcome (a promise recorded, a plan accepted, a request
  filed); `action_offer_satisfaction` runs after thanks or goodbye and asks when a question was answered in this
  session. Either asks at most once per conversation session (the `satisfaction_ask` slot), and the store's
  unique keys make it at most once a day per borrower.
- `action_rate_conversation` records a rating (a button's payload, or the words typed, which runtime/satisfaction.py
  reads while the question is open) and invites an optional comment.
- `action_record_satisfaction_comment` records the message runtime/satisfaction.py took as that comment.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KuanxinAction, accounts, intent_of, latest_text, session_events
from actions.texts import say, text_for
from kuanxin.core import policy as policies
from kuanxin.core.vocab import SatisfactionOutcome, SatisfactionRating
from kuanxin.lending import satisfaction
from kuanxin.lending.safety import CRISIS_INTENT
from kuanxin.store.satisfaction import Satisfaction

ASK_SLOT = "satisfaction_ask"  # the id of the question asked in this session (not carried over to the next)
# what runtime/satisfaction.py reads the borrower's next message as: a typed rating, or the optional comment
QUESTION_OPEN = "satisfaction_question_open"
COMMENT_OPEN = "satisfaction_comment_open"
# the actions that answer a borrower's question, and the topic (intent) each answers
ANSWERS = {"action_show_overdue": "check_overdue", "action_explain_consequences": "ask_consequences",
           "action_check_request_status": "check_request_status", "action_loan_facts": "ask_loan_facts",
           "action_settlement": "ask_settlement", "action_repayment_methods": "ask_repayment_methods",
           "action_prevention_tips": "ask_prevention", "utter_credit_repair": "ask_credit_repair",
           "action_explain_rights": "ask_rights"}
RATE_PAYLOAD = '/rate_conversation{{"rating":"{rating}"}}'


def store() -> Satisfaction:
    return Satisfaction(accounts().db)


def crisis_in_session(tracker: Tracker) -> bool:
    return any(intent_of(event) == CRISIS_INTENT for event in session_events(tracker))


def answered_topic(tracker: Tracker) -> str | None:
    """The topic of the latest question the assistant answered in this session, if any."""
    for event in reversed(session_events(tracker)):
        if event.get("event") == "action" and event.get("name") in ANSWERS:
            return ANSWERS[event["name"]]
    return None


def rating_buttons(tracker: Tracker) -> list[dict]:
    return [{"title": text_for(tracker, f"satisfaction.button.{rating}"), "payload": RATE_PAYLOAD.format(rating=rating)}
            for rating in SatisfactionRating.values()]


def offer_question(dispatcher: CollectingDispatcher, tracker: Tracker, outcome: SatisfactionOutcome,
                   topic: str | None, today, now) -> list[EventType]:
    """Asks the one light question when the rules allow it; the events remember it for this session."""
    if tracker.get_slot(ASK_SLOT):
        return []  # never twice in one conversation session
    verified = bool(tracker.get_slot("verified") and tracker.get_slot("borrower_id"))
    if not satisfaction.may_ask(policies.current().satisfaction, outcome, verified, crisis_in_session(tracker)):
        return []
    asked = store().claim_question(
        conversation_id=tracker.sender_id, borrower_id=tracker.get_slot("borrower_id") if verified else None,
        channel=tracker.get_latest_input_channel() or None, topic=satisfaction.topic_of(topic), outcome=outcome,
        today=today, now=now)
    if asked is None:
        return []
    say(dispatcher, tracker, "satisfaction.question", buttons=rating_buttons(tracker))
    return [SlotSet(ASK_SLOT, str(asked.id)), SlotSet(QUESTION_OPEN, True)]


def asked_id(tracker: Tracker) -> int | None:
    value = tracker.get_slot(ASK_SLOT)
    return int(value) if isinstance(value, str) and value.isdigit() else None


class ActionOfferSatisfaction(KuanxinAction):
    """After thanks or goodbye: the question, when a question was answered in this session."""

    def name(self) -> str:
        return "action_offer_satisfaction"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        topic = answered_topic(tracker)
        if topic is None:
            return []
        return offer_question(dispatcher, tracker, SatisfactionOutcome.ANSWERED, topic, self.today(), self.now())


class ActionRateConversation(KuanxinAction):
    def name(self) -> str:
        return "action_rate_conversation"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        rating = given_rating(tracker)
        ask_id = asked_id(tracker)
        if rating is None or ask_id is None or crisis_in_session(tracker):
            say(dispatcher, tracker, "satisfaction.no_question")  # "不满意" out of the blue: offer help
            return closed()
        if not store().rate(ask_id, rating, self.now()):
            say(dispatcher, tracker, "satisfaction.already")
            return closed()
        comment = satisfaction.rating_with_comment(latest_text(tracker))[1]  # "满意,就是利息太高"
        if comment and store().comment(ask_id, satisfaction.comment_text(
                comment, policies.current().satisfaction.comment_max_chars), self.now()):
            say(dispatcher, tracker, "satisfaction.thanks_with_comment")
            return closed()
        say(dispatcher, tracker, f"satisfaction.thanks.{rating}")
        return [SlotSet(QUESTION_OPEN, False), SlotSet(COMMENT_OPEN, True)]


def closed() -> list[EventType]:
    return [SlotSet(QUESTION_OPEN, False), SlotSet(COMMENT_OPEN, False)]


def given_rating(tracker: Tracker) -> SatisfactionRating | None:
    """The button's rating entity, else the words typed."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "rating":
            return satisfaction.rating_from(entity.get("value"))
    return satisfaction.rating_in(latest_text(tracker))


class ActionRecordSatisfactionComment(KuanxinAction):
    def name(self) -> str:
        return "action_record_satisfaction_comment"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        ask_id = asked_id(tracker)
        text = satisfaction.comment_text(latest_text(tracker), policies.current().satisfaction.comment_max_chars)
        if ask_id is not None and store().comment(ask_id, text, self.now()):
            say(dispatcher, tracker, "satisfaction.comment.thanks")
        else:
            dispatcher.utter_message(response="utter_what_next")
        return closed()
