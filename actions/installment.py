"""Installment plans (分期还款): collect the number of periods and show the full schedule. Inside the policy's
envelope the plan is offered as a written agreement the borrower accepts with 「我同意」; outside it, confirmed
and recorded for staff review."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.agreements import AgreementForm, ask_confirmation, installment_offer, per_period_text, plan_to_replace
from actions.base import KuanxinAction, accounts, activating, latest_text, the_borrower, verified_borrower
from actions.forms import REASK_SLOT, FormValidator, trigger_text
from actions.render import BLOCK_SLOT, loan_title, schedule_message
from actions.requests_common import SubmitPlanAction, confirm_buttons, loan_slots
from actions.texts import language_of, say, text_for
from kuanxin.core.formats import Clauses, Items, Money
from kuanxin.core.zh_parse import find_period_count
from kuanxin.lending import eligibility, plans


class ValidateInstallmentForm(AgreementForm, FormValidator):
    form = "installment_form"
    kind, length_slot = "installment", "installment_periods"
    slots = ("loan_id", "installment_periods", "confirm_request")

    async def fill(self, dispatcher: CollectingDispatcher, tracker: Tracker, values: dict,
                   requested: str | None) -> dict:
        borrower = verified_borrower(tracker)
        if borrower is None:
            return {"request_blocked": True}
        starting = activating(tracker)
        text = trigger_text(tracker, "request_installment", plan="installment") if starting else latest_text(tracker)
        found, loan = loan_slots("installment", borrower, values["loan_id"], text, self.today(), self.policy())
        if loan is None:
            return found
        periods = find_period_count(text)
        if periods is not None and (values["installment_periods"] is None or not activating(tracker)):
            problem = eligibility.periods_allowed(periods, self.policy().installment)
            if problem:
                say(dispatcher, tracker, "request.problem", reason=problem.explain(language_of(tracker)))
            else:
                found["installment_periods"] = float(periods)
        confirmation = self.confirmation(tracker, requested)
        self.not_acceptance(dispatcher, tracker, requested, found, confirmation)
        return {**found, **confirmation}

    terms_key = "installment.terms"
    credit_key = "installment.credit"
    decision_time_key = "installment.terms"  # "要多久能批下来": who decides, and how soon

    def terms_values(self, tracker: Tracker) -> dict:
        policy = self.policy()
        fees = (text_for(tracker, "installment.fees.none") if plans.fee_free(policy) else
                text_for(tracker, "installment.fees.some", per_period=Money(policy.installment.fee_per_period),
                         once=Money(policy.installment.fee_once)))
        return {**self.expected_values(tracker, "installment_periods"), "fees": fees,
                "decided": self.how_decided(tracker) + per_period_text(tracker, verified_borrower(tracker),
                                                                       self.today(), policy)}

    def expected_values(self, tracker: Tracker, slot: str) -> dict:
        return {"periods": Items(plans.installment_period_choices(self.policy()))}


class ActionAskInstallmentConfirm(KuanxinAction):
    def name(self) -> str:
        return "action_ask_installment_form_confirm_request"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = the_borrower(tracker)
        loan = plans.loan_of(borrower, tracker.get_slot("loan_id"))
        periods = int(tracker.get_slot("installment_periods"))
        quote, decision, draft = installment_offer(tracker, borrower, loan, periods, self.today(), self.policy())
        total = quote.owed  # a re-plan splits what the plan in force leaves unpaid
        if draft is not None:  # the assistant may approve it: the whole agreement, accepted only by 「我同意」
            return ask_confirmation(dispatcher, tracker, draft, bool(tracker.get_slot(REASK_SLOT)))
        if tracker.get_slot(REASK_SLOT):
            say(dispatcher, tracker, "installment.confirm.short", periods=periods, first=Money(quote.plan[0].amount),
                buttons=confirm_buttons(tracker))
            return []
        language = language_of(tracker)
        plan = quote.terms
        assert plan is not None  # an eligible installment quote has its terms
        review = text_for(tracker, "decision.review.installment", periods=periods,
                          reasons=Clauses(tuple(decision.reasons(language))))
        template = text_for(tracker, "installment.confirm", loan=loan_title(loan, language), total=Money(total),
                            periods=periods, schedule=BLOCK_SLOT, paid=Money(plan.total_paid), cost=Money(plan.cost),
                            rate=f"{plan.annual_rate}%")
        dispatcher.utter_message(**schedule_message(review + "\n" + template, quote.plan, language),
                                 buttons=confirm_buttons(tracker))
        return []


class ActionSubmitInstallment(SubmitPlanAction):
    kind = "installment"

    def name(self) -> str:
        return "action_submit_installment"

    def submit(self, tracker: Tracker, borrower, loan) -> plans.Submission:
        return plans.submit_installment(accounts(), borrower, loan, int(tracker.get_slot("installment_periods")),
                                        tracker.sender_id, self.today(), self.now(), self.policy(),
                                        plan_to_replace(loan, self.today(), self.policy()))
