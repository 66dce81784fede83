"""What the borrower owes, what happens if it stays unpaid, and where their requests stand."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.agreements import plan_lines
from actions.base import KuanxinAction, accounts, the_borrower, verified_borrower
from actions.loan_facts import question_text, settlement_addendum
from actions.paying import add_pay_links
from actions.render import Composed, loan_title, overdue_summary, percent, promise_line, request_line
from actions.requests_common import availability_lines, other_options, repay_button
from actions.texts import language_of, say, text_for
from kuanxin.core.formats import Day, Money
from kuanxin.core.zh_parse import plans_named
from kuanxin.lending import plans
from kuanxin.lending.overdue import LoanStatement


class ActionShowOverdue(KuanxinAction):
    def name(self) -> str:
        return "action_show_overdue"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = the_borrower(tracker)
        # a loan with a plan in force is told as its plan: the next payment, its date and what is left
        told, held = plan_lines(tracker, borrower, self.today(), self.policy())
        statements = [s for s in plans.statements(borrower, self.today()) if s.loan_id not in held]
        buttons = []
        if any(s.is_overdue for s in statements):
            buttons = [repay_button(tracker), *other_options(tracker, borrower, self.today(), self.policy())]
        summary = Composed()
        for line in told:
            summary.add(line)
        if statements or not told:
            summary.parts.extend(overdue_summary(statements, self.today(), language_of(tracker)).parts)
        # "我还要还多少" / "还清要多少": the settlement figure too, labelled (actions/loan_facts.py)
        addendum = settlement_addendum(tracker, borrower, "check_overdue", self.today(), self.policy())
        # "看看欠多少 另外能不能延期": the plan asked about in passing is answered too
        asked_too = availability_lines(tracker, borrower, plans_named(question_text(tracker, "check_overdue")),
                                       self.today(), self.policy())
        for part in [addendum, *asked_too]:
            summary.add(part or "")
        add_pay_links(summary, tracker, self.to_pay(borrower, statements, held, language_of(tracker)), self.policy())
        dispatcher.utter_message(**summary.message(), buttons=buttons)
        return []

    @staticmethod
    def to_pay(borrower, statements: list[LoanStatement], held: dict[str, Decimal],
               language: str) -> list[tuple[str, str, Decimal]]:
        """What the pay-now links suggest: each plan's next payment, each other overdue loan's total."""
        planned = [(loan_title(loan, language), loan.id, held[loan.id]) for loan in borrower.loans if loan.id in held]
        overdue = [(loan_title(s, language), s.loan_id, s.total) for s in statements if s.is_overdue]
        return planned + overdue


# "会坐牢吗": the fear is answered first, before the general list (an overdue loan is a civil matter)
PRISON_CUE = re.compile("坐牢|判刑|被抓|抓我|抓人|拘留|刑事|犯法|犯罪|违法|警察|公安|监狱|关起来|蹲号子|进去吃牢饭"
                        r"|\b(?:jail|prison|arrest(?:ed)?|police|criminal|crime|illegal|locked up|cops?)\b", re.I)


def stage_text(tracker: Tracker, statement: LoanStatement, policy) -> str:
    """The consequences for one overdue loan, at its stage of arrears; factual, never a threat."""
    lines = [text_for(tracker, "consequences.loan", loan_id=statement.loan_id, days=statement.days_overdue,
                      total=Money(statement.total), daily_rate=percent(statement.penalty_daily_rate),
                      growth=Money(statement.daily_penalty_growth))]
    late_after = policy.segments.middle_until_days
    if statement.status == "litigation":
        lines.append(text_for(tracker, "consequences.loan.litigation"))
    elif statement.days_overdue > late_after:
        lines.append(text_for(tracker, "consequences.loan.legal", days=late_after))
    else:
        lines.append(text_for(tracker, "consequences.loan.contact"))
    return "\n".join(lines)


def prison_answer(tracker: Tracker) -> list[str]:
    asked = question_text(tracker, "ask_consequences")
    return [text_for(tracker, "consequences.prison")] if PRISON_CUE.search(asked) else []


class ActionExplainConsequences(KuanxinAction):
    def name(self) -> str:
        return "action_explain_consequences"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower, policy = verified_borrower(tracker), self.policy()
        first = prison_answer(tracker)
        if borrower is None:
            parts = [*first, text_for(tracker, "consequences.general")]
            dispatcher.utter_message(text="\n\n".join(parts))
            return []
        overdue = [s for s in plans.statements(borrower, self.today()) if s.is_overdue]
        if not overdue:
            dispatcher.utter_message(text="\n\n".join([*first, text_for(tracker, "consequences.not_overdue")]))
            return []
        parts = [*first, *(stage_text(tracker, s, policy) for s in overdue), text_for(tracker, "consequences.outro")]
        buttons = other_options(tracker, borrower, self.today(), policy)
        dispatcher.utter_message(text="\n\n".join(parts), buttons=buttons)
        return []


class ActionCheckRequestStatus(KuanxinAction):
    def name(self) -> str:
        return "action_check_request_status"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = the_borrower(tracker)
        requests = accounts().requests_of(borrower.id)
        promises = accounts().promises_of(borrower.id)
        if not requests and not promises:
            say(dispatcher, tracker, "status.none")
            return []
        language, parts = language_of(tracker), []
        if requests:
            parts.append(text_for(tracker, "status.requests",
                                  lines="\n".join(request_line(r, language) for r in requests)))
        if promises:
            parts.append(text_for(tracker, "status.promises",
                                  lines="\n".join(promise_line(p, language) for p in promises)))
        parts.append(text_for(tracker, "status.checked_at", day=Day(self.today())))
        dispatcher.utter_message(text="\n\n".join(parts))
        return []
