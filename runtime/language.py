"""The language a borrower is answered in, chosen from each message before the reply (kuanxin.core.language).

Every message, whatever channel brought it and whatever path handles it (runtime.turns, the safety
protocol of runtime.safety), is logged by MessageProcessor._handle_message_with_tracker; right after
that the conversation's `language` slot is set when the message is written in the other language, so
the reply to the very message that switched is already in the new language (actions read the slot
through actions.texts, Rasa's own responses through their conditional variations in domain.yml).
A message that is only a switch word ("English", "中文": the greeting's buttons send these) is taken
as a greeting, which answers with the greeting and its menu in the chosen language.
"""
from __future__ import annotations

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from kuanxin.core import language

SLOT = "language"
GREET = "greet"

_handle_message_with_tracker = MessageProcessor._handle_message_with_tracker


def greeting_parse_data(text: str) -> dict:
    intent = {"name": GREET, "confidence": 1.0}
    return {"text": text, "intent": intent, "intent_ranking": [intent], "entities": []}


async def handle_message_in_its_language(self: MessageProcessor, message: UserMessage,
                                         tracker: DialogueStateTracker) -> None:
    text = message.text or ""
    if not message.parse_data and language.switch_word(text):
        message.parse_data = greeting_parse_data(text)
    await _handle_message_with_tracker(self, message, tracker)
    current = tracker.get_slot(SLOT) or language.ZH
    chosen = language.next_language(text, current)
    if chosen != current:
        tracker.update(SlotSet(SLOT, chosen))


def install() -> None:
    MessageProcessor._handle_message_with_tracker = handle_message_in_its_language
