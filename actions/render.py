"""Chinese wording of what the domain package computes. No numbers are computed here.

The words come from the text catalogue (texts/zh.yml); only date and number formats live here.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from kuanxin import texts
from kuanxin.eligibility import PlanItem, RuleFailure
from kuanxin.models import Loan, PaymentPromise, ServiceRequest
from kuanxin.money import ZERO, yuan
from kuanxin.overdue import LoanStatement
from kuanxin.zh_format import short_date

WEEKDAYS = "一二三四五六日"
LANGUAGE = texts.DEFAULT_LANGUAGE


def date_cn(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日(星期{WEEKDAYS[day.weekday()]})"


def percent(rate) -> str:
    return f"{rate * 100:.2f}".rstrip("0").rstrip(".") + "%"


def word(key: str, fallback: str, language: str = LANGUAGE) -> str:
    """A catalogue word for a code (a request's kind or status), or the code itself when it has none."""
    return texts.text(key, language) if key in texts.catalogue(texts.DEFAULT_LANGUAGE) else fallback


def loan_title(loan: Loan | LoanStatement, language: str = LANGUAGE) -> str:
    loan_id = getattr(loan, "loan_id", None) or loan.id
    return texts.text("loan.name", language, loan_id=loan_id, product=loan.product)


def statement_text(statement: LoanStatement, language: str = LANGUAGE) -> str:
    title = f"【{loan_title(statement, language)}】"
    if statement.status == "settled":
        return texts.text("overdue.settled", language, title=title)
    if not statement.is_overdue:
        if statement.next_due:
            due = statement.next_due
            return texts.text("overdue.current.next_due", language, title=title, period=due.period,
                              day=date_cn(due.due_date), amount=yuan(due.amount))
        return texts.text("overdue.current", language, title=title)
    lines = [texts.text(
        "overdue.loan", language, title=title, days=statement.days_overdue,
        earliest=short_date(statement.earliest_overdue_date), periods=len(statement.rows),
        principal=yuan(statement.unpaid_principal), interest=yuan(statement.unpaid_interest),
        penalty=yuan(statement.penalty), daily_rate=percent(statement.penalty_daily_rate),
        growth=yuan(statement.daily_penalty_growth), late_fees=yuan(statement.late_fees),
        total=yuan(statement.total))]
    if statement.status == "litigation":
        lines.append(texts.text("loan.facts.litigation", language))
    return "\n".join(lines)


def overdue_summary(statements: Iterable[LoanStatement], today: dt.date, language: str = LANGUAGE) -> str:
    statements = list(statements)
    if not statements:
        return texts.text("loan.none", language)
    parts = [texts.text("overdue.intro", language, day=short_date(today))]
    parts += [statement_text(s, language) for s in statements]
    overdue = [s for s in statements if s.is_overdue]
    if len(overdue) > 1:
        parts.append(texts.text("overdue.total", language, total=yuan(sum((s.total for s in overdue), ZERO))))
    return "\n\n".join(parts)


def failures_text(failures: Iterable[RuleFailure], language: str = LANGUAGE) -> str:
    return ";".join(f.explain(language) for f in failures)


def plan_table(plan: list[PlanItem], language: str = LANGUAGE) -> str:
    rows = [texts.text("installment.schedule_row", language, number=item.number, day=short_date(item.due_date),
                       amount=yuan(item.amount)) for item in plan]
    return "\n".join(rows)


BLOCK_SLOT = "\x00"  # where a structured part sits in a catalogue text


def schedule_message(template_with_slot: str, plan: list[PlanItem], language: str = LANGUAGE) -> dict:
    """A message holding a repayment schedule: the text for every channel, and the same as data (Rasa's
    custom payload: text and schedule blocks) for a channel that draws a table, so none parses text back.

    `template_with_slot` is the catalogue text rendered with schedule=BLOCK_SLOT."""
    before, after = template_with_slot.split(BLOCK_SLOT)
    rows = [{"period": item.number, "date": item.due_date.isoformat(), "day": short_date(item.due_date),
             "amount": str(item.amount), "shown": yuan(item.amount)} for item in plan]
    blocks = [{"type": "text", "text": before.strip("\n")}, {"type": "schedule", "rows": rows},
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
                      loan_id=request.loan_id, day=short_date(request.created_on),
                      status=word(f"request.status.{request.status}", request.status, language), decided=decided)


def promise_line(promise: PaymentPromise, language: str = LANGUAGE) -> str:
    status = word(f"promise.status.{promise.status}", promise.status, language)
    return texts.text("promise.line", language, reference=promise.reference, day=short_date(promise.promised_date),
                      amount=yuan(promise.amount), status=status)
