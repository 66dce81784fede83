"""What borrowers said about reminders (reminder_preferences): append-only, the latest row of a borrower in force,
the earlier ones its history. Each change is one row carrying every setting (what was not said this time is carried
over from the row before) and an audit entry, written in one transaction."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kuanxin.core import texts
from kuanxin.core.vocab import AuditAction
from kuanxin.store.accounts import utc_naive
from kuanxin.store.db import Database
from kuanxin.store.models import AuditEntry, ReminderPreference

KEEP = object()  # a setting the borrower did not speak of this time


@dataclass(frozen=True)
class Preference:
    channel: str | None  # wechat | sms; None: as the reminders run chooses (WeChat when bound)
    window: tuple[dt.time, dt.time] | None  # Beijing time, end exclusive; None: the whole contact hours
    paused_until: dt.date | None  # reminders resume on this day
    said_at: dt.datetime  # naive UTC

    def paused_on(self, day: dt.date) -> bool:
        return self.paused_until is not None and day < self.paused_until

    def allows(self, at: dt.time) -> bool:
        return self.window is None or self.window[0] <= at < self.window[1]


def _preference(row: ReminderPreference) -> Preference:
    window = (row.window_start, row.window_end) if row.window_start and row.window_end else None
    return Preference(row.channel, window, row.paused_until, row.said_at)


def in_force(session: Session, borrower_ids: Iterable[str] | None = None) -> dict[str, Preference]:
    """The latest preference of each borrower (of these borrowers, when named)."""
    latest = select(func.max(ReminderPreference.id)).group_by(ReminderPreference.borrower_id)
    if borrower_ids is not None:
        latest = latest.where(ReminderPreference.borrower_id.in_(set(borrower_ids)))
    rows = session.execute(select(ReminderPreference).where(ReminderPreference.id.in_(latest))).scalars()
    return {row.borrower_id: _preference(row) for row in rows}


def current(db: Database, borrower_id: str) -> Preference | None:
    with db.session() as session:
        return in_force(session, [borrower_id]).get(borrower_id)


def history(db: Database, borrower_id: str) -> list[ReminderPreference]:
    """Every preference the borrower stated, newest first (the console's borrower page)."""
    with db.session() as session:
        return list(session.execute(select(ReminderPreference).where(ReminderPreference.borrower_id == borrower_id)
                                    .order_by(ReminderPreference.id.desc())).scalars())


def record(db: Database, borrower_id: str, *, conversation_id: str, now: dt.datetime, channel=KEEP, window=KEEP,
           paused_until=KEEP) -> Preference:
    """A new row: the settings said now, the others carried over; with its audit entry."""
    with db.session() as session:
        before = in_force(session, [borrower_id]).get(borrower_id)
        said_window = (before.window if before else None) if window is KEEP else window
        row = ReminderPreference(
            borrower_id=borrower_id, conversation_id=conversation_id, said_at=utc_naive(now),
            channel=(before.channel if before else None) if channel is KEEP else channel,
            window_start=said_window[0] if said_window else None, window_end=said_window[1] if said_window else None,
            paused_until=(before.paused_until if before else None) if paused_until is KEEP else paused_until)
        session.add(row)
        session.add(AuditEntry(at=utc_naive(now), staff="borrower", action=AuditAction.REMINDER_PREFERENCES,
                               conversation_id=conversation_id, target=borrower_id, detail=describe(row)))
        session.flush()
        return _preference(row)


def lines(preference: Preference) -> list[tuple[str, str]]:
    """(staff words, value) for each setting: the console's borrower panel and the audit entry's detail."""
    def word(key: str, **values: object) -> str:
        return texts.text(f"console.preferences.{key}", texts.DEFAULT_LANGUAGE, None, **values)
    window = f"{preference.window[0]:%H:%M}-{preference.window[1]:%H:%M}" if preference.window else word("any_hours")
    paused = preference.paused_until.isoformat() if preference.paused_until else word("not_paused")
    return [(word("channel"), word(f"channel_{preference.channel or 'default'}")), (word("window"), window),
            (word("paused_until"), paused)]


def describe(row: ReminderPreference) -> str:
    """The audit entry's detail, in staff words: the settings in force from then on, never the borrower's words."""
    return ";".join(f"{label}:{value}" for label, value in lines(_preference(row)))


def stated(db: Database, borrower_id: str) -> list[tuple[dt.datetime, list[tuple[str, str]]]]:
    """Each preference the borrower stated, newest (in force) first, with its time (naive UTC) and lines."""
    return [(row.said_at, lines(_preference(row))) for row in history(db, borrower_id)]
