"""The console's view of plans (issue 18): the assistant's automated decisions beside the staff's, each with the
rules that decided it; the written agreements and one agreement's whole record; the plans in force, completed,
broken, superseded or revoked; and a supervisor's revocation of an automated approval within the policy's
cooling-off window (policy.yml plans.cooling_off_hours; kuanxin/store/agreements.py PlanBook.revoke records it).

Every code is shown in staff words (texts/zh.yml console.*, kuanxin/console/labels.py); times are Beijing times.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from kuanxin.console.casework import REASONS, REQUEST_KINDS, Forbidden
from kuanxin.console.labels import CHANNELS, DECISION_OUTCOMES, LANGUAGES, Labels, OpenLabels, words
from kuanxin.console.staff import Staff
from kuanxin.core import clock
from kuanxin.core.formats import money
from kuanxin.core.vocab import PlanStatus, RequestStatus, RequestType
from kuanxin.store.agreements import ASSISTANT, PlanBook, RevocationRefused
from kuanxin.store.db import Database, database
from kuanxin.store.models import Agreement, PlanDecisionRecord, PlanRevocation, RepaymentPlan, ServiceRequest

PLAN_STATUS = Labels("plan_status", PlanStatus.values())
RULES = OpenLabels("rule")  # the envelope's rules and the eligibility rules, by code
SHOWN = 100
TIME_FORMAT = "%Y-%m-%d %H:%M"


def beijing(naive_utc: dt.datetime | None) -> str:
    return clock.beijing_time(naive_utc).strftime(TIME_FORMAT) if naive_utc else ""


def _json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


# --- the rules that decided, in staff words -------------------------------------------------------------------
@dataclass(frozen=True)
class RuleLine:
    rule: str  # what the rule is about
    limit: str  # the policy's limit, as staff read it ("" when the rule has none)
    value: str  # the borrower's value
    passed: bool
    result: str  # 符合 / 不符合


def _amount(text: str) -> str:
    try:
        return money(Decimal(text))
    except (InvalidOperation, ValueError):
        return text


def _reasons(text: str) -> str:
    return "、".join(REASONS.of(code) for code in text.split(",") if code) or words("rule_text.none")


def _shown(code: str, kind: str, limit: str, value: str) -> tuple[str, str]:
    """A rule's limit and value as staff read them."""
    unit = words(f"rule_text.unit.{kind}") if kind in (RequestType.INSTALLMENT, RequestType.DEFERRAL) else ""
    if code == "days_overdue":
        return words("rule_text.at_most", limit=words("rule_text.days", n=limit)), words("rule_text.days", n=value)
    if code == "amount":
        return words("rule_text.at_most", limit=_amount(limit)), _amount(value)
    if code == "length":
        return words("rule_text.at_most", limit=f"{limit}{unit}"), f"{value}{unit}"
    if code in ("broken_plan", "recent_plan"):
        return words("rule_text.within_months", n=limit), value or words("rule_text.none")
    if code == "open_escalation":
        return _reasons(limit), _reasons(value)
    if code == "staff_only":
        return "", REQUEST_KINDS.of(value)
    if code == "replans":  # a re-plan's (kuanxin/lending/replan.py)
        return words("rule_text.at_most", limit=words("rule_text.times", n=limit)), words("rule_text.times", n=value)
    if code == "total_length":
        return words("rule_text.at_most", limit=words("rule_text.months", n=limit)), words("rule_text.months", n=value)
    if code == "plan_late":
        return "", value or words("rule_text.none")
    if code == "replan_kind":
        return REQUEST_KINDS.of(limit), REQUEST_KINDS.of(value)
    return limit, value


def rule_lines(kind: str, record: Any) -> list[RuleLine]:
    """The rules a decision applied: the envelope's (with limit and value) or the eligibility rules that refused."""
    rules = record.get("rules") if isinstance(record, dict) else record
    lines = []
    for rule in rules if isinstance(rules, list) else []:
        if not isinstance(rule, dict):
            continue
        code = str(rule.get("rule", ""))
        passed = bool(rule.get("passed", False))
        limit, value = _shown(code, kind, str(rule.get("limit", "")), str(rule.get("value", "")))
        lines.append(RuleLine(RULES.of(code), limit, value, passed,
                              words("rule_text.result.passed" if passed else "rule_text.result.failed")))
    return lines


# --- decisions: the assistant's and the staff's side by side ----------------------------------------------------
@dataclass(frozen=True)
class DecisionLine:
    at: str
    sort_key: dt.datetime
    automated: bool
    decided_by: str  # login name, or ASSISTANT
    borrower_id: str
    loan_id: str
    kind: str
    length: str
    outcome: str
    reference: str
    reason: str  # a staff decision's reason
    rules: list[RuleLine]


def _length(kind: str, length: int | None) -> str:
    if not length or kind not in (RequestType.INSTALLMENT, RequestType.DEFERRAL):
        return ""
    return f"{length}{words(f'rule_text.unit.{kind}')}"


def decision_lines(db: Database, limit: int = SHOWN) -> list[DecisionLine]:
    """The newest automated and staff decisions on plans and waivers, newest first."""
    with db.session() as session:
        automated = session.execute(select(PlanDecisionRecord).order_by(PlanDecisionRecord.id.desc())
                                    .limit(limit)).scalars().all()
        by_staff = session.execute(select(ServiceRequest).where(
            ServiceRequest.decided_at.is_not(None), ServiceRequest.decided_by != ASSISTANT,
            ServiceRequest.status.in_((RequestStatus.APPROVED, RequestStatus.REJECTED)))
            .order_by(ServiceRequest.decided_at.desc()).limit(limit)).scalars().all()
    lines = [DecisionLine(beijing(d.decided_at), d.decided_at, True, ASSISTANT, d.borrower_id, d.loan_id,
                          REQUEST_KINDS.of(d.kind), _length(d.kind, d.length), DECISION_OUTCOMES.of(d.outcome),
                          d.request_reference or "", "", rule_lines(d.kind, _json(d.rules)))
             for d in automated]
    lines += [DecisionLine(beijing(r.decided_at), r.decided_at, False, r.decided_by or "", r.borrower_id,
                           r.loan_id or "", REQUEST_KINDS.of(r.type),
                           _length(r.type, r.periods if r.type == RequestType.INSTALLMENT else r.months),
                           words(f"staff_decision.{r.status}"), r.reference or "", r.decision_reason or "", [])
              for r in by_staff]
    return sorted(lines, key=lambda line: line.sort_key, reverse=True)[:limit]


# --- plans and agreements -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanLine:
    number: str
    borrower_id: str
    loan_id: str
    kind: str
    status_code: str
    status: str
    starts_on: str
    ended_on: str
    payments: int
    total: str


def _plan_line(plan: RepaymentPlan) -> PlanLine:
    payments = _json(plan.payments) or []
    total = sum((Decimal(str(p.get("amount", "0"))) for p in payments if isinstance(p, dict)), Decimal("0"))
    return PlanLine(plan.agreement_number, plan.borrower_id, plan.loan_id, REQUEST_KINDS.of(plan.kind),
                    plan.status, PLAN_STATUS.of(plan.status), plan.starts_on.isoformat(),
                    plan.ended_on.isoformat() if plan.ended_on else "", len(payments), money(total))


def plan_lines(db: Database, status: str | None = None, limit: int = SHOWN) -> list[PlanLine]:
    query = select(RepaymentPlan).order_by(RepaymentPlan.id.desc()).limit(limit)
    if status:
        query = query.where(RepaymentPlan.status == status)
    with db.session() as session:
        return [_plan_line(plan) for plan in session.execute(query).scalars()]


def plan_counts(db: Database) -> dict[str, int]:
    with db.session() as session:
        statuses = session.execute(select(RepaymentPlan.status)).scalars().all()
    return {status: statuses.count(status) for status in PlanStatus.values()}


@dataclass(frozen=True)
class AgreementLine:
    number: str
    borrower_id: str
    loan_id: str
    kind: str
    accepted_at: str
    channel: str
    supersedes: str


def agreement_lines(db: Database, limit: int = SHOWN) -> list[AgreementLine]:
    with db.session() as session:
        rows = session.execute(select(Agreement).where(Agreement.number.is_not(None))
                               .order_by(Agreement.id.desc()).limit(limit)).scalars().all()
    return [AgreementLine(a.number or "", a.borrower_id, a.loan_id, REQUEST_KINDS.of(a.kind), beijing(a.accepted_at),
                          CHANNELS.of(a.channel), a.supersedes or "") for a in rows]


@dataclass(frozen=True)
class PaymentLine:
    number: str
    due: str
    amount: str


@dataclass(frozen=True)
class AgreementRecord:
    """One agreement with everything recorded about it, in staff words."""

    agreement: Agreement
    kind: str
    accepted_at: str
    channel: str
    template: str
    language: str
    identity_check: str
    payments: list[PaymentLine]
    superseded_by: str | None
    plan: PlanLine | None
    decision: DecisionLine | None
    revocation: PlanRevocation | None
    revoked_at: str
    revocable_until: dt.datetime | None  # naive UTC end of the cooling-off window, for an automated approval
    revocable_until_shown: str
    revocable: bool  # in force and within the window now


def identity_words(raw: str) -> str:
    check = _json(raw) or {}
    method = check.get("method") if isinstance(check, dict) else None
    at = check.get("at", "") if isinstance(check, dict) else ""
    try:
        when = beijing(dt.datetime.fromisoformat(at)) if at else ""
    except ValueError:
        when = ""
    if method == "identity":
        return words("identity_check.identity", at=when)
    if method == "binding":
        return words("identity_check.binding", channel=CHANNELS.of(check.get("channel")), at=when)
    return words("identity_check.unknown")


def template_words(key: str, kind: str) -> str:
    version = key.rsplit(".v", 1)[-1] if ".v" in key else ""
    return words("template", kind=REQUEST_KINDS.of(kind), version=version if version.isdigit() else "?")


def agreement_record(number: str, cooling_off_hours: int, db: Database | None = None) -> AgreementRecord | None:
    db = db or database()
    book = PlanBook(db)
    agreement = book.agreement(number)
    if agreement is None:
        return None
    with db.session() as session:
        plan = session.execute(select(RepaymentPlan).where(
            RepaymentPlan.agreement_number == number)).scalar_one_or_none()
        decision = session.get(PlanDecisionRecord, agreement.decision_id) if agreement.decision_id else None
    terms = _json(agreement.terms) or {}
    payments = [PaymentLine(str(p.get("n", "")), str(p.get("due", "")), _amount(str(p.get("amount", ""))))
                for p in (terms.get("payments") or []) if isinstance(p, dict)]
    decided = None
    if decision is not None:
        decided = DecisionLine(beijing(decision.decided_at), decision.decided_at, True, ASSISTANT,
                               decision.borrower_id, decision.loan_id, REQUEST_KINDS.of(decision.kind),
                               _length(decision.kind, decision.length), DECISION_OUTCOMES.of(decision.outcome),
                               decision.request_reference or "", "", rule_lines(decision.kind, _json(decision.rules)))
    revocation = book.revocation(number)
    until = agreement.accepted_at + dt.timedelta(hours=cooling_off_hours) if decision is not None else None
    now = clock.now().astimezone(dt.timezone.utc).replace(tzinfo=None)
    revocable = (until is not None and now < until and plan is not None and plan.status == PlanStatus.IN_FORCE)
    return AgreementRecord(agreement, REQUEST_KINDS.of(agreement.kind), beijing(agreement.accepted_at),
                           CHANNELS.of(agreement.channel), template_words(agreement.template, agreement.kind),
                           LANGUAGES.of(agreement.language), identity_words(agreement.identity_check), payments,
                           book.superseded_by(number), _plan_line(plan) if plan else None, decided, revocation,
                           beijing(revocation.revoked_at) if revocation else "", until, beijing(until), revocable)


# --- revoking an automated approval -----------------------------------------------------------------------------
class RevocationError(ValueError):
    """A revocation refused, with the words staff read."""


def revoke(staff: Staff, number: str, reason: str, now: dt.datetime, today: dt.date, cooling_off_hours: int,
           db: Database | None = None) -> PlanRevocation:
    """A supervisor revokes the assistant's approval of an agreement (an agent may not: Forbidden)."""
    if not staff.is_supervisor:
        raise Forbidden(words("revoke.refused.role"))
    try:
        return PlanBook(db or database()).revoke(number, by=staff.username, reason=reason, now=now, today=today,
                                                 cooling_off_hours=cooling_off_hours)
    except RevocationRefused as refused:
        raise RevocationError(words(f"revoke.refused.{refused.code}", hours=cooling_off_hours)) from refused
