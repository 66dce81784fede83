"""The account repository: every read and write the assistant and the console make, by business name."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from dateutil import tz
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from kuanxin.core import policy as policies
from kuanxin.core.policy import IdentityPolicy
from kuanxin.core.vocab import (
    AuditAction,
    EscalationReason,
    EscalationStatus,
    EventKind,
    Priority,
    PromiseStatus,
    RequestStatus,
)
from kuanxin.lending import identity
from kuanxin.store import assignment, outbox
from kuanxin.store.db import Database, database
from kuanxin.store.models import (
    AuditEntry,
    Borrower,
    ConversationSession,
    Escalation,
    IdentityAttempt,
    Loan,
    PaymentPromise,
    PendingPhone,
    SafetyFlag,
    ScheduleRow,
    SenderBinding,
    ServiceRequest,
)

REFERENCE_PREFIX = {"deferral": "YQ", "installment": "FQ", "waiver": "JM", "promise": "CN", "escalation": "RG",
                    "reminder": "TX"}
Record = TypeVar("Record", ServiceRequest, PaymentPromise, Escalation)


def utc_naive(moment: dt.datetime) -> dt.datetime:
    """Stored timestamps are naive UTC, the one form every database keeps faithfully."""
    return moment.astimezone(tz.UTC).replace(tzinfo=None) if moment.tzinfo else moment


def reference_for(kind: str, day: dt.date, row_id: int) -> str:
    return f"{REFERENCE_PREFIX[kind]}{day:%Y%m%d}-{row_id:04d}"


@dataclass(frozen=True)
class Verification:
    status: str  # verified | mismatch | locked
    borrower_id: str | None = None
    tries_left: int = 0
    locked_until: dt.datetime | None = None  # naive UTC

    @property
    def verified(self) -> bool:
        return self.status == "verified"


class Accounts:
    def __init__(self, db: Database | None = None):
        self.db = db or database()

    # --- identity -------------------------------------------------------------------------
    def verify_identity(self, phone: str, id_last4: str, conversation_id: str,
                        now: dt.datetime, policy: IdentityPolicy) -> Verification:
        now = utc_naive(now)
        since = now - dt.timedelta(minutes=2 * policy.lockout_minutes)
        with self.db.session() as session:
            by_phone, by_conversation = self._recent_attempts(session, phone, conversation_id, since)
            lock = self._lock(by_phone, by_conversation, now, policy)
            if lock:
                return Verification("locked", locked_until=lock)
            borrower = session.execute(select(Borrower).where(Borrower.phone == phone)).scalar_one_or_none()
            verified = borrower.id if borrower is not None and borrower.id_last4 == id_last4.upper() else None
            session.add(IdentityAttempt(phone=phone, conversation_id=conversation_id,
                                        succeeded=verified is not None, at=now))
            if verified is not None:
                self._note_borrower(session, conversation_id, verified)
                self._attach_safety_flags(session, conversation_id, verified)
                return Verification("verified", borrower_id=verified)
            attempt = identity.Attempt(now, False)
            by_phone, by_conversation = by_phone + [attempt], by_conversation + [attempt]
            lock = self._lock(by_phone, by_conversation, now, policy)
            if lock:  # this failure locked the check: the lender hears of it (whose phone, if anyone's)
                outbox.record_event(session, EventKind.IDENTITY_LOCKED, borrower.id if borrower else None,
                                    outbox.lockout_facts(phone, lock, policy.lockout_minutes), now)
                return Verification("locked", locked_until=lock)
        left = min(identity.failures_left(by_phone, now, policy), identity.failures_left(by_conversation, now, policy))
        return Verification("mismatch", tries_left=left)

    def identity_lock(self, phone: str | None, conversation_id: str, now: dt.datetime,
                      policy: IdentityPolicy) -> dt.datetime | None:
        """When the lock on this phone or conversation ends (naive UTC), or None when the check is open."""
        now = utc_naive(now)
        since = now - dt.timedelta(minutes=2 * policy.lockout_minutes)
        with self.db.session() as session:
            by_phone, by_conversation = self._recent_attempts(session, phone or "", conversation_id, since)
        return self._lock(by_phone, by_conversation, now, policy)

    def keep_phone(self, conversation_id: str, phone: str, now: dt.datetime, minutes: int) -> None:
        """Keeps the phone number typed in this conversation's identity check for the ID tail of a later
        message: here, for `minutes`; the conversation store keeps only its masked form. Expired ones go."""
        now = utc_naive(now)
        with self.db.session() as session:
            session.execute(delete(PendingPhone).where(or_(PendingPhone.conversation_id == conversation_id,
                                                           PendingPhone.expires_at <= now)))
            session.add(PendingPhone(conversation_id=conversation_id, phone=phone,
                                     expires_at=now + dt.timedelta(minutes=minutes)))

    def kept_phone(self, conversation_id: str, now: dt.datetime) -> str | None:
        """The phone number this conversation's identity check is waiting with, unless its time is up."""
        with self.db.session() as session:
            return session.execute(select(PendingPhone.phone).where(
                PendingPhone.conversation_id == conversation_id,
                PendingPhone.expires_at > utc_naive(now))).scalar_one_or_none()

    def settle_phone(self, conversation_id: str, now: dt.datetime, seconds: int) -> None:
        """The check succeeded: the number waits only `seconds` more, for a re-sent turn that runs it again (the
        first run's events die with an instance killed mid-turn; this deletion would not)."""
        until = utc_naive(now) + dt.timedelta(seconds=seconds)
        with self.db.session() as session:
            session.execute(update(PendingPhone).where(PendingPhone.conversation_id == conversation_id,
                                                       PendingPhone.expires_at > until).values(expires_at=until))

    def forget_phone(self, conversation_id: str) -> None:
        with self.db.session() as session:
            session.execute(delete(PendingPhone).where(PendingPhone.conversation_id == conversation_id))

    @staticmethod
    def _recent_attempts(session, phone: str, conversation_id: str, since: dt.datetime):
        rows = session.execute(
            select(IdentityAttempt).where(
                IdentityAttempt.at >= since,
                or_(IdentityAttempt.phone == phone, IdentityAttempt.conversation_id == conversation_id),
            )
        ).scalars().all()
        by_phone = [identity.Attempt(r.at, r.succeeded) for r in rows if r.phone == phone]
        by_conversation = [identity.Attempt(r.at, r.succeeded) for r in rows if r.conversation_id == conversation_id]
        return by_phone, by_conversation

    @staticmethod
    def _lock(by_phone, by_conversation, now, policy) -> dt.datetime | None:
        locks = [identity.locked_until(a, now, policy) for a in (by_phone, by_conversation)]
        return max((lock for lock in locks if lock), default=None)

    # --- accounts -------------------------------------------------------------------------
    def borrower_profile(self, borrower_id: str) -> Borrower | None:
        """A borrower with loans, schedules and requests loaded, usable after the session ends.

        Read by four plain queries whose rows are set onto the relationships, in the relationships' own order:
        the same objects selectinload gives, in less than half the time (its per-path query building was 70 %
        of a profile's 2.9 ms; this is read on most turns of a verified borrower)."""
        with self.db.session() as session:
            borrower = session.get(Borrower, borrower_id)
            if borrower is None:
                return None
            loans = list(session.execute(select(Loan).where(Loan.borrower_id == borrower_id)
                                         .order_by(Loan.id)).scalars())
            schedules: dict[str, list[ScheduleRow]] = {loan.id: [] for loan in loans}
            if loans:
                for row in session.execute(select(ScheduleRow).where(ScheduleRow.loan_id.in_(list(schedules)))
                                           .order_by(ScheduleRow.loan_id, ScheduleRow.period)).scalars():
                    schedules[row.loan_id].append(row)
            for loan in loans:
                set_committed_value(loan, "schedule", schedules[loan.id])
            set_committed_value(borrower, "loans", loans)
            set_committed_value(borrower, "requests", list(session.execute(
                select(ServiceRequest).where(ServiceRequest.borrower_id == borrower_id)
                .order_by(ServiceRequest.id)).scalars()))
            return borrower

    def requests_of(self, borrower_id: str) -> list[ServiceRequest]:
        with self.db.session() as session:
            return list(session.execute(
                select(ServiceRequest).where(ServiceRequest.borrower_id == borrower_id)
                .order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
            ).scalars())

    # --- what conversations record ----------------------------------------------------------
    def submit_request(self, *, borrower_id: str, loan_id: str | None, kind: str, conversation_id: str,
                       today: dt.date, now: dt.datetime, months: int | None = None,
                       periods: int | None = None, reason: str | None = None,
                       details: dict | None = None) -> tuple[ServiceRequest, bool]:
        """Records a pending request; (existing, False) when one of its kind is already pending on the loan."""
        return self._insert_once(ServiceRequest, f"{kind}:{loan_id or borrower_id}", lambda key: ServiceRequest(
            borrower_id=borrower_id, loan_id=loan_id, type=kind, status=RequestStatus.PENDING, created_on=today,
            created_at=utc_naive(now), months=months, periods=periods, reason=reason,
            details=json.dumps(details, ensure_ascii=False, default=str) if details else None,
            conversation_id=conversation_id, open_key=key,
        ), kind, today, lambda session, request: outbox.record_event(
            session, EventKind.REQUEST_CREATED, borrower_id, outbox.request_facts(request), now))

    def change_pending_request(self, request_id: int, *, conversation_id: str, now: dt.datetime,
                               months: int | None = None, periods: int | None = None, reason: str | None = None,
                               details: dict | None = None) -> tuple[ServiceRequest, bool]:
        """The borrower changes a request staff have not decided yet; the change is audited.

        (request, True) when changed; (request, False) when it was decided meanwhile or nothing differs.
        """
        with self.db.session() as session:
            request = session.get(ServiceRequest, request_id, with_for_update=True)
            if request is None:
                raise LookupError(f"no service request {request_id}")
            before = (request.months, request.periods)
            after = (request.months if months is None else months, request.periods if periods is None else periods)
            if request.status != RequestStatus.PENDING or before == after:
                return request, False
            request.months, request.periods = after
            request.reason = reason if reason is not None else request.reason
            request.details = json.dumps(details, ensure_ascii=False, default=str) if details else request.details
            session.add(AuditEntry(at=utc_naive(now), staff="borrower", action=AuditAction.REQUEST_CHANGED,
                                   conversation_id=conversation_id, target=request.reference,
                                   detail=f"months {before[0]} -> {after[0]}, periods {before[1]} -> {after[1]}"))
            outbox.record_event(session, EventKind.REQUEST_CHANGED, request.borrower_id,
                                outbox.change_facts(request, *before), now)
            return request, True

    def record_promise(self, *, borrower_id: str, promised_date: dt.date, amount: Decimal,
                       conversation_id: str, today: dt.date, now: dt.datetime) -> tuple[PaymentPromise, bool]:
        key = f"{borrower_id}:{promised_date.isoformat()}"
        return self._insert_once(PaymentPromise, key, lambda key: PaymentPromise(
            borrower_id=borrower_id, promised_date=promised_date, amount=amount, status=PromiseStatus.OPEN,
            conversation_id=conversation_id, created_at=utc_naive(now), open_key=key,
        ), "promise", today, lambda session, promise: outbox.record_event(
            session, EventKind.PROMISE_MADE, borrower_id, outbox.promise_facts(promise), now))

    def open_escalation(self, *, conversation_id: str, borrower_id: str | None, reason: str, priority: str,
                        channel: str | None, summary: str, today: dt.date,
                        now: dt.datetime) -> tuple[Escalation, bool]:
        """Opens an escalation; a second one for the same conversation and reason finds the first. With policy.yml
        `console.auto_assign` on, a new one goes at once to the available member of staff next in turn (safety ones
        too: they must reach a person), in the same transaction (kuanxin.store.assignment)."""
        auto_assign = policies.current().console.auto_assign

        def opened(session: Session, escalation: Escalation) -> None:
            outbox.record_escalation_event(session, escalation, now)  # the lender hears of it as opened
            if auto_assign:
                assignment.give_on_opening(session, escalation, utc_naive(now))
        return self._insert_once(Escalation, f"{conversation_id}:{reason}", lambda key: Escalation(
            conversation_id=conversation_id, borrower_id=borrower_id, reason=reason, priority=priority,
            status=EscalationStatus.OPEN, channel=channel, summary=identity.mask_text(summary)[:500],
            created_at=utc_naive(now), open_key=key,
        ), "escalation", today, opened)

    # --- the safety protocol ------------------------------------------------------------------
    def raise_safety_flag(self, *, conversation_id: str, borrower_id: str | None, channel: str | None,
                          summary: str, today: dt.date, now: dt.datetime) -> tuple[SafetyFlag, Escalation]:
        """A borrower spoke of suicide or self-harm: a high-priority escalation (reason `safety`) and an
        open flag that pauses reminders and collection contact until staff clear it. A second crisis
        message in the conversation finds both (and adds the borrower when the first did not know them).
        """
        escalation, _ = self.open_escalation(conversation_id=conversation_id, borrower_id=borrower_id,
                                             reason=EscalationReason.SAFETY, priority=Priority.HIGH,
                                             channel=channel, summary=summary, today=today, now=now)
        try:
            with self.db.session() as session:
                flag = SafetyFlag(conversation_id=conversation_id, borrower_id=borrower_id, channel=channel,
                                  escalation_reference=escalation.reference, raised_at=utc_naive(now),
                                  open_key=conversation_id)
                session.add(flag)
        except IntegrityError:
            with self.db.session() as session:
                flag = session.execute(select(SafetyFlag).where(SafetyFlag.open_key == conversation_id)).scalar_one()
                if borrower_id and not flag.borrower_id:
                    flag.borrower_id = borrower_id
        if borrower_id and not escalation.borrower_id:
            with self.db.session() as session:
                stored = session.get(Escalation, escalation.id)
                if stored is not None:
                    stored.borrower_id = borrower_id
        return flag, escalation

    @staticmethod
    def _attach_safety_flags(session, conversation_id: str, borrower_id: str) -> None:
        """The borrower behind a flagged conversation, once they prove who they are."""
        for flag in session.execute(select(SafetyFlag).where(SafetyFlag.conversation_id == conversation_id,
                                                             SafetyFlag.borrower_id.is_(None))).scalars():
            flag.borrower_id = borrower_id
        for escalation in session.execute(select(Escalation).where(
                Escalation.conversation_id == conversation_id, Escalation.reason == "safety",
                Escalation.borrower_id.is_(None))).scalars():
            escalation.borrower_id = borrower_id

    def open_safety_flags(self, conversation_id: str) -> list[SafetyFlag]:
        with self.db.session() as session:
            return list(session.execute(select(SafetyFlag).where(
                SafetyFlag.conversation_id == conversation_id, SafetyFlag.cleared_at.is_(None))).scalars())

    def _insert_once(self, model: type[Record], key: str, build: Callable[[str], Record], kind: str,
                     today: dt.date, tell_lender: Callable[[Session, Record], object]) -> tuple[Record, bool]:
        # The unique open_key makes duplicated or concurrent confirmations create one record (and one event).
        try:
            with self.db.session() as session:
                record = build(key)
                session.add(record)
                session.flush()
                record.reference = reference_for(kind, today, record.id)
                tell_lender(session, record)
            return record, True
        except IntegrityError:
            with self.db.session() as session:
                existing = session.execute(select(model).where(model.open_key == key)).scalar_one_or_none()
            if existing is None:  # not a second confirmation: a value the database refuses (kuanxin.core.vocab)
                raise
            return existing, False

    def promises_of(self, borrower_id: str) -> list[PaymentPromise]:
        with self.db.session() as session:
            return list(session.execute(
                select(PaymentPromise).where(PaymentPromise.borrower_id == borrower_id)
                .order_by(PaymentPromise.id.desc())
            ).scalars())

    def open_escalations(self) -> list[Escalation]:
        with self.db.session() as session:
            return list(session.execute(
                select(Escalation).where(Escalation.status == EscalationStatus.OPEN)
                .order_by(Escalation.created_at.desc())
            ).scalars())

    def start_session(self, conversation_id: str, borrower_id: str | None, now: dt.datetime) -> None:
        """Records that a conversation session began (the analytics count these)."""
        with self.db.session() as session:
            session.add(ConversationSession(conversation_id=conversation_id, started_at=utc_naive(now),
                                            borrower_id=borrower_id))

    @staticmethod
    def _note_borrower(session, conversation_id: str, borrower_id: str) -> None:
        """The borrower behind the conversation's latest session, once they proved who they are."""
        latest = session.execute(
            select(ConversationSession).where(ConversationSession.conversation_id == conversation_id)
            .order_by(ConversationSession.started_at.desc()).limit(1)).scalar_one_or_none()
        if latest is not None and latest.borrower_id is None:
            latest.borrower_id = borrower_id

    def bind_sender(self, *, sender_id: str, channel: str, borrower_id: str, now: dt.datetime,
                    expires_at: dt.datetime | None = None) -> None:
        """Vouches for the borrower behind a conversation; binding again replaces the earlier binding."""
        with self.db.session() as session:
            binding = session.get(SenderBinding, sender_id) or SenderBinding(sender_id=sender_id)
            binding.channel, binding.borrower_id = channel, borrower_id
            binding.created_at = utc_naive(now)
            binding.expires_at = utc_naive(expires_at) if expires_at else None
            session.add(binding)

    def unbind_sender(self, sender_id: str) -> bool:
        """Forgets the binding; True when there was one."""
        with self.db.session() as session:
            binding = session.get(SenderBinding, sender_id)
            if binding is None:
                return False
            session.delete(binding)
            return True

    def bound_borrower(self, sender_id: str, now: dt.datetime) -> str | None:
        """The borrower id a channel vouched for on this conversation, unless the binding has expired."""
        with self.db.session() as session:
            binding = session.get(SenderBinding, sender_id)
            if binding is None or (binding.expires_at and binding.expires_at <= utc_naive(now)):
                return None
            return binding.borrower_id
