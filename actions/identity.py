"""Identity check: phone number + last 4 ID characters, verified against the account database."""
from __future__ import annotations

import logging
import re
from typing import Any

from dateutil import tz
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KuanxinAction, accounts, latest_text
from actions.forms import FormValidator, activating
from kuanxin import clock
from kuanxin.identity import find_id_last4, find_phone, mask_phone

# At activation the message was a request, not an answer: only take 4 characters as the ID
# tail when the borrower says so, so "2026年" is never mistaken for one.
ID_CUE = re.compile(r"身份证|证件|后四位|后4位|尾号|末四位|末4位")
logger = logging.getLogger("kuanxin.actions")
WECHAT = "wechat"  # the input channel whose sender id (the OpenID) stays with the borrower


def _local_time(naive_utc) -> str:
    return naive_utc.replace(tzinfo=tz.UTC).astimezone(clock.BEIJING).strftime("%H:%M")


class ValidateIdentityForm(FormValidator):
    form = "identity_form"
    slots = ("phone_number", "id_last4")

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if tracker.get_slot("verified"):
            return [SlotSet("requested_slot", None)]
        if accounts().identity_lock(tracker.get_slot("phone_number"), tracker.sender_id, self.now(),
                                    self.policy().identity):
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
        text = latest_text(tracker)
        found = {}
        phone = find_phone(text)
        if phone:
            found["phone_number"] = phone
        last4 = find_id_last4(text)
        if last4 and (phone or ID_CUE.search(text) or not activating(tracker)):
            found["id_last4"] = last4
        phone, last4 = found.get("phone_number", values["phone_number"]), found.get("id_last4", values["id_last4"])
        if phone and last4:
            found.update(self.verify(dispatcher, tracker, phone, last4))
        return found

    def verify(self, dispatcher: CollectingDispatcher, tracker: Tracker, phone: str, last4: str) -> dict:
        identity = self.policy().identity
        result = accounts().verify_identity(phone, last4, tracker.sender_id, self.now(), identity)
        if result.verified:
            remembered = self.remember_in_wechat(tracker, result.borrower_id)
            dispatcher.utter_message(text=f"身份核实成功({mask_phone(phone)}),谢谢您的配合。" + remembered)
            return {"verified": True, "borrower_id": result.borrower_id, "id_last4": "****"}
        if result.status == "locked":
            return {"identity_locked": True, "phone_number": phone, "id_last4": None}
        dispatcher.utter_message(
            text=f"抱歉,手机号或身份证后四位与我们的记录不一致,还可以再试{result.tries_left}次。")
        return {"phone_number": None, "id_last4": None}


    def remember_in_wechat(self, tracker: Tracker, borrower_id: str) -> str:
        """Binds a WeChat OpenID to the borrower it just proved to be, so later chats skip the check."""
        if tracker.get_latest_input_channel() != WECHAT:
            return ""
        accounts().bind_sender(sender_id=tracker.sender_id, channel=WECHAT, borrower_id=borrower_id, now=self.now())
        return "本微信已绑定您的账户,下次咨询无需再核实身份;如需解除,随时回复「解除绑定」。"


class ActionUnbindAccount(KuanxinAction):
    """Forgets the channel's binding (WeChat OpenID or signed-in web session) and ends the verification."""

    def name(self) -> str:
        return "action_unbind_account"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        was_bound = accounts().unbind_sender(tracker.sender_id)
        if was_bound:
            dispatcher.utter_message(text="已为您解除绑定。之后查询账户或办理申请时,需要重新核实身份。")
        elif tracker.get_slot("verified"):
            dispatcher.utter_message(text="您没有绑定账户。本次对话已退出您的账户,再次查询时需要重新核实身份。")
        else:
            dispatcher.utter_message(text="您目前没有绑定账户,无需解除。")
        return [SlotSet("verified", False), SlotSet("borrower_id", None), SlotSet("phone_number", None)]


class ActionIdentityLocked(KuanxinAction):
    """Says the check is locked and until when; the borrower can still reach a person."""

    def name(self) -> str:
        return "action_identity_locked"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        policy = self.policy()
        until = accounts().identity_lock(tracker.get_slot("phone_number"), tracker.sender_id, self.now(),
                                         policy.identity)
        when = f",请在{_local_time(until)}之后再试" if until else ""
        dispatcher.utter_message(
            text=f"为保护您的账户安全,身份核实连续{policy.identity.max_failures}次未通过,已暂停核实"
                 f"{policy.identity.lockout_minutes}分钟{when}。如需帮助,可以说「转人工」,"
                 f"或拨打客服热线{policy.lender.hotline}。")
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
