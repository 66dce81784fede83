"""One reminders run (what cron calls): follow up yesterday's promises, then remind whoever is due.

Each reminder is claimed in the database before it is sent (the unique borrower+day, or a failed
record switched back to "sending" by one conditional UPDATE), so a re-run, or two runs at once, send
nothing twice. Every attempt is written down; transient failures are retried up to `max_attempts`
over the run and that day's re-runs, refusals are not retried, and both are reported.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
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
    within_contact_hours,
)
from kuanxin.reminders.sms import SmsError, SmsGateway
from kuanxin.store.accounts import reference_for, utc_naive
from kuanxin.store.db import Database
from kuanxin.store.models import PaymentPromise, Reminder
from kuanxin.wechat.api import SYSTEM_BUSY, WeChatApi, WeChatApiError, mask_openid

logger = logging.getLogger(__name__)
CONCURRENCY = 8  # reminders in flight at once
RETRY_PAUSE = 0.5  # seconds, times the attempt number, between attempts within a run


@dataclass(frozen=True)
class Outcome:
    plan: Plan
    status: str  # sent | failed | skipped | would_send
    reference: str = ""
    error: str = ""


@dataclass
class RunReport:
    at: dt.datetime
    dry_run: bool
    in_hours: bool = True
    promises: list[PromiseOutcome] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

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
    if not within_contact_hours(now, policy.reminders):
        report.in_hours = False
        return report
    known = read_circumstances(db, today)
    plans = [decide(candidate, known, policy.reminders, channels.wechat is not None, channels.sms is not None)
             for candidate in candidates(db, today, policy, broken)]
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

    async def send(self, plan: Plan) -> Outcome:
        if has_opted_out(self.db, plan.candidate.borrower_id):  # 退订 while this run was under way
            return Outcome(plan, "skipped", error="opted_out")
        with self.db.session() as session:  # a crisis in a conversation while this run was under way
            if plan.candidate.borrower_id in safety_paused(session):
                return Outcome(plan, "skipped", error="safety")
        record = self._claim(plan)
        if record is None:
            return Outcome(plan, "skipped", error="reminded_today")
        reference = reference_for("reminder", self.today, record.id)
        facts = messages.Reminding(plan.candidate.segment, plan.candidate.amount, plan.candidate.due_date, self.today)
        attempts, error = record.attempts, ""
        while attempts < self.policy.reminders.max_attempts:
            if attempts > record.attempts:
                await asyncio.sleep(self.pause * attempts)
            attempts += 1
            try:
                await self._deliver(plan, facts, reference)
            except (SmsError, WeChatApiError, ValueError) as exc:
                error, permanent = _failure(exc)
                self._record(record.id, ReminderStatus.SENDING, attempts, error)
                if permanent:
                    attempts = self.policy.reminders.max_attempts
                continue
            self._record(record.id, ReminderStatus.SENT, attempts, None, sent=True)
            return Outcome(plan, "sent", reference)
        self._record(record.id, ReminderStatus.FAILED, attempts, error)
        logger.warning("reminder %s to %s failed: %s", reference, _masked(plan), error)
        return Outcome(plan, "failed", reference, error)

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

    def _record(self, reminder_id: int, status: ReminderStatus, attempts: int, error: str | None,
                sent: bool = False) -> None:
        values = {"status": status, "attempts": attempts, "error": error}
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
