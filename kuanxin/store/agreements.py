"""Plans decided within limits and agreed in writing, as stored: the automated decisions (with every rule applied),
the written agreements (append-only), the plans in force under them, and how each plan's life ended.

An acceptance is one transaction: the decision, the approved request, the agreement with its number, the plan in
force, the audit entry and the lender's event (plan.accepted) commit together or not at all.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kuanxin.core import clock
from kuanxin.core.vocab import (
    AuditAction,
    DecisionOutcome,
    EscalationStatus,
    EventKind,
    PlanStatus,
    RequestStatus,
)
from kuanxin.lending import plan_life
from kuanxin.lending.agreement import AgreementDraft, payments_of
from kuanxin.lending.decisions import History
from kuanxin.lending.replan import PlanInForce
from kuanxin.store import outbox
from kuanxin.store.accounts import reference_for, utc_naive
from kuanxin.store.db import Database, database
from kuanxin.store.models import (
    Agreement,
    AuditEntry,
    Escalation,
    IdentityAttempt,
    Payment,
    PlanDecisionRecord,
    PlanOffer,
    PlanRevocation,
    RepaymentPlan,
    SenderBinding,
    ServiceRequest,
)

ASSISTANT = "assistant"  # who decided, in audit entries and on requests the assistant approved
AGREEMENT_PREFIX = "XY"  # 协议: XY20261122-0001


class RevocationRefused(ValueError):
    """A revocation that may not happen; `code` says why: unknown, not_automated, not_in_force, window_over,
    no_reason."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Accepted:
    agreement: Agreement
    plan: RepaymentPlan
    request: ServiceRequest


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def _audit(session: Session, now: dt.datetime, conversation_id: str | None, target: str | None,
           record: dict[str, Any]) -> None:
    session.add(AuditEntry(at=utc_naive(now), staff=ASSISTANT, action=AuditAction.AUTOMATED_DECISION,
                           conversation_id=conversation_id, target=target, detail=_json(record)))


class PlanBook:
    def __init__(self, db: Database | None = None):
        self.db = db or database()

    # --- what a decision needs to know ---------------------------------------------------------
    def history(self, borrower_id: str, loan_id: str, kind: str) -> History:
        with self.db.session() as session:
            broken = session.execute(select(RepaymentPlan.ended_on).where(
                RepaymentPlan.borrower_id == borrower_id, RepaymentPlan.status == PlanStatus.BROKEN)).scalars().all()
            approved = session.execute(select(ServiceRequest.created_on).where(
                ServiceRequest.loan_id == loan_id, ServiceRequest.type == kind,
                ServiceRequest.status == RequestStatus.APPROVED)).scalars().all()
            escalations = session.execute(select(Escalation.reason).where(
                Escalation.borrower_id == borrower_id,
                Escalation.status != EscalationStatus.RESOLVED)).scalars().all()
        return History(tuple(day for day in broken if day), tuple(approved), tuple(escalations))

    # --- decisions --------------------------------------------------------------------------------
    def record_decision(self, *, borrower_id: str, loan_id: str, kind: str, outcome: str, length: int | None,
                        rules: Any, conversation_id: str, now: dt.datetime,
                        request_reference: str | None = None) -> PlanDecisionRecord:
        """An automated decision that sent a request to staff or refused it (approvals: `accept`), with its audit
        entry, in one transaction."""
        with self.db.session() as session:
            record = self._decision(session, borrower_id=borrower_id, loan_id=loan_id, kind=kind, outcome=outcome,
                                    length=length, rules=rules, conversation_id=conversation_id, now=now,
                                    request_reference=request_reference)
        return record

    @staticmethod
    def _decision(session: Session, *, borrower_id: str, loan_id: str, kind: str, outcome: str, length: int | None,
                  rules: Any, conversation_id: str, now: dt.datetime,
                  request_reference: str | None) -> PlanDecisionRecord:
        record = PlanDecisionRecord(borrower_id=borrower_id, loan_id=loan_id, kind=kind, outcome=outcome,
                                    length=length, rules=_json(rules), request_reference=request_reference,
                                    conversation_id=conversation_id, decided_at=utc_naive(now))
        session.add(record)
        session.flush()
        _audit(session, now, conversation_id, request_reference or loan_id,
               {"decision": record.id, "kind": kind, "outcome": outcome, "length": length, "rules": rules})
        return record

    def latest_refusal(self, conversation_id: str) -> PlanDecisionRecord | None:
        """The last automated refusal in this conversation: what a borrower may ask a person to review."""
        with self.db.session() as session:
            return session.execute(select(PlanDecisionRecord).where(
                PlanDecisionRecord.conversation_id == conversation_id,
                PlanDecisionRecord.outcome == DecisionOutcome.REFUSED)
                .order_by(PlanDecisionRecord.id.desc()).limit(1)).scalar_one_or_none()

    def decisions_of(self, borrower_id: str) -> list[PlanDecisionRecord]:
        with self.db.session() as session:
            return list(session.execute(select(PlanDecisionRecord).where(
                PlanDecisionRecord.borrower_id == borrower_id).order_by(PlanDecisionRecord.id)).scalars())

    def record_offer(self, *, borrower_id: str, loan_id: str, kind: str, length: int, sha256: str,
                     conversation_id: str, now: dt.datetime) -> bool:
        """An agreement shown in full for acceptance; once per text and conversation (False when already so)."""
        try:
            with self.db.session() as session:
                session.add(PlanOffer(borrower_id=borrower_id, loan_id=loan_id, kind=kind, length=length,
                                      sha256=sha256, conversation_id=conversation_id, offered_at=utc_naive(now)))
        except IntegrityError:
            return False
        return True

    # --- acceptance -------------------------------------------------------------------------------
    def identity_check(self, conversation_id: str, borrower_id: str) -> dict[str, Any]:
        """How the borrower behind this conversation proved who they are: their latest successful identity check
        here, or the channel's binding of the conversation to them."""
        with self.db.session() as session:
            attempt = session.execute(select(IdentityAttempt).where(
                IdentityAttempt.conversation_id == conversation_id, IdentityAttempt.succeeded.is_(True))
                .order_by(IdentityAttempt.at.desc()).limit(1)).scalar_one_or_none()
            binding = session.get(SenderBinding, conversation_id)
        if attempt is not None:
            return {"method": "identity", "attempt_id": attempt.id, "at": attempt.at.isoformat()}
        if binding is not None and binding.borrower_id == borrower_id:
            return {"method": "binding", "channel": binding.channel, "at": binding.created_at.isoformat()}
        return {"method": "unknown"}

    def accept(self, *, borrower_id: str, loan_id: str, length: int, draft: AgreementDraft, rules: Any,
               channel: str | None, conversation_id: str, identity_check: dict[str, Any], today: dt.date,
               now: dt.datetime, supersedes: str | None = None) -> Accepted:
        """The borrower accepted an agreement the assistant may approve: decision, approved request (the pending one
        of the kind on the loan, if any, now approved with these terms), agreement, plan in force, audit, event.
        `supersedes` names the agreement this one replaces: its plan ends as superseded in the same transaction."""
        try:
            return self._accept(borrower_id=borrower_id, loan_id=loan_id, length=length, draft=draft, rules=rules,
                                channel=channel, conversation_id=conversation_id, identity_check=identity_check,
                                today=today, now=now, supersedes=supersedes)
        except IntegrityError:  # a repeated or concurrent acceptance: the plan already in force on the loan answers
            with self.db.session() as session:
                plan = session.execute(select(RepaymentPlan).where(
                    RepaymentPlan.open_key == loan_id)).scalar_one_or_none()
                agreement = session.execute(select(Agreement).where(
                    Agreement.number == plan.agreement_number)).scalar_one() if plan else None
                request = session.execute(select(ServiceRequest).where(
                    ServiceRequest.reference == agreement.request_reference)).scalar_one() if agreement else None
            if plan is None or agreement is None or request is None or agreement.sha256 != draft.sha256:
                raise
            return Accepted(agreement, plan, request)

    def _accept(self, *, borrower_id: str, loan_id: str, length: int, draft: AgreementDraft, rules: Any,
                channel: str | None, conversation_id: str, identity_check: dict[str, Any], today: dt.date,
                now: dt.datetime, supersedes: str | None) -> Accepted:
        kind = draft.kind
        with self.db.session() as session:
            if supersedes is not None:  # the earlier plan ends as replaced; its agreement stays as it was
                earlier = session.execute(select(RepaymentPlan).where(
                    RepaymentPlan.agreement_number == supersedes).with_for_update()).scalar_one()
                if earlier.status == PlanStatus.IN_FORCE:
                    earlier.status, earlier.ended_on, earlier.open_key = PlanStatus.SUPERSEDED, today, None
                    session.flush()
            request = session.execute(select(ServiceRequest).where(
                ServiceRequest.loan_id == loan_id, ServiceRequest.type == kind,
                ServiceRequest.status == RequestStatus.PENDING).with_for_update()).scalar_one_or_none()
            details = {"total": draft.terms["values"]["total"], "plan": draft.terms["payments"]}
            if request is None:
                request = ServiceRequest(borrower_id=borrower_id, loan_id=loan_id, type=kind, created_on=today,
                                         created_at=utc_naive(now), conversation_id=conversation_id)
                session.add(request)
            else:  # the borrower's pending request, now with the terms they accepted: audited like any change
                before = (request.months, request.periods)
                after = (length if kind == "deferral" else request.months,
                         length if kind == "installment" else request.periods)
                if before != after:
                    change = f"months {before[0]} -> {after[0]}, periods {before[1]} -> {after[1]}"
                    session.add(AuditEntry(at=utc_naive(now), staff="borrower", action=AuditAction.REQUEST_CHANGED,
                                           conversation_id=conversation_id, target=request.reference, detail=change))
            request.status = RequestStatus.APPROVED
            request.periods = length if kind == "installment" else request.periods
            request.months = length if kind == "deferral" else request.months
            request.details = _json(details)
            request.open_key = None
            request.decided_at, request.decided_by = utc_naive(now), ASSISTANT
            session.flush()
            request.reference = request.reference or reference_for(kind, today, request.id)
            decision = self._decision(session, borrower_id=borrower_id, loan_id=loan_id, kind=kind,
                                      outcome=DecisionOutcome.APPROVED, length=length, rules=rules,
                                      conversation_id=conversation_id, now=now, request_reference=request.reference)
            agreement = Agreement(borrower_id=borrower_id, loan_id=loan_id, kind=kind,
                                  request_reference=request.reference, decision_id=decision.id,
                                  template=draft.template, language=draft.language, text=draft.text,
                                  sha256=draft.sha256, terms=_json(draft.terms), accepted_at=utc_naive(now),
                                  channel=channel, conversation_id=conversation_id,
                                  identity_check=_json(identity_check), supersedes=supersedes)
            session.add(agreement)
            session.flush()
            agreement.number = f"{AGREEMENT_PREFIX}{today:%Y%m%d}-{agreement.id:04d}"
            request.decision_reason = agreement.number
            plan = RepaymentPlan(agreement_number=agreement.number, borrower_id=borrower_id, loan_id=loan_id,
                                 kind=kind, starts_on=today, payments=_json(draft.terms["payments"]),
                                 status=PlanStatus.IN_FORCE, open_key=loan_id)
            session.add(plan)
            session.flush()
            outbox.record_event(session, EventKind.PLAN_ACCEPTED, borrower_id, {
                "agreement": agreement.number, "request": request.reference, "loan_id": loan_id, "kind": kind,
                "sha256": agreement.sha256, "accepted_at": agreement.accepted_at, "payments": draft.terms["payments"],
                "decided_by": ASSISTANT, **({"supersedes": supersedes} if supersedes else {})}, now)
        return Accepted(agreement, plan, request)

    # --- agreements and plans ---------------------------------------------------------------------
    def agreement(self, number: str) -> Agreement | None:
        with self.db.session() as session:
            return session.execute(select(Agreement).where(Agreement.number == number)).scalar_one_or_none()

    def superseded_by(self, number: str) -> str | None:
        with self.db.session() as session:
            return session.execute(select(Agreement.number).where(Agreement.supersedes == number)
                                   .limit(1)).scalar_one_or_none()

    def plans_in_force(self, borrower_id: str) -> list[RepaymentPlan]:
        with self.db.session() as session:
            return list(session.execute(select(RepaymentPlan).where(
                RepaymentPlan.borrower_id == borrower_id, RepaymentPlan.status == PlanStatus.IN_FORCE)
                .order_by(RepaymentPlan.id)).scalars())

    def all_in_force(self) -> list[RepaymentPlan]:
        with self.db.session() as session:
            return list(session.execute(select(RepaymentPlan).where(RepaymentPlan.status == PlanStatus.IN_FORCE)
                                        .order_by(RepaymentPlan.id)).scalars())

    def follow_all(self, today: dt.date, now: dt.datetime, grace_days: int,
                   dry_run: bool = False) -> list[tuple[str, str]]:
        """Every plan in force looked at today (the daily run): (agreement number, status) of those that ended."""
        ended = []
        for plan in self.all_in_force():
            progress = self.progress(plan, today, grace_days) if dry_run else self.follow(plan, today, now, grace_days)
            if progress.status != PlanStatus.IN_FORCE:
                ended.append((plan.agreement_number, str(progress.status)))
        return ended

    def payments_due_soon(self, today: dt.date, days_before: int,
                          grace_days: int) -> dict[str, tuple[Decimal, dt.date]]:
        """borrower id -> (what is left of their next plan payment, its date), for the plans in force whose next
        payment falls due from today to `days_before` days ahead (a borrower's payments due that same first day
        are added up). A payment already late is not "before its date": the grace rules handle it."""
        due: dict[str, tuple[Decimal, dt.date]] = {}
        for plan in self.all_in_force():
            progress = self.progress(plan, today, grace_days)
            upcoming = progress.next_payment
            if progress.status != PlanStatus.IN_FORCE or upcoming is None:
                continue
            if not today <= upcoming.due_date <= today + dt.timedelta(days=days_before):
                continue
            amount, day = due.get(plan.borrower_id, (Decimal("0.00"), upcoming.due_date))
            if upcoming.due_date < day:
                amount, day = Decimal("0.00"), upcoming.due_date
            if upcoming.due_date == day:
                due[plan.borrower_id] = (amount + upcoming.left, day)
        return due

    def in_force_on(self, loan_id: str, today: dt.date, grace_days: int) -> PlanInForce | None:
        """The plan in force on the loan, as a re-plan needs it: what it leaves unpaid today, the start of the first
        plan it continues, and the days the loan's re-plans were accepted. None when there is none, or when it is in
        fact completed or broken by today (then there is nothing to replace)."""
        with self.db.session() as session:
            plan = session.execute(select(RepaymentPlan).where(
                RepaymentPlan.open_key == loan_id, RepaymentPlan.status == PlanStatus.IN_FORCE)).scalar_one_or_none()
            if plan is None:
                return None
            chain = session.execute(select(Agreement.number, Agreement.supersedes, Agreement.accepted_at).where(
                Agreement.loan_id == loan_id)).all()
            starts = {row.agreement_number: row.starts_on for row in session.execute(select(
                RepaymentPlan.agreement_number, RepaymentPlan.starts_on).where(RepaymentPlan.loan_id == loan_id))}
        progress = self.progress(plan, today, grace_days)
        if progress.status != PlanStatus.IN_FORCE:
            return None
        before = {row.number: row.supersedes for row in chain}
        first, seen = plan.agreement_number, set()
        while before.get(first) in starts and first not in seen:  # back to the first plan the chain continues
            seen.add(first)
            first = str(before[first])
        replans = tuple(clock.beijing_date(row.accepted_at) for row in chain if row.supersedes)
        ledger_from, counted = self.ledger_window(plan)
        return PlanInForce(plan.agreement_number, plan.kind, starts[first], progress, replans, ledger_from, counted)

    def payments_since(self, loan_id: str, day: dt.date) -> list[tuple[dt.date, Decimal]]:
        """The ledger's entries on the loan from `day` on (charge-backs negative), for the plan's progress."""
        with self.db.session() as session:
            rows = session.execute(select(Payment.paid_on, Payment.amount).where(
                Payment.loan_id == loan_id, Payment.paid_on >= day)).all()
        return [(row.paid_on, row.amount) for row in rows]

    def ledger_window(self, plan: RepaymentPlan) -> tuple[dt.date, Decimal]:
        """Which ledger entries count toward the plan: those on the loan from the day returned, less the amount
        returned. A plan's own day and nothing, unless it is a re-plan: then the day the first plan it continues
        started counting, less what the plans before it used (its agreement's terms), so a payment counted toward
        the old plan never counts again toward the new one."""
        with self.db.session() as session:
            terms = session.execute(select(Agreement.terms).where(
                Agreement.number == plan.agreement_number)).scalar_one_or_none()
        values = (json.loads(terms) if terms else {}).get("values", {})
        if "ledger_from" not in values:
            return plan.starts_on, Decimal("0.00")
        return dt.date.fromisoformat(values["ledger_from"]), Decimal(values["ledger_counted"])

    def progress(self, plan: RepaymentPlan, today: dt.date, grace_days: int) -> plan_life.PlanProgress:
        items = payments_of({"payments": json.loads(plan.payments)})
        since, counted = self.ledger_window(plan)
        ledger = self.payments_since(plan.loan_id, since)
        if counted:  # used by the plans this one replaced, before it started
            ledger.insert(0, (since, -counted))
        return plan_life.progress(items, ledger, today, grace_days)

    def follow(self, plan: RepaymentPlan, today: dt.date, now: dt.datetime,
               grace_days: int) -> plan_life.PlanProgress:
        """The plan's progress today; a plan found completed or broken is recorded so (once), with the lender's
        event, and no longer blocks the loan's own handling."""
        progress = self.progress(plan, today, grace_days)
        if progress.status == PlanStatus.IN_FORCE:
            return progress
        with self.db.session() as session:
            stored = session.get(RepaymentPlan, plan.id, with_for_update=True)
            if stored is None or stored.status != PlanStatus.IN_FORCE:
                return progress
            stored.status, stored.ended_on, stored.open_key = progress.status, progress.ended_on, None
            kind = EventKind.PLAN_BROKEN if progress.status == PlanStatus.BROKEN else EventKind.PLAN_COMPLETED
            outbox.record_event(session, kind, plan.borrower_id, {
                "agreement": plan.agreement_number, "loan_id": plan.loan_id, "on": progress.ended_on,
                "paid": progress.paid, "remaining": progress.remaining}, now)
        return progress

    # --- revocation by a supervisor, and telling the borrower a plan ended ---------------------------------------
    def revoke(self, number: str, *, by: str, reason: str, now: dt.datetime, today: dt.date,
               cooling_off_hours: int) -> PlanRevocation:
        """A supervisor's revocation of the assistant's approval of agreement `number`, while its plan is in force
        and within `cooling_off_hours` of acceptance. One transaction: the revocation record, the plan ended as
        revoked, the approved request rejected by the supervisor, the audit entry and the lender's `plan.revoked`
        event. The agreement itself is never changed. Who may revoke is the console's to check."""
        reason = reason.replace("\x00", "").strip()[:500]
        if not reason:
            raise RevocationRefused("no_reason")
        with self.db.session() as session:
            agreement = session.execute(select(Agreement).where(Agreement.number == number)).scalar_one_or_none()
            if agreement is None:
                raise RevocationRefused("unknown")
            if agreement.decision_id is None:
                raise RevocationRefused("not_automated")
            if utc_naive(now) >= agreement.accepted_at + dt.timedelta(hours=cooling_off_hours):
                raise RevocationRefused("window_over")
            plan = session.execute(select(RepaymentPlan).where(
                RepaymentPlan.agreement_number == number).with_for_update()).scalar_one_or_none()
            if plan is None or plan.status != PlanStatus.IN_FORCE:
                raise RevocationRefused("not_in_force")
            plan.status, plan.ended_on, plan.open_key = PlanStatus.REVOKED, today, None
            request = session.execute(select(ServiceRequest).where(
                ServiceRequest.reference == agreement.request_reference)).scalar_one_or_none()
            if request is not None and request.status == RequestStatus.APPROVED:
                request.status, request.decided_at, request.decided_by = RequestStatus.REJECTED, utc_naive(now), by
                request.decision_reason = reason
            revocation = PlanRevocation(agreement_number=number, borrower_id=agreement.borrower_id,
                                        loan_id=agreement.loan_id, revoked_by=by, reason=reason,
                                        revoked_at=utc_naive(now))
            session.add(revocation)
            session.add(AuditEntry(at=utc_naive(now), staff=by, action=AuditAction.REVOKE_PLAN,
                                   conversation_id=agreement.conversation_id, target=number, detail=reason))
            outbox.record_event(session, EventKind.PLAN_REVOKED, agreement.borrower_id, {
                "agreement": number, "request": agreement.request_reference, "loan_id": agreement.loan_id,
                "kind": agreement.kind, "revoked_at": utc_naive(now), "revoked_by": by, "reason": reason}, now)
            session.flush()
        return revocation

    def revocation(self, number: str) -> PlanRevocation | None:
        with self.db.session() as session:
            return session.execute(select(PlanRevocation).where(
                PlanRevocation.agreement_number == number)).scalar_one_or_none()

    def ended_untold(self, borrower_id: str) -> list[RepaymentPlan]:
        """The borrower's plans that ended without them (broken or revoked) and that they have not been told of."""
        with self.db.session() as session:
            return list(session.execute(select(RepaymentPlan).where(
                RepaymentPlan.borrower_id == borrower_id, RepaymentPlan.told_at.is_(None),
                RepaymentPlan.status.in_((PlanStatus.BROKEN, PlanStatus.REVOKED)))
                .order_by(RepaymentPlan.id)).scalars())

    def mark_told(self, plan_id: int, now: dt.datetime) -> bool:
        """Records that the borrower was told the plan ended; False when another conversation told them first."""
        with self.db.session() as session:
            plan = session.get(RepaymentPlan, plan_id, with_for_update=True)
            if plan is None or plan.told_at is not None:
                return False
            plan.told_at = utc_naive(now)
        return True
