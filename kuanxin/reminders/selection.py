"""Who is reminded today, and why the others are not: the lawful-contact rules in one place.

- only within the contact hours of policy.yml (Beijing time, never wider than 08:00-22:00);
- only accounts whose class calls for a reminder, or whose payment promise was found broken today;
- never a borrower who opted out (退订), has an open complaint about collection, a pending request,
  a plan agreed in writing that is being kept, or an open promise not yet due, nor one who spoke of suicide or
  self-harm until staff clear the safety flag (the safety protocol: no collection contact of any kind meanwhile);
- at most one reminder a day (the database's unique borrower+day) and `weekly_cap` in any 7 days;
- through WeChat when the borrower bound an OpenID there, otherwise by SMS; and by SMS the same day,
  on the same record, when WeChat refuses the borrower for good (unfollowed, refused the template),
  provided the rules above still allow it at that moment and a phone is on file.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select

from kuanxin.core import clock
from kuanxin.core.money import ZERO
from kuanxin.core.policy import Policy, ReminderPolicy
from kuanxin.core.vocab import (
    BindingChannel,
    EscalationReason,
    EscalationStatus,
    PlanStatus,
    PromiseStatus,
    ReminderChannel,
    ReminderKind,
    ReminderStatus,
    RequestStatus,
)
from kuanxin.lending.segments import classify
from kuanxin.store.book import borrowers_with_loans
from kuanxin.store.db import Database
from kuanxin.store.models import (
    Escalation,
    PaymentPromise,
    Reminder,
    ReminderOptOut,
    RepaymentPlan,
    SafetyFlag,
    SenderBinding,
    ServiceRequest,
)

OWING = ("upcoming", "early", "middle", "late")  # classes a broken promise may be reminded in
SKIP_REASONS = {
    "safety": "安全关注中,暂停联系",
    "opted_out": "已退订",
    "abuse_complaint": "有未办结的催收投诉",
    "pending_request": "有待审批的申请",
    "plan_in_force": "还款协议履行中",
    "promise_open": "已承诺还款,尚未到期",
    "reminded_today": "今天已提醒",
    "weekly_cap": "7天内提醒已达上限",
    "no_channel": "没有可用的联系渠道",
}
# "sending": a run stopped mid-send; the message may have gone out
IN_WEEK = (ReminderStatus.SENT, ReminderStatus.SENDING)


@dataclass(frozen=True)
class Candidate:
    borrower_id: str
    phone: str
    segment: str
    kind: str  # segment | broken_promise
    amount: Decimal
    due_date: dt.date | None


@dataclass(frozen=True)
class Plan:
    candidate: Candidate
    channel: str | None = None  # wechat | sms
    address: str | None = None  # the OpenID or phone number
    skip: str | None = None  # a SKIP_REASONS key, or None to send
    retry_of: int | None = None  # today's failed reminder, tried again


@dataclass(frozen=True)
class TodaysReminder:
    id: int
    status: str
    attempts: int


@dataclass
class Circumstances:
    """What the database says about every borrower, read once per run."""
    opted_out: set
    in_crisis: set  # open safety flags
    complaints: set
    pending_requests: set
    open_promises: set
    today: dict  # borrower id -> TodaysReminder
    this_week: Counter  # borrower id -> reminders counted against the weekly cap
    openids: dict  # borrower id -> WeChat OpenID
    plans_in_force: set = field(default_factory=set)  # a plan agreed in writing is being kept: no overdue reminder


def within_contact_hours(moment: dt.datetime, rules: ReminderPolicy) -> bool:
    local = moment.astimezone(clock.BEIJING).time()
    return rules.contact_start <= local < rules.contact_end


def read_circumstances(db: Database, today: dt.date) -> Circumstances:
    week_start = today - dt.timedelta(days=6)
    with db.session() as session:
        def ids(query) -> set:
            return set(session.execute(query).scalars())
        todays = {r.borrower_id: TodaysReminder(r.id, r.status, r.attempts)
                  for r in session.execute(select(Reminder).where(Reminder.day == today)).scalars()}
        week = Counter(session.execute(select(Reminder.borrower_id).where(
            Reminder.day >= week_start, Reminder.day <= today, Reminder.status.in_(IN_WEEK))).scalars())
        bindings = session.execute(select(SenderBinding.borrower_id, SenderBinding.sender_id)
                                   .where(SenderBinding.channel == BindingChannel.WECHAT)
                                   .order_by(SenderBinding.created_at)).all()
        return Circumstances(
            opted_out=ids(select(ReminderOptOut.borrower_id)),
            in_crisis=safety_paused(session),
            complaints=ids(select(Escalation.borrower_id).where(Escalation.reason == EscalationReason.COLLECTION_ABUSE,
                                                                 Escalation.status != EscalationStatus.RESOLVED)),
            pending_requests=ids(select(ServiceRequest.borrower_id)
                                 .where(ServiceRequest.status == RequestStatus.PENDING)),
            open_promises=ids(select(PaymentPromise.borrower_id).where(PaymentPromise.status == PromiseStatus.OPEN,
                                                                        PaymentPromise.promised_date >= today)),
            today=todays, this_week=week,
            openids={borrower_id: sender_id for borrower_id, sender_id in bindings},  # the latest binding wins
            plans_in_force=ids(select(RepaymentPlan.borrower_id).where(RepaymentPlan.status == PlanStatus.IN_FORCE)),
        )


def safety_paused(session) -> set:
    """Borrowers with an open safety flag: no reminder and no collection contact until staff clear it."""
    return set(session.execute(select(SafetyFlag.borrower_id).where(
        SafetyFlag.cleared_at.is_(None), SafetyFlag.borrower_id.is_not(None))).scalars())


def candidates(db: Database, today: dt.date, policy: Policy, broken: set) -> Iterator[Candidate]:
    """Borrowers whose class calls for a reminder today, or whose promise was found broken today."""
    for borrower in borrowers_with_loans(db):
        account = classify(borrower, today, policy.segments)
        if account.amount <= ZERO:
            continue
        if borrower.id in broken and account.segment in OWING:
            kind = ReminderKind.BROKEN_PROMISE
        elif account.treatment == "reminder":
            kind = ReminderKind.SEGMENT
        else:
            continue
        yield Candidate(borrower.id, borrower.phone, account.segment, kind, account.amount, account.due_date)


def decide(candidate: Candidate, known: Circumstances, rules: ReminderPolicy, wechat: bool, sms: bool) -> Plan:
    borrower = candidate.borrower_id
    skip = _exclusion(candidate, known)
    retry_of = None
    todays = known.today.get(borrower)
    if skip is None and todays is not None:
        if todays.status == ReminderStatus.FAILED and todays.attempts < rules.max_attempts:
            retry_of = todays.id
        else:
            skip = "reminded_today"
    if skip is None and retry_of is None and known.this_week[borrower] >= rules.weekly_cap:
        skip = "weekly_cap"
    if skip:
        return Plan(candidate, skip=skip)
    if wechat and borrower in known.openids:
        return Plan(candidate, ReminderChannel.WECHAT, known.openids[borrower], retry_of=retry_of)
    if sms:
        return Plan(candidate, ReminderChannel.SMS, candidate.phone, retry_of=retry_of)
    return Plan(candidate, skip="no_channel")


def sms_instead_bar(db: Database, candidate: Candidate, rules: ReminderPolicy, moment: dt.datetime,
                    reminder_id: int) -> str | None:
    """Why the reminder `reminder_id`, refused by WeChat, may not go by SMS at `moment`; None when it may.

    The run checked the hours and the cap when it started; they are checked again because the fallback
    comes later, and the cap counts the other reminders of the week (this one is the same reminder).
    """
    if not candidate.phone.strip():
        return "no_phone"
    if not within_contact_hours(moment, rules):
        return "outside_hours"
    today = moment.astimezone(clock.BEIJING).date()
    with db.session() as session:
        others = session.execute(select(func.count()).select_from(Reminder).where(
            Reminder.borrower_id == candidate.borrower_id, Reminder.id != reminder_id,
            Reminder.day >= today - dt.timedelta(days=6), Reminder.day <= today,
            Reminder.status.in_(IN_WEEK))).scalar_one()
    return "weekly_cap" if others >= rules.weekly_cap else None


def _exclusion(candidate: Candidate, known: Circumstances) -> str | None:
    borrower = candidate.borrower_id
    if borrower in known.in_crisis:
        return "safety"
    if borrower in known.opted_out:
        return "opted_out"
    if borrower in known.complaints:
        return "abuse_complaint"
    if borrower in known.pending_requests:
        return "pending_request"
    if borrower in known.plans_in_force:
        return "plan_in_force"
    if borrower in known.open_promises:
        return "promise_open"
    return None
