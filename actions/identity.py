"""Identity check: phone number + last 4 ID characters, verified against the account database.

The phone_number slot holds the masked number (138****5678), never the number itself: the conversation
store would keep it (runtime/privacy.py masks whatever reaches it anyway). While the check waits for the ID
tail of a later message, the number waits server-side (Accounts.keep_phone, policy.yml
`privacy.identity_phone_minutes`) and the slot's masked form finds it again.
"""
from __future__ import annotations

import logging
from typing import Any

from dateutil import tz
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KuanxinAction, accounts, latest_text
from actions.forms import FormValidator
from actions.texts import say, text_for
from kuanxin.core import clock
from kuanxin.lending.identity import ID_SLOT, PHONE_SLOT, Malformed, is_id_last4, is_phone, mask_phone, read_identity

logger = logging.getLogger("kuanxin.actions")
WECHAT = "wechat"  # the input channel whose sender id (the OpenID) stays with the borrower


def phone_behind(tracker: Tracker, value: Any, now) -> str | None:
    """The phone number a phone_number slot value stands for: the number kept for this conversation when the
    value is its masked form, a full number as it is (a conversation saved before masking), else None."""
    if is_phone(value):
        return str(value)
    if not isinstance(value, str) or not value:
        return None
    kept = accounts().kept_phone(tracker.sender_id, now)
    return kept if kept is not None and mask_phone(kept) == value else None


def _local_time(naive_utc) -> str:
    return naive_utc.replace(tzinfo=tz.UTC).astimezone(clock.BEIJING).strftime("%H:%M")


class ValidateIdentityForm(FormValidator):
    form = "identity_form"
    slots = ("phone_number", "id_last4")

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if tracker.get_slot("verified"):
            return [SlotSet("requested_slot", None)]
        phone = phone_behind(tracker, tracker.get_slot(PHONE_SLOT), self.now())
        if accounts().identity_lock(phone, tracker.sender_id, self.now(), self.policy().identity):
            return [SlotSet("identity_locked", True), SlotSet("requested_slot", None)]
        unlocked = [SlotSet("identity_locked", False)] if tracker.get_slot("identity_locked") else []
        return unlocked + await super().act(dispatcher, tracker, domain)

    def done_early(self, values: dict) -> bool:
        return bool(values.get("verified") or values.get("identity_locked"))

    def cancel(self) -> list[EventType]:
        return [SlotSet("phone_number", None), SlotSet("id_last4", None), SlotSet("requested_slot", None)]

    def on_failure(self, tracker: Tracker) -> list[EventType]:
        return self.cancel()

    async def fill(self, dispatcher: CollectingDispatcher, tracker: Tracker, values: dict,
                   requested: str | None) -> dict:
        """Well-formed values from the message; a slip (a digit too few, a letter in the phone number)
        gets a re-ask saying what is expected. Only a well-formed pair is ever checked, so only a
        real mismatch counts toward the lock."""
        reading = read_identity(latest_text(tracker), requested)
        held = values.get(PHONE_SLOT)
        values = {**values, PHONE_SLOT: phone_behind(tracker, held, self.now())}
        # a masked number whose time is up, or a value not read by this validator: asked for again
        found: dict[str, Any] = {} if held is None or values[PHONE_SLOT] else {PHONE_SLOT: None}
        for slot, well_formed in ((PHONE_SLOT, is_phone), (ID_SLOT, is_id_last4)):
            if values.get(slot) is not None and not well_formed(values[slot]):
                found[slot] = None  # never check a value this validator did not read itself
        if reading.phone:
            found[PHONE_SLOT] = reading.phone
        if reading.id_last4:
            found[ID_SLOT] = reading.id_last4
        slip = reading.slip_for(requested)
        if slip:
            self.say_slip(dispatcher, tracker, slip)
        phone, last4 = found.get(PHONE_SLOT, values.get(PHONE_SLOT)), found.get(ID_SLOT, values.get(ID_SLOT))
        if is_phone(phone) and is_id_last4(last4):
            found.update(self.verify(dispatcher, tracker, str(phone), str(last4)))
        return self.phone_kept_aside(tracker, found)

    def phone_kept_aside(self, tracker: Tracker, found: dict) -> dict:
        """The slot gets the masked number; the number itself waits server-side while the check needs it."""
        phone = found.get(PHONE_SLOT)
        if found.get("verified"):
            accounts().settle_phone(tracker.sender_id, self.now(), self.policy().privacy.identity_phone_retry_seconds)
        elif PHONE_SLOT in found and phone is None:
            accounts().forget_phone(tracker.sender_id)
        elif is_phone(phone):
            accounts().keep_phone(tracker.sender_id, str(phone), self.now(),
                                  self.policy().privacy.identity_phone_minutes)
        if is_phone(phone):
            found[PHONE_SLOT] = mask_phone(str(phone))
        return found

    def say_slip(self, dispatcher: CollectingDispatcher, tracker: Tracker, slip: Malformed) -> None:
        say(dispatcher, tracker, f"identity.slip.{slip.slip.value}", length=slip.length)

    def verify(self, dispatcher: CollectingDispatcher, tracker: Tracker, phone: str, last4: str) -> dict:
        identity = self.policy().identity
        result = accounts().verify_identity(phone, last4, tracker.sender_id, self.now(), identity)
        if result.verified and result.borrower_id:
            remembered = self.remember_in_wechat(tracker, result.borrower_id)
            say(dispatcher, tracker, "identity.verified", phone=mask_phone(phone), remembered=remembered)
            return {"verified": True, "borrower_id": result.borrower_id, "id_last4": "****"}
        if result.status == "locked":
            return {"identity_locked": True, "phone_number": phone, "id_last4": None}
        key = "identity.mismatch.last_try" if result.tries_left == 1 else "identity.mismatch"
        say(dispatcher, tracker, key, tries_left=result.tries_left, max_failures=identity.max_failures,
            minutes=identity.lockout_minutes)
        return {"phone_number": None, "id_last4": None}

    def remember_in_wechat(self, tracker: Tracker, borrower_id: str) -> str:
        """Binds a WeChat OpenID to the borrower it just proved to be, so later chats skip the check."""
        if tracker.get_latest_input_channel() != WECHAT:
            return ""
        accounts().bind_sender(sender_id=tracker.sender_id, channel=WECHAT, borrower_id=borrower_id, now=self.now())
        return text_for(tracker, "identity.wechat_bound")


class ActionUnbindAccount(KuanxinAction):
    """Forgets the channel's binding (WeChat OpenID or signed-in web session) and ends the verification."""

    def name(self) -> str:
        return "action_unbind_account"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        was_bound = accounts().unbind_sender(tracker.sender_id)
        if was_bound:
            say(dispatcher, tracker, "identity.unbound")
        elif tracker.get_slot("verified"):
            say(dispatcher, tracker, "identity.unbound.not_bound_signed_out")
        else:
            say(dispatcher, tracker, "identity.unbound.not_bound")
        return [SlotSet("verified", False), SlotSet("borrower_id", None), SlotSet("phone_number", None)]


class ActionIdentityLocked(KuanxinAction):
    """Says the check is locked and until when; the borrower can still reach a person."""

    def name(self) -> str:
        return "action_identity_locked"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        policy = self.policy()
        phone = phone_behind(tracker, tracker.get_slot(PHONE_SLOT), self.now())
        until = accounts().identity_lock(phone, tracker.sender_id, self.now(), policy.identity)
        accounts().forget_phone(tracker.sender_id)  # the slot is emptied below: nothing waits for a tail
        values = {"max_failures": policy.identity.max_failures, "minutes": policy.identity.lockout_minutes}
        if until:
            say(dispatcher, tracker, "identity.locked.until", until=_local_time(until), **values)
        else:
            say(dispatcher, tracker, "identity.locked", **values)
        return [SlotSet("phone_number", None), SlotSet("id_last4", None)]


class ActionSessionStart(Action):
    """Starts each session verified when a channel has vouched for the borrower behind it.

    The web chat binds a signed-in borrower's session; WeChat binds an OpenID after an identity check.
    A failure here must not stop the conversation: the borrower is simply asked to verify.
    """

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        borrower_id = None
        try:
            borrower_id = accounts().bound_borrower(tracker.sender_id, clock.now())
            accounts().start_session(tracker.sender_id, borrower_id, clock.now())
        except Exception:  # noqa: BLE001 - logged; the identity check still works
            logger.exception("could not read the sender binding or record the session")
        if borrower_id:
            events += [SlotSet("verified", True), SlotSet("borrower_id", borrower_id)]
        return events + [ActionExecuted("action_listen")]
