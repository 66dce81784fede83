"""One reminders run (what cron calls): follow up yesterday's promises, then remind whoever is due.

Each reminder is claimed in the database before it is sent (the unique borrower+day, or a failed
record switched back to "sending" by one conditional UPDATE), so a re-run, or two runs at once, send
nothing twice. Every attempt is written down; transient failures are retried up to `max_attempts`
over the run and that day's re-runs, refusals are not retried, and both are reported.

When WeChat refuses a borrower for good (REFUSED_BY_BORROWER), the same reminder goes by SMS at once,
on the same record (the one-a-day row: channel and recipient become the SMS's, the WeChat errcode stays
in `error`), if SMS is configured, a phone is on file and every rule still allows it at that moment.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from kuanxin.core import clock
from kuanxin.core.policy import Policy
from kuanxin.core.vocab import PromiseStatus, ReminderChannel, ReminderStatus
from kuanxin.lending.identity import mask_phone
from kuanxin.reminders import messages
from kuanxin.reminders.optout import has_opted_out
from kuanxin.reminders.promises import PromiseOutcome, due_for_follow_up, record_outcomes
from kuanxin.reminders.selection import (
    Plan,
    candidates,
    decide,
    read_circumstances,
    safety_paused,
    sms_instead_bar,
    within_contact_hours,
)
from kuanxin.reminders.sms import SmsError, SmsGateway
from kuanxin.store.accounts import reference_for, utc_naive
from kuanxin.store.agreements import PlanBook
from kuanxin.store.db import Database
from kuanxin.store.models import PaymentPromise, Reminder
from kuanxin.wechat.api import SYSTEM_BUSY, WeChatApi, WeChatApiError, mask_openid

logger = logging.getLogger(__name__)
CONCURRENCY = 8  # reminders in flight at once
RETRY_PAUSE = 0.5  # seconds, times the attempt number, between attempts within a run
# WeChat's answers that mean this borrower cannot get our template messages, however often we retry:
# 40003 invalid openid (they left the account, or it is another account's OpenID), 43004 require subscribe
# (they do not follow the account), 43019 require remove blacklist (the account blocked them), 43101 user
# refuse to accept the msg (they turned this template off). These go by SMS instead. Refusals of our own
# making (40037 unknown template, 47003 a value too long, 48001 API not authorised) fail as before, for
# staff to fix; -1 system busy is retried.
REFUSED_BY_BORROWER = frozenset({40003, 43004, 43019, 43101})
# no SMS to fall back on: the WeChat failure is recorded as it always was, without a note
NO_FALLBACK = ("no_sms", "no_phone")


@dataclass(frozen=True)
class Outcome:
    plan: Plan
    status: str  # sent | failed | skipped | would_send
    reference: str = ""
    error: str = ""


@dataclass(frozen=True)
class _Tried:
    """How one delivery went over its attempts on a reminder's record."""
    sent: bool
    attempts: int  # on the record so far, every channel counted
    error: str = ""
    refusal: int | None = None  # WeChat's errcode when WeChat refused it for good


@dataclass
class RunReport:
    at: dt.datetime
    dry_run: bool
    in_hours: bool = True
    promises: list[PromiseOutcome] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    plans_ended: list[tuple[str, str]] = field(default_factory=list)  # (agreement, completed | broken) found today

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]


@dataclass
class Channels:
    wechat: WeChatApi | None = None
    sms: SmsGateway | None = None


async def run(db: Database, policy: Policy, now: dt.datetime, channels: Channels, dry_run: bool = False,
              pause: float = RETRY_PAUSE) -> RunReport:
    today = now.astimezone(clock.BEIJING).date()
    report = RunReport(now, dry_run)
    outcomes = due_for_follow_up(db, today)
    report.promises = outcomes if dry_run else record_outcomes(db, outcomes, today)
    broken = {o.borrower_id for o in outcomes if not o.kept} if dry_run else broken_on(db, today)
    # plans agreed in writing: a payment missed beyond the grace days breaks the plan, all paid completes it
    report.plans_ended = PlanBook(db).follow_all(today, now, policy.plans.grace_days, dry_run)
    if not within_contact_hours(now, policy.reminders):
        report.in_hours = False
        return report
    known = read_circumstances(db, today)
    plan_payments = PlanBook(db).payments_due_soon(today, policy.plans.remind_days_before, policy.plans.grace_days)
    plans = [decide(candidate, known, policy.reminders, channels.wechat is not None, channels.sms is not None, now)
             for candidate in candidates(db, today, policy, broken, plan_payments)]
    sender = _Sender(db, policy, now, channels, pause)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def carry_out(plan: Plan) -> Outcome:
        if plan.skip:
            return Outcome(plan, "skipped")
        if dry_run:
            return Outcome(plan, "would_send")
        async with limit:
            return await sender.send(plan)

    report.outcomes = list(await asyncio.gather(*(carry_out(plan) for plan in plans)))
    return report


def broken_on(db: Database, today: dt.date) -> set:
    """Borrowers whose promise was found broken today (by this run or an earlier one today)."""
    with db.session() as session:
        return set(session.execute(select(PaymentPromise.borrower_id).where(
            PaymentPromise.status == PromiseStatus.BROKEN, PaymentPromise.followed_up_on == today)).scalars())


class _Sender:
    def __init__(self, db: Database, policy: Policy, now: dt.datetime, channels: Channels, pause: float):
        self.db, self.policy, self.now, self.channels, self.pause = db, policy, now, channels, pause
        self.today = now.astimezone(clock.BEIJING).date()
        self.started = time.monotonic()

    async def send(self, plan: Plan) -> Outcome:
        barred = self._barred(plan.candidate.borrower_id)
        if barred:
            return Outcome(plan, "skipped", error=barred)
        record = self._claim(plan)
        if record is None:
            return Outcome(plan, "skipped", error="reminded_today")
        reference = reference_for("reminder", self.today, record.id)
        facts = messages.Reminding(plan.candidate.segment, plan.candidate.amount, plan.candidate.due_date, self.today,
                                   plan.candidate.kind)
        tried = await self._attempts(record.id, record.attempts, self.policy.reminders.max_attempts,
                                     lambda: self._deliver(plan, facts, reference))
        if tried.refusal in REFUSED_BY_BORROWER:
            plan, tried = await self._by_sms_instead(plan, record.id, tried, facts, reference)
        return self._conclude(plan, record.id, tried, reference)

    def _barred(self, borrower_id: str) -> str | None:
        """An opt-out or a safety flag recorded since the run read the circumstances: no contact now."""
        if has_opted_out(self.db, borrower_id):  # 退订 while this run was under way
            return "opted_out"
        with self.db.session() as session:  # a crisis in a conversation while this run was under way
            return "safety" if borrower_id in safety_paused(session) else None

    async def _attempts(self, reminder_id: int, attempts: int, limit: int, deliver: Callable[[], Awaitable[None]],
                        note: str = "") -> _Tried:
        """Tries `deliver` until it goes or `limit` attempts are on the record; a refusal is not retried.
        Each failure is written down at once (with `note` before it), so a crash loses no attempt."""
        first, error = attempts, ""
        while attempts < limit:
            if attempts > first:
                await asyncio.sleep(self.pause * attempts)
            attempts += 1
            try:
                await deliver()
            except (SmsError, WeChatApiError, ValueError) as exc:
                error, permanent = _failure(exc)
                error = note + error
                self._record(reminder_id, ReminderStatus.SENDING, attempts, error)
                if permanent:
                    return _Tried(False, attempts, error, exc.errcode if isinstance(exc, WeChatApiError) else None)
                continue
            return _Tried(True, attempts)
        return _Tried(False, attempts, error)

    async def _by_sms_instead(self, plan: Plan, reminder_id: int, refused: _Tried, facts: messages.Reminding,
                              reference: str) -> tuple[Plan, _Tried]:
        """WeChat refused the borrower for good: the same reminder by SMS, on the same record, when allowed now."""
        bar = self._sms_bar(plan, reminder_id)
        if bar in NO_FALLBACK:
            return plan, refused
        if bar is not None:
            return plan, dataclasses.replace(refused, error=f"{refused.error}; no SMS: {bar}")
        by_sms = dataclasses.replace(plan, channel=ReminderChannel.SMS, address=plan.candidate.phone)
        logger.info("reminder %s: %s refused by WeChat (%s), sending by SMS to %s", reference, _masked(plan),
                    refused.error, _masked(by_sms))
        self._switch_to_sms(reminder_id, _masked(by_sms), f"{refused.error}; sending by SMS")
        tried = await self._attempts(reminder_id, refused.attempts,
                                     refused.attempts + self.policy.reminders.max_attempts,
                                     lambda: self._deliver(by_sms, facts, reference), note=f"{refused.error}; SMS: ")
        return by_sms, dataclasses.replace(tried, error=f"{refused.error}; sent by SMS") if tried.sent else tried

    def _sms_bar(self, plan: Plan, reminder_id: int) -> str | None:
        if self.channels.sms is None:
            return "no_sms"
        moment = self.now + dt.timedelta(seconds=time.monotonic() - self.started)  # the run's clock, moved on
        return (sms_instead_bar(self.db, plan.candidate, self.policy.reminders, moment, reminder_id)
                or self._barred(plan.candidate.borrower_id))

    def _conclude(self, plan: Plan, reminder_id: int, tried: _Tried, reference: str) -> Outcome:
        if tried.sent:
            self._record(reminder_id, ReminderStatus.SENT, tried.attempts, tried.error or None, sent=True)
            return Outcome(plan, "sent", reference, tried.error)
        # at least max_attempts: spent, so a re-run today does not try a refused reminder again
        attempts = max(tried.attempts, self.policy.reminders.max_attempts)
        self._record(reminder_id, ReminderStatus.FAILED, attempts, tried.error)
        logger.warning("reminder %s to %s failed: %s", reference, _masked(plan), tried.error)
        return Outcome(plan, "failed", reference, tried.error)

    async def _deliver(self, plan: Plan, facts: messages.Reminding, reference: str) -> None:
        # decide() gives a plan to send an address on a channel this run has; a failure otherwise, never a guess
        wechat, sms = self.channels.wechat, self.channels.sms
        if plan.address is None:
            raise ValueError("a reminder plan without an address")
        if plan.channel == ReminderChannel.WECHAT:
            if wechat is None:
                raise ValueError("a WeChat reminder without the WeChat channel")
            template = self.policy.reminders.wechat_template
            await wechat.send_template(plan.address, template.id, messages.template_data(self.policy, facts),
                                       template.url)
        else:
            if sms is None:
                raise ValueError("an SMS reminder without the SMS gateway")
            await sms.send(plan.address, messages.sms_text(self.policy, facts), reference)

    def _claim(self, plan: Plan) -> Reminder | None:
        """Today's record for this borrower, now ours to send; None when another run holds it."""
        if plan.retry_of is not None:
            with self.db.session() as session:
                taken = session.execute(update(Reminder).where(Reminder.id == plan.retry_of,
                                                               Reminder.status == ReminderStatus.FAILED)
                                        .values(status=ReminderStatus.SENDING, channel=plan.channel,
                                                recipient=_masked(plan)))
                # sqlalchemy2-stubs type Session.execute as Result; an UPDATE's is a CursorResult
                return session.get(Reminder, plan.retry_of) if taken.rowcount else None  # type: ignore[attr-defined]
        candidate = plan.candidate
        assert plan.channel is not None, "decide() gives every plan to send a channel"
        try:
            with self.db.session() as session:
                record = Reminder(borrower_id=candidate.borrower_id, day=self.today, kind=candidate.kind,
                                  segment=candidate.segment, channel=plan.channel, recipient=_masked(plan),
                                  amount=candidate.amount, due_date=candidate.due_date, status=ReminderStatus.SENDING,
                                  attempts=0, created_at=utc_naive(self.now))
                session.add(record)
            return record
        except IntegrityError:
            return None

    def _switch_to_sms(self, reminder_id: int, recipient: str, note: str) -> None:
        with self.db.session() as session:
            session.execute(update(Reminder).where(Reminder.id == reminder_id).values(
                channel=ReminderChannel.SMS, recipient=recipient, error=note))

    def _record(self, reminder_id: int, status: ReminderStatus, attempts: int, error: str | None,
                sent: bool = False) -> None:
        values = {"status": status, "attempts": attempts, "error": error and error[:200]}  # the column's size
        if sent:
            values["sent_at"] = utc_naive(clock.now())
        with self.db.session() as session:
            session.execute(update(Reminder).where(Reminder.id == reminder_id).values(**values))


def _failure(exc: Exception) -> tuple[str, bool]:
    """(what went wrong, whether retrying is pointless)."""
    if isinstance(exc, SmsError):
        return exc.reason, exc.permanent
    if isinstance(exc, WeChatApiError):
        return f"WeChat errcode {exc.errcode}", exc.errcode != SYSTEM_BUSY
    return str(exc)[:200], True


def _masked(plan: Plan) -> str:
    return mask_openid(plan.address or "") if plan.channel == "wechat" else mask_phone(plan.address or "")
