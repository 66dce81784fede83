"""Promise to pay (承诺还款): a date within the policy's window and the amount said, repeated back, recorded.

The amount is what the borrower said ("15号我先还1000"); only when they named none is it everything
overdue. A partial promise is welcome: the confirmation says what stays overdue after it and that the
penalty keeps running on the rest.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.base import (
    KuanxinAction,
    accounts,
    activating,
    latest_text,
    reset_request_slots,
    verified_borrower,
    wants_to_leave,
)
from actions.forms import REASK_SLOT, FormValidator, request_messages, trigger_text
from actions.paying import add_pay_links, promised_split
from actions.render import Composed, loan_title, percent
from actions.requests_common import FORMS, confirm_buttons
from actions.satisfaction import offer_question
from actions.texts import language_of, say, text_for
from kuanxin.core.formats import Items, LongDay, Money
from kuanxin.core.money import ZERO, to_money
from kuanxin.core.vocab import SatisfactionOutcome
from kuanxin.core.zh_parse import find_amount, parse_date, plan_after_promise
from kuanxin.lending import plans


def overdue_total(borrower, today: dt.date) -> Decimal:
    return sum((s.total for s in plans.statements(borrower, today) if s.is_overdue), ZERO)


def promised_amount(tracker: Tracker, borrower, today: dt.date) -> Decimal:
    said = tracker.get_slot("promise_amount")
    return to_money(said) if said else overdue_total(borrower, today)


def plan_asked_after(tracker: Tracker, today: dt.date) -> str | None:
    """The plan (deferral | installment) the promise's own message asked for the rest ("我下个月5号还2000
    剩下的能分期吗"): taken up once the promise is confirmed, so neither half is lost."""
    return next(filter(None, (plan_after_promise(text, today)
                              for text, _intent in request_messages(tracker, "promise_form"))), None)


class ValidatePromiseForm(FormValidator):
    form = "promise_form"
    slots = ("promise_date", "confirm_request")

    async def fill(self, dispatcher: CollectingDispatcher, tracker: Tracker, values: dict,
                   requested: str | None) -> dict:
        borrower = verified_borrower(tracker)
        if borrower is None or overdue_total(borrower, self.today()) == ZERO:
            return {"request_blocked": True}
        text = trigger_text(tracker, "promise_to_pay") if activating(tracker) else latest_text(tracker)
        plan = plan_asked_after(tracker, self.today()) if activating(tracker) else None
        if plan:  # the promise is confirmed first; the borrower hears that the plan follows
            say(dispatcher, tracker, "promise.plan_follows", plan=text_for(tracker, f"request.label.{plan}"))
        found = self.confirmation(tracker, requested)
        day = parse_date(text, self.today())
        problem = self.date_problem(tracker, day) if day else None
        if problem:
            dispatcher.utter_message(text=problem)
        elif day:
            found["promise_date"] = day.isoformat()
        amount = find_amount(text)
        if amount is not None:
            problem = self.amount_problem(tracker, amount, overdue_total(borrower, self.today()))
            if problem:
                dispatcher.utter_message(text=problem)
            else:
                found["promise_amount"] = str(amount)
        return found

    def date_problem(self, tracker: Tracker, day: dt.date) -> str | None:
        today, days = self.today(), self.policy().promise_max_days_ahead
        if day < today:
            return text_for(tracker, "promise.date_past", day=LongDay(day))
        if (day - today).days > days:
            return text_for(tracker, "promise.date_too_far", days=days,
                            latest=LongDay(today + dt.timedelta(days=days)))
        return None

    @staticmethod
    def amount_problem(tracker: Tracker, amount: Decimal, owed: Decimal) -> str | None:
        if amount <= ZERO:
            return text_for(tracker, "promise.amount_not_positive", owed=Money(owed))
        if amount > owed:
            return text_for(tracker, "promise.amount_too_high", amount=Money(amount), owed=Money(owed))
        return None

    terms_key = "promise.terms"

    def terms_values(self, tracker: Tracker) -> dict:
        days = self.policy().promise_max_days_ahead
        return {"days": days, "latest": LongDay(self.today() + dt.timedelta(days=days))}

    def expected_values(self, tracker: Tracker, slot: str) -> dict:
        return {"days": self.policy().promise_max_days_ahead}


class ActionAskPromiseConfirm(KuanxinAction):
    def name(self) -> str:
        return "action_ask_promise_form_confirm_request"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = verified_borrower(tracker)
        day = dt.date.fromisoformat(tracker.get_slot("promise_date"))
        owed = overdue_total(borrower, self.today())
        amount = promised_amount(tracker, borrower, self.today())
        if tracker.get_slot(REASK_SLOT):
            say(dispatcher, tracker, "promise.confirm.short", day=LongDay(day), amount=Money(amount),
                buttons=confirm_buttons(tracker))
        elif amount < owed:
            say(dispatcher, tracker, "promise.confirm.partial", day=LongDay(day), amount=Money(amount),
                owed=Money(owed), rest=Money(owed - amount), penalty_rate=penalty_rates(borrower, self.today()),
                buttons=confirm_buttons(tracker))
        else:
            say(dispatcher, tracker, "promise.confirm.full", day=LongDay(day), amount=Money(amount),
                buttons=confirm_buttons(tracker))
        return []


def penalty_rates(borrower, today: dt.date) -> Items:
    rates = sorted({s.penalty_daily_rate for s in plans.statements(borrower, today) if s.is_overdue})
    return Items(percent(rate) for rate in rates)


class ActionSubmitPromise(KuanxinAction):
    def name(self) -> str:
        return "action_submit_promise"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = verified_borrower(tracker)
        # the plan asked for the rest in the promise's message follows, unless the borrower left
        plan = None if wants_to_leave(tracker) else plan_asked_after(tracker, self.today())
        if tracker.get_slot("request_blocked") or borrower is None:
            say(dispatcher, tracker, "promise.nothing_overdue")
        elif not tracker.get_slot("confirm_request"):
            say(dispatcher, tracker, "promise.not_recorded")
        else:
            day = dt.date.fromisoformat(tracker.get_slot("promise_date"))
            promise, _created = accounts().record_promise(
                borrower_id=borrower.id, promised_date=day, amount=promised_amount(tracker, borrower, self.today()),
                conversation_id=tracker.sender_id, today=self.today(), now=self.now())
            recorded = Composed().add(text_for(tracker, "promise.recorded", day=LongDay(day),
                                               amount=Money(promise.amount), reference=promise.reference))
            split = promised_split(plans.statements(borrower, self.today()), promise.amount)
            language = language_of(tracker)
            add_pay_links(recorded, tracker, [(loan_title(statement, language), statement.loan_id, amount)
                                              for statement, amount in split], self.policy())
            dispatcher.utter_message(**recorded.message())
            if plan:
                say(dispatcher, tracker, "promise.plan_next.counted", plan=text_for(tracker, f"request.label.{plan}"),
                    owed=Money(overdue_total(borrower, self.today())), day=LongDay(day), amount=Money(promise.amount))
                return [*reset_request_slots(), FollowupAction(FORMS[plan])]
            return reset_request_slots() + offer_question(dispatcher, tracker, SatisfactionOutcome.PROMISE,
                                                          "promise_to_pay", self.today(), self.now())
        if plan:  # not recorded, the plan still follows; with nothing overdue its form says so for the plan too
            if not tracker.get_slot("request_blocked"):
                say(dispatcher, tracker, "promise.plan_next", plan=text_for(tracker, f"request.label.{plan}"))
            return [*reset_request_slots(), FollowupAction(FORMS[plan])]
        return reset_request_slots()
