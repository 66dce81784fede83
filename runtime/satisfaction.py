"""The borrower's answer to the satisfaction question, read as people type it (kuanxin.lending.satisfaction).

While the question is open (`satisfaction_question_open`, set by actions/satisfaction.py), the very next message is
taken as a rating when it is one ("满意的", "还行", "不太满意"), whatever the classifier would make of it, with
what follows it as a comment ("满意,就是利息太高"), unless the message is a matter for staff (a complaint, a
dispute, a person). After a rating, the next message is taken as the optional comment unless it is something the
assistant handles (kuanxin.lending.satisfaction.is_comment: a question, a request, thanks, goodbye, no: those are
answered as usual). Any message that is not the answer closes the
question for good: the borrower is never asked again and never trapped. A button's payload
(/rate_conversation{"rating": "good"}) needs none of this.
"""
from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from kuanxin.lending import satisfaction

QUESTION_OPEN = "satisfaction_question_open"
COMMENT_OPEN = "satisfaction_comment_open"
RATE = "rate_conversation"
COMMENT = "leave_satisfaction_comment"  # set here only, never by the classifier

_handle_message_with_tracker = None  # the handler this one wraps (runtime.payment_news's), set by install()


def parse_data(text: str, intent: str, entities: list[dict[str, Any]]) -> dict[str, Any]:
    chosen = {"name": intent, "confidence": 1.0}
    return {"text": text, "intent": chosen, "intent_ranking": [chosen], "entities": entities}


def rating_parse_data(text: str, rating: str) -> dict[str, Any]:
    return parse_data(text, RATE, [{"entity": "rating", "value": rating, "start": 0, "end": len(text),
                                    "extractor": "runtime.satisfaction"}])


async def handle_message_reading_ratings(self: MessageProcessor, message: UserMessage,
                                         tracker: DialogueStateTracker) -> None:
    question_open, comment_open = bool(tracker.get_slot(QUESTION_OPEN)), bool(tracker.get_slot(COMMENT_OPEN))
    text = message.text or ""
    if (question_open or comment_open) and not message.parse_data and not text.startswith("/"):
        rating, rest = satisfaction.rating_with_comment(text)
        parsed = await self.parse_message(message, tracker) if rest or (comment_open and rating is None) else {}
        intent = (parsed.get("intent") or {}).get("name")
        if rating is not None and intent not in satisfaction.STAFF_MATTERS:  # "不满意,催收太凶了" goes to staff
            message.parse_data = rating_parse_data(text, rating.value)
        elif comment_open and rating is None and satisfaction.is_comment(
                text, intent, float((parsed.get("intent") or {}).get("confidence") or 0)):
            message.parse_data = parse_data(text, COMMENT, [])
        elif parsed:
            message.parse_data = parsed  # answered as usual, parsed once
    await _handle_message_with_tracker(self, message, tracker)  # type: ignore[misc]
    if question_open or comment_open:
        if (tracker.latest_message.intent or {}).get("name") not in (RATE, COMMENT):
            tracker.update(SlotSet(QUESTION_OPEN, False))  # ignored: handled as usual, never asked again
            tracker.update(SlotSet(COMMENT_OPEN, False))


def install() -> None:
    global _handle_message_with_tracker
    if MessageProcessor._handle_message_with_tracker is not handle_message_reading_ratings:
        _handle_message_with_tracker = MessageProcessor._handle_message_with_tracker
        MessageProcessor._handle_message_with_tracker = handle_message_reading_ratings
