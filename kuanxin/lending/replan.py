"""Re-planning: a new plan asked for while a plan is in force on the loan (policy.yml `plans.replan`).

What is owed under the new plan is what remains unpaid of the plan in force (the ledger's payments since its agreement
already count, kuanxin/lending/plan_life.py), so nothing is charged twice. The assistant approves a new installment plan
itself when every rule passes: fewer than `max_replans` re-plans of the loan within `within_months`; no payment of the
plan in force past its date and still unpaid; the new plan's whole span, from the start of the first plan it
continues to its own last payment, within the installment envelope's periods (months); and the envelope's amount,
periods, broken-plan and escalation rules. The loan's days overdue and the once-per-months rule are not applied: they
are about the arrears the plan in force already settled. A deferral asked while a plan is in force always goes to
staff. Outside the rules the request goes to staff review, each rule named in the borrower's terms. No I/O here.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from kuanxin.core.formats import Day, Money
from kuanxin.core.policy import Envelope, ReplanPolicy
from kuanxin.core.vocab import DecisionOutcome
from kuanxin.lending.decisions import (
    History,
    PlanDecision,
    RuleApplied,
    broken_plan_rules,
    decided,
    escalation_rule,
    staff_only,
)
from kuanxin.lending.plan_life import PlanPayment, PlanProgress

REPLAN_KIND = "installment"  # the only kind of new plan the assistant may put in place of one in force


@dataclass(frozen=True)
class PlanInForce:
    """The plan in force on a loan, as a re-plan needs it: handed in by the caller from the store."""

    agreement_number: str
    kind: str
    first_start: dt.date  # the start of the first plan of its chain of agreements (each superseding the one before)
    progress: PlanProgress  # as of today, the ledger's payments applied
    replans_on: tuple[dt.date, ...] = ()  # the days the loan's earlier re-plans were accepted
    ledger_from: dt.date | None = None  # its payments are the loan's ledger entries from this day…
    ledger_counted: Decimal = Decimal("0.00")  # …less what the plans it continues used of them

    @property
    def remaining(self) -> Decimal:
        """What is owed under the new plan: what the plan in force still has unpaid."""
        return self.progress.remaining

    def late_payment(self, today: dt.date) -> PlanPayment | None:
        """The first payment past its date and not fully paid (its grace days may not be over yet)."""
        return next((p for p in self.progress.payments if p.due_date < today and p.left > 0), None)


def span_months(start: dt.date, last_due: dt.date) -> int:
    """Whole months from `start` to `last_due`, a part month counting as one."""
    gap = relativedelta(last_due, start)
    return gap.years * 12 + gap.months + (1 if gap.days > 0 else 0)


def decide_replan(kind: str, plan: PlanInForce, length: int, last_due: dt.date, history: History,
                  envelope: Envelope | None, policy: ReplanPolicy, today: dt.date) -> PlanDecision:
    """Approved when the new plan (`length` periods, its last payment on `last_due`) may replace `plan` by the
    policy's re-plan rules; otherwise staff review, naming the rules outside."""
    if kind != REPLAN_KIND:
        return PlanDecision(kind, DecisionOutcome.REVIEW, (
            RuleApplied("replan_kind", REPLAN_KIND, kind, False, {"number": plan.agreement_number}),))
    if envelope is None:
        return staff_only(kind)
    since = today - relativedelta(months=policy.within_months)
    earlier = sum(1 for day in plan.replans_on if day > since)
    late = plan.late_payment(today)
    span = span_months(plan.first_start, last_due)
    remaining = plan.remaining
    rules = [
        RuleApplied("replans", str(policy.max_replans), str(earlier), earlier < policy.max_replans,
                    {"limit": policy.max_replans, "value": earlier, "months": policy.within_months}),
        RuleApplied("plan_late", "", late.due_date.isoformat() if late else "", late is None,
                    {"number": plan.agreement_number, "day": Day(late.due_date) if late else "",
                     "amount": Money(late.left) if late else ""}),
        RuleApplied("amount", str(envelope.max_amount), str(remaining), remaining <= envelope.max_amount,
                    {"limit": Money(envelope.max_amount), "value": Money(remaining)}),
        RuleApplied("length", str(envelope.max_length), str(length), length <= envelope.max_length,
                    {"limit": envelope.max_length, "value": length}),
        RuleApplied("total_length", str(envelope.max_length), str(span), span <= envelope.max_length,
                    {"limit": envelope.max_length, "value": span, "start": Day(plan.first_start)}),
        *broken_plan_rules(envelope, history, today),
        escalation_rule(envelope, history),
    ]
    return decided(kind, rules)
