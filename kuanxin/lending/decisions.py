"""Decisions within limits: whether the assistant may approve a plan itself, or staff must review it.

The policy (policy.yml `automatic_decisions`, kuanxin.core.policy.Envelope) states per kind the envelope the
assistant approves on the spot: days overdue, amount, number of periods or months, no plan broken lately, no
other plan of the kind lately, no open dispute or complaint. A request that passes the eligibility rules
(kuanxin/lending/eligibility.py) and lies inside the envelope is approved; one outside it goes to staff review, and
each rule outside is named in the borrower's terms (catalogue texts `decision.rule.<code>`).

Every decision lists every rule it applied with its limit and the borrower's value, passed or not, so the record
kept of it (kuanxin/store/agreements.py) says exactly why. No I/O here: the history is handed in.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta

from kuanxin.core import texts
from kuanxin.core.formats import Day, Money
from kuanxin.core.policy import Envelope
from kuanxin.core.vocab import DecisionOutcome
from kuanxin.lending.overdue import LoanStatement


@dataclass(frozen=True)
class RuleApplied:
    """One rule of the envelope as applied: its limit, the borrower's value, and whether it passed."""

    code: str  # days_overdue | amount | length | broken_plan | recent_plan | open_escalation | staff_only
    #            and for a re-plan (kuanxin/lending/replan.py): replans | plan_late | total_length | replan_kind
    limit: str
    value: str
    passed: bool
    values: dict[str, object] = field(default_factory=dict, hash=False, compare=False)  # for the catalogue text

    def explain(self, kind: str, language: str = texts.DEFAULT_LANGUAGE) -> str:
        """Why this rule sends the request to staff, in the borrower's terms."""
        return texts.text(f"decision.rule.{kind}.{self.code}", language, None, **self.values)

    def record(self) -> dict[str, object]:
        return {"rule": self.code, "limit": self.limit, "value": self.value, "passed": self.passed}


@dataclass(frozen=True)
class PlanDecision:
    kind: str  # installment | deferral
    outcome: str  # DecisionOutcome: approved (by the assistant) | review (by staff)
    rules: tuple[RuleApplied, ...]

    @property
    def approved(self) -> bool:
        return self.outcome == DecisionOutcome.APPROVED

    @property
    def outside(self) -> tuple[RuleApplied, ...]:
        return tuple(rule for rule in self.rules if not rule.passed)

    def reasons(self, language: str = texts.DEFAULT_LANGUAGE) -> list[str]:
        return [rule.explain(self.kind, language) for rule in self.outside]

    def record(self) -> dict[str, object]:
        """What is kept of the decision: the kind, the outcome, and every rule with its limit and value."""
        return {"kind": self.kind, "outcome": self.outcome, "rules": [rule.record() for rule in self.rules]}


@dataclass(frozen=True)
class History:
    """What the decision needs to know beyond the loan: handed in by the caller from the store."""

    plans_broken_on: tuple[dt.date, ...] = ()  # the days the borrower's plans broke
    approved_on: tuple[dt.date, ...] = ()  # the days plans of this kind were approved on this loan
    open_escalations: tuple[str, ...] = ()  # the reasons of the borrower's open escalations


def _since(today: dt.date, months: int) -> dt.date:
    return today - relativedelta(months=months)


def decide(kind: str, statement: LoanStatement, length: int, history: History, envelope: Envelope | None,
           today: dt.date) -> PlanDecision:
    """Approved when every rule of the kind's envelope passes; otherwise staff review, naming the rules outside.

    `length` is the number of periods (installment) or months (deferral) asked for. Call it only for a request the
    eligibility rules allow: this decides who approves it, not whether it may be asked."""
    if envelope is None:
        return staff_only(kind)
    rules = [
        RuleApplied("days_overdue", str(envelope.max_days_overdue), str(statement.days_overdue),
                    statement.days_overdue <= envelope.max_days_overdue,
                    {"limit": envelope.max_days_overdue, "value": statement.days_overdue}),
        RuleApplied("amount", str(envelope.max_amount), str(statement.total), statement.total <= envelope.max_amount,
                    {"limit": Money(envelope.max_amount), "value": Money(statement.total)}),
        RuleApplied("length", str(envelope.max_length), str(length), length <= envelope.max_length,
                    {"limit": envelope.max_length, "value": length}),
    ]
    rules += broken_plan_rules(envelope, history, today)
    if envelope.once_per_months:
        since = _since(today, envelope.once_per_months)
        earlier = sorted(day for day in history.approved_on if day > since)
        rules.append(RuleApplied("recent_plan", str(envelope.once_per_months),
                                 earlier[-1].isoformat() if earlier else "", not earlier,
                                 {"months": envelope.once_per_months, "day": Day(earlier[-1]) if earlier else ""}))
    rules.append(escalation_rule(envelope, history))
    return decided(kind, rules)


def decided(kind: str, rules: Iterable[RuleApplied]) -> PlanDecision:
    """Approved by the assistant when every rule passed, otherwise staff review."""
    rules = tuple(rules)
    outcome = DecisionOutcome.APPROVED if all(rule.passed for rule in rules) else DecisionOutcome.REVIEW
    return PlanDecision(kind, outcome, rules)


def staff_only(kind: str) -> PlanDecision:
    """A kind the policy does not name: always staff."""
    return PlanDecision(kind, DecisionOutcome.REVIEW, (RuleApplied("staff_only", "", kind, False),))


def broken_plan_rules(envelope: Envelope, history: History, today: dt.date) -> list[RuleApplied]:
    """No plan of the borrower's broken within the envelope's months (none when the envelope sets no months)."""
    if not envelope.broken_plan_months:
        return []
    since = _since(today, envelope.broken_plan_months)
    broken = sorted(day for day in history.plans_broken_on if day > since)
    return [RuleApplied("broken_plan", str(envelope.broken_plan_months), broken[-1].isoformat() if broken else "",
                        not broken, {"months": envelope.broken_plan_months, "day": Day(broken[-1]) if broken else ""})]


def escalation_rule(envelope: Envelope, history: History) -> RuleApplied:
    blocking = sorted(set(history.open_escalations) & set(envelope.open_escalations_block))
    return RuleApplied("open_escalation", ",".join(envelope.open_escalations_block), ",".join(blocking),
                       not blocking)


def broken_days(plans: Iterable[tuple[str, dt.date | None]]) -> tuple[dt.date, ...]:
    """The days plans broke, from (status, ended_on) pairs."""
    return tuple(day for status, day in plans if status == "broken" and day is not None)

