"""The written agreement (书面协议) of a plan: its exact text, rendered from a versioned template of the text
catalogue (`agreement.<kind>.v<N>` in texts/<language>.yml), and the terms it states as data.

The text the borrower is shown before accepting is this text; what is recorded on acceptance is this text, its
SHA-256, and the terms (kuanxin/store/agreements.py). A new wording is a new template version: the old key stays,
so an agreement can always be rendered again as it was. No I/O here.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kuanxin.core import texts
from kuanxin.core.formats import Day, LongDay, Money
from kuanxin.lending.eligibility import PlanItem
from kuanxin.lending.overdue import LoanStatement
from kuanxin.lending.plan_terms import PlanTerms

# the template version new agreements of each kind are written with
TEMPLATES = {"installment": "agreement.installment.v1", "deferral": "agreement.deferral.v1"}
REPLAN_TEMPLATE = "agreement.installment.replan.v1"  # a new installment plan in place of the plan in force
SCHEDULE_SLOT = "\x00"  # where the schedule sits in a rendered template (actions/render.py draws it as data)


@dataclass(frozen=True)
class Parties:
    lender: str
    borrower_name: str
    id_masked: str
    loan_id: str
    product: str


@dataclass(frozen=True)
class AgreementDraft:
    """An agreement as offered: the template it was written with, its exact text, and its terms as data."""

    kind: str
    template: str
    language: str
    text: str
    terms: dict[str, Any]

    @property
    def sha256(self) -> str:
        return digest(self.text)

    def parts(self) -> tuple[str, str]:
        """The text before and after the schedule (which `schedule_text` fills)."""
        before, after = self.with_slot().split(SCHEDULE_SLOT)
        return before, after

    def with_slot(self) -> str:
        return render(self.template, self.language, self.terms, schedule=SCHEDULE_SLOT)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def schedule_text(payments: list[dict[str, str]], language: str) -> str:
    return "\n".join(texts.text("installment.schedule_row", language, number=p["n"],
                                day=Day(dt.date.fromisoformat(p["due"])), amount=Money(Decimal(p["amount"])))
                     for p in payments)


MONEY_TERMS = ("total", "principal", "interest", "penalty", "late_fees", "paid", "cost", "fee_per_period", "fee_once",
               "old_total", "old_paid")  # the last two: a re-plan's, of the plan it replaces


def render(template: str, language: str, terms: dict[str, Any], schedule: str | None = None) -> str:
    """The template filled with the terms (as recorded: strings and ISO dates), in `language`."""
    values = dict(terms["values"])
    amounts = {name: Money(Decimal(values[name])) for name in MONEY_TERMS if name in values}
    return texts.text(template, language, None, **amounts,
                      lender=values["lender"], name=values["name"], id_masked=values["id_masked"],
                      loan=texts.text("loan.name", language, loan_id=values["loan_id"], product=values["product"]),
                      day=LongDay(dt.date.fromisoformat(values["day"])), days=values["days_overdue"],
                      periods=values["periods"], months=values.get("months", ""), rate=f"{values['rate']}%",
                      grace_days=values["grace_days"], supersedes=values.get("supersedes", ""),
                      schedule=schedule if schedule is not None else schedule_text(terms["payments"], language),
                      first_day=Day(dt.date.fromisoformat(terms["payments"][0]["due"])))


def payments_of(terms: dict[str, Any]) -> list[PlanItem]:
    """The plan's payments as recorded in the terms."""
    return [PlanItem(int(p["n"]), dt.date.fromisoformat(p["due"]), Decimal(p["amount"])) for p in terms["payments"]]


def _values(parties: Parties, statement: LoanStatement, today: dt.date, grace_days: int) -> dict[str, Any]:
    return {"lender": parties.lender, "name": parties.borrower_name, "id_masked": parties.id_masked,
            "loan_id": parties.loan_id, "product": parties.product, "day": today.isoformat(),
            "days_overdue": statement.days_overdue, "total": str(statement.total),
            "principal": str(statement.unpaid_principal), "interest": str(statement.unpaid_interest),
            "penalty": str(statement.penalty), "late_fees": str(statement.late_fees), "grace_days": grace_days}


def _draft(kind: str, values: dict[str, Any], payments: list[PlanItem], language: str,
           template: str | None = None) -> AgreementDraft:
    terms = {"kind": kind, "values": values,
             "payments": [{"n": item.number, "due": item.due_date.isoformat(), "amount": str(item.amount)}
                          for item in payments]}
    template = template or TEMPLATES[kind]
    return AgreementDraft(kind, template, language, render(template, language, terms), terms)


def installment_draft(parties: Parties, statement: LoanStatement, plan: PlanTerms, periods: int,
                      fee_per_period: Any, fee_once: Any, grace_days: int, today: dt.date,
                      language: str = texts.DEFAULT_LANGUAGE) -> AgreementDraft:
    values = {**_values(parties, statement, today, grace_days), "periods": periods, "paid": str(plan.total_paid),
              "cost": str(plan.cost), "rate": str(plan.annual_rate), "fee_per_period": str(fee_per_period),
              "fee_once": str(fee_once)}
    return _draft("installment", values, list(plan.payments), language)


def deferral_draft(parties: Parties, statement: LoanStatement, months: int, new_due: dt.date, grace_days: int,
                   today: dt.date, language: str = texts.DEFAULT_LANGUAGE) -> AgreementDraft:
    """A deferral as a plan of one payment: today's overdue total on the new due date, fee-free."""
    zero = "0.00"
    values = {**_values(parties, statement, today, grace_days), "months": months, "periods": 1,
              "paid": str(statement.total), "cost": zero, "rate": zero, "fee_per_period": zero, "fee_once": zero}
    return _draft("deferral", values, [PlanItem(1, new_due, statement.total)], language)


@dataclass(frozen=True)
class Replaced:
    """The plan in force a re-plan replaces, as its agreement states it: what it came to and what was paid of it, and
    the ledger it was counted from (entries on the loan from `ledger_from`, less the `ledger_counted` that plans
    before it used)."""

    number: str
    total: Decimal
    paid: Decimal
    ledger_from: dt.date
    ledger_counted: Decimal


def replan_draft(parties: Parties, statement: LoanStatement, plan: PlanTerms, periods: int, replaced: Replaced,
                 fee_per_period: Any, fee_once: Any, grace_days: int, today: dt.date,
                 language: str = texts.DEFAULT_LANGUAGE) -> AgreementDraft:
    """A new installment plan in place of the plan in force: it splits what that plan leaves unpaid (its `total`
    here), so what was paid under it is never owed again; the agreement names the one it supersedes."""
    draft = installment_draft(parties, statement, plan, periods, fee_per_period, fee_once, grace_days, today, language)
    values = {**draft.terms["values"], "total": str(replaced.total - replaced.paid), "supersedes": replaced.number,
              "old_total": str(replaced.total), "old_paid": str(replaced.paid),
              # the new plan counts the same ledger on, less what the plans it continues used: no payment twice
              "ledger_from": replaced.ledger_from.isoformat(),
              "ledger_counted": str(replaced.ledger_counted + replaced.paid)}
    return _draft("installment", values, list(plan.payments), language, REPLAN_TEMPLATE)
