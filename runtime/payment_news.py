"""A payment that came in through the lender's ledger (push API or `kuanxin sync`) is told at the borrower's next
message, whatever it says, before the reply: the amount and its day, and what each loan it paid owes now, to the
cent (kuanxin.lending: the same statement "我逾期了多少钱" answers with). Each payment is told once
(kuanxin.store.payments.claim_untold_payments), only to a conversation verified as its borrower, and never in
answer to a message the safety protocol handles.

Sent as a bot message (BotUttered), not as an action, so the rules that choose the reply see the turn as before.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import BotUttered
from rasa.shared.core.trackers import DialogueStateTracker

from kuanxin.core import clock, texts
from kuanxin.core import policy as policies
from kuanxin.core.formats import Day, Money
from kuanxin.lending import plans
from kuanxin.lending.overdue import LoanStatement
from kuanxin.store.accounts import Accounts
from kuanxin.store.agreements import PlanBook
from kuanxin.store.models import Payment
from kuanxin.store.payments import claim_untold_payments
from runtime.safety import INTENT as CRISIS_INTENT

logger = logging.getLogger(__name__)
_handle_message_with_tracker = None  # the handler this one wraps (runtime.language's), set by install()


def news_of(borrower_id: str, conversation_id: str, language: str) -> str:
    """The payments not yet told to the borrower, claimed as told now, as one message ('' when none)."""
    accounts = Accounts()
    since = clock.real_utc() - dt.timedelta(days=policies.current().payments.acknowledge_days)
    payments = claim_untold_payments(accounts.db, borrower_id, since, conversation_id, clock.real_utc())
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


async def handle_message_telling_payments(self: MessageProcessor, message: UserMessage,
                                          tracker: DialogueStateTracker) -> None:
    await _handle_message_with_tracker(self, message, tracker)  # type: ignore[misc]
    borrower_id = tracker.get_slot("borrower_id")
    crisis = (message.parse_data or {}).get("intent", {}).get("name") == CRISIS_INTENT
    if not tracker.get_slot("verified") or not borrower_id or crisis:
        return
    language = tracker.get_slot("language") or texts.DEFAULT_LANGUAGE
    try:
        news = await asyncio.to_thread(news_of, str(borrower_id), tracker.sender_id, language)
    except Exception:  # noqa: BLE001 - the reply itself must not fail because the news could not be read
        logger.exception("payments could not be told in this turn")
        return
    if news:
        await message.output_channel.send_text_message(tracker.sender_id, news)
        tracker.update(BotUttered(news))


def install() -> None:
    global _handle_message_with_tracker
    if MessageProcessor._handle_message_with_tracker is not handle_message_telling_payments:
        _handle_message_with_tracker = MessageProcessor._handle_message_with_tracker
        MessageProcessor._handle_message_with_tracker = handle_message_telling_payments
