"""Pieces the deferral, installment and waiver conversations share."""
from __future__ import annotations

from abc import abstractmethod
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.agreements import accept_agreement, book, offer, plan_to_replace, review_button, sent_to_review
from actions.base import KuanxinAction, reset_request_slots, verified_borrower
from actions.loan_choice import choose_loan
from actions.render import failures_text, loan_title
from actions.satisfaction import offer_question
from actions.texts import language_of, say, text_for
from kuanxin.core.formats import Items
from kuanxin.core.vocab import DecisionOutcome, SatisfactionOutcome
from kuanxin.lending import plans
from kuanxin.lending.eligibility import RuleFailure
from kuanxin.store.models import Borrower, Loan

# what the borrower can apply for: the button (texts "option.<kind>.button") and the words in a list
OPTION_PAYLOADS = {"deferral": "/request_deferral", "installment": "/request_installment",
                   "waiver": "/request_penalty_waiver", "human": "/request_human"}


def option_button(tracker: Tracker, kind: str) -> dict:
    return {"title": text_for(tracker, f"option.{kind}.button"), "payload": OPTION_PAYLOADS[kind]}


def option_words(tracker: Tracker, kind: str) -> str:
    return text_for(tracker, f"option.{kind}")


def human_button(tracker: Tracker) -> dict:
    return option_button(tracker, "human")


def repay_button(tracker: Tracker) -> dict:
    return {"title": text_for(tracker, "button.repayment_methods"), "payload": "/ask_repayment_methods"}
FORMS = {"deferral": "deferral_form", "installment": "installment_form"}


def confirm_buttons(tracker: Tracker) -> list[dict]:
    return [{"title": text_for(tracker, "button.confirm"), "payload": "/affirm"},
            {"title": text_for(tracker, "button.cancel"), "payload": "/deny"}]


def loan_slots(kind: str, borrower: Borrower, loan_id: str | None, text: str, today,
               policy) -> tuple[dict, Loan | None]:
    """Slots for the loan a request is about, and the loan when the request can go on.

    request_blocked is set when nothing is overdue or a rule already refuses this loan; the
    submit action then explains why and what else is open.
    """
    loan = plans.find_loan(borrower, loan_id) or choose_loan(borrower, text, today)
    if loan is None:
        return ({} if plans.overdue_loans(borrower, today) else {"request_blocked": True}), None
    if not plans.precheck(kind, borrower, loan, today, policy, in_force=plan_to_replace(loan, today, policy)).eligible:
        return {"loan_id": loan.id, "request_blocked": True}, None
    return {"loan_id": loan.id}, loan


def open_kinds(borrower: Borrower, today, policy, exclude: str = "") -> list[str]:
    """What the borrower can apply for now (each kind once), then a person, who is always open."""
    kinds = []
    for kind, _loan in plans.open_options(borrower, today, policy):
        if kind != exclude and kind not in kinds:
            kinds.append(kind)
    return [*kinds, "human"]


def other_options(tracker: Tracker, borrower: Borrower, today, policy, exclude: str = "") -> list[dict]:
    return [option_button(tracker, kind) for kind in open_kinds(borrower, today, policy, exclude)]


def availability_lines(tracker: Tracker, borrower: Borrower, kinds: list[str], today, policy) -> list[str]:
    """For each plan the borrower asked about in passing: can they get it today, and how to start."""
    lines = []
    for kind in kinds:
        for loan in plans.overdue_loans(borrower, today):
            lines.append(availability_line(tracker, borrower, loan, kind, today, policy))
    return lines


def availability_line(tracker: Tracker, borrower: Borrower, loan: Loan, kind: str, today, policy) -> str:
    decision = plans.precheck(kind, borrower, loan, today, policy, in_force=plan_to_replace(loan, today, policy))
    if not decision.eligible:
        return text_for(tracker, f"plan.available.no.{kind}", loan=loan_title(loan, language_of(tracker)),
                        reason=failures_text(decision.failures, language_of(tracker)))
    if kind == "deferral":
        months = Items(plans.deferral_month_choices(loan, today, policy))
        return text_for(tracker, "plan.available.deferral", loan=loan_title(loan, language_of(tracker)), months=months)
    periods = Items(plans.installment_period_choices(policy))
    return text_for(tracker, "plan.available.installment", loan=loan_title(loan, language_of(tracker)), periods=periods)


def say_refusal(dispatcher: CollectingDispatcher, tracker: Tracker, what: str, failures: tuple[RuleFailure, ...],
                borrower: Borrower, today, policy, kind: str, extra: list[dict] | None = None) -> None:
    buttons = other_options(tracker, borrower, today, policy, exclude=kind) + list(extra or [])
    alternatives = Items(b["title"] for b in buttons)
    say(dispatcher, tracker, "request.refused", what=what, reasons=failures_text(failures, language_of(tracker)),
        alternatives=alternatives, buttons=buttons)


class SubmitPlanAction(KuanxinAction):
    """Ends a deferral or installment form: explains a refusal, cancels, or records the request."""

    kind: str  # deferral | installment; its word is the catalogue's request.label.<kind>

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = verified_borrower(tracker)
        loan = plans.find_loan(borrower, tracker.get_slot("loan_id")) if borrower else None
        label = text_for(tracker, f"request.label.{self.kind}")
        what = text_for(tracker, "request.what", loan=loan_title(loan, language_of(tracker)), label=label) \
            if loan else ""
        if borrower is None or loan is None:
            say(dispatcher, tracker, "request.no_loan", label=label)
        elif tracker.get_slot("request_blocked"):
            decision = plans.precheck(self.kind, borrower, loan, self.today(), self.policy(),
                                      in_force=plan_to_replace(loan, self.today(), self.policy()))
            self.refuse(dispatcher, tracker, what, decision.failures, borrower, loan)
        elif not tracker.get_slot("confirm_request"):
            dispatcher.utter_message(response="utter_request_cancelled")
        else:
            outcome = self.confirmed(dispatcher, tracker, borrower, loan, label, what)
            if outcome is not None:
                return reset_request_slots() + offer_question(dispatcher, tracker, outcome, f"request_{self.kind}",
                                                              self.today(), self.now())
        return reset_request_slots()

    def confirmed(self, dispatcher: CollectingDispatcher, tracker: Tracker, borrower: Borrower, loan: Loan,
                  label: str, what: str) -> SatisfactionOutcome | None:
        """The borrower confirmed. Inside the policy's envelope (the confirmation was the written agreement, accepted
        with 「我同意」): approved, recorded and linked. Outside it: a request for staff, with the decision that sent
        it there and why. A rule that changed meanwhile refuses it. Returns the outcome reached, if any."""
        length, policy = self.length(tracker), self.policy()
        if length is None:
            raise ValueError(f"a confirmed {self.kind} request without its length")
        quote, decision, draft = offer(tracker, self.kind, borrower, loan, length, self.today(), policy)
        if draft is not None and draft.sha256 != tracker.get_slot("agreement_sha"):
            say(dispatcher, tracker, "agreement.changed")  # only the very text shown is ever recorded as accepted
            return None
        if draft is not None:
            accept_agreement(dispatcher, tracker, borrower, loan, length, draft, decision, self.today(), self.now(),
                             policy)
            return SatisfactionOutcome.PLAN
        result = self.submit(tracker, borrower, loan)
        if result.request is None:
            self.refuse(dispatcher, tracker, what, result.quote.decision.failures, borrower, loan)
            return None
        sent_to_review(dispatcher, tracker, borrower, loan, length, decision, str(result.request.reference),
                       self.now(), policy, changed=result.changed)
        return SatisfactionOutcome.REQUEST

    def refuse(self, dispatcher: CollectingDispatcher, tracker: Tracker, what: str, failures: tuple[RuleFailure, ...],
               borrower: Borrower, loan: Loan) -> None:
        """An automated refusal: recorded with the rules that refused, said with the way to ask a person to review."""
        book().record_decision(borrower_id=borrower.id, loan_id=loan.id, kind=self.kind,
                               outcome=DecisionOutcome.REFUSED, length=self.length(tracker),
                               rules=[{"rule": f.code, "values": {k: str(v) for k, v in f.values.items()}}
                                      for f in failures],
                               conversation_id=tracker.sender_id, now=self.now())
        say_refusal(dispatcher, tracker, what, failures, borrower, self.today(), self.policy(), self.kind,
                    extra=[review_button(tracker)])

    def length(self, tracker: Tracker) -> int | None:
        """The periods or months asked for, if said."""
        value = tracker.get_slot("installment_periods" if self.kind == "installment" else "deferral_months")
        return int(value) if value else None

    @abstractmethod
    def submit(self, tracker: Tracker, borrower: Borrower, loan: Loan) -> plans.Submission:
        ...
