"""A Rasa tracker as staff read it: who said what and when, what the assistant understood, the slots."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from kuanxin.console.labels import INTENTS, slot_lines, words
from kuanxin.core import clock
from kuanxin.core.staff_reply import staff_name
from kuanxin.lending.identity import mask_text

PAYLOAD = re.compile(r"/(\w+)(?:\{.*\})?\s*$", re.S)  # a button's payload: an intent and its entities
HIDDEN_SLOTS = {"requested_slot", "session_started_metadata"}
MARKERS = ("pause", "resume", "session_started")  # their words: texts/zh.yml console.marker.*


@dataclass(frozen=True)
class Turn:
    at: str
    who: str  # borrower | bot | staff | marker
    text: str
    intent: str | None = None
    confidence: float | None = None
    staff: str | None = None


def _time(timestamp) -> str:
    if not isinstance(timestamp, (int, float)):
        return ""
    return dt.datetime.fromtimestamp(timestamp, clock.BEIJING).strftime("%m-%d %H:%M:%S")


def _turn(event: dict) -> Turn | None:
    at, kind = _time(event.get("timestamp")), event.get("event")
    if kind == "user":
        intent = (event.get("parse_data") or {}).get("intent") or {}
        return Turn(at, "borrower", said(event.get("text") or ""), intent.get("name"), intent.get("confidence"))
    if kind == "bot":
        staff = staff_name(event.get("data") or {})
        return Turn(at, "staff" if staff else "bot", mask_text(event.get("text") or ""), staff=staff)
    if kind in MARKERS:
        return Turn(at, "marker", words(f"marker.{kind}"))
    return None


def said(text: str) -> str:
    """What the borrower said; a button's payload (/affirm, /inform{…}) in words, not as its code."""
    payload = PAYLOAD.match(text)
    if payload:
        return words("button", choice=INTENTS.of(payload.group(1)))
    return mask_text(text)


def turns(tracker: dict) -> list[Turn]:
    return [turn for turn in map(_turn, tracker.get("events") or []) if turn]


def filled_slots(tracker: dict) -> list[tuple[str, str]]:
    """(staff words for the slot, its value shown as staff read it) for each filled slot."""
    slots = tracker.get("slots") or {}
    return slot_lines({name: value for name, value in slots.items()
                       if value not in (None, "", [], False) and name not in HIDDEN_SLOTS})


def is_paused(tracker: dict) -> bool:
    return bool(tracker.get("paused"))


def latest(tracker: dict) -> float | None:
    """The newest event's time: the live page is told when its conversation moves past it (kuanxin.console.live)."""
    value = tracker.get("latest_event_time")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
