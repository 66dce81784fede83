"""What staff do with escalated conversations: the queue, claiming, take-over, replies, notes,
resolutions and decisions on requests. Every change writes its audit entry in the same transaction.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Integer, case, func, or_, select, update
from sqlalchemy.sql.elements import Case

from kuanxin.console.clocks import by_urgency
from kuanxin.console.labels import Labels, words
from kuanxin.console.staff import Staff
from kuanxin.core import clock, policy
from kuanxin.core.vocab import (
    AuditAction,
    EscalationReason,
    EscalationStatus,
    EventKind,
    Priority,
    RequestStatus,
    RequestType,
)
from kuanxin.lending.identity import mask_text
from kuanxin.store.accounts import utc_naive
from kuanxin.store.assignment import next_in_turn
from kuanxin.store.db import Database, database
from kuanxin.store.models import (
    AuditEntry,
    ConversationNote,
    Escalation,
    OutboxEvent,
    SafetyFlag,
    ServiceRequest,
    StaffMember,
)
from kuanxin.store.outbox import decision_facts, record_event, requeue

STATUSES = EscalationStatus.values()
# staff wording (texts/zh.yml console.*) of the reasons actions/escalation.py records, requests, events, actions
REASONS = Labels("reason", EscalationReason.values())
REQUEST_KINDS = Labels("request_kind", RequestType.values())
ESCALATION_STATUS = Labels("escalation_status", STATUSES)
REQUEST_STATUS = Labels("request_status", RequestStatus.values())
EVENT_KINDS = Labels("event_kind", EventKind.values())
ACTIONS = Labels("action", AuditAction.values())
PRIORITIES = Labels("priority", Priority.values())
DECISIONS: dict[str, RequestStatus] = {AuditAction.APPROVE: RequestStatus.APPROVED,
                                       AuditAction.REJECT: RequestStatus.REJECTED}
MAX_TEXT = 2000
QUEUE_LIMIT = 200
# the actions that answer an escalation: the first of them stops its service clock (kuanxin.console.clocks)
ANSWERS = (AuditAction.CLAIM, AuditAction.TAKE_OVER, AuditAction.REPLY, AuditAction.RESOLVE, AuditAction.ASSIGN)


class CaseError(ValueError):
    """An action that does not apply (already decided, not found…), with a message for staff."""


class Forbidden(PermissionError):
    """The staff member's role does not allow the action."""


def _clean(text: str | None, limit: int = MAX_TEXT) -> str:
    return (text or "").replace("\x00", "").strip()[:limit]


class Casework:
    def __init__(self, db: Database | None = None):
        self.db = db or database()

    # reading

    def queue(self, *, status: str | None = EscalationStatus.OPEN, reason: str | None = None,
              priority: str | None = None, channel: str | None = None, since: dt.datetime | None = None,
              until: dt.datetime | None = None, owner: str | None = None) -> list[Escalation]:
        """Escalations matching the filters (`owner`: held by that staff member): a borrower in crisis (reason
        `safety`) first, then high priority, oldest first within each, so the limit never drops the longest waits. The
        console then orders them by urgency (kuanxin.console.clocks.by_urgency)."""
        query = select(Escalation)
        for column, value in ((Escalation.status, status), (Escalation.reason, reason),
                              (Escalation.priority, priority), (Escalation.channel, channel),
                              (Escalation.claimed_by, owner)):
            if value:
                query = query.where(column == value)
        if since:
            query = query.where(Escalation.created_at >= utc_naive(since))
        if until:
            query = query.where(Escalation.created_at < utc_naive(until))
        high_first: Case[Integer] = case((Escalation.reason == EscalationReason.SAFETY, 0),
                                     (Escalation.priority == Priority.HIGH, 1), else_=2)
        with self.db.session() as session:
            return list(session.execute(
                query.order_by(high_first, Escalation.created_at, Escalation.id).limit(QUEUE_LIMIT)).scalars())

    def counts_by_status(self) -> dict[str, int]:
        with self.db.session() as session:
            rows = session.execute(select(Escalation.status, func.count()).group_by(Escalation.status)).all()
        return {status: 0 for status in STATUSES} | {status: n for status, n in rows}

    def escalation(self, escalation_id: int) -> Escalation | None:
        with self.db.session() as session:
            return session.get(Escalation, escalation_id)

    def escalations_of(self, conversation_id: str, borrower_id: str | None = None) -> list[Escalation]:
        """This conversation's escalations and, when the borrower is known, their earlier ones elsewhere."""
        match = Escalation.conversation_id == conversation_id
        if borrower_id:
            match = or_(match, Escalation.borrower_id == borrower_id)
        with self.db.session() as session:
            return list(session.execute(select(Escalation).where(match)
                                        .order_by(Escalation.created_at.desc()).limit(50)).scalars())

    def notes_of(self, conversation_id: str) -> list[ConversationNote]:
        with self.db.session() as session:
            return list(session.execute(select(ConversationNote).where(
                ConversationNote.conversation_id == conversation_id).order_by(ConversationNote.at)).scalars())

    def audit_of(self, conversation_id: str) -> list[AuditEntry]:
        with self.db.session() as session:
            return list(session.execute(select(AuditEntry).where(AuditEntry.conversation_id == conversation_id)
                                        .order_by(AuditEntry.at, AuditEntry.id)).scalars())

    # acting on an escalation

    def claim(self, escalation_id: int, staff: Staff, now: dt.datetime) -> Escalation:
        names = self.staff_names()
        return self._change(escalation_id, staff, now, AuditAction.CLAIM, lambda e: _claimed(e, staff, names))

    def take_over(self, escalation_id: int, staff: Staff, now: dt.datetime) -> Escalation:
        names = self.staff_names()
        return self._change(escalation_id, staff, now, AuditAction.TAKE_OVER,
                            lambda e: _taken_over(e, staff, True, names))

    def hand_back(self, escalation_id: int, staff: Staff, now: dt.datetime) -> Escalation:
        return self._change(escalation_id, staff, now, AuditAction.HAND_BACK,
                            lambda e: _taken_over(e, staff, False, {}))

    def resolve(self, escalation_id: int, staff: Staff, outcome: str, now: dt.datetime) -> Escalation:
        outcome = _clean(outcome, 500)
        if not outcome:
            raise CaseError("请填写处理结果。")
        return self._change(escalation_id, staff, now, AuditAction.RESOLVE, lambda e: _resolved(e, outcome, now),
                            detail=outcome)

    def record_reply(self, escalation_id: int, staff: Staff, text: str, now: dt.datetime) -> Escalation:
        """Audits a reply sent to the borrower (the caller delivers it through the conversation's channel)."""
        return self._change(escalation_id, staff, now, AuditAction.REPLY, lambda e: None,
                            detail=mask_text(_clean(text)))

    def add_note(self, conversation_id: str, staff: Staff, text: str, now: dt.datetime) -> ConversationNote:
        text = _clean(text)
        if not text:
            raise CaseError("备注不能为空。")
        with self.db.session() as session:
            note = ConversationNote(conversation_id=conversation_id, staff=staff.username, text=text,
                                    at=utc_naive(now))
            session.add(note)
            session.add(_audit(staff, now, AuditAction.NOTE, conversation_id, None, text[:200]))
            return note

    # the safety protocol

    def safety_flags_of(self, conversation_id: str) -> list[SafetyFlag]:
        with self.db.session() as session:
            return list(session.execute(select(SafetyFlag).where(SafetyFlag.conversation_id == conversation_id)
                                        .order_by(SafetyFlag.raised_at)).scalars())

    def clear_safety_flags(self, conversation_id: str, staff: Staff, note: str, now: dt.datetime) -> int:
        """Staff have spoken with the borrower: reminders and collection contact may resume. Audited."""
        note = _clean(note, 500)
        if not note:
            raise CaseError("请填写解除说明(例如已与借款人联系、确认安全)。")
        with self.db.session() as session:
            cleared = session.execute(
                update(SafetyFlag).where(SafetyFlag.conversation_id == conversation_id, SafetyFlag.cleared_at.is_(None))
                .values(cleared_at=utc_naive(now), cleared_by=staff.username, clear_note=note, open_key=None)
            ).rowcount  # type: ignore[attr-defined]  # sqlalchemy2-stubs: an UPDATE gives a CursorResult
            if not cleared:
                raise CaseError("这段对话没有未解除的安全关注。")
            session.add(_audit(staff, now, AuditAction.CLEAR_SAFETY, conversation_id, None, note))
            return cleared

    def _change(self, escalation_id: int, staff: Staff, now: dt.datetime, action: AuditAction, apply,
                detail: str | Callable[[], str] | None = None) -> Escalation:
        with self.db.session() as session:
            escalation = session.get(Escalation, escalation_id, with_for_update=True)
            if escalation is None:
                raise CaseError("找不到这条转人工记录。")
            if escalation.status == EscalationStatus.RESOLVED and action != AuditAction.REPLY:
                raise CaseError("这条记录已经处理完毕。")
            apply(escalation)
            if action in ANSWERS and escalation.first_response_at is None:
                escalation.first_response_at = utc_naive(now)
            session.add(_audit(staff, now, action, escalation.conversation_id, escalation.reference,
                               detail() if callable(detail) else detail))
            return escalation

    # assignment: who holds an escalation is claimed_by alone, changed with its audit entry in one transaction

    def assign(self, escalation_id: int, staff: Staff, to: str, now: dt.datetime, auto: bool = False) -> Escalation:
        """A supervisor gives an escalation to a named, active member of staff (also to reassign it)."""
        if not staff.is_supervisor:
            raise Forbidden("只有主管可以分配或转交。")
        with self.db.session() as session:
            member = session.execute(select(StaffMember).where(StaffMember.username == to,
                                                               StaffMember.active.is_(True))).scalar_one_or_none()
        if member is None:
            raise CaseError("找不到这位在岗的客服。")
        holder: list[str | None] = []

        def give(escalation: Escalation) -> None:
            if auto and escalation.claimed_by is not None:  # the round-robin never takes one from its holder
                raise CaseError("这条记录已被认领。")
            if escalation.claimed_by == member.username:
                raise CaseError(f"这条记录已经由 {member.display_name} 处理。")
            holder.append(escalation.claimed_by)
            escalation.claimed_by, escalation.status = member.username, EscalationStatus.CLAIMED

        names = self.staff_names()  # the audit names colleagues as they call each other
        return self._change(escalation_id, staff, now, AuditAction.ASSIGN, give, detail=lambda: _assign_detail(
            names.get(holder[0] or "", holder[0]), member.display_name, auto))

    def assign_round_robin(self, staff: Staff, now: dt.datetime) -> list[tuple[str, str]]:
        """Gives every waiting escalation no one holds, most urgent first, to the available agents in turn: each to
        whoever holds the fewest open escalations (ties by login name). Returns (reference, username) pairs."""
        if not staff.is_supervisor:
            raise Forbidden("只有主管可以分配或转交。")
        loads = self.holdings(available_only=True)
        if not loads:
            raise CaseError("现在没有标记为在岗接单的客服。")
        given = []
        waiting = [e for e in self.queue(status=EscalationStatus.OPEN) if e.claimed_by is None]
        for escalation, _clock in by_urgency(waiting, now, policy.current().service_clock):
            holding = next_in_turn(loads)  # the rule opening an escalation uses too (kuanxin.store.assignment)
            if holding is None:
                break
            try:
                self.assign(escalation.id, staff, holding.username, now, auto=True)
            except CaseError:  # claimed meanwhile, or resolved: leave it
                continue
            holding.escalations.append(escalation.reference or "")
            given.append((escalation.reference or "", holding.username))
        return given

    def holdings(self, available_only: bool = False) -> list[Holding]:
        """Who holds what: every active member of staff, whether they take new escalations, and the references of the
        escalations they hold that are not resolved (the supervisor's view; the round-robin's loads)."""
        with self.db.session() as session:
            members = session.execute(select(StaffMember).where(StaffMember.active.is_(True))
                                      .order_by(StaffMember.username)).scalars().all()
            held = session.execute(select(Escalation.claimed_by, Escalation.reference).where(
                Escalation.claimed_by.is_not(None), Escalation.status != EscalationStatus.RESOLVED)
                .order_by(Escalation.created_at)).all()
        by_holder: dict[str, list[str]] = {}
        for username, reference in held:
            by_holder.setdefault(username, []).append(reference or "")
        return [Holding(m.username, m.display_name, m.available, by_holder.get(m.username, []))
                for m in members if m.available or not available_only]

    def check_may_hold(self, escalation: Escalation, staff: Staff) -> None:
        """Refuses (CaseError) when a colleague holds the escalation: asked before the assistant is paused for a
        take-over, so a refused one pauses nothing."""
        _refuse_if_held(escalation.claimed_by, staff, self.staff_names())

    def staff_names(self) -> dict[str, str]:
        """login name -> display name of every member of staff, disabled ones too (they wrote audit entries)."""
        with self.db.session() as session:
            rows = session.execute(select(StaffMember.username, StaffMember.display_name)).all()
        return {username: display_name for username, display_name in rows}

    def set_available(self, staff: Staff, available: bool) -> None:
        """A member of staff says whether the round-robin may give them new escalations."""
        with self.db.session() as session:
            session.execute(update(StaffMember).where(StaffMember.id == staff.id).values(available=available))

    # deciding requests

    def decide_request(self, reference: str, staff: Staff, decision: str, reason: str,
                       now: dt.datetime, conversation_id: str | None = None) -> ServiceRequest:
        """Approves or rejects a pending request; only a supervisor may, and only once."""
        if not staff.is_supervisor:
            raise Forbidden("只有主管可以审批申请。")
        if decision not in DECISIONS:
            raise CaseError("请选择通过或拒绝。")
        reason = _clean(reason, 500)
        if not reason:
            raise CaseError("请填写审批说明,借款人会看到这段说明。")
        with self.db.session() as session:
            # the status condition makes two supervisors clicking at once decide it exactly once
            decided = session.execute(
                update(ServiceRequest)
                .where(ServiceRequest.reference == reference, ServiceRequest.status == RequestStatus.PENDING)
                .values(status=DECISIONS[decision], decided_at=utc_naive(now), decided_by=staff.username,
                        decision_reason=reason, open_key=None)
            ).rowcount  # type: ignore[attr-defined]  # sqlalchemy2-stubs: an UPDATE gives a CursorResult
            request = session.execute(select(ServiceRequest).where(ServiceRequest.reference == reference)
                                      ).scalar_one_or_none()
            if request is None:
                raise CaseError("找不到这笔申请。")
            if not decided:
                raise CaseError(f"申请 {reference} 已经处理过了,不能重复审批。")
            session.add(_audit(staff, now, AuditAction(decision), conversation_id or request.conversation_id,
                               reference, reason))
            record_event(session, EventKind.REQUEST_DECIDED, request.borrower_id, decision_facts(request), now)
            return request

    # the lender's events

    def replay_event(self, event_id: str, staff: Staff, now: dt.datetime) -> OutboxEvent:
        """Queues an event for the lender again (重新投递): only a supervisor may; audited in the same transaction."""
        if not staff.is_supervisor:
            raise Forbidden("只有主管可以重新投递事件。")
        with self.db.session() as session:
            event = requeue(session, event_id, clock.real_utc())
            if event is None:
                raise CaseError("找不到这条事件。")
            reference = json.loads(event.payload).get("reference")
            session.add(_audit(staff, now, AuditAction.REPLAY_EVENT, None, event.id,
                               " ".join(filter(None, (EVENT_KINDS.of(event.kind), reference)))))
            return event


@dataclass
class Holding:
    username: str
    display_name: str
    available: bool
    escalations: list[str]  # references held, not resolved, oldest first

    @property
    def held(self) -> int:
        return len(self.escalations)


def _assign_detail(before: str | None, name: str, auto: bool) -> str:
    given = words("assign.from_to", before=before, name=name) if before else words("assign.to", name=name)
    return f"{words('assign.auto')}:{given}" if auto else given


def _refuse_if_held(holder: str | None, staff: Staff, names: dict[str, str]) -> None:
    if holder not in (None, staff.username):
        raise CaseError(f"这条记录已由 {names.get(holder or '', holder)} 处理;如需转交,请主管重新分配。")


def _claimed(escalation: Escalation, staff: Staff, names: dict[str, str]) -> None:
    _refuse_if_held(escalation.claimed_by, staff, names)
    escalation.claimed_by = staff.username
    escalation.status = EscalationStatus.CLAIMED


def _taken_over(escalation: Escalation, staff: Staff, taken: bool, names: dict[str, str]) -> None:
    if taken:
        _claimed(escalation, staff, names)
    escalation.taken_over = taken


def _resolved(escalation: Escalation, outcome: str, now: dt.datetime) -> None:
    escalation.status, escalation.outcome = EscalationStatus.RESOLVED, outcome
    escalation.resolved_at, escalation.taken_over, escalation.open_key = utc_naive(now), False, None


def _audit(staff: Staff, now: dt.datetime, action: AuditAction, conversation_id: str | None, target: str | None,
           detail: str | None) -> AuditEntry:
    return AuditEntry(at=utc_naive(now), staff=staff.username, action=action, conversation_id=conversation_id,
                      target=target, detail=detail)

