"""A payment from the lender's ledger (push API or `kuanxin sync`), told to the borrower in their conversation: the
amount and its day, and what each loan it paid owes now, to the cent (the same statement "我逾期了多少钱" answers
with). Each payment is told once (kuanxin.store.payments.claim_untold_payments), whichever comes first:
- the borrower's next message (runtime/payment_news.py, inside Rasa, before the reply);
- a conversation left open in silence (`OpenConversations` here, run by the web process: web/payment_news.py):
  a conversation of the borrower that is verified as them, not paused (no member of staff took it over), active
  within policy.yml payments.tell_open_minutes and on a channel that can deliver a message unasked (web chat,
  WeChat), while no safety flag of theirs is open.

The payments are claimed before they are told, and released again when the message could not be delivered, so a
failed push is told at the next message instead. This module knows nothing of Rasa: the caller says what a
conversation's state is and how to tell it.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass

from sqlalchemy import delete, select

from kuanxin.core import clock, texts
from kuanxin.core import policy as policies
from kuanxin.core.formats import Day, Money
from kuanxin.lending import plans
from kuanxin.lending.overdue import LoanStatement
from kuanxin.store.accounts import Accounts
from kuanxin.store.agreements import PlanBook
from kuanxin.store.db import Database
from kuanxin.store.models import ConversationSession, Payment, PaymentAcknowledgement, SafetyFlag
from kuanxin.store.payments import borrowers_with_untold_payments, claim_untold_payments

log = logging.getLogger(__name__)
CONVERSATIONS_PER_BORROWER = 3  # the borrower's most recent conversations looked at: the one they have open is one
# channels that deliver a message the borrower did not just ask for (the web chat's socket, WeChat's customer-service
# messages); the REST channel answers only the request in hand, so its conversations are told at the next message
PUSHING_CHANNELS = frozenset({"webchat", "wechat"})


def news_text(accounts: Accounts, borrower_id: str, payments: list[Payment], language: str) -> str:
    """These payments and what each loan they paid owes now, as one message ('' when the borrower is unknown)."""
    borrower = accounts.borrower_profile(borrower_id) if payments else None
    if borrower is None:
        return ""
    by_loan = {s.loan_id: s for s in plans.statements(borrower, clock.today())}
    planned = {plan.loan_id for plan in PlanBook(accounts.db).plans_in_force(borrower_id)}
    lines = [received_line(p, language) for p in payments]
    for loan_id in dict.fromkeys(p.loan_id for p in payments):
        if loan_id in by_loan:
            lines.append(balance_line(by_loan[loan_id], loan_id in planned, language))
    return "\n".join(lines)


def received_line(payment: Payment, language: str) -> str:
    return texts.text("pay.received", language, day=Day(payment.paid_on), amount=Money(payment.amount))


def balance_line(statement: LoanStatement, planned: bool, language: str) -> str:
    """What the loan owes now: told by its plan, its overdue total, or that nothing is overdue."""
    loan = texts.text("loan.name", language, loan_id=statement.loan_id, product=statement.product)
    if planned:
        return texts.text("pay.received.plan", language, loan=loan)
    if statement.is_overdue and statement.status != "settled":
        return texts.text("pay.received.overdue", language, loan=loan, total=Money(statement.total))
    return texts.text("pay.received.clear", language, loan=loan)


def told_since() -> dt.datetime:
    """Payments received since then (naive UTC) are still news (policy.yml payments.acknowledge_days)."""
    return clock.real_utc() - dt.timedelta(days=policies.current().payments.acknowledge_days)


def release(db: Database, payment_ids: Collection[str], conversation_id: str) -> None:
    """Undoes a claim whose message was never delivered: the payments are untold again (the next message tells)."""
    with db.session() as session:
        session.execute(delete(PaymentAcknowledgement).where(PaymentAcknowledgement.payment_id.in_(list(payment_ids)),
                                                             PaymentAcknowledgement.conversation_id == conversation_id))


@dataclass(frozen=True)
class ConversationState:
    """What the conversation store says of one conversation (Rasa's tracker, read without its events)."""
    verified_borrower: str | None  # the borrower it is verified as, or None
    paused: bool  # a member of staff took it over: the assistant says nothing
    latest_event_time: float | None  # seconds since the epoch
    language: str = texts.DEFAULT_LANGUAGE
    channel: str | None = None  # the channel of the borrower's latest message


StateOf = Callable[[str], ConversationState]  # conversation id -> its state; raises when the store cannot answer
Tell = Callable[[str, str], None]  # (conversation id, text); raises when the message was not accepted


@dataclass(frozen=True)
class Told:
    borrower_id: str
    conversation_id: str
    payment_ids: tuple[str, ...]


class OpenConversations:
    """Pushes untold payments into their borrowers' open conversations; `sweep` is called every few seconds."""

    def __init__(self, db: Database, state_of: StateOf, tell: Tell):
        self.db, self.state_of, self.tell = db, state_of, tell

    def sweep(self) -> list[Told]:
        minutes = policies.current().payments.tell_open_minutes
        if not minutes:
            return []
        now = clock.real_utc()
        # a payment older than the window was received while no conversation of the borrower was open: when one
        # opens, the borrower's own message tells it (looking at recent payments keeps the sweep small)
        told = []
        for borrower_id in self.borrowers_with_news(now - dt.timedelta(minutes=minutes)):
            done = self.tell_borrower(borrower_id, now, minutes)
            if done:
                told.append(done)
        return told

    def borrowers_with_news(self, received_since: dt.datetime) -> list[str]:
        """Borrowers with a payment received since then, not charged back and not yet told."""
        with self.db.session() as session:
            return borrowers_with_untold_payments(session, received_since)

    def tell_borrower(self, borrower_id: str, now: dt.datetime, minutes: int) -> Told | None:
        if self.in_crisis(borrower_id):
            return None  # the safety protocol decides what this borrower hears, not a balance
        found = self.open_conversation(borrower_id, now.replace(tzinfo=dt.timezone.utc).timestamp() - minutes * 60)
        if found is None:
            return None
        conversation_id, state = found
        if Accounts(self.db).open_safety_flags(conversation_id):
            return None
        payments = claim_untold_payments(self.db, borrower_id, told_since(), conversation_id, now)
        if not payments:
            return None  # told meanwhile (the borrower wrote, or another web instance was first)
        ids = tuple(p.id for p in payments)
        try:
            text = news_text(Accounts(self.db), borrower_id, payments, state.language)
            if not text:
                raise LookupError("the borrower is not in the book")
            self.tell(conversation_id, text)
        except Exception as exc:  # noqa: BLE001 - whatever failed, the payment stays to be told at the next message
            log.warning("payment news: not delivered to an open conversation (%s)", type(exc).__name__)
            release(self.db, ids, conversation_id)
            return None
        return Told(borrower_id, conversation_id, ids)

    def in_crisis(self, borrower_id: str) -> bool:
        with self.db.session() as session:
            return session.execute(select(SafetyFlag.id).where(SafetyFlag.borrower_id == borrower_id,
                                                               SafetyFlag.cleared_at.is_(None)).limit(1)).first() \
                is not None

    def open_conversation(self, borrower_id: str, active_since: float) -> tuple[str, ConversationState] | None:
        """The borrower's most recently active conversation that may be told: verified as them, not taken over,
        active since then."""
        best: tuple[str, ConversationState] | None = None
        for conversation_id in self.conversations_of(borrower_id):
            try:
                state = self.state_of(conversation_id)
            except Exception as exc:  # noqa: BLE001 - an unreadable conversation is not told; the next message tells
                log.warning("payment news: a conversation's state is unreadable (%s)", type(exc).__name__)
                continue
            if state.verified_borrower != borrower_id or state.paused or state.channel not in PUSHING_CHANNELS \
                    or state.latest_event_time is None or state.latest_event_time < active_since:
                continue
            if best is None or (best[1].latest_event_time or 0) < state.latest_event_time:
                best = (conversation_id, state)
        return best

    def conversations_of(self, borrower_id: str) -> list[str]:
        """The borrower's most recent conversations (their sessions record who they are once verified)."""
        with self.db.session() as session:
            rows = session.execute(
                select(ConversationSession.conversation_id).where(ConversationSession.borrower_id == borrower_id)
                .order_by(ConversationSession.started_at.desc(), ConversationSession.id.desc()).limit(20)).scalars()
            return list(dict.fromkeys(rows))[:CONVERSATIONS_PER_BORROWER]
