"""Who is reminded today, and why the others are not: the lawful-contact rules in one place.

- only within the contact hours of policy.yml (Beijing time, never wider than 08:00-22:00);
- only accounts whose class calls for a reminder, or whose payment promise was found broken today, or whose plan
  agreed in writing has a payment due within `plans.remind_days_before` days (reminded once per plan payment, and
  then instead of the class's reminder);
- never a borrower who opted out (退订), has an open complaint about collection, a pending request,
  a plan agreed in writing that is being kept, or an open promise not yet due, nor one who spoke of suicide or
  self-harm until staff clear the safety flag (the safety protocol: no collection contact of any kind meanwhile);
- at most one reminder a day (the database's unique borrower+day) and `weekly_cap` in any 7 days;
- not before the end of a pause the borrower asked for after a hardship, nor outside the hours they chose
  (kuanxin.store.preferences; a later run within them sends it);
- by SMS when the borrower chose it, else through WeChat when they bound an OpenID there, otherwise by SMS; and by
  SMS the same day, on the same record, when WeChat refuses the borrower for good (unfollowed, refused the
  template), provided the rules above still allow it at that moment and a phone is on file.
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
from kuanxin.store import classes, preferences
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
    "plan_payment_reminded": "本期协议还款已提醒",
    "promise_open": "已承诺还款,尚未到期",
    "reminded_today": "今天已提醒",
    "weekly_cap": "7天内提醒已达上限",
    "no_channel": "没有可用的联系渠道",
    "paused": "借款人说明困难后暂停提醒",
    "outside_chosen_hours": "不在借款人选择的提醒时段",
}
# "sending": a run stopped mid-send; the message may have gone out
IN_WEEK = (ReminderStatus.SENT, ReminderStatus.SENDING)


@dataclass(frozen=True)
class Candidate:
    borrower_id: str
    phone: str
    segment: str
    kind: str  # segment | broken_promise | plan_payment
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
    plan_payments_reminded: set = field(default_factory=set)  # (borrower id, plan payment date) already reminded
    preferences: dict = field(default_factory=dict)  # borrower id -> the Preference they stated (store.preferences)


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
            plan_payments_reminded={(row.borrower_id, row.due_date) for row in session.execute(
                select(Reminder.borrower_id, Reminder.due_date).where(
                    Reminder.kind == ReminderKind.PLAN_PAYMENT, Reminder.status.in_(IN_WEEK)))},
            preferences=preferences.in_force(session),
        )


def safety_paused(session) -> set:
    """Borrowers with an open safety flag: no reminder and no collection contact until staff clear it."""
    return set(session.execute(select(SafetyFlag.borrower_id).where(
        SafetyFlag.cleared_at.is_(None), SafetyFlag.borrower_id.is_not(None))).scalars())


def candidates(db: Database, today: dt.date, policy: Policy, broken: set,
               plan_payments: dict | None = None) -> Iterator[Candidate]:
    """Borrowers with a plan payment due soon (`plan_payments`: borrower id -> (amount, date)), else whose class
    calls for a reminder today, or whose promise was found broken today."""
    rules, plan_payments = policy.segments, plan_payments or {}
    named = set(broken) | set(plan_payments)
    for account in classes.accounts_where(db, today, rules, classes.reminder_cells(rules), named):
        if account.borrower_id in plan_payments:
            amount, due = plan_payments[account.borrower_id]
            yield Candidate(account.borrower_id, account.phone, account.segment, ReminderKind.PLAN_PAYMENT, amount,
                            due)
            continue
        if account.amount <= ZERO:
            continue
        if account.borrower_id in broken and account.segment in OWING:
            kind = ReminderKind.BROKEN_PROMISE
        elif account.treatment == "reminder":
            kind = ReminderKind.SEGMENT
        else:
            continue
        yield Candidate(account.borrower_id, account.phone, account.segment, kind, account.amount, account.due_date)


def decide(candidate: Candidate, known: Circumstances, rules: ReminderPolicy, wechat: bool, sms: bool,
           at: dt.datetime | None = None) -> Plan:
    """`at`: the run's moment, for the borrower's own pause and hours (none checked without it)."""
    borrower = candidate.borrower_id
    chosen = known.preferences.get(borrower)
    skip = _exclusion(candidate, known) or (_not_now(chosen, at) if chosen and at else None)
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
    by_sms = sms and candidate.phone.strip() != ""
    if chosen and chosen.channel == ReminderChannel.SMS and by_sms:  # the borrower's own choice, when reachable
        return Plan(candidate, ReminderChannel.SMS, candidate.phone, retry_of=retry_of)
    if wechat and borrower in known.openids:
        return Plan(candidate, ReminderChannel.WECHAT, known.openids[borrower], retry_of=retry_of)
    if sms:
        return Plan(candidate, ReminderChannel.SMS, candidate.phone, retry_of=retry_of)
    return Plan(candidate, skip="no_channel")


def _not_now(chosen: preferences.Preference, at: dt.datetime) -> str | None:
    """A pause the borrower asked for after stating a hardship, or a moment outside the hours they chose (a later
    run within them sends it)."""
    local = at.astimezone(clock.BEIJING)
    if chosen.paused_on(local.date()):
        return "paused"
    return None if chosen.allows(local.time()) else "outside_chosen_hours"


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
    if candidate.kind == ReminderKind.PLAN_PAYMENT:
        if (borrower, candidate.due_date) in known.plan_payments_reminded:
            return "plan_payment_reminded"
    elif borrower in known.plans_in_force:
        return "plan_in_force"
    if borrower in known.open_promises:
        return "promise_open"
    return None
