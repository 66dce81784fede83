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


class Composed:
    """A message made of parts. Each part is text that every channel shows, and may also be a block of data
    (Rasa's custom payload) that a channel able to draw it shows natively (the widget: a table of charges,
    a repayment schedule), so no channel ever parses text back into figures."""

    def __init__(self, separator: str = "\n\n"):
        self.separator = separator
        self.parts: list[tuple[str, dict[str, Any] | None]] = []

    def add(self, text: str, block: dict[str, Any] | None = None) -> Composed:
        if text.strip("\n") or block:
            self.parts.append((text.strip("\n"), block))
        return self

    def message(self) -> dict[str, Any]:
        text = self.separator.join(text for text, _ in self.parts)
        if not any(block for _, block in self.parts):
            return {"text": text}
        blocks = [block or {"type": "text", "text": text} for text, block in self.parts]
        return {"text": text, "json_message": {"blocks": blocks}}


def loan_state_text(statement: LoanStatement, language: str = LANGUAGE) -> str:
    """A loan that is not overdue, in one sentence."""
    title = texts.text("loan.title", language, loan_id=statement.loan_id, product=statement.product)
    if statement.status == "settled":
        return texts.text("overdue.settled", language, title=title)
    if statement.next_due:
        due = statement.next_due
        return texts.text("overdue.current.next_due", language, title=title, period=due.period,
                          day=LongDay(due.due_date), amount=Money(due.amount))
    return texts.text("overdue.current", language, title=title)


def amounts_block(statement: LoanStatement, language: str = LANGUAGE) -> dict[str, Any]:
    """What an overdue loan's total is made of, as data: a heading and one labelled row per charge."""
    title = texts.text("loan.title", language, loan_id=statement.loan_id, product=statement.product)
    heading = texts.text("overdue.loan.head", language, title=title, days=statement.days_overdue,
                         earliest=Day(statement.overdue_since()), periods=len(statement.rows))
    if statement.status == "litigation":
        heading += "\n" + texts.text("loan.facts.litigation", language)
    penalty_note = texts.text("amount.penalty.note", language, daily_rate=percent(statement.penalty_daily_rate),
                              growth=Money(statement.daily_penalty_growth))
    charges = [("principal", statement.unpaid_principal, ""), ("interest", statement.unpaid_interest, ""),
               ("penalty", statement.penalty, penalty_note),
               ("late_fees", statement.late_fees, texts.text("amount.late_fees.note", language)),
               ("total", statement.total, "")]
    rows = [{"label": texts.text(f"amount.{name}", language), "amount": str(amount),
             "shown": formats.money(amount, language), "note": note, "total": name == "total"}
            for name, amount, note in charges]
    return {"type": "amounts", "title": heading, "rows": rows}


def amounts_text(block: dict[str, Any], language: str = LANGUAGE) -> str:
    lines = [texts.text("amount.row.noted" if row["note"] else "amount.row", language, label=row["label"],
                        amount=row["shown"], note=row["note"]) for row in block["rows"]]
    return "\n".join([block["title"], *lines])


def overdue_summary(statements: Iterable[LoanStatement], today: dt.date, language: str = LANGUAGE) -> Composed:
    """What the borrower owes, loan by loan (text, and each overdue loan's charges as data)."""
    statements = list(statements)
    if not statements:
        return Composed().add(texts.text("loan.none", language))
    summary = Composed().add(texts.text("overdue.intro", language, day=Day(today)))
    for statement in statements:
        if statement.is_overdue and statement.status != "settled":
            block = amounts_block(statement, language)
            summary.add(amounts_text(block, language), block)
        else:
            summary.add(loan_state_text(statement, language))
    overdue = [s for s in statements if s.is_overdue]
    if len(overdue) > 1:
        summary.add(texts.text("overdue.total", language, total=Money(sum((s.total for s in overdue), ZERO))))
    return summary


def failures_text(failures: Iterable[RuleFailure], language: str = LANGUAGE) -> str:
    return formats.clauses((f.explain(language) for f in failures), language)


def plan_table(plan: list[PlanItem], language: str = LANGUAGE) -> str:
    rows = [texts.text("installment.schedule_row", language, number=item.number, day=Day(item.due_date),
                       amount=Money(item.amount)) for item in plan]
    return "\n".join(rows)


def schedule_block(plan: list[PlanItem], language: str = LANGUAGE) -> dict[str, Any]:
    """A repayment schedule as data, its caption and column titles from the catalogue."""
    columns = [texts.text(f"schedule.{name}", language) for name in ("period", "due", "amount")]
    rows = [{"period": item.number, "label": texts.text("schedule.period_label", language, number=item.number),
             "date": item.due_date.isoformat(), "day": formats.short_date(item.due_date, language),
             "amount": str(item.amount), "shown": formats.money(item.amount, language)} for item in plan]
    return {"type": "schedule", "caption": texts.text("schedule.caption", language), "columns": columns, "rows": rows}


BLOCK_SLOT = "\x00"  # where a structured part sits in a catalogue text


def schedule_message(template_with_slot: str, plan: list[PlanItem], language: str = LANGUAGE) -> dict[str, Any]:
    """A catalogue text rendered with schedule=BLOCK_SLOT, the schedule in its place as text and as data."""
    before, after = template_with_slot.split(BLOCK_SLOT)
    return (Composed(separator="\n").add(before).add(plan_table(plan, language), schedule_block(plan, language))
            .add(after).message())


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
