"""A message sent twice is answered once.

Clients re-send a message when they did not get its answer (a timeout, an instance that died, a
"try again" answer). A channel that knows the client's own id for a message passes it as a
ResendSafeMessage; if the conversation already holds a user turn with that id, the bot messages
that answered it are sent again instead of running the turn a second time. The check runs inside
the conversation lock, so a re-send that arrives while the first copy is still being handled waits
for it and then gets its answer.
"""
from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker


class ResendSafeMessage(UserMessage):
    """A user message whose message_id is the client's own, stable across re-sends."""


def earlier_answers(tracker: DialogueStateTracker, message_id: str) -> list[dict[str, Any]] | None:
    """The bot messages that answered the user turn with this id, or None when there is no such turn."""
    answers: list[dict[str, Any]] | None = None
    for event in tracker.events:
        if isinstance(event, UserUttered):
            if answers is not None:
                break
            if event.message_id == message_id:
                answers = []
        elif isinstance(event, BotUttered) and answers is not None:
            answers.append({"text": event.text, **{k: v for k, v in (event.data or {}).items() if v is not None}})
    return answers


_handle_message = MessageProcessor.handle_message


async def handle_message_once(self: MessageProcessor, message: UserMessage) -> list[dict[str, Any]] | None:
    if not isinstance(message, ResendSafeMessage):
        return await _handle_message(self, message)
    tracker = await self.fetch_tracker_and_update_session(message.sender_id, message.output_channel,
                                                          message.metadata)
    answers = earlier_answers(tracker, message.message_id)
    if answers is not None:
        for answer in answers:
            await message.output_channel.send_response(message.sender_id, answer)
    else:  # MessageProcessor.handle_message from here on, on the tracker already fetched
        await self._handle_message_with_tracker(message, tracker)
        tracker = await self.run_action_extract_slots(message.output_channel, tracker)
        await self._run_prediction_loop(message.output_channel, tracker)
        await self.run_anonymization_pipeline(tracker)
        await self.save_tracker(tracker)
    if isinstance(message.output_channel, CollectingOutputChannel):
        return message.output_channel.messages
    return None


def install() -> None:
    MessageProcessor.handle_message = handle_message_once
