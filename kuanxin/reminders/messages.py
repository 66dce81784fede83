"""What a reminder says. Whoever holds the phone may read it: the lender, the amount, the date, how to pay
and where to get help, and nothing else (no name, no loan details, no consequences, no threats)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from kuanxin.core import texts
from kuanxin.core.formats import Day, Money
from kuanxin.core.money import yuan
from kuanxin.core.policy import TEMPLATE_VALUE_MAX, Policy
from kuanxin.core.vocab import ReminderKind
from kuanxin.core.zh_format import short_date


@dataclass(frozen=True)
class Reminding:
    """The facts one reminder states."""
    segment: str
    amount: Decimal
    due_date: dt.date | None
    today: dt.date
    kind: str = "segment"  # ReminderKind: a plan payment reads as an amount falling due, like an upcoming one


def sms_text(policy: Policy, facts: Reminding) -> str:
    """In Chinese: a reminder goes out before any conversation has told us the borrower's language."""
    rules, amount = policy.reminders, Money(facts.amount)
    if facts.segment == "upcoming" or facts.kind == ReminderKind.PLAN_PAYMENT:
        return texts.text("reminder.sms.upcoming", policy=policy, day=Day(facts.due_date or facts.today),
                          amount=amount, how_to_pay=rules.how_to_pay, help=rules.help)
    since = texts.text("reminder.sms.since", policy=policy, day=Day(facts.due_date)) if facts.due_date else ""
    return texts.text("reminder.sms.overdue", policy=policy, since=since, today=Day(facts.today), amount=amount,
                      how_to_pay=rules.how_to_pay, help=rules.help)


def template_data(policy: Policy, facts: Reminding) -> dict[str, str]:
    """The template message's values by the template's keys; each within WeChat's 20 characters."""
    template = policy.reminders.wechat_template
    values = {"lender": policy.lender.name, "amount": yuan(facts.amount),
              "due_date": short_date(facts.due_date or facts.today),
              "how_to_pay": template.how_to_pay, "help": template.help}
    too_long = [name for name, value in values.items() if len(value) > TEMPLATE_VALUE_MAX]
    if too_long:
        raise ValueError(f"template values longer than {TEMPLATE_VALUE_MAX} characters: {', '.join(too_long)}")
    return {template.fields[name]: value for name, value in values.items()}
