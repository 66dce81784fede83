"""What every kuanxin action shares: error handling, the repository, who the borrower is."""
from __future__ import annotations

import logging
import re
import traceback
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from kuanxin.core import clock, policy
from kuanxin.lending.identity import mask_text
from kuanxin.store.accounts import Accounts
from kuanxin.store.models import Borrower

logger = logging.getLogger("kuanxin.actions")
_accounts: Accounts | None = None

MAX_TEXT = 2000  # longer messages are read only this far; nothing we parse needs more


def accounts() -> Accounts:
    global _accounts
    if _accounts is None:
        _accounts = Accounts()
    return _accounts


REQUEST_SLOTS = ("loan_id", "deferral_months", "deferral_reason", "installment_periods", "promise_date",
                 "promise_amount", "confirm_request", "request_blocked", "form_reask", "agreement_sha")


def reset_request_slots() -> list[SlotSet]:
    """Submit actions end by clearing what the request collected, so the next one starts clean."""
    return [SlotSet(slot, None) for slot in REQUEST_SLOTS]


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message.get("text") or "")[:MAX_TEXT]


def user_messages(tracker: Tracker) -> Iterator[tuple[str, str | None]]:
    """(text, intent) of each borrower message, newest first."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            intent = (event.get("parse_data") or {}).get("intent") or {}
            yield (event.get("text") or "")[:MAX_TEXT], intent.get("name")


def slot_before_latest_message(tracker: Tracker, slot: str) -> Any:
    """The slot's value before the latest borrower message (whose slot mappings may have changed it since)."""
    before = False
    for event in reversed(tracker.events):
        before = before or event.get("event") == "user"
        if before and event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None


def session_events(tracker: Tracker) -> list[dict[str, Any]]:
    """This conversation session's events (since the latest session start)."""
    events = list(tracker.events)
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "session_started":
            return events[index + 1:]
    return events


def intent_of(event: dict[str, Any]) -> str | None:
    """The intent of a user event (None for any other event)."""
    if event.get("event") != "user":
        return None
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name")


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


LEAVE_INTENTS = {"cancel", "goodbye"}
# said to leave whatever the classifier thought: a borrower who wants out must always get out
LEAVE_WORDS = re.compile(r"算了|不办了|先不用|不用了|不申请了|不要了|取消|不弄了|不想办了|先这样吧|退出"
                         r"|^\s*(?:cancel|never ?mind|forget it|stop|quit)\b|\bdon'?t want (?:it|to)\b", re.I)


def activating(tracker: Tracker) -> bool:
    """True while the form is being activated: it has not asked for anything yet.

    Rasa marks the loop active before the first validation, so the requested slot tells.
    """
    return tracker.get_slot("requested_slot") is None


def wants_to_leave(tracker: Tracker) -> bool:
    return latest_intent(tracker) in LEAVE_INTENTS or bool(LEAVE_WORDS.search(latest_text(tracker)))


def verified_borrower(tracker: Tracker) -> Borrower | None:
    """The borrower this conversation proved to be, with their accounts; None before verification."""
    borrower_id = tracker.get_slot("borrower_id")
    if not tracker.get_slot("verified") or not borrower_id:
        return None
    return accounts().borrower_profile(borrower_id)


class NotVerified(LookupError):
    """An account action ran for a conversation that has not proved who it is (the identity gate's rules
    should make this impossible; the action then apologises instead of answering)."""


def the_borrower(tracker: Tracker) -> Borrower:
    """The verified borrower, for the actions that run only behind the identity gate."""
    borrower = verified_borrower(tracker)
    if borrower is None:
        raise NotVerified(f"no verified borrower in conversation {mask_text(tracker.sender_id)}")
    return borrower


class KuanxinAction(Action, ABC):
    """An action whose failures end in an apology to the borrower, never in a stack trace.

    Abstract bases are skipped by the action server's discovery, so only concrete actions register.
    """

    @abstractmethod
    def name(self) -> str:
        ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        try:
            return await self.act(dispatcher, tracker, domain)
        except Exception:  # noqa: BLE001 - the borrower must get an answer whatever failed
            # Database errors quote their parameters: mask phone and ID numbers before logging.
            logger.error("action %s failed in conversation %s:\n%s", self.name(), mask_text(tracker.sender_id),
                         mask_text(traceback.format_exc()))
            dispatcher.utter_message(response="utter_internal_error")
            return self.on_failure(tracker)

    def on_failure(self, tracker: Tracker) -> list[EventType]:
        return []

    @abstractmethod
    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        ...

    @staticmethod
    def today():
        return clock.today()

    @staticmethod
    def now():
        return clock.now()

    @staticmethod
    def policy():
        return policy.current()
