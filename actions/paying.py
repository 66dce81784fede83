"""Pay now (立即还款): after a balance, a plan payment or a promise, a link to the lender's own payment page with
the loan and a suggested amount, signed so nothing in it can be altered (kuanxin.core.links.pay_link). The widget
draws it as a button (block `pay`), WeChat and REST show the link in the text. Never an account number."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from rasa_sdk import Tracker

from actions.render import Composed
from actions.texts import text_for
from kuanxin.core import clock, links, settings
from kuanxin.core.formats import Money
from kuanxin.core.money import ZERO, to_money
from kuanxin.core.policy import Policy
from kuanxin.lending.overdue import LoanStatement


def pay_url(loan_id: str, amount: Decimal, policy: Policy) -> str:
    expires = clock.now() + dt.timedelta(hours=policy.payments.pay_link_hours)
    return links.pay_link(settings.pay_link_secret(), policy.payments.pay_url, loan_id, f"{to_money(amount):.2f}",
                          expires, web=settings.public_web_url())


def pay_part(tracker: Tracker, loan_title: str, loan_id: str, amount: Decimal,
             policy: Policy) -> tuple[str, dict[str, Any]]:
    """The link as text (every channel) and as a button block (the widget)."""
    url = pay_url(loan_id, amount, policy)
    text = text_for(tracker, "pay.now.text", loan=loan_title, amount=Money(amount), url=url,
                    hours=policy.payments.pay_link_hours)
    block = {"type": "pay", "label": text_for(tracker, "pay.now.button", amount=Money(amount)), "url": url,
             "note": text_for(tracker, "pay.now.note", loan=loan_title)}
    return text, block


def add_pay_links(message: Composed, tracker: Tracker, suggested: Iterable[tuple[str, str, Decimal]],
                  policy: Policy) -> Composed:
    """One pay-now part per (loan title, loan id, amount) with something to pay."""
    for title, loan_id, amount in suggested:
        if amount > ZERO:
            message.add(*pay_part(tracker, title, loan_id, amount, policy))
    return message


def promised_split(statements: Iterable[LoanStatement], amount: Decimal) -> list[tuple[LoanStatement, Decimal]]:
    """A promised amount over the overdue loans, the longest overdue first, each at most its overdue total: the
    amounts the pay-now links suggest after a promise."""
    left, split = to_money(amount), []
    for statement in sorted((s for s in statements if s.is_overdue), key=lambda s: -s.days_overdue):
        share = min(left, statement.total)
        if share > ZERO:
            split.append((statement, share))
            left -= share
    return split
