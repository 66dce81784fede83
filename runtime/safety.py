"""The safety protocol comes before anything else, in any state.

A message that kuanxin.lending.safety flags (suicide, self-harm, acute despair with danger) does not go to
the classifier, the policies or any form: it is logged with intent `express_crisis`, any active
form is left, `action_safety_protocol` answers (crisis hotline, 120/110, a person; nothing about
money) and the assistant listens, also in a conversation staff have taken over (the reply with the
hotline matters more than the pause). Every other message goes through unchanged. A message re-sent
by its client is answered from the tracker, as runtime.turns does for every message.

If the action server cannot answer, the reply is sent from here (the same catalogue text), so a
borrower in crisis is never left without the hotline.
"""
from __future__ import annotations

import logging
from typing import Any

from rasa.core.actions.action import action_for_name_or_text
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.processor import MessageProcessor
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from kuanxin.core import texts
from kuanxin.lending import safety
from runtime.turns import ResendSafeMessage, earlier_answers

INTENT = safety.CRISIS_INTENT
ACTION = "action_safety_protocol"
DEACTIVATE_LOOP = "action_deactivate_loop"
logger = logging.getLogger(__name__)

_handle_message = None  # the handler this one wraps (runtime.turns's), set by install()


def crisis_parse_data(text: str) -> dict[str, Any]:
    intent = {"name": INTENT, "confidence": 1.0}
    return {"text": text, "intent": intent, "intent_ranking": [intent], "entities": []}


async def handle_message_safely(self: MessageProcessor, message: UserMessage) -> list[dict[str, Any]] | None:
    if not safety.detect(message.text or ""):
        return await _handle_message(self, message)
    tracker = await self.fetch_tracker_and_update_session(message.sender_id, message.output_channel,
                                                          message.metadata)
    answers = earlier_answers(tracker, message.message_id) if isinstance(message, ResendSafeMessage) else None
    if answers is not None:
        for answer in answers:
            await message.output_channel.send_response(message.sender_id, answer)
    else:
        message.parse_data = crisis_parse_data(message.text)
        await self._handle_message_with_tracker(message, tracker)
        await run_protocol(self, message, tracker)
        await self.run_anonymization_pipeline(tracker)
        await self.save_tracker(tracker)
    if isinstance(message.output_channel, CollectingOutputChannel):
        return message.output_channel.messages
    return None


async def run_protocol(processor: MessageProcessor, message: UserMessage, tracker: DialogueStateTracker) -> None:
    """Leaves any form, answers with the protocol's action, listens."""
    if tracker.active_loop_name:
        await _run(processor, DEACTIVATE_LOOP, message, tracker)
    said_before = _bot_messages_since_user(tracker)
    await _run(processor, ACTION, message, tracker)
    if _bot_messages_since_user(tracker) == said_before:  # the action server failed: answer from here
        logger.error("%s gave no reply; the crisis reply is sent by the runtime", ACTION)
        reply = texts.text("safety.reply", tracker.get_slot("language") or texts.DEFAULT_LANGUAGE)
        await message.output_channel.send_text_message(message.sender_id, reply)
        tracker.update(BotUttered(reply))
    await _run(processor, ACTION_LISTEN_NAME, message, tracker)


async def _run(processor: MessageProcessor, name: str, message: UserMessage, tracker: DialogueStateTracker) -> None:
    action = action_for_name_or_text(name, processor.domain, processor.action_endpoint)
    prediction = PolicyPrediction.for_action_name(processor.domain, name, "safety_protocol")
    await processor._run_action(action, tracker, message.output_channel, processor.nlg, prediction)


def _bot_messages_since_user(tracker: DialogueStateTracker) -> int:
    count = 0
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        count += isinstance(event, BotUttered)
    return count


def install() -> None:
    """Wraps MessageProcessor.handle_message once (after runtime.turns has installed its own)."""
    global _handle_message
    if MessageProcessor.handle_message is not handle_message_safely:
        _handle_message = MessageProcessor.handle_message
        MessageProcessor.handle_message = handle_message_safely
