"""Hardship and penalty waivers: acknowledge, offer exactly what this borrower can apply for, show a waiver request
and file it once the borrower confirms."""
from __future__ import annotations

import re
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
    the_borrower,
    verified_borrower,
)
from actions.forms import REASK_SLOT, FormValidator, request_messages, trigger_text
from actions.render import loan_title
from actions.requests_common import (
    FORMS,
    confirm_buttons,
    human_button,
    open_kinds,
    option_button,
    option_words,
    other_options,
)
from actions.satisfaction import offer_question
from actions.texts import language_of, say, text_for
from kuanxin.core.formats import Items, Money
from kuanxin.core.money import ZERO
from kuanxin.core.vocab import SatisfactionOutcome
from kuanxin.core.zh_parse import plans_named
from kuanxin.lending import plans


class ActionOfferHardshipOptions(KuanxinAction):
    def name(self) -> str:
        return "action_offer_hardship_options"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = the_borrower(tracker)
        # "我想延期俩月 孩子生病住院了": the plan asked for is the thing to do, the hardship its reason
        kinds = open_kinds(borrower, self.today(), self.policy())
        named = [kind for kind in plans_named(latest_text(tracker)) if kind in kinds]
        if named:
            return [FollowupAction(FORMS[named[0]])]
        if not plans.overdue_loans(borrower, self.today()):
            say(dispatcher, tracker, "hardship.not_overdue", buttons=[human_button(tracker)])
            return []
        choices = "\n".join(f"{i}. {option_words(tracker, kind)}" for i, kind in enumerate(kinds, 1))
        say(dispatcher, tracker, "hardship.options", choices=choices,
            buttons=[option_button(tracker, kind) for kind in kinds])
        return []


# "本金能不能少还点": only the principal is named, so the answer explains what can be reduced instead of
# filing a penalty waiver the borrower did not ask for
PRINCIPAL_ONLY = re.compile("本金|欠款打折|打个折|减一半|少还一半|\\bprincipal\\b|\\bhalf\\b", re.I)
CHARGES = re.compile("罚息|违约金|滞纳金|利息|手续费|费用|\\b(?:penalt\\w*|fees?|interest|charges?)\\b", re.I)


def asks_principal_cut(text: str) -> bool:
    return bool(PRINCIPAL_ONLY.search(text)) and not CHARGES.search(text)


def asked_for_waiver(tracker: Tracker) -> str | None:
    """What the borrower said when asking for the waiver (kept as its reason); None when another form's change of
    mind or a button started it."""
    return next((text for text, intent in request_messages(tracker, "waiver_form")
                 if intent == "request_penalty_waiver"), None)


class ValidateWaiverForm(FormValidator):
    """A penalty waiver (减免罚息) is shown before it is filed: the loans, their penalty and late fees, and who
    decides; it is filed only once the borrower confirms. "本金能不能少还点" is explained instead, and a waiver already
    pending is reported, never filed twice (action_submit_waiver, as the deferral and installment forms end in
    theirs)."""

    form = "waiver_form"
    slots = ("confirm_request",)

    async def fill(self, dispatcher: CollectingDispatcher, tracker: Tracker, values: dict,
                   requested: str | None) -> dict:
        borrower = verified_borrower(tracker)
        if borrower is None:
            return {"request_blocked": True}
        if activating(tracker):
            principal_only = asks_principal_cut(trigger_text(tracker, "request_penalty_waiver"))
            if principal_only or not plans.waiver_scope(borrower, self.today()).to_file:
                return {"request_blocked": True}
            return {}
        return self.confirmation(tracker, requested)

    terms_key = "waiver.terms"
    credit_key = "waiver.credit"
    decision_time_key = "waiver.terms"

    def terms_values(self, tracker: Tracker) -> dict:
        return {"decision_time": self.policy().words(language_of(tracker)).decision_time}

    def not_understood(self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str) -> None:
        say(dispatcher, tracker, "waiver.not_understood")  # nothing to change here, unlike a plan's periods or months


def pending_lines(tracker: Tracker, scope: plans.WaiverScope) -> list[str]:
    language = language_of(tracker)
    return [text_for(tracker, "waiver.loan_line.pending", loan=loan_title(loan, language), reference=request.reference,
                     penalty=Money(statement.penalty), late_fees=Money(statement.late_fees))
            for loan, statement, request in scope.pending]


class ActionAskWaiverConfirm(KuanxinAction):
    def name(self) -> str:
        return "action_ask_waiver_form_confirm_request"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        scope = plans.waiver_scope(the_borrower(tracker), self.today())
        language = language_of(tracker)
        if tracker.get_slot(REASK_SLOT):
            say(dispatcher, tracker, "waiver.confirm.short",
                loans=Items(loan_title(loan, language) for loan, _statement in scope.to_file),
                buttons=confirm_buttons(tracker))
            return []
        lines = [text_for(tracker, "waiver.confirm.line", loan=loan_title(loan, language),
                          penalty=Money(statement.penalty), late_fees=Money(statement.late_fees))
                 for loan, statement in scope.to_file]
        say(dispatcher, tracker, "waiver.confirm", lines="\n".join(lines + pending_lines(tracker, scope)),
            decision_time=self.policy().words(language).decision_time, buttons=confirm_buttons(tracker))
        return []


class ActionSubmitWaiver(KuanxinAction):
    """Ends the waiver form: explains the principal, reports a pending waiver, cancels, or files what was confirmed."""

    def name(self) -> str:
        return "action_submit_waiver"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = verified_borrower(tracker)
        if borrower is None:
            say(dispatcher, tracker, "waiver.nothing", buttons=[human_button(tracker)])
        elif tracker.get_slot("request_blocked"):
            self.nothing_to_file(dispatcher, tracker, borrower)
        elif not tracker.get_slot("confirm_request"):
            dispatcher.utter_message(response="utter_request_cancelled")
        else:
            return reset_request_slots() + self.file(dispatcher, tracker, borrower)
        return reset_request_slots()

    def nothing_to_file(self, dispatcher: CollectingDispatcher, tracker: Tracker, borrower) -> None:
        if asks_principal_cut(trigger_text(tracker, "request_penalty_waiver")):
            self.explain_principal(dispatcher, tracker, borrower)
            return
        pending = pending_lines(tracker, plans.waiver_scope(borrower, self.today()))
        if pending:
            say(dispatcher, tracker, "waiver.pending", lines="\n".join(pending),
                decision_time=self.policy().words(language_of(tracker)).decision_time)
        else:
            say(dispatcher, tracker, "waiver.nothing", buttons=[human_button(tracker)])

    def file(self, dispatcher: CollectingDispatcher, tracker: Tracker, borrower) -> list[EventType]:
        """The borrower confirmed: a request for each loan shown (recomputed now: a payment meanwhile counts)."""
        today, language = self.today(), language_of(tracker)
        scope = plans.waiver_scope(borrower, today)
        reason = asked_for_waiver(tracker)
        lines = []
        for loan, _statement in scope.to_file:
            result = plans.submit_waiver(accounts(), borrower, loan, reason, tracker.sender_id, today, self.now())
            if result.request:
                statement = result.quote.statement
                lines.append(text_for(tracker, "waiver.loan_line" if result.created else "waiver.loan_line.pending",
                                      loan=loan_title(loan, language), reference=result.request.reference,
                                      penalty=Money(statement.penalty), late_fees=Money(statement.late_fees)))
        if not lines:
            say(dispatcher, tracker, "waiver.nothing", buttons=[human_button(tracker)])
            return []
        say(dispatcher, tracker, "waiver.recorded", lines="\n".join(lines + pending_lines(tracker, scope)),
            decision_time=self.policy().words(language).decision_time)
        return offer_question(dispatcher, tracker, SatisfactionOutcome.REQUEST, "request_penalty_waiver", today,
                              self.now())

    def explain_principal(self, dispatcher: CollectingDispatcher, tracker: Tracker, borrower) -> None:
        today, policy = self.today(), self.policy()
        statements = [s for s in plans.statements(borrower, today) if s.is_overdue]
        penalty = sum((s.penalty for s in statements), ZERO)
        late_fees = sum((s.late_fees for s in statements), ZERO)
        say(dispatcher, tracker, "waiver.principal", penalty=Money(penalty), late_fees=Money(late_fees),
            buttons=other_options(tracker, borrower, today, policy))
