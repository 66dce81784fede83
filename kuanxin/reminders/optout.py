"""退订: a borrower's wish for no more reminders, honoured from the moment it is recorded.

An opt-out replied by SMS is confirmed by one SMS back, as carriers expect: only the first time, and
only after the opt-out is recorded, so a gateway failure on the confirmation never loses the wish.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kuanxin.core import clock, texts
from kuanxin.core.vocab import EventKind
from kuanxin.lending.identity import mask_phone
from kuanxin.reminders.sms import SmsError, SmsGateway
from kuanxin.store.accounts import utc_naive
from kuanxin.store.db import Database
from kuanxin.store.models import Borrower, ReminderOptOut
from kuanxin.store.outbox import opt_out_facts, record_event

logger = logging.getLogger(__name__)
# A whole SMS reply meaning "stop": the words the reminder names, and the TD/T/N carriers accept.
OPT_OUT_REPLY = re.compile(r"\s*(?:退订|取消提醒|退订提醒|不要提醒|td|t|n|stop|unsubscribe)[\s。.!!]*", re.IGNORECASE)


def is_opt_out_reply(text: str) -> bool:
    return bool(OPT_OUT_REPLY.fullmatch(text or ""))


def opt_out(db: Database, borrower_id: str, channel: str, now: dt.datetime) -> bool:
    """Records the opt-out; True when it is new, False when the borrower had already opted out."""
    try:
        with db.session() as session:
            if session.get(ReminderOptOut, borrower_id) is not None:
                return False
            session.add(ReminderOptOut(borrower_id=borrower_id, channel=channel, at=utc_naive(now)))
            record_event(session, EventKind.REMINDERS_OPTED_OUT, borrower_id, opt_out_facts(channel, now), now)
    except IntegrityError:  # the same wish, recorded a moment ago by a concurrent request
        return False
    return True


@dataclass(frozen=True)
class PhoneOptOut:
    borrower_id: str
    new: bool  # False: the borrower had opted out before


def opt_out_by_phone(db: Database, phone: str, channel: str, now: dt.datetime) -> PhoneOptOut | None:
    """An opt-out replied from a phone: recorded when the phone is a borrower's; None when it is nobody's."""
    with db.session() as session:
        borrower_id = session.execute(select(Borrower.id).where(Borrower.phone == phone)).scalar_one_or_none()
    if borrower_id is None:
        return None
    return PhoneOptOut(borrower_id, opt_out(db, borrower_id, channel, now))


async def confirm_opt_out(gateway: SmsGateway, phone: str) -> bool:
    """The one SMS confirming an opt-out, in the catalogue's words; True when the gateway took it.

    A reply to the borrower's own message, so it goes at once, whatever the contact hours. One attempt:
    the opt-out is already recorded and honoured, and a repeated 退订 does not ask for another.
    """
    reference = f"TD{clock.now():%Y%m%d}-{secrets.token_hex(4)}"  # the interface's reference: no account in it
    try:
        await gateway.send(phone, texts.text("reminders.optout.confirm"), reference)
    except SmsError as exc:
        logger.warning("opt-out confirmation to %s not sent: %s", mask_phone(phone), exc.reason)
        return False
    return True


def has_opted_out(db: Database, borrower_id: str) -> bool:
    with db.session() as session:
        return session.get(ReminderOptOut, borrower_id) is not None
