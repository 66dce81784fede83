"""Full phone and ID numbers never reach the conversation store or Rasa's log.

Every tracker Rasa saves, from any channel or the HTTP API, passes through FailSafeTrackerStore.save
(Rasa wraps whatever store endpoints*.yml configures in one); here it is given a copy whose events are
redacted by kuanxin.lending.privacy (what the borrower typed, what was said, slot values): the events
added since the tracker was read from the store, the ones read having been masked as they were saved (a
store written before kuanxin masked is masked by `kuanxin privacy mask-stored`). The turn
itself runs on the tracker as it was, so a number typed in this message is read in full by the
actions; the next turn reads the stored, masked form (actions/identity.py keeps the phone number it
still needs server-side, for minutes). Log records are masked as they are made, structlog events
before they are rendered (Rasa writes them as JSON, where full-width digits would hide as \\uff11…).
"""
from __future__ import annotations

import copy
import sys
from collections import deque
from typing import Any

import rasa.utils.log_utils as rasa_log_utils
import structlog
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

from kuanxin.lending.identity import mask_text
from kuanxin.lending.privacy import REDACTED_KINDS, install_log_masking, redacted_event


def redacted(event: Event) -> Event:
    """The event as it may be stored: the same object when it holds no full number."""
    if event.type_name not in REDACTED_KINDS:
        return event
    as_dict = event.as_dict()
    stored = redacted_event(as_dict)
    return event if stored == as_dict else Event.from_parameters(stored)


# how many of a tracker's first events were read from the store: masked when they were saved, so not again
# (a turn's save looked at every event of the conversation: a twentieth of a turn, profiled under bench.turns)
READ_FROM_STORE = "_kuanxin_read_from_store"


def redacted_tracker(tracker: DialogueStateTracker) -> DialogueStateTracker:
    """A copy of the tracker for the store (the turn keeps the original); the tracker itself when nothing
    needs masking."""
    events = list(tracker.events)
    stored = tracker.__dict__.get(READ_FROM_STORE, 0)
    added = events[stored:]
    masked = [redacted(event) for event in added]
    if all(new is old for new, old in zip(masked, added, strict=True)):
        return tracker
    copied = copy.copy(tracker)
    copied.events = deque(events[:stored] + masked, tracker.events.maxlen)
    return copied


def _marking_what_was_stored(retrieve: Any) -> Any:
    async def retrieve_marked(self: FailSafeTrackerStore, sender_id: str) -> DialogueStateTracker | None:
        tracker = await retrieve(self, sender_id)
        if tracker is not None:
            tracker.__dict__[READ_FROM_STORE] = len(tracker.events)
        return tracker

    retrieve_marked.marks = True  # type: ignore[attr-defined]
    return retrieve_marked


def _saving_redacted(save: Any) -> Any:
    async def save_redacted(self: FailSafeTrackerStore, tracker: DialogueStateTracker) -> None:
        await save(self, redacted_tracker(tracker))

    save_redacted.redacts = True  # type: ignore[attr-defined]
    return save_redacted


def masked_log_event(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """A structlog processor: values masked before rendering; objects by their repr, as they would print."""
    return {key: _masked_value(value) for key, value in event_dict.items()}


def _masked_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, (list, tuple)):
        return [_masked_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _masked_value(item) for key, item in value.items()}
    if value is None or isinstance(value, (bool, int, float)):
        return value
    shown = repr(value)
    hidden = mask_text(shown)
    return value if hidden == shown else hidden


_configure_structlog = rasa_log_utils.configure_structlog


def _configure_structlog_masked(*args: Any, **kwargs: Any) -> None:
    _configure_structlog(*args, **kwargs)
    processors = structlog.get_config()["processors"]
    if masked_log_event not in processors:
        structlog.configure(processors=[masked_log_event, *processors])


def install() -> None:
    """Once, after runtime.stores (whose save this wraps), before Rasa's command line configures logging."""
    if not getattr(FailSafeTrackerStore.save, "redacts", False):
        FailSafeTrackerStore.save = _saving_redacted(FailSafeTrackerStore.save)
    if not getattr(FailSafeTrackerStore.retrieve, "marks", False):
        FailSafeTrackerStore.retrieve = _marking_what_was_stored(FailSafeTrackerStore.retrieve)
    rasa_log_utils.configure_structlog = _configure_structlog_masked
    command_line = sys.modules.get("rasa.__main__")  # it imports the function by name
    if command_line is not None:
        command_line.configure_structlog = _configure_structlog_masked  # type: ignore[attr-defined]
    install_log_masking()
