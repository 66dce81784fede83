"""What a reminder says. Whoever holds the phone may read it: the lender, the amount, the date, how to pay
and where to get help, and nothing else (no name, no loan details, no consequences, no threats)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from kuanxin.core.money import yuan
from kuanxin.core.policy import TEMPLATE_VALUE_MAX, Policy
from kuanxin.core.zh_format import short_date

OPT_OUT_HINT = "回复退订或取消提醒,将不再收到提醒"


@dataclass(frozen=True)
class Reminding:
    """The facts one reminder states."""
    segment: str
    amount: Decimal
    due_date: dt.date | None
    today: dt.date


def sms_text(policy: Policy, facts: Reminding) -> str:
    rules, lender = policy.reminders, policy.lender.name
    if facts.segment == "upcoming":
        owed = f"温馨提醒:您的借款将于{short_date(facts.due_date or facts.today)}到期,应还{yuan(facts.amount)}。"
    else:
        since = f"(还款日{short_date(facts.due_date)})" if facts.due_date else ""
        owed = f"您的借款有款项尚未归还{since},截至{short_date(facts.today)}应还{yuan(facts.amount)}。"
    return f"【{lender}】{owed}还款方式:{rules.how_to_pay}。{rules.help}。{OPT_OUT_HINT}。"


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
