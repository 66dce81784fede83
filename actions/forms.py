"""What every kuanxin form does with a message, whatever the form.

Each validator reads the latest message itself (with kuanxin's Chinese parsers), so one message such
as "延期两个月,因为我失业了" can fill several slots. Then, in this order:
1. a value the form can use fills its slot, also a correction before the borrower confirms
   ("不对,我要分12期" on the summary changes the periods and shows the new summary);
2. leaving (算了 / 不办了 / 先不用) ends the form, at every step (see 4 for a change of mind);
3. a question the assistant can answer (actions/answers.py) is answered, and the form asks its
   pending question again in one short line;
4. another request (a change of mind, also when said as leaving: "算了 还是分期吧") leaves the form for that
   request's form; a request for a person, a dispute or an abuse complaint leaves it for action_escalate (the
   rules in data/rules/forms.yml do this before the form runs; here is the same for a message the rules did
   not catch);
5. anything else gets a re-ask that says what is expected, with an example.
The form never rejects a message, so nothing falls through to a generic "what else?".
The message that starts a form may ask something besides: whether we are genuine, and (for a plan) what is owed,
are answered before the form's first question.
"""
from __future__ import annotations

import re
from abc import abstractmethod
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import ANSWERS, answer, answerable
from actions.base import (
    MAX_TEXT,
    KuanxinAction,
    activating,
    intent_of,
    latest_intent,
    latest_text,
    reset_request_slots,
    session_events,
    slot_before_latest_message,
    wants_to_leave,
)
from actions.requests_common import FORMS
from actions.texts import say
from kuanxin.core.zh_parse import (
    CREDIT_CUE,
    DECISION_TIME_CUE,
    LEGITIMACY_CUE,
    is_question,
    plan_after_promise,
    plans_wanted,
)

HAND_OVER_INTENTS = {"request_human", "report_collection_abuse", "dispute_debt"}
# another request in the middle of a form: the borrower changed their mind
SWITCH_TO = {"request_deferral": "deferral_form", "request_installment": "installment_form",
             "promise_to_pay": "promise_form", "request_penalty_waiver": "waiver_form"}
REQUEST_INTENT = {form: intent for intent, form in SWITCH_TO.items()}
# "我想知道欠多少 还有能不能分期": the balance asked in the same breath as a request is shown before the form asks
OWED_CUE = re.compile(r"欠(?:了|款|我们|你们)?(?:多少|几)|还欠|逾期(?:了)?多少|how much (?:do )?i owe", re.I)
IMPLIED_SLOTS = {"loan_id"}  # filled again on every message when only one loan is meant: not something said
REASK_SLOT = "form_reask"  # the next question is a short re-ask (actions/asks.py)


def request_messages(tracker: Tracker, handler: str) -> list[tuple[str, str | None]]:
    """(text, intent) of the borrower messages of the request in hand, newest first: those of this conversation
    session since the request's form last ended before its latest start. So the identity check
    between a request and its form is inside ("我想延期三个月" → phone → ID digits → the form), and an earlier
    request of the same kind, cancelled or done, is not."""
    events = session_events(tracker)
    active, started, ends = None, None, []
    for index, event in enumerate(events):
        if event.get("event") == "active_loop":
            name = event.get("name")
            if name == handler:
                started = index
            elif active == handler:
                ends.append(index)
            active = name
    since = max((index for index in ends if started is None or index < started), default=-1)
    return [((event.get("text") or "")[:MAX_TEXT], intent_of(event))
            for event in reversed(events[since + 1:]) if event.get("event") == "user"]


def trigger_text(tracker: Tracker, intent: str, plan: str | None = None) -> str:
    """The text of the latest message of the request in hand with this intent: what the borrower asked for.

    For a plan (`plan`: deferral | installment) without one, the latest message of the request that wants it
    ("我下个月5号还2000 剩下的分6期", a promise whose form goes on to the plan; "算了 还是延期吧", a change of mind).
    Otherwise, as for a form another action started ("想延期俩月 孩子住院了", classified as hardship), the latest
    message."""
    messages = request_messages(tracker, SWITCH_TO.get(intent, intent))
    found = next((text for text, said in messages if said == intent), None)
    if found is None and plan is not None:
        found = next((text for text, _ in messages if plan in plans_wanted(text)), None)
    return found or latest_text(tracker)


def legitimacy_asked_too(tracker: Tracker) -> bool:
    """The message that starts a form also asks whether we are genuine ("我欠多少 顺便问下你们是不是骗子" starting the
    identity check, "我想延期 你们是正规的吗" the deferral form): answered before the form's first question."""
    return latest_intent(tracker) != "ask_legitimacy" and bool(LEGITIMACY_CUE.search(latest_text(tracker)))


class FormValidator(KuanxinAction):
    """Validates one form; subclasses fill `slots` from the message in `fill`."""

    form: str
    slots: tuple[str, ...]
    confirm_slot = "confirm_request"
    by_form: dict[str, type[FormValidator]] = {}  # every validator, so one form can answer for another's terms

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "form" in cls.__dict__:
            FormValidator.by_form[cls.form] = cls

    def name(self) -> str:
        return f"validate_{self.form}"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        requested = tracker.get_slot("requested_slot")
        answering = requested is not None  # not activating: the form has asked something
        values = {slot: tracker.get_slot(slot) for slot in self.slots}
        if not answering and legitimacy_asked_too(tracker):
            await answer("ask_legitimacy", dispatcher, tracker, domain)
        if not answering and self.balance_asked_too(tracker):
            await answer("check_overdue", dispatcher, tracker, domain)
        if answering and self.promise_said_first(tracker):
            return self.switch(SWITCH_TO["promise_to_pay"])  # its form records it, then takes up the plan again
        said_before = len(dispatcher.messages)
        found = await self.fill(dispatcher, tracker, values, requested)
        corrected = requested == self.confirm_slot and self.corrects(found, tracker)
        if corrected:
            found.pop(self.confirm_slot, None)  # "不对,改成12期": a new summary to confirm, not a no
        said = {k: v for k, v in found.items() if k not in IMPLIED_SLOTS or v != values.get(k)}
        if answering and not said and len(dispatcher.messages) == said_before:
            return await self.not_a_value(dispatcher, tracker, domain, requested)
        values.update(found)
        missing = None if self.done_early(values) else self.next_slot(values)
        reask = answering and missing == requested and requested not in found and not corrected
        return ([SlotSet(k, v) for k, v in found.items()]
                + [SlotSet(REASK_SLOT, reask), SlotSet("requested_slot", missing)])

    def promise_said_first(self, tracker: Tracker) -> bool:
        """Inside a plan's form, a promise with a plan for the rest ("下个月5号先还2000 剩下的分6期", read as the
        promise: runtime/nlu.py promise_beside_plan): the periods alone would lose the promise."""
        return (self.form in FORMS.values() and latest_intent(tracker) == "promise_to_pay"
                and plan_after_promise(latest_text(tracker), self.today()) is not None)

    def balance_asked_too(self, tracker: Tracker) -> bool:
        """The message that asked for this request also asked what is owed (a verified borrower only)."""
        intent = REQUEST_INTENT.get(self.form)
        return (intent is not None and bool(tracker.get_slot("verified"))
                and bool(OWED_CUE.search(trigger_text(tracker, intent))))

    async def not_a_value(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any],
                          requested: str) -> list[EventType]:
        """A message with nothing for the form: leaving, a question, or something not understood."""
        intent = latest_intent(tracker)
        if intent in HAND_OVER_INTENTS:
            return self.switch("action_escalate")
        changed_to = self.changed_to(tracker)
        if changed_to and tracker.get_slot("verified"):
            return self.switch(changed_to)  # before leaving: "算了 还是分期吧" is a change of mind
        if wants_to_leave(tracker):
            return self.cancel()
        switch_to = SWITCH_TO.get(intent or "")
        # a question the classifier cannot place ("这个要手续费吗") is about the request in hand
        asked_about = self.by_form.get(switch_to or (self.form if intent == "nlu_fallback" else ""))
        text = latest_text(tracker)
        if self.credit_key and CREDIT_CUE.search(text) and is_question(text):
            say(dispatcher, tracker, self.credit_key)  # "分期会影响征信吗": what this plan does to the record
        elif self.decision_time_key and DECISION_TIME_CUE.search(text):
            say(dispatcher, tracker, self.decision_time_key, **self.terms_values(tracker))  # "要多久能批下来"
        elif asked_about and asked_about.terms_key and is_question(text):
            # "分期要另外收手续费吗", in this form or another (the terms hold no account data, so even before identity)
            validator = self if asked_about is type(self) else asked_about()
            say(dispatcher, tracker, asked_about.terms_key, **validator.terms_values(tracker))
            if self.form == "identity_form":  # a question, not a request: what they first asked for is resumed
                kept = [SlotSet("pending_intent", slot_before_latest_message(tracker, "pending_intent"))]
                return kept + [SlotSet(REASK_SLOT, True), SlotSet("requested_slot", requested)]
        elif intent and answerable(intent, bool(tracker.get_slot("verified"))):
            await answer(intent, dispatcher, tracker, domain)
        elif intent in ANSWERED_AFTER_IDENTITY and self.form == "identity_form":
            say(dispatcher, tracker, "form.after_identity")
        elif self.form == "identity_form" and (switch_to or intent in ANSWERS):  # resumed once verified
            say(dispatcher, tracker, "form.after_identity.request")
        else:
            self.not_understood(dispatcher, tracker, requested)
        return [SlotSet(REASK_SLOT, True), SlotSet("requested_slot", requested)]

    def digressing(self, tracker: Tracker) -> bool:
        """The message is about something else (a question, leaving, a person, another request: "那还是分期吧",
        "算了 还是分期吧"), so no free-text answer."""
        intent = latest_intent(tracker)
        return (wants_to_leave(tracker) or intent in HAND_OVER_INTENTS or self.changed_to(tracker) is not None
                or answerable(intent, bool(tracker.get_slot("verified"))))

    def changed_to(self, tracker: Tracker) -> str | None:
        """Where a change of mind leaves this form for: another request ("那还是分期吧"), or leaving or no said with
        another plan ("算了 还是分期吧", "不了 还是延期吧": classified as leaving, still a change of mind; a plain
        "算了", or "算了 不延期了" in the deferral form, leaves)."""
        intent = latest_intent(tracker)
        target = SWITCH_TO.get(intent or "")
        if target in (None, self.form) and (intent == "deny" or wants_to_leave(tracker)):
            target = next((FORMS[kind] for kind in plans_wanted(latest_text(tracker)) if FORMS[kind] != self.form),
                          None)
        return target if target != self.form else None

    def declines(self, tracker: Tracker) -> bool:
        """No, or leaving, to what the form shows; not a change of mind (that leaves for the other request)."""
        return (latest_intent(tracker) == "deny" or wants_to_leave(tracker)) and self.changed_to(tracker) is None

    def corrects(self, found: dict, tracker: Tracker) -> bool:
        """A new value for anything the summary shows (periods, months, date, amount)."""
        return any(value != tracker.get_slot(slot) for slot, value in found.items()
                   if slot not in IMPLIED_SLOTS | {self.confirm_slot, "request_blocked"})

    def done_early(self, values: dict) -> bool:
        """The form ends before all slots are filled, e.g. when a rule already refused the request."""
        return bool(values.get("request_blocked"))

    def next_slot(self, values: dict) -> str | None:
        return next((slot for slot in self.slots if values.get(slot) is None), None)

    def confirmation(self, tracker: Tracker, requested: str | None) -> dict:
        """The borrower's yes or no to the summary the form showed."""
        if requested != self.confirm_slot or activating(tracker):
            return {}
        if latest_intent(tracker) == "affirm":
            return {self.confirm_slot: True}
        if self.declines(tracker):
            return {self.confirm_slot: False}
        return {}

    def switch(self, action: str) -> list[EventType]:
        """This form ends quietly and `action` follows: another request ("还是延期吧" while choosing periods),
        or a person, a dispute, a complaint. A message that also holds a value for the form ("不对,改成12期")
        is a correction and never gets here."""
        return [*reset_request_slots(), SlotSet("requested_slot", None), FollowupAction(action)]

    def cancel(self) -> list[EventType]:
        return [SlotSet(self.confirm_slot, False), SlotSet(REASK_SLOT, False), SlotSet("requested_slot", None)]

    def not_understood(self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str) -> None:
        say(dispatcher, tracker, f"form.not_understood.{slot}", **self.expected_values(tracker, slot))

    # the catalogue text that answers a question about this form's own request, asked inside it
    terms_key: str | None = None
    # the catalogue text that answers "does this show on my credit report?" asked inside it
    credit_key: str | None = None
    # the catalogue text that answers "how long until it is decided?" asked inside it (given terms_values)
    decision_time_key: str | None = None

    def terms_values(self, tracker: Tracker) -> dict[str, Any]:
        return {}

    def expected_values(self, tracker: Tracker, slot: str) -> dict[str, Any]:
        """Values the not-understood text of a slot names (allowed periods, months, …)."""
        return {}

    @abstractmethod
    async def fill(self, dispatcher: CollectingDispatcher, tracker: Tracker, values: dict,
                   requested: str | None) -> dict:
        """New slot values found in the message (only those found; absent means unchanged)."""

    def on_failure(self, tracker: Tracker) -> list[EventType]:
        # End the form rather than loop on a failure; the apology has been said.
        return [SlotSet("request_blocked", True), SlotSet("requested_slot", None)]


# Account questions an unverified borrower asks while proving who they are: answered right after.
ANSWERED_AFTER_IDENTITY = {"check_overdue", "check_request_status", "ask_loan_facts", "ask_settlement"}
