"""The account database: borrowers, loans and their schedules, and what conversations record.

Only the last four characters and a masked form of an ID number are stored: nothing in the
product needs more, and what is not kept cannot leak.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy.orm import Mapped, declarative_base, relationship
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import false as sa_false
from sqlalchemy.types import TypeDecorator

from kuanxin.core.vocab import (
    AccountSize,
    AuditAction,
    BindingChannel,
    ConsentChannel,
    ConsentDecision,
    DecisionOutcome,
    DeliveryStatus,
    DocumentKind,
    DocumentPurpose,
    EscalationReason,
    EscalationStatus,
    EventKind,
    LoanStatus,
    PlanStatus,
    Priority,
    PromiseStatus,
    ReminderChannel,
    ReminderKind,
    ReminderStatus,
    RequestStatus,
    RequestType,
    SatisfactionOutcome,
    SatisfactionRating,
    Segment,
    StaffRole,
    Vocabulary,
)

Base = declarative_base()


def one_of(name: str, column: str, vocabulary: type[Vocabulary]) -> CheckConstraint:
    """The database itself refuses a value outside the vocabulary (NULL passes where the column allows it)."""
    return CheckConstraint(f"{column} IN ({', '.join(repr(value) for value in vocabulary.values())})", name=name)


if TYPE_CHECKING:  # sqlalchemy2-stubs: a column of Decimal; SQLAlchemy 1.4's own class takes no parameter
    _DecimalType = TypeDecorator[Decimal]
else:
    _DecimalType = TypeDecorator


class ExactDecimal(_DecimalType):
    """Decimal stored exactly: NUMERIC where the database has it, text on SQLite (whose NUMERIC is a float)."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 18, scale: int = 6):
        super().__init__()
        self.precision, self.scale = precision, scale

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return str(value) if dialect.name == "sqlite" else Decimal(value)

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(str(value))


# Classes, written Column(Money()): the SQLAlchemy mypy plugin reads a column's Python type (Decimal) only from
# a type class or its call, not from a module-level instance.
class Money(ExactDecimal):
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(14, 2)


class Rate(ExactDecimal):
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(12, 8)


class Borrower(Base):
    __tablename__ = "borrowers"
    id: Mapped[str] = Column(String(64), primary_key=True)
    name: Mapped[str] = Column(String(100), nullable=False)
    phone: Mapped[str] = Column(String(20), nullable=False, unique=True)
    id_last4: Mapped[str] = Column(String(4), nullable=False)
    id_masked: Mapped[str] = Column(String(32), nullable=False)
    loans: Mapped[list[Loan]] = relationship("Loan", back_populates="borrower", order_by="Loan.id",
                                             cascade="all, delete-orphan")
    requests: Mapped[list[ServiceRequest]] = relationship("ServiceRequest", back_populates="borrower",
                                                          order_by="ServiceRequest.id", cascade="all, delete-orphan")


def phone_tail(phone) -> ColumnElement:
    """The last four digits of a phone number, written as the search index ix_borrowers_phone_tail is (a literal 3,
    not a bound parameter, so SQLite sees the indexed expression)."""
    return func.substr(phone, func.length(phone) - literal_column("3"))


# staff search by phone tail (kuanxin/console/search.py); SQLAlchemy 1.4 does not reflect expression indexes, so
# the schema comparison of kuanxin.store.migrate does not see it: tests/unit/test_migrations.py checks it is there
Index("ix_borrowers_phone_tail", phone_tail(Borrower.phone))


class Loan(Base):
    __tablename__ = "loans"
    __table_args__ = (one_of("ck_loans_status", "status", LoanStatus),)
    id: Mapped[str] = Column(String(64), primary_key=True)
    borrower_id: Mapped[str] = Column(String(64), ForeignKey("borrowers.id"), nullable=False, index=True)
    product: Mapped[str] = Column(String(100), nullable=False)
    principal: Mapped[Decimal] = Column(Money(), nullable=False)
    annual_rate: Mapped[Decimal] = Column(Rate(), nullable=False)
    penalty_daily_rate: Mapped[Decimal] = Column(Rate(), nullable=False)
    late_fee: Mapped[Decimal] = Column(Money(), nullable=False)
    start_date: Mapped[dt.date] = Column(Date, nullable=False)
    status: Mapped[str] = Column(String(20), nullable=False)  # LoanStatus
    # paid beyond everything the schedule holds (kuanxin/lending/ledger.py)
    credit: Mapped[Decimal] = Column(Money(), nullable=False, server_default="0")
    borrower: Mapped[Borrower] = relationship("Borrower", back_populates="loans")
    schedule: Mapped[list[ScheduleRow]] = relationship("ScheduleRow", back_populates="loan",
                                                       order_by="ScheduleRow.period", cascade="all, delete-orphan")


class ScheduleRow(Base):
    __tablename__ = "schedule_rows"
    __table_args__ = (UniqueConstraint("loan_id", "period"),)
    id: Mapped[int] = Column(Integer, primary_key=True)
    loan_id: Mapped[str] = Column(String(64), ForeignKey("loans.id"), nullable=False)
    period: Mapped[int] = Column(Integer, nullable=False)
    due_date: Mapped[dt.date] = Column(Date, nullable=False)
    principal: Mapped[Decimal] = Column(Money(), nullable=False)
    interest: Mapped[Decimal] = Column(Money(), nullable=False)
    # to interest and principal (interest first): the opening figure plus what the ledger applied
    paid: Mapped[Decimal] = Column(Money(), nullable=False, default=Decimal("0.00"))
    paid_on = Column(Date)
    # The lender's own figure of what was paid before kuanxin's payment ledger began (the import's `paid`);
    # the rest is the ledger replayed (kuanxin/lending/ledger.py), never edited by hand. Defaults are the
    # database's own, so an insert that does not name these columns (an older writer) still works.
    opening_paid: Mapped[Decimal] = Column(Money(), nullable=False, server_default="0")
    paid_penalty: Mapped[Decimal] = Column(Money(), nullable=False, server_default="0")
    paid_late_fee: Mapped[Decimal] = Column(Money(), nullable=False, server_default="0")
    penalty_accrued: Mapped[Decimal] = Column(Money(), nullable=False, server_default="0")
    accrued_to = Column(Date)  # penalty_accrued runs to here; after it, overdue.py adds the days since
    late_fee_charged: Mapped[bool] = Column(Boolean, nullable=False, server_default=sa_false())
    loan: Mapped[Loan] = relationship("Loan", back_populates="schedule")


class Payment(Base):
    """One entry of the lender's payment ledger, once per lender payment id: a payment, or a charge-back
    (a negative amount naming the payment it reverses). Append-only; kept across syncs."""
    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_loan_paid_on", "loan_id", "paid_on"),
                      Index("ix_payments_received_at", "received_at"))  # the sweep for payments to tell (0017)
    id: Mapped[str] = Column(String(64), primary_key=True)  # the lender's payment id
    loan_id: Mapped[str] = Column(String(64), ForeignKey("loans.id"), nullable=False)
    amount: Mapped[Decimal] = Column(Money(), nullable=False)
    paid_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)  # UTC
    paid_on: Mapped[dt.date] = Column(Date, nullable=False)  # Beijing date: what the allocation counts by
    channel: Mapped[str] = Column(String(40), nullable=False)  # the lender's own word: bank_card, wechat_pay, …
    reverses = Column(String(64))  # the payment a charge-back reverses
    source: Mapped[str] = Column(String(20), nullable=False)  # file or api
    received_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)


class AccountClass(Base):
    """A borrower's class as of a day (kuanxin.lending.segments), kept so that the console's class pages and the
    reminders selection read an indexed table instead of classifying the whole book on every view
    (kuanxin/store/classes.py refreshes it: nightly for the whole book, and the sync for the borrowers it changed)."""
    __tablename__ = "account_classes"
    __table_args__ = (Index("ix_account_classes_cell", "segment", "size", "amount_cents", "days_overdue",
                            "borrower_id"),
                      one_of("ck_account_classes_segment", "segment", Segment),
                      one_of("ck_account_classes_size", "size", AccountSize))
    borrower_id: Mapped[str] = Column(String(64), primary_key=True)
    segment: Mapped[str] = Column(String(20), nullable=False)  # Segment
    size: Mapped[str] = Column(String(10), nullable=False)  # AccountSize
    days_overdue: Mapped[int] = Column(Integer, nullable=False)
    # whole cents: Money is text on SQLite, and this column is summed and sorted by the database
    amount_cents: Mapped[int] = Column(BigInteger, nullable=False)
    due_date = Column(Date)
    as_of: Mapped[dt.date] = Column(Date, nullable=False)


class ClassSnapshot(Base):
    """A whole-book refresh of account_classes that finished: the classes are current when the latest one is
    as of today under today's class rules (rules_key, a digest of policy.yml's segments)."""
    __tablename__ = "class_snapshots"
    id: Mapped[int] = Column(Integer, primary_key=True)
    as_of: Mapped[dt.date] = Column(Date, nullable=False)
    rules_key: Mapped[str] = Column(String(64), nullable=False)
    accounts: Mapped[int] = Column(Integer, nullable=False)
    started_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)
    finished_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)


class InboundBatch(Base):
    """A batch the lender pushed (web/lender_api.py), kept by its idempotency key (the webhook id): a batch sent
    again gets the first answer back and changes nothing; the same key with another body is refused."""
    __tablename__ = "inbound_batches"
    id: Mapped[str] = Column(String(128), primary_key=True)
    body_sha256: Mapped[str] = Column(String(64), nullable=False)
    received_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)
    status: Mapped[int] = Column(Integer, nullable=False)  # the HTTP status answered
    answer: Mapped[str] = Column(Text, nullable=False)  # the JSON answered


class ServiceRequest(Base):
    """A deferral, installment or penalty-waiver request, pending until staff decide."""

    __tablename__ = "service_requests"
    __table_args__ = (Index("ix_requests_status_created", "status", "created_at"),
                      one_of("ck_requests_type", "type", RequestType),
                      one_of("ck_requests_status", "status", RequestStatus))
    id: Mapped[int] = Column(Integer, primary_key=True)
    reference = Column(String(32), unique=True)
    borrower_id: Mapped[str] = Column(String(64), ForeignKey("borrowers.id"), nullable=False, index=True)
    loan_id = Column(String(64), ForeignKey("loans.id"))
    type: Mapped[str] = Column(String(20), nullable=False)  # RequestType
    status: Mapped[str] = Column(String(20), nullable=False)  # RequestStatus
    created_on: Mapped[dt.date] = Column(Date, nullable=False)
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=dt.datetime.utcnow)
    months = Column(Integer)
    periods = Column(Integer)
    reason = Column(Text)
    details = Column(Text)  # JSON: the new due date or the plan shown to the borrower
    conversation_id = Column(String(128))
    # Set while pending, so the database itself refuses a second pending request of a kind per loan.
    open_key = Column(String(160), unique=True)
    decided_at = Column(DateTime)
    decided_by = Column(String(100))
    decision_reason = Column(Text)
    borrower: Mapped[Borrower] = relationship("Borrower", back_populates="requests")


class PaymentPromise(Base):
    __tablename__ = "payment_promises"
    # the day-after follow-up looks for open promises by date
    __table_args__ = (Index("ix_promises_status_date", "status", "promised_date"),
                      one_of("ck_promises_status", "status", PromiseStatus))
    id: Mapped[int] = Column(Integer, primary_key=True)
    reference = Column(String(32), unique=True)
    borrower_id: Mapped[str] = Column(String(64), ForeignKey("borrowers.id"), nullable=False, index=True)
    promised_date: Mapped[dt.date] = Column(Date, nullable=False)
    amount: Mapped[Decimal] = Column(Money(), nullable=False)
    status: Mapped[str] = Column(String(20), nullable=False, default=PromiseStatus.OPEN.value)  # PromiseStatus
    conversation_id = Column(String(128))
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=dt.datetime.utcnow)
    # One open promise per borrower and date: a repeated confirmation finds the first.
    open_key = Column(String(160), unique=True)
    followed_up_on = Column(Date)  # the day kept or broken was recorded (Beijing date)


class Escalation(Base):
    """A conversation handed to staff: disputes, abuse complaints, requests for a person."""

    __tablename__ = "escalations"
    __table_args__ = (Index("ix_escalations_status_created", "status", "created_at"),
                      # the console queue: a status, high priority first, newest first
                      Index("ix_escalations_status_priority_created", "status", "priority", "created_at"),
                      one_of("ck_escalations_reason", "reason", EscalationReason),
                      one_of("ck_escalations_priority", "priority", Priority),
                      one_of("ck_escalations_status", "status", EscalationStatus))
    id: Mapped[int] = Column(Integer, primary_key=True)
    reference = Column(String(32), unique=True)
    conversation_id: Mapped[str] = Column(String(128), nullable=False, index=True)
    borrower_id = Column(String(64), ForeignKey("borrowers.id"), index=True)
    reason: Mapped[str] = Column(String(40), nullable=False)  # EscalationReason
    priority: Mapped[str] = Column(String(10), nullable=False)  # Priority
    status: Mapped[str] = Column(String(20), nullable=False, default=EscalationStatus.OPEN.value)  # EscalationStatus
    channel = Column(String(40))  # the Rasa input channel: open-ended (kuanxin.core.vocab)
    summary = Column(Text)
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, default=dt.datetime.utcnow)
    open_key = Column(String(200), unique=True)  # cleared on resolution, so a later one can be opened
    # who owns it: the one fact the console's assignment changes (claim, assign, round-robin; audited alike)
    claimed_by = Column(String(64))  # staff username
    taken_over: Mapped[bool] = Column(Boolean, nullable=False, default=False)  # the assistant is paused for staff
    outcome = Column(Text)
    resolved_at = Column(DateTime)
    first_response_at = Column(DateTime)  # first claim, assignment, take-over or reply: its service clock stops (0010)


class IdentityAttempt(Base):
    __tablename__ = "identity_attempts"
    __table_args__ = (
        Index("ix_attempts_phone_at", "phone", "at"),
        Index("ix_attempts_conversation_at", "conversation_id", "at"),
    )
    id: Mapped[int] = Column(Integer, primary_key=True)
    phone: Mapped[str] = Column(String(20), nullable=False)
    conversation_id: Mapped[str] = Column(String(128), nullable=False)
    succeeded: Mapped[bool] = Column(Boolean, nullable=False)
    at: Mapped[dt.datetime] = Column(DateTime, nullable=False)


class SenderBinding(Base):
    """A conversation (sender id) whose borrower a channel has vouched for.

    The web chat binds its server-chosen session id after checking the lender's signed token;
    WeChat binds an OpenID after an identity check there. The assistant then needs no identity questions.
    """
    __tablename__ = "sender_bindings"
    __table_args__ = (one_of("ck_bindings_channel", "channel", BindingChannel),)
    sender_id: Mapped[str] = Column(String(128), primary_key=True)
    channel: Mapped[str] = Column(String(40), nullable=False)  # BindingChannel
    borrower_id: Mapped[str] = Column(String(64), ForeignKey("borrowers.id"), nullable=False, index=True)
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)
    expires_at = Column(DateTime)  # None: until unbound


class StaffMember(Base):
    """A lender employee who uses the console: an agent answers borrowers, a supervisor also decides requests."""
    __tablename__ = "staff_members"
    __table_args__ = (one_of("ck_staff_role", "role", StaffRole),)
    id: Mapped[int] = Column(Integer, primary_key=True)
    username: Mapped[str] = Column(String(64), nullable=False, unique=True)
    display_name: Mapped[str] = Column(String(100), nullable=False)
    role: Mapped[str] = Column(String(20), nullable=False)  # StaffRole
    password_hash: Mapped[str] = Column(String(200), nullable=False)  # argon2id
    active: Mapped[bool] = Column(Boolean, nullable=False, default=True)
    # takes part in the round-robin assignment of new escalations (revision 0010)
    available: Mapped[bool] = Column(Boolean, nullable=False, server_default=sa_false())
    failed_logins: Mapped[int] = Column(Integer, nullable=False, default=0)
    locked_until = Column(DateTime)
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)


class StaffSession(Base):
    """A console login. Only a hash of the cookie's token is stored, so a database leak opens no session."""
    __tablename__ = "staff_sessions"
    token_hash: Mapped[str] = Column(String(64), primary_key=True)
    staff_id: Mapped[int] = Column(Integer, ForeignKey("staff_members.id"), nullable=False, index=True)
    csrf_token: Mapped[str] = Column(String(64), nullable=False)
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)
    last_seen: Mapped[dt.datetime] = Column(DateTime, nullable=False)
    ended_at = Column(DateTime)


class AuditEntry(Base):
    """One staff action. Written in the same transaction as the action; never deleted, and updated only by a
    deletion request (kuanxin privacy delete), which replaces the free-text detail about that borrower."""
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_conversation_at", "conversation_id", "at"),
                      one_of("ck_audit_action", "action", AuditAction))
    id: Mapped[int] = Column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = Column(DateTime, nullable=False)
    staff: Mapped[str] = Column(String(64), nullable=False)
    action: Mapped[str] = Column(String(40), nullable=False)  # AuditAction
    conversation_id = Column(String(128))
    target = Column(String(64))  # a reference: RG…, YQ…, FQ…, JM…
    detail = Column(Text)


class ConversationNote(Base):
    """A private staff note on a conversation; the borrower never sees it."""
    __tablename__ = "conversation_notes"
    id: Mapped[int] = Column(Integer, primary_key=True)
    conversation_id: Mapped[str] = Column(String(128), nullable=False, index=True)
    staff: Mapped[str] = Column(String(64), nullable=False)
    text: Mapped[str] = Column(Text, nullable=False)
    at: Mapped[dt.datetime] = Column(DateTime, nullable=False)


class ConversationSession(Base):
    """One session of a conversation, recorded when it starts: what the analytics count as a conversation.

    Not tied to the borrowers table: account loads replace borrowers, the history stays.
    """
    __tablename__ = "conversation_sessions"
    __table_args__ = (Index("ix_sessions_started", "started_at"),
                      Index("ix_sessions_conversation_started", "conversation_id", "started_at"))
    id: Mapped[int] = Column(Integer, primary_key=True)
    conversation_id: Mapped[str] = Column(String(128), nullable=False)
    started_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)  # UTC
    borrower_id = Column(String(64), index=True)  # known at the start (a bound channel) or once verified


class Reminder(Base):
    """One outbound reminder: claimed before it is sent, so a re-run or a second run sends nothing twice.

    The unique (borrower, day) is the at-most-one-a-day rule, kept by the database itself.
    """
    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("borrower_id", "day", name="uq_reminders_borrower_day"),
                      Index("ix_reminders_day_status", "day", "status"),
                      one_of("ck_reminders_kind", "kind", ReminderKind),
                      one_of("ck_reminders_segment", "segment", Segment),
                      one_of("ck_reminders_channel", "channel", ReminderChannel),
                      one_of("ck_reminders_status", "status", ReminderStatus))
    id: Mapped[int] = Column(Integer, primary_key=True)
    borrower_id: Mapped[str] = Column(String(64), nullable=False)
    day: Mapped[dt.date] = Column(Date, nullable=False)  # Beijing date
    kind: Mapped[str] = Column(String(20), nullable=False)  # ReminderKind
    segment: Mapped[str] = Column(String(20), nullable=False)  # Segment
    channel: Mapped[str] = Column(String(20), nullable=False)  # ReminderChannel
    # masked phone or OpenID: enough for staff, useless to others
    recipient: Mapped[str] = Column(String(40), nullable=False)
    amount: Mapped[Decimal] = Column(Money(), nullable=False)
    due_date = Column(Date)
    status: Mapped[str] = Column(String(20), nullable=False)  # ReminderStatus
    attempts: Mapped[int] = Column(Integer, nullable=False, default=0)
    error = Column(String(200))
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)
    sent_at = Column(DateTime)


class ReminderOptOut(Base):
    """A borrower who asked for no more reminders (退订). Kept across account loads."""
    __tablename__ = "reminder_opt_outs"
    borrower_id: Mapped[str] = Column(String(64), primary_key=True)
    # where they asked: an input channel, "chat" or sms (open-ended)
    channel: Mapped[str] = Column(String(20), nullable=False)
    at: Mapped[dt.datetime] = Column(DateTime, nullable=False)


class ReminderPreference(Base):
    """What a verified borrower said about reminders: the channel (wechat or sms), a time window inside the contact
    hours, a pause until a day (after a stated hardship). Append-only: the latest row of a borrower is in force, the
    earlier ones are its history; each is written with an audit entry. Kept across account loads, like opt-outs."""
    __tablename__ = "reminder_preferences"
    __table_args__ = (Index("ix_reminder_preferences_borrower", "borrower_id", "id"),
                      one_of("ck_reminder_preferences_channel", "channel", ReminderChannel))  # NULL passes
    id: Mapped[int] = Column(Integer, primary_key=True)
    borrower_id: Mapped[str] = Column(String(64), nullable=False)
    channel = Column(String(20))  # ReminderChannel; None: the assistant's own choice (WeChat when bound)
    window_start = Column(Time)  # Beijing time, inside reminders.contact_hours; None: the whole contact hours
    window_end = Column(Time)  # exclusive
    paused_until = Column(Date)  # no reminder before this day (Beijing date), inclusive of the day before
    conversation_id = Column(String(128))
    said_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)


class PaymentAcknowledgement(Base):
    """A lender payment the borrower was told of in the conversation, with the new balance: once per payment."""
    __tablename__ = "payment_acknowledgements"
    payment_id: Mapped[str] = Column(String(64), primary_key=True)  # payments.id (no key: account loads replace them)
    borrower_id: Mapped[str] = Column(String(64), nullable=False, index=True)
    conversation_id = Column(String(128))
    acknowledged_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)


class DocumentConsent(Base):
    """A borrower's separate consent to keep the sensitive documents they attach (PIPL Arts. 28-30), or its
    withdrawal: append-only, the latest row of a borrower is in force. The exact text shown is named by its
    catalogue version and its SHA-256, so what the borrower agreed to can be shown again word for word.
    Not tied to the borrowers table: account loads replace borrowers, what a person agreed to stays."""
    __tablename__ = "document_consents"
    __table_args__ = (Index("ix_document_consents_borrower", "borrower_id", "id"),
                      one_of("ck_document_consents_decision", "decision", ConsentDecision),
                      one_of("ck_document_consents_channel", "channel", ConsentChannel))
    id: Mapped[int] = Column(Integer, primary_key=True)
    borrower_id: Mapped[str] = Column(String(64), nullable=False)
    decision: Mapped[str] = Column(String(20), nullable=False)  # ConsentDecision
    text_version: Mapped[str] = Column(String(64), nullable=False)  # the catalogue key of the text shown
    text_sha256: Mapped[str] = Column(String(64), nullable=False)  # of the text exactly as shown
    language: Mapped[str] = Column(String(8), nullable=False)
    channel: Mapped[str] = Column(String(20), nullable=False)  # ConsentChannel: where it was said
    conversation_id = Column(String(128))
    at: Mapped[dt.datetime] = Column(DateTime, nullable=False)  # UTC


class Document(Base):
    """A document a verified borrower attached: checked by its content, images re-encoded without metadata,
    encrypted (AES-GCM) in the document storage under a random object key (kuanxin/evidence). The row stays
    after the retention purge deletes the stored object (purged_at), so the case still shows what was received."""
    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_conversation", "conversation_id", "id"),
                      Index("ix_documents_received_at", "received_at"),
                      one_of("ck_documents_purpose", "purpose", DocumentPurpose),
                      one_of("ck_documents_kind", "kind", DocumentKind),
                      one_of("ck_documents_channel", "channel", BindingChannel))
    id: Mapped[int] = Column(Integer, primary_key=True)
    public_id: Mapped[str] = Column(String(64), nullable=False, unique=True)  # random: the console's address
    borrower_id: Mapped[str] = Column(String(64), nullable=False, index=True)
    conversation_id: Mapped[str] = Column(String(128), nullable=False)
    channel: Mapped[str] = Column(String(20), nullable=False)  # BindingChannel
    purpose: Mapped[str] = Column(String(20), nullable=False)  # DocumentPurpose
    reference = Column(String(32))  # the request or escalation it supports (YQ…, FQ…, JM…, RG…); None: being filed
    kind: Mapped[str] = Column(String(10), nullable=False)  # DocumentKind, as stored (a HEIC photo is kept as JPEG)
    received_kind: Mapped[str] = Column(String(10), nullable=False)  # DocumentKind, as the borrower sent it
    size: Mapped[int] = Column(Integer, nullable=False)  # bytes as stored, before encryption
    sha256: Mapped[str] = Column(String(64), nullable=False)  # of the stored (cleaned) content
    object_key = Column(String(128), unique=True)  # random; None once purged
    consent_id: Mapped[int] = Column(Integer, ForeignKey("document_consents.id"), nullable=False)
    received_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)  # UTC
    purged_at = Column(DateTime)


class SafetyFlag(Base):
    """A conversation in which the borrower spoke of suicide or self-harm (the safety protocol).

    While a flag is open (cleared_at is None) the borrower gets no reminders and no collection
    contact; staff clear it from the console. The borrower is known when the conversation was
    verified or bound, or becomes known when they verify later in it. Not tied to the borrowers
    table: account loads replace borrowers, a person's safety stays.
    """
    __tablename__ = "safety_flags"
    __table_args__ = (Index("ix_safety_flags_borrower_cleared", "borrower_id", "cleared_at"),)
    id: Mapped[int] = Column(Integer, primary_key=True)
    conversation_id: Mapped[str] = Column(String(128), nullable=False, index=True)
    borrower_id = Column(String(64))
    channel = Column(String(40))
    escalation_reference = Column(String(32))
    raised_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)  # UTC
    # the conversation id while open: a second crisis message in the conversation finds the first flag
    open_key = Column(String(160), unique=True)
    cleared_at = Column(DateTime)
    cleared_by = Column(String(64))  # staff username
    clear_note = Column(Text)


class PendingPhone(Base):
    """The phone number typed in an identity check, waiting for the ID tail of a later message.

    The conversation store keeps only its masked form (runtime/privacy.py); the number itself is here
    until the check ends or policy.yml's `privacy.identity_phone_minutes` pass (actions/identity.py).
    """
    __tablename__ = "identity_pending_phones"
    conversation_id: Mapped[str] = Column(String(128), primary_key=True)
    phone: Mapped[str] = Column(String(20), nullable=False)
    expires_at: Mapped[dt.datetime] = Column(DateTime, nullable=False, index=True)  # UTC


class OutboxEvent(Base):
    """A fact the lender must act on (kuanxin/store/outbox.py), written in the transaction of the fact itself.

    Append-only: never changed or deleted. `seq` orders events as they were recorded; a borrower's events are
    recorded one transaction after the other (outbox_streams), so theirs are also in the order they committed.
    Not tied to the borrowers table: account loads replace borrowers, what was sent to the lender stays.
    """
    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_borrower_seq", "borrower_id", "seq"),
                      Index("ix_outbox_events_created", "created_at"),
                      one_of("ck_outbox_events_kind", "kind", EventKind))
    seq: Mapped[int] = Column(Integer, primary_key=True)
    id: Mapped[str] = Column(String(36), nullable=False, unique=True)  # a UUID: the webhook-id to de-duplicate on
    kind: Mapped[str] = Column(String(40), nullable=False)  # EventKind
    borrower_id = Column(String(64))  # None when nobody is known (an unverified borrower's complaint)
    sequence = Column(Integer)  # the borrower's own count of events: 1, 2, 3…
    payload: Mapped[str] = Column(Text, nullable=False)  # JSON: ids, references, amounts as strings, ISO dates
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)  # UTC


class OutboxStream(Base):
    """A borrower's count of events. Taking the next number locks the row until the transaction ends, so one
    borrower's events commit in the order of their numbers (and of their seq)."""
    __tablename__ = "outbox_streams"
    stream: Mapped[str] = Column(String(64), primary_key=True)  # the borrower id
    last_sequence: Mapped[int] = Column(Integer, nullable=False)


class OutboxQueued(Base):
    """An event not yet turned into deliveries for the configured endpoints; the deliverer does that."""
    __tablename__ = "outbox_queue"
    event_seq: Mapped[int] = Column(Integer, ForeignKey("outbox_events.seq"), primary_key=True)


class OutboxDelivery(Base):
    """One event on its way to one of the lender's endpoints: tried until delivered, never given up.

    A deliverer claims it for `lease_until` (claim: its token) before sending, so two never send it at once.
    `stream` and `event_seq` copy the event's borrower and order: a borrower's next delivery to an endpoint
    waits until their earlier ones there are delivered. Times are real UTC, whatever date is pinned.
    """
    __tablename__ = "outbox_deliveries"
    __table_args__ = (UniqueConstraint("event_seq", "endpoint", name="uq_outbox_deliveries_event_endpoint"),
                      Index("ix_outbox_deliveries_status_next", "status", "next_attempt_at"),
                      Index("ix_outbox_deliveries_order", "endpoint", "stream", "event_seq"),
                      one_of("ck_outbox_deliveries_status", "status", DeliveryStatus))
    id: Mapped[int] = Column(Integer, primary_key=True)
    event_seq: Mapped[int] = Column(Integer, ForeignKey("outbox_events.seq"), nullable=False)
    endpoint: Mapped[str] = Column(String(500), nullable=False)  # the URL, as configured
    stream = Column(String(64))  # the event's borrower; None: no order to keep
    status: Mapped[str] = Column(String(20), nullable=False)  # DeliveryStatus
    attempts: Mapped[int] = Column(Integer, nullable=False, default=0)  # since it was (re)queued
    next_attempt_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)
    last_error = Column(String(200))  # a failure kind (kuanxin/outbound/deliverer.py) and its detail
    last_status = Column(Integer)  # the receiver's HTTP status, when it answered
    delivered_at = Column(DateTime)
    claim = Column(String(64))  # the token of the deliverer holding it
    lease_until = Column(DateTime)


class PlanDecisionRecord(Base):
    """An automated decision on a plan (kuanxin/lending/decisions.py): approved by the assistant, sent to staff
    review, or refused by the eligibility rules; with every rule applied, its limit and the borrower's value.
    Append-only. Not tied to the borrowers table: account loads replace borrowers, decisions stay (revision 0011)."""
    __tablename__ = "plan_decisions"
    __table_args__ = (Index("ix_plan_decisions_conversation_at", "conversation_id", "decided_at"),
                      one_of("ck_plan_decisions_kind", "kind", RequestType),
                      one_of("ck_plan_decisions_outcome", "outcome", DecisionOutcome))
    id: Mapped[int] = Column(Integer, primary_key=True)
    borrower_id: Mapped[str] = Column(String(64), nullable=False, index=True)
    loan_id: Mapped[str] = Column(String(64), nullable=False)
    kind: Mapped[str] = Column(String(20), nullable=False)  # RequestType: installment | deferral
    outcome: Mapped[str] = Column(String(20), nullable=False)  # DecisionOutcome
    length = Column(Integer)  # periods or months asked for; None when refused before they were asked
    rules: Mapped[str] = Column(Text, nullable=False)  # JSON: [{rule, limit, value, passed}] or refusals
    request_reference = Column(String(32))  # the request it approved or sent to staff
    conversation_id = Column(String(128))
    decided_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)  # UTC


class Agreement(Base):
    """A written agreement the borrower accepted: the exact text they saw (from a versioned template of the
    catalogue), its SHA-256, the terms as data, when, where and after which identity check. Never changed: a change
    is a new agreement that names the one it supersedes (revision 0011)."""
    __tablename__ = "agreements"
    __table_args__ = (one_of("ck_agreements_kind", "kind", RequestType),)
    id: Mapped[int] = Column(Integer, primary_key=True)
    number = Column(String(32), unique=True)  # XY20261122-0001, set in the transaction that records it
    borrower_id: Mapped[str] = Column(String(64), nullable=False, index=True)
    loan_id: Mapped[str] = Column(String(64), nullable=False)
    kind: Mapped[str] = Column(String(20), nullable=False)  # RequestType
    request_reference = Column(String(32))  # the approved request (FQ…)
    decision_id = Column(Integer)  # the automated decision that approved it (plan_decisions.id)
    template: Mapped[str] = Column(String(60), nullable=False)  # the catalogue key: agreement.installment.v1
    language: Mapped[str] = Column(String(8), nullable=False)
    text: Mapped[str] = Column(Text, nullable=False)  # exactly as shown to the borrower
    sha256: Mapped[str] = Column(String(64), nullable=False)
    terms: Mapped[str] = Column(Text, nullable=False)  # JSON: the values and payments the text states
    accepted_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)  # UTC
    channel = Column(String(40))  # the Rasa input channel the acceptance came through
    conversation_id: Mapped[str] = Column(String(128), nullable=False)
    identity_check: Mapped[str] = Column(Text, nullable=False)  # JSON: how the borrower had proved who they are
    supersedes = Column(String(32))  # the number of the agreement this one replaces


class RepaymentPlan(Base):
    """A plan in force under an agreement, and how its life ended: completed or broken (kuanxin/lending/plan_life.py).
    One in force per loan (open_key). Not tied to the borrowers table, like the agreement (revision 0011)."""
    __tablename__ = "repayment_plans"
    __table_args__ = (Index("ix_repayment_plans_status", "status"),
                      one_of("ck_repayment_plans_kind", "kind", RequestType),
                      one_of("ck_repayment_plans_status", "status", PlanStatus))
    id: Mapped[int] = Column(Integer, primary_key=True)
    agreement_number: Mapped[str] = Column(String(32), nullable=False, unique=True)
    borrower_id: Mapped[str] = Column(String(64), nullable=False, index=True)
    loan_id: Mapped[str] = Column(String(64), nullable=False)
    kind: Mapped[str] = Column(String(20), nullable=False)  # RequestType
    starts_on: Mapped[dt.date] = Column(Date, nullable=False)  # Beijing date of the agreement
    payments: Mapped[str] = Column(Text, nullable=False)  # JSON: [{n, due, amount}]
    status: Mapped[str] = Column(String(20), nullable=False)  # PlanStatus
    open_key = Column(String(160), unique=True)  # the loan id while in force: one plan in force per loan
    ended_on = Column(Date)  # completed, broken, superseded or revoked on
    told_at = Column(DateTime)  # UTC: when the borrower was told it ended (broken or revoked; revision 0013)


class PlanOffer(Base):
    """A written agreement shown to a borrower in full for acceptance (the assistant could approve it): once per text
    and conversation. What the report's "plans offered" counts (revision 0013)."""
    __tablename__ = "plan_offers"
    __table_args__ = (UniqueConstraint("conversation_id", "sha256", name="uq_plan_offers_conversation_text"),
                      Index("ix_plan_offers_offered_at", "offered_at"),
                      one_of("ck_plan_offers_kind", "kind", RequestType))
    id: Mapped[int] = Column(Integer, primary_key=True)
    borrower_id: Mapped[str] = Column(String(64), nullable=False)
    loan_id: Mapped[str] = Column(String(64), nullable=False)
    kind: Mapped[str] = Column(String(20), nullable=False)  # RequestType: installment | deferral
    length: Mapped[int] = Column(Integer, nullable=False)  # periods or months
    sha256: Mapped[str] = Column(String(64), nullable=False)  # the agreement text shown
    conversation_id: Mapped[str] = Column(String(128), nullable=False)
    offered_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)  # UTC


class PlanRevocation(Base):
    """A supervisor's revocation of an automated approval within the policy's cooling-off window
    (policy.yml plans.cooling_off_hours): who, when and why. Append-only; the agreement itself never changes, its
    plan ends as revoked in the same transaction (revision 0013)."""
    __tablename__ = "plan_revocations"
    id: Mapped[int] = Column(Integer, primary_key=True)
    agreement_number: Mapped[str] = Column(String(32), nullable=False, unique=True)
    borrower_id: Mapped[str] = Column(String(64), nullable=False, index=True)
    loan_id: Mapped[str] = Column(String(64), nullable=False)
    revoked_by: Mapped[str] = Column(String(64), nullable=False)  # the supervisor's login name
    reason: Mapped[str] = Column(Text, nullable=False)
    revoked_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)  # UTC


class SatisfactionAsk(Base):
    """The satisfaction question asked after an outcome (kuanxin/store/satisfaction.py; revision 0015). Append-only.

    The database itself keeps the rules that must hold across processes: one question a day per asker (the borrower,
    or the conversation when nobody is verified: `asker`) and one a day per conversation."""
    __tablename__ = "satisfaction_asks"
    __table_args__ = (UniqueConstraint("asker", "day", name="uq_satisfaction_asks_asker_day"),
                      UniqueConstraint("conversation_id", "day", name="uq_satisfaction_asks_conversation_day"),
                      Index("ix_satisfaction_asks_asked_at", "asked_at"),
                      one_of("ck_satisfaction_asks_outcome", "outcome", SatisfactionOutcome))
    id: Mapped[int] = Column(Integer, primary_key=True)
    conversation_id: Mapped[str] = Column(String(128), nullable=False)
    borrower_id = Column(String(64))  # None: nobody verified in the conversation
    asker: Mapped[str] = Column(String(160), nullable=False)  # borrower:<id> or conversation:<id>
    day: Mapped[dt.date] = Column(Date, nullable=False)  # Beijing date
    channel = Column(String(40))  # the Rasa input channel: open-ended
    topic: Mapped[str] = Column(String(40), nullable=False)  # the intent the outcome answered
    outcome: Mapped[str] = Column(String(20), nullable=False)  # SatisfactionOutcome
    asked_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)  # UTC


class SatisfactionRatingRecord(Base):
    """A borrower's answer to a satisfaction question, with its optional comment (phone and ID numbers masked).
    Append-only: one rating per question (`ask_id` unique); a comment given later is a row of satisfaction_comments."""
    __tablename__ = "satisfaction_ratings"
    __table_args__ = (Index("ix_satisfaction_ratings_created_at", "created_at"),
                      one_of("ck_satisfaction_ratings_rating", "rating", SatisfactionRating),
                      one_of("ck_satisfaction_ratings_outcome", "outcome", SatisfactionOutcome))
    id: Mapped[int] = Column(Integer, primary_key=True)
    ask_id: Mapped[int] = Column(Integer, ForeignKey("satisfaction_asks.id"), nullable=False, unique=True)
    conversation_id: Mapped[str] = Column(String(128), nullable=False)
    borrower_id = Column(String(64))
    channel = Column(String(40))
    topic: Mapped[str] = Column(String(40), nullable=False)
    outcome: Mapped[str] = Column(String(20), nullable=False)  # SatisfactionOutcome
    rating: Mapped[str] = Column(String(10), nullable=False)  # SatisfactionRating
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)  # UTC


class SatisfactionComment(Base):
    """The optional comment after a rating, scrubbed of phone and ID numbers. Append-only, one per question."""
    __tablename__ = "satisfaction_comments"
    id: Mapped[int] = Column(Integer, primary_key=True)
    ask_id: Mapped[int] = Column(Integer, ForeignKey("satisfaction_asks.id"), nullable=False, unique=True)
    conversation_id: Mapped[str] = Column(String(128), nullable=False)
    comment: Mapped[str] = Column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)  # UTC
