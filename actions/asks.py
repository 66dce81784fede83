"""The questions forms ask, from the catalogue, with only the choices that would pass today.

After the borrower asked something else in the middle of a form (or said something the form could
not use) the `form_reask` slot is set and the question comes back as one short line.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.agreements import per_period_text
from actions.base import KuanxinAction, verified_borrower
from actions.forms import REASK_SLOT
from actions.texts import language_of, say, text_for
from kuanxin.core.clock import beijing_date
from kuanxin.core.formats import Day, Items
from kuanxin.lending import plans
from kuanxin.store.models import Borrower, ServiceRequest

# what a choice button sends: words the form's parser reads (kuanxin.core.zh_parse), in the conversation's language,
# so a tap never reads as a message in the other language (runtime/language.py)
PAYLOADS = {"zh": {"deferral_months": "延期{}个月", "installment_periods": "分{}期"},
            "en": {"deferral_months": "defer {} months", "installment_periods": "{} installments"}}


def question_key(tracker: Tracker, slot: str) -> str:
    return f"ask.{slot}.short" if tracker.get_slot(REASK_SLOT) else f"ask.{slot}"


def choice_list(values: list[int]) -> Items:
    return Items(values)


class AskSlot(KuanxinAction, ABC):
    @property
    @abstractmethod
    def slot(self) -> str:
        """The slot this action asks for (subclasses set it as a class attribute)."""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        self.ask(dispatcher, tracker, *self.choices(tracker))
        return []

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, values: dict[str, Any],
            buttons: list[dict]) -> None:
        say(dispatcher, tracker, question_key(tracker, self.slot), buttons=buttons, **values)

    def choices(self, tracker: Tracker) -> tuple[dict[str, Any], list[dict]]:
        return {}, []


class AskPhoneNumber(AskSlot):
    """"我欠多少 顺便问下你们是不是骗子": whether we are who we say was answered as the check started
    (actions/forms.py, legitimacy_asked_too)."""

    slot = "phone_number"


class AskIdLast4(AskSlot):
    slot = "id_last4"


class AskDeferralReason(AskSlot):
    slot = "deferral_reason"


class PendingAware(AskSlot, ABC):
    """Asks for a plan's terms, first saying so when a request of that kind is already pending on the loan:
    the borrower is changing it, not filing another. The borrower's profile is read once, for both."""

    kind: str

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = verified_borrower(tracker)
        pending = None if tracker.get_slot(REASK_SLOT) else pending_on_loan(tracker, borrower, self.kind)
        if pending is not None:
            say(dispatcher, tracker, f"request.pending_note.{self.kind}", reference=pending.reference,
                months=pending.months, periods=pending.periods, day=Day(beijing_date(pending.created_at)))
        self.ask(dispatcher, tracker, *self.choices_for(tracker, borrower))
        return []

    @abstractmethod
    def choices_for(self, tracker: Tracker, borrower: Borrower | None) -> tuple[dict[str, Any], list[dict]]:
        """The question's values and buttons for this borrower (verified_borrower, None before verification)."""


def pending_on_loan(tracker: Tracker, borrower: Borrower | None, kind: str) -> ServiceRequest | None:
    loan = plans.find_loan(borrower, tracker.get_slot("loan_id")) if borrower else None
    return plans.pending_request(borrower, loan, kind) if borrower and loan else None


class AskDeferralMonths(PendingAware):
    slot, kind = "deferral_months", "deferral"

    def choices_for(self, tracker: Tracker, borrower: Borrower | None) -> tuple[dict[str, Any], list[dict]]:
        months = deferral_months_open(tracker, borrower, self.today(), self.policy())
        return ({"months": choice_list(months)},
                [{"title": text_for(tracker, "ask.deferral_months.button", months=m),
                  "payload": PAYLOADS[language_of(tracker)]["deferral_months"].format(m)} for m in months])


class AskInstallmentPeriods(PendingAware):
    slot, kind = "installment_periods", "installment"

    def choices_for(self, tracker: Tracker, borrower: Borrower | None) -> tuple[dict[str, Any], list[dict]]:
        periods = plans.installment_period_choices(self.policy())
        per_period = "" if tracker.get_slot(REASK_SLOT) else per_period_text(tracker, borrower, self.today(),
                                                                             self.policy())
        return ({"periods": choice_list(periods), "per_period": per_period},
                [{"title": text_for(tracker, "ask.installment_periods.button", periods=p),
                  "payload": PAYLOADS[language_of(tracker)]["installment_periods"].format(p)} for p in periods])


class AskPromiseDate(AskSlot):
    slot = "promise_date"

    def choices(self, tracker: Tracker) -> tuple[dict[str, Any], list[dict]]:
        return {"days": self.policy().promise_max_days_ahead}, []


def deferral_months_open(tracker: Tracker, borrower: Borrower | None, today, policy) -> list[int]:
    """The months the borrower (verified_borrower) can choose on the loan in hand (the policy's range without one)."""
    loan = plans.find_loan(borrower, tracker.get_slot("loan_id")) if borrower else None
    if loan is None:
        return list(range(policy.deferral.min_months, policy.deferral.max_months + 1))
    return plans.deferral_month_choices(loan, today, policy)
