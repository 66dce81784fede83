"""The wording of what the domain package computes, in the conversation's language. No numbers are computed here.

The words come from the text catalogue (texts/<language>.yml); dates, amounts and lists are passed as
kuanxin.core.formats values, which the catalogue renders in the language of the text they fill.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from kuanxin.core import formats, texts
from kuanxin.core.formats import Day, LongDay, Money
from kuanxin.core.money import ZERO
from kuanxin.lending.eligibility import PlanItem, RuleFailure
from kuanxin.lending.overdue import LoanStatement
from kuanxin.store.models import Loan, PaymentPromise, ServiceRequest

LANGUAGE = texts.DEFAULT_LANGUAGE


def percent(rate) -> str:
    return f"{rate * 100:.2f}".rstrip("0").rstrip(".") + "%"


def word(key: str, fallback: str, language: str = LANGUAGE) -> str:
    """A catalogue word for a code (a request's kind or status), or the code itself when it has none."""
    return texts.text(key, language) if key in texts.catalogue(texts.DEFAULT_LANGUAGE) else fallback


def loan_title(loan: Loan | LoanStatement, language: str = LANGUAGE) -> str:
    loan_id = loan.loan_id if isinstance(loan, LoanStatement) else loan.id
    return texts.text("loan.name", language, loan_id=loan_id, product=loan.product)


def statement_text(statement: LoanStatement, language: str = LANGUAGE) -> str:
    title = texts.text("loan.title", language, loan_id=statement.loan_id, product=statement.product)
    if statement.status == "settled":
        return texts.text("overdue.settled", language, title=title)
    if not statement.is_overdue:
        if statement.next_due:
            due = statement.next_due
            return texts.text("overdue.current.next_due", language, title=title, period=due.period,
                              day=LongDay(due.due_date), amount=Money(due.amount))
        return texts.text("overdue.current", language, title=title)
    lines = [texts.text(
        "overdue.loan", language, title=title, days=statement.days_overdue,
        earliest=Day(statement.overdue_since()), periods=len(statement.rows),
        principal=Money(statement.unpaid_principal), interest=Money(statement.unpaid_interest),
        penalty=Money(statement.penalty), daily_rate=percent(statement.penalty_daily_rate),
        growth=Money(statement.daily_penalty_growth), late_fees=Money(statement.late_fees),
        total=Money(statement.total))]
    if statement.status == "litigation":
        lines.append(texts.text("loan.facts.litigation", language))
    return "\n".join(lines)


def overdue_summary(statements: Iterable[LoanStatement], today: dt.date, language: str = LANGUAGE) -> str:
    statements = list(statements)
    if not statements:
        return texts.text("loan.none", language)
    parts = [texts.text("overdue.intro", language, day=Day(today))]
    parts += [statement_text(s, language) for s in statements]
    overdue = [s for s in statements if s.is_overdue]
    if len(overdue) > 1:
        parts.append(texts.text("overdue.total", language, total=Money(sum((s.total for s in overdue), ZERO))))
    return "\n\n".join(parts)


def failures_text(failures: Iterable[RuleFailure], language: str = LANGUAGE) -> str:
    return formats.clauses((f.explain(language) for f in failures), language)


def plan_table(plan: list[PlanItem], language: str = LANGUAGE) -> str:
    rows = [texts.text("installment.schedule_row", language, number=item.number, day=Day(item.due_date),
                       amount=Money(item.amount)) for item in plan]
    return "\n".join(rows)


BLOCK_SLOT = "\x00"  # where a structured part sits in a catalogue text


def schedule_message(template_with_slot: str, plan: list[PlanItem], language: str = LANGUAGE) -> dict:
    """A message holding a repayment schedule: the text for every channel, and the same as data (Rasa's
    custom payload: text and schedule blocks) for a channel that draws a table, so none parses text back.

    `template_with_slot` is the catalogue text rendered with schedule=BLOCK_SLOT."""
    before, after = template_with_slot.split(BLOCK_SLOT)
    rows = [{"period": item.number, "date": item.due_date.isoformat(),
             "day": formats.short_date(item.due_date, language), "amount": str(item.amount),
             "shown": formats.money(item.amount, language)} for item in plan]
    blocks: list[dict[str, Any]] = [{"type": "text", "text": before.strip("\n")}, {"type": "schedule", "rows": rows},
              {"type": "text", "text": after.strip("\n")}]
    return {"text": before + plan_table(plan, language) + after,
            "json_message": {"blocks": [b for b in blocks if b.get("text") != ""]}}


def request_line(request: ServiceRequest, language: str = LANGUAGE) -> str:
    kind = word(f"request.kind.{request.type}", request.type, language)
    detail = ""
    if request.type == "deferral" and request.months:
        detail = texts.text("request.detail.deferral", language, months=request.months)
    elif request.type == "installment" and request.periods:
        detail = texts.text("request.detail.installment", language, periods=request.periods)
    decided = texts.text("request.decision_reason", language, reason=request.decision_reason) \
        if request.decision_reason else ""
    return texts.text("request.line", language, reference=request.reference or "—", kind=kind, detail=detail,
                      loan_id=request.loan_id, day=Day(request.created_on),
                      status=word(f"request.status.{request.status}", request.status, language), decided=decided)


def promise_line(promise: PaymentPromise, language: str = LANGUAGE) -> str:
    status = word(f"promise.status.{promise.status}", promise.status, language)
    return texts.text("promise.line", language, reference=promise.reference, day=Day(promise.promised_date),
                      amount=Money(promise.amount), status=status)
