"""Chinese wording of the loan's facts and of settling it today (kuanxin.lending.loan_facts); texts from the catalogue.

No figure is computed here: every amount, count and date comes from LoanFacts.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from actions.render import percent
from kuanxin.core.formats import Day, LongDay, Money
from kuanxin.core.money import ZERO
from kuanxin.lending.loan_facts import LoanFacts

# the parts of the fact sheet, in the order shown; a question names some, or none for all
TOPICS = ("amount", "rate", "term", "progress", "next_due", "charges")

Text = Callable[..., str]  # texts.text bound to the conversation's language: text(key, **values)


def title(text: Text, facts: LoanFacts) -> str:
    return text("loan.title", loan_id=facts.loan_id, product=facts.product)


def _topic_lines(text: Text, facts: LoanFacts, topic: str) -> list[str]:
    if topic == "amount":
        return [text("loan.facts.amount", principal=Money(facts.principal), start=Day(facts.start_date))]
    if topic == "rate":
        return [text("loan.facts.rate", rate=percent(facts.annual_rate),
                     per_10000=Money(facts.interest_per_10000_a_year))]
    if topic == "term":
        last = Day(facts.last_due_date) if facts.last_due_date else "—"
        return [text("loan.facts.term", term=facts.term, start=Day(facts.start_date), last_due=last)]
    if topic == "progress":
        key = "loan.facts.progress_overdue" if facts.periods_overdue else "loan.facts.progress"
        return [text(key, paid=facts.periods_paid, remaining=facts.periods_remaining, overdue=facts.periods_overdue)]
    if topic == "next_due":
        due = facts.next_due
        if due is None:
            return [text("loan.facts.no_next_due")]
        key = "loan.facts.next_due_overdue" if facts.statement.is_overdue else "loan.facts.next_due"
        return [text(key, period=due.period, day=LongDay(due.due_date), amount=Money(due.amount),
                     overdue_amount=Money(facts.statement.total))]
    if topic == "charges":
        return charge_lines(text, facts)
    raise ValueError(f"no such loan topic: {topic}")


def charge_lines(text: Text, facts: LoanFacts) -> list[str]:
    daily = percent(facts.penalty_daily_rate)
    if not facts.charges:
        return [text("loan.facts.no_charges", daily_rate=daily, late_fee=Money(facts.late_fee))]
    lines = [text("loan.facts.charges", daily_rate=daily, annual_penalty=percent(facts.penalty_annual_rate),
                  late_fee=Money(facts.late_fee))]
    lines += [text("loan.facts.charge", period=c.period, due=Day(c.due_date), days=c.days_overdue,
                   principal=Money(c.unpaid_principal), daily_rate=daily, penalty=Money(c.penalty),
                   late_fee=Money(c.late_fee)) for c in facts.charges]
    statement = facts.statement
    lines.append(text("loan.facts.charges_total", penalty=Money(statement.penalty),
                      late_fees=Money(statement.late_fees), interest=Money(statement.unpaid_interest)))
    return lines


def facts_block(text: Text, facts: LoanFacts, topics: Iterable[str]) -> str:
    if facts.settled:
        return text("loan.facts.settled", title=title(text, facts), term=facts.term)
    lines = [title(text, facts)]
    for topic in topics:
        lines += _topic_lines(text, facts, topic)
    if facts.status == "litigation":
        lines.append(text("loan.facts.litigation"))
    return "\n".join(lines)


def facts_text(text: Text, loans: list[LoanFacts], topics: tuple[str, ...], today: dt.date) -> str:
    if not loans:
        return text("loan.none")
    blocks = [facts_block(text, facts, topics or TOPICS) for facts in loans]
    return "\n\n".join([text("loan.facts.intro", day=Day(today)), *blocks])


def settlement_block(text: Text, facts: LoanFacts, hotline: str) -> str:
    s, heading = facts.settlement, title(text, facts)
    if facts.settled:
        return text("loan.settlement.settled", title=heading)
    if not s.allowed:
        if facts.statement.is_overdue:
            return text("loan.settlement.not_allowed_overdue", title=heading, overdue=Money(facts.statement.total))
        return text("loan.settlement.not_allowed", title=heading)
    lines = [text("loan.settlement.loan", title=heading, total=Money(s.total))]
    if s.overdue_principal and s.future_principal:
        lines.append(text("loan.settlement.principal_split", principal=Money(s.remaining_principal),
                          overdue=Money(s.overdue_principal), future=Money(s.future_principal)))
    else:
        lines.append(text("loan.settlement.principal", principal=Money(s.remaining_principal)))
    if facts.statement.is_overdue:
        lines += [text("loan.settlement.interest", amount=Money(s.overdue_interest)),
                  text("loan.settlement.penalty", amount=Money(s.penalty)),
                  text("loan.settlement.late_fees", amount=Money(s.late_fees))]
    lines.append(text("loan.settlement.fee", amount=Money(s.prepayment_fee), rate=percent(s.prepayment_fee_rate)))
    if facts.status == "litigation":
        lines.append(text("loan.settlement.litigation", hotline=hotline))
    return "\n".join(lines)


def _open(loans: list[LoanFacts]) -> list[LoanFacts]:
    return [facts for facts in loans if not facts.settled]


def settlement_text(text: Text, loans: list[LoanFacts], today: dt.date, hotline: str) -> str:
    if not loans:
        return text("loan.none")
    parts = [text("loan.settlement.intro", day=Day(today))]
    parts += [settlement_block(text, facts, hotline) for facts in loans]
    payable = [facts for facts in _open(loans) if facts.settlement.allowed]
    if len(payable) > 1:
        parts.append(text("loan.settlement.total", total=Money(sum((f.settlement.total for f in payable), ZERO))))
    if payable:
        parts.append(text("loan.settlement.note"))
    return "\n\n".join(parts)


def both_block(text: Text, facts: LoanFacts) -> str:
    heading, statement = title(text, facts), facts.statement
    if facts.settled:
        return text("loan.settlement.settled", title=heading)
    if not facts.settlement.allowed:
        return text("loan.both.loan_not_allowed", title=heading, overdue=Money(statement.total))
    if not statement.is_overdue:
        return text("loan.both.loan_current", title=heading, settlement=Money(facts.settlement.total))
    return text("loan.both.loan", title=heading, overdue=Money(statement.total), periods=len(statement.rows),
                settlement=Money(facts.settlement.total))


def both_text(text: Text, loans: list[LoanFacts], today: dt.date, outro: bool = True) -> str:
    """The overdue figure and the settlement figure side by side, each labelled: for "我还要还多少"."""
    if not loans:
        return text("loan.none")
    parts = [text("loan.both.intro", day=Day(today)), *(both_block(text, facts) for facts in loans)]
    open_loans = _open(loans)
    if len(open_loans) > 1 and all(f.settlement.allowed for f in open_loans):
        parts.append(text("loan.both.total", overdue=Money(sum((f.statement.total for f in open_loans), ZERO)),
                          settlement=Money(sum((f.settlement.total for f in open_loans), ZERO))))
    if open_loans and outro:
        parts.append(text("loan.both.outro"))
    return "\n\n".join(parts)
