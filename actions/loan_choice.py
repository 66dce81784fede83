"""Which loan a request is about: implied when only one is overdue, otherwise asked with buttons."""
from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KuanxinAction, verified_borrower
from actions.render import loan_title
from actions.texts import language_of, say, text_for
from kuanxin.core.formats import Money
from kuanxin.core.zh_parse import parse_chinese_number
from kuanxin.lending import plans
from kuanxin.lending.overdue import loan_statement
from kuanxin.store.models import Borrower, Loan

ORDINAL = re.compile(r"第\s*([0-9一二三四五六七八九十两]+)\s*(?:笔|个|项)")


def loan_in_text(candidates: list[Loan], text: str) -> Loan | None:
    """A loan named by id, by product, or by its place in the list ("第二笔")."""
    lowered = text.lower()
    by_id = [loan for loan in candidates if loan.id.lower() in lowered]
    if len(by_id) == 1:
        return by_id[0]
    by_product = [loan for loan in candidates if loan.product and loan.product in text]
    if len(by_product) == 1:
        return by_product[0]
    ordinal = ORDINAL.search(text)
    position = parse_chinese_number(ordinal.group(1)) if ordinal else None
    return candidates[position - 1] if position and 0 < position <= len(candidates) else None


def choose_loan(borrower: Borrower, text: str, today) -> Loan | None:
    candidates = plans.overdue_loans(borrower, today)
    if len(candidates) == 1:
        return candidates[0]
    return loan_in_text(candidates, text)


class ActionAskLoanId(KuanxinAction):
    def name(self) -> str:
        return "action_ask_loan_id"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = verified_borrower(tracker)
        candidates = plans.overdue_loans(borrower, self.today()) if borrower else []
        buttons = [{"title": text_for(tracker, "loan_choice.button", loan=loan_title(loan, language_of(tracker)),
                                      total=Money(loan_statement(loan, self.today()).total)),
                    "payload": loan.id} for loan in candidates]
        say(dispatcher, tracker, "loan_choice.ask", buttons=buttons)
        return []
