"""退订: a borrower's wish for no more reminders, honoured from the moment it is recorded."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kuanxin.store.accounts import utc_naive
from kuanxin.store.db import Database
from kuanxin.store.models import Borrower, ReminderOptOut

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
    except IntegrityError:  # the same wish, recorded a moment ago by a concurrent request
        return False
    return True


def opt_out_by_phone(db: Database, phone: str, channel: str, now: dt.datetime) -> bool:
    """An opt-out replied from a phone: True when the phone is a borrower's (recorded, or already was)."""
    with db.session() as session:
        borrower_id = session.execute(select(Borrower.id).where(Borrower.phone == phone)).scalar_one_or_none()
    if borrower_id is None:
        return False
    opt_out(db, borrower_id, channel, now)
    return True


def has_opted_out(db: Database, borrower_id: str) -> bool:
    with db.session() as session:
        return session.get(ReminderOptOut, borrower_id) is not None
