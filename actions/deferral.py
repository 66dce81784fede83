"""Deferral (延期还款): collect months and reason, check the policy, confirm, record for staff review."""
from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.agreements import AgreementForm, ask_confirmation, offer
from actions.asks import deferral_months_open
from actions.base import KuanxinAction, accounts, activating, latest_text, the_borrower, verified_borrower
from actions.forms import REASK_SLOT, FormValidator, trigger_text
from actions.render import loan_title
from actions.requests_common import SubmitPlanAction, confirm_buttons, loan_slots
from actions.texts import language_of, say, text_for
from kuanxin.core.formats import Clauses, Items, LongDay, Money
from kuanxin.core.zh_parse import HARDSHIP_CUE, find_month_count, plans_named
from kuanxin.lending import eligibility, plans
from kuanxin.lending.overdue import loan_statement

REASON_CUE = re.compile(r"(?:因为|由于|原因是|原因:|原因:|理由是"
                        r"|\b(?:because|bcoz|bc|coz|cause|since|due to|the reason is)\b|\breason:)\s*(.+)", re.I)
MAX_REASON = 300


CLAUSES = re.compile(r"[\s,,。.!!??;;]+")


def reason_in_request(text: str) -> str | None:
    """The reason given in the same breath as the request: "延期两个月,因为我失业了"."""
    match = REASON_CUE.search(text)
    reason = match.group(1).strip(" ,。,.!!") if match else ""  # noqa: B005 - a set of characters
    if not reason:
        told = [c for c in CLAUSES.split(text) if HARDSHIP_CUE.search(c) and not plans_named(c)]
        reason = ",".join(told)
    return reason[:MAX_REASON] or None


def reason_answer(text: str) -> str | None:
    """A reply to "why": any words, but not a button payload or a lone character."""
    text = text.strip()
    return text[:MAX_REASON] if len(text) >= 2 and not text.startswith("/") else None


class ValidateDeferralForm(AgreementForm, FormValidator):
    form = "deferral_form"
    kind, length_slot = "deferral", "deferral_months"
    slots = ("loan_id", "deferral_months", "deferral_reason", "confirm_request")

    async def fill(self, dispatcher: CollectingDispatcher, tracker: Tracker, values: dict,
                   requested: str | None) -> dict:
        borrower = verified_borrower(tracker)
        if borrower is None:
            return {"request_blocked": True}
        starting = activating(tracker)
        text = trigger_text(tracker, "request_deferral", plan="deferral") if starting else latest_text(tracker)
        found, loan = loan_slots("deferral", borrower, values["loan_id"], text, self.today(), self.policy())
        if loan is None:
            return found
        months = find_month_count(text)
        if months is not None and (values["deferral_months"] is None or not activating(tracker)):
            problem = (eligibility.months_allowed(months, self.policy().deferral)
                       or eligibility.new_date_ahead(loan_statement(loan, self.today()), months, self.today()))
            if problem:
                say(dispatcher, tracker, "request.problem", reason=problem.explain(language_of(tracker)))
            else:
                found["deferral_months"] = float(months)
        if values["deferral_reason"] is None:
            reason = reason_in_request(text) if starting else (
                reason_answer(text) if requested == "deferral_reason" and not self.digressing(tracker) else None)
            if reason:
                found["deferral_reason"] = reason
        confirmation = self.confirmation(tracker, requested)
        self.not_acceptance(dispatcher, tracker, requested, found, confirmation)
        return {**found, **confirmation}

    terms_key = "deferral.terms"
    credit_key = "deferral.credit"
    decision_time_key = "deferral.terms"  # "要多久能批下来": who decides, and how soon

    def terms_values(self, tracker: Tracker) -> dict:
        return {**self.expected_values(tracker, "deferral_months"), "decided": self.how_decided(tracker)}

    def expected_values(self, tracker: Tracker, slot: str) -> dict:
        return {"months": Items(deferral_months_open(tracker, verified_borrower(tracker), self.today(),
                                                       self.policy()))}


class ActionAskDeferralConfirm(KuanxinAction):
    def name(self) -> str:
        return "action_ask_deferral_form_confirm_request"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = the_borrower(tracker)
        loan = plans.loan_of(borrower, tracker.get_slot("loan_id"))
        months = int(tracker.get_slot("deferral_months"))
        quote, decision, draft = offer(tracker, "deferral", borrower, loan, months, self.today(), self.policy())
        if draft is not None:  # the assistant may approve it: the whole agreement, accepted only by 「我同意」
            return ask_confirmation(dispatcher, tracker, draft, bool(tracker.get_slot(REASK_SLOT)))
        reask = tracker.get_slot(REASK_SLOT)
        key = "deferral.confirm.short" if reask else "deferral.confirm"
        language = language_of(tracker)
        text = text_for(tracker, key, loan=loan_title(loan, language), total=Money(quote.statement.total),
                        months=months, new_date=LongDay(quote.due_date_after()),
                        reason=tracker.get_slot("deferral_reason"))
        if not reask and decision.outside:  # why staff decide, before the summary
            text = text_for(tracker, "decision.review.deferral", months=months,
                            reasons=Clauses(tuple(decision.reasons(language)))) + "\n" + text
        dispatcher.utter_message(text=text, buttons=confirm_buttons(tracker))
        return []


class ActionSubmitDeferral(SubmitPlanAction):
    kind = "deferral"

    def name(self) -> str:
        return "action_submit_deferral"

    def submit(self, tracker: Tracker, borrower, loan) -> plans.Submission:
        return plans.submit_deferral(accounts(), borrower, loan, int(tracker.get_slot("deferral_months")),
                                     tracker.get_slot("deferral_reason") or "", tracker.sender_id,
                                     self.today(), self.now(), self.policy())
