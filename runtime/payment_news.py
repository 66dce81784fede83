"""A payment that came in through the lender's ledger (push API or `kuanxin sync`) is told at the borrower's next
message, whatever it says, before the reply: the amount and its day, and what each loan it paid owes now, to the
cent (kuanxin/outbound/payment_news.py words it). Each payment is told once
(kuanxin.store.payments.claim_untold_payments), only to a conversation verified as its borrower, and never in answer
to a message the safety protocol handles. A conversation left open in silence is told sooner, by the web process
(kuanxin/outbound/payment_news.py OpenConversations); whichever comes first tells it.

Sent as a bot message (BotUttered), not as an action, so the rules that choose the reply see the turn as before.
"""
from __future__ import annotations

import asyncio
import logging

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import BotUttered
from rasa.shared.core.trackers import DialogueStateTracker

from kuanxin.core import clock, texts
from kuanxin.outbound.payment_news import news_text, told_since
from kuanxin.store.accounts import Accounts
from kuanxin.store.payments import claim_untold_payments
from runtime.safety import INTENT as CRISIS_INTENT

logger = logging.getLogger(__name__)
_handle_message_with_tracker = None  # the handler this one wraps (runtime.language's), set by install()


def news_of(borrower_id: str, conversation_id: str, language: str) -> str:
    """The payments not yet told to the borrower, claimed as told now, as one message ('' when none)."""
    accounts = Accounts()
    payments = claim_untold_payments(accounts.db, borrower_id, told_since(), conversation_id, clock.real_utc())
    return news_text(accounts, borrower_id, payments, language)


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
