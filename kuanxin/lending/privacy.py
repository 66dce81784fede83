"""What kuanxin keeps of a conversation: no full phone or ID number, and after a while nothing personal.

Events are handled as Rasa serialises them (plain dicts: {"event": "user", "text": …, "parse_data": …}),
so this module knows nothing of Rasa: runtime/privacy.py applies `redacted_event` to every tracker Rasa
saves, kuanxin/store/transcripts.py applies `anonymised_event` to the rows of the conversation store.
Log records are masked here too (`install_log_masking`), in every process kuanxin starts.
"""
from __future__ import annotations

import logging
from typing import Any

from kuanxin.core.staff_reply import KEY as STAFF_KEY
from kuanxin.lending.identity import mask_text

# the events that carry what someone typed or a value read from it
REDACTED_KINDS = frozenset({"user", "bot", "slot", "entities"})
# Slots an anonymised transcript keeps: where the conversation stood, never who or what about.
# Every other slot (phone, ID tail, borrower, loan, reasons, dates, amounts, channel metadata) is cleared.
KEPT_SLOTS = frozenset({"verified", "identity_locked", "pending_intent", "requested_slot", "language", "form_reask",
                        "confirm_request", "request_blocked", "deferral_months", "installment_periods"})


def masked(value: Any) -> Any:
    """The value with every full phone and ID number in its strings masked, inside lists and dicts too."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, list):
        return [masked(item) for item in value]
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    return value


def redacted_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as it may be stored: numbers masked in what the borrower typed (text, parse data with its
    entity values, metadata), in what the assistant or staff said, and in slot values.

    Names, ids and timestamps are left as they are: the message id is how a re-sent message is found again.
    """
    kind = event.get("event")
    if kind == "user":
        return {**event, **{key: masked(event[key]) for key in ("text", "parse_data", "metadata") if key in event}}
    if kind == "bot":
        return {**event, **{key: masked(event[key]) for key in ("text", "data", "metadata") if key in event}}
    if kind == "slot":
        return {**event, "value": masked(event.get("value"))}
    if kind == "entities":
        return {**event, "entities": masked(event.get("entities"))}
    return event


def anonymised_event(event: dict[str, Any], placeholder: str) -> dict[str, Any]:
    """The event with nothing personal left: what the borrower, the assistant and staff said becomes the
    placeholder, entities and personal slots are emptied. Its kind, timestamp, intent and action stay,
    so counts over transcripts come out the same. Anonymising twice gives the same event."""
    kind = event.get("event")
    if kind == "user":
        parse_data = {key: value for key, value in (event.get("parse_data") or {}).items() if key != "metadata"}
        return {**event, "text": placeholder, "metadata": {},
                "parse_data": {**parse_data, "text": placeholder, "entities": []}}
    if kind == "bot":
        return {**event, "text": placeholder, "data": _staff_label(event.get("data")),
                "metadata": {key: value for key, value in (event.get("metadata") or {}).items()
                             if key == "utter_action"}}
    if kind == "slot" and event.get("name") not in KEPT_SLOTS:
        return {**event, "value": None}
    if kind == "entities":
        return {**event, "entities": []}
    return event


def _staff_label(data: Any) -> dict[str, Any]:
    """Only the mark of a staff reply (the console still shows a person answered, not what they said)."""
    custom = data.get("custom") if isinstance(data, dict) else None
    staff = custom.get(STAFF_KEY) if isinstance(custom, dict) else None
    return {"custom": {STAFF_KEY: staff}} if staff is not None else {}


# --------------------------------------------------------------------------- log records

class MaskNumbers(logging.Filter):
    """Masks full phone and ID numbers in a record: its message (arguments filled in) and its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        _mask_message(record)
        if record.exc_info and not record.exc_text:  # formatted once here; every formatter reuses exc_text
            record.exc_text = mask_text(_FORMATTER.formatException(record.exc_info))
        return True


_FORMATTER = logging.Formatter()
_FILTER = MaskNumbers()


def _mask_message(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string is the handler's to report, as without us
        return
    hidden = mask_text(message)
    if hidden != message:
        record.msg, record.args = hidden, None


def install_log_masking() -> None:
    """Every log record of this process passes MaskNumbers as it is made.

    At the record factory rather than on handlers: Rasa, rasa_sdk and uvicorn set up their own handlers
    (some after we start), and each record is made exactly once whichever handler writes it.
    """
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "masks_numbers", False):
        return

    def make_masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        _FILTER.filter(record)
        return record

    make_masked_record.masks_numbers = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_masked_record)
