"""Hardship and penalty waivers: acknowledge, offer exactly what this borrower can apply for, record waivers."""
from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KuanxinAction, accounts, latest_text, the_borrower
from actions.forms import trigger_text
from actions.render import loan_title
from actions.requests_common import (
    FORMS,
    human_button,
    open_kinds,
    option_button,
    option_words,
    other_options,
)
from actions.satisfaction import offer_question
from actions.texts import language_of, say, text_for
from kuanxin.core.formats import Money
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


class ActionRequestWaiver(KuanxinAction):
    def name(self) -> str:
        return "action_request_waiver"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower, today, policy = the_borrower(tracker), self.today(), self.policy()
        reason = trigger_text(tracker, "request_penalty_waiver")
        if asks_principal_cut(reason):
            self.explain_principal(dispatcher, tracker, borrower)
            return []
        loans = [loan for loan in plans.overdue_loans(borrower, today) if loan.status == "active"]
        lines = []
        for loan in loans:
            result = plans.submit_waiver(accounts(), borrower, loan, reason, tracker.sender_id, today, self.now())
            if result.request:
                statement = result.quote.statement
                lines.append(text_for(tracker, "waiver.loan_line" if result.created else "waiver.loan_line.pending",
                                      loan=loan_title(loan, language_of(tracker)), reference=result.request.reference,
                                      penalty=Money(statement.penalty), late_fees=Money(statement.late_fees)))
        if not lines:
            say(dispatcher, tracker, "waiver.nothing", buttons=[human_button(tracker)])
            return []
        say(dispatcher, tracker, "waiver.recorded", lines="\n".join(lines),
            decision_time=policy.words(language_of(tracker)).decision_time)
        return offer_question(dispatcher, tracker, SatisfactionOutcome.REQUEST, "request_penalty_waiver", today,
                              self.now())

    def explain_principal(self, dispatcher: CollectingDispatcher, tracker: Tracker, borrower) -> None:
        today, policy = self.today(), self.policy()
        statements = [s for s in plans.statements(borrower, today) if s.is_overdue]
        penalty = sum((s.penalty for s in statements), ZERO)
        late_fees = sum((s.late_fees for s in statements), ZERO)
        say(dispatcher, tracker, "waiver.principal", penalty=Money(penalty), late_fees=Money(late_fees),
            buttons=other_options(tracker, borrower, today, policy))
