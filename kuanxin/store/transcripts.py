"""The conversation store's transcripts, read and anonymised in place: the `events` table of Rasa's SQL
tracker store (PostgreSQL in production; any database Rasa's SQLTrackerStore writes, SQLite included).

A row keeps its id, sender, type, timestamp, intent and action name; only `data` (the event as Rasa
serialised it) is rewritten, by kuanxin.lending.privacy.anonymised_event, so Rasa reads every conversation
as before and counts over the table stay what they were. Rows are worked through in batches by id, so a
large store is never loaded at once and Rasa goes on appending meanwhile.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    func,
    inspect,
    select,
    true,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from kuanxin.lending.privacy import anonymised_event, redacted_event

# Rasa 3.6's SQLTrackerStore.SQLEvent, as its table is (read and updated here, never created)
EVENTS = Table("events", MetaData(), Column("id", Integer, primary_key=True), Column("sender_id", String(255)),
               Column("type_name", String(255)), Column("timestamp", Float), Column("intent_name", String(255)),
               Column("action_name", String(255)), Column("data", Text))
SAID = ("user", "bot", "slot", "entities")  # the kinds of event that can hold something personal
BATCH = 500


@dataclass
class Anonymised:
    """What an anonymisation (or masking) changed, or in a dry run would change."""

    events: int = 0
    conversations: set[str] = field(default_factory=set)
    kept: set[str] = field(default_factory=set)  # conversations left whole on purpose, with old events


class Transcripts:
    """The events table of one conversation store, by its SQLAlchemy URL."""

    def __init__(self, url: str):
        self.engine = create_engine(url, future=True)

    def close(self) -> None:
        self.engine.dispose()

    def exists(self) -> bool:
        """False for a store Rasa has not written to yet (no events table)."""
        return inspect(self.engine).has_table(EVENTS.name)

    def latest_event_times(self, sender_ids: Collection[str]) -> dict[str, float]:
        """Each conversation's newest event time (Rasa's `latest_event_time`): it moves with every message, so the
        console sees a conversation change without reading it (one indexed query for all of them)."""
        if not sender_ids or not self.exists():
            return {}
        with self.engine.connect() as connection:
            rows = connection.execute(select(EVENTS.c.sender_id, func.max(EVENTS.c.timestamp))
                                      .where(EVENTS.c.sender_id.in_(sorted(sender_ids)))
                                      .group_by(EVENTS.c.sender_id)).all()
        return {sender_id: latest for sender_id, latest in rows if latest is not None}

    def events_of(self, sender_ids: Collection[str]) -> dict[str, list[dict[str, Any]]]:
        """Every stored event of these conversations, in order, as stored."""
        found: dict[str, list[dict[str, Any]]] = {}
        if not sender_ids or not self.exists():
            return found
        for rows in self._batches(EVENTS.c.sender_id.in_(sorted(sender_ids))):
            for row in rows:
                found.setdefault(row.sender_id, []).append(_event(row.data))
        return found

    def anonymise_before(self, cutoff: dt.datetime, placeholder: str, keep: Collection[str] = (),
                         dry_run: bool = False) -> Anonymised:
        """Anonymises every event older than `cutoff`, except in the conversations in `keep`."""
        return self._rewrite(EVENTS.c.timestamp < cutoff.timestamp(), lambda e: anonymised_event(e, placeholder),
                             set(keep), dry_run)

    def anonymise_conversations(self, sender_ids: Collection[str], placeholder: str,
                                dry_run: bool = False) -> Anonymised:
        """Anonymises every event of these conversations, whatever its age."""
        if not sender_ids:
            return Anonymised()
        return self._rewrite(EVENTS.c.sender_id.in_(sorted(sender_ids)), lambda e: anonymised_event(e, placeholder),
                             set(), dry_run)

    def mask_numbers(self, dry_run: bool = False) -> Anonymised:
        """Masks full phone and ID numbers in every stored event: once, for a store written before kuanxin
        masked what it saves (runtime/privacy.py); afterwards it finds nothing."""
        return self._rewrite(true(), redacted_event, set(), dry_run)

    def _rewrite(self, which: ColumnElement, change: Callable[[dict[str, Any]], dict[str, Any]], keep: set[str],
                 dry_run: bool) -> Anonymised:
        done = Anonymised()
        if not self.exists():
            return done
        for rows in self._batches(which, EVENTS.c.type_name.in_(SAID)):
            changed = []
            for row in rows:
                if row.sender_id in keep:
                    done.kept.add(row.sender_id)
                    continue
                stored = _event(row.data)
                rewritten = change(stored)
                if rewritten != stored:
                    changed.append({"row_id": row.id, "data": json.dumps(rewritten)})  # as Rasa writes it
                    done.conversations.add(row.sender_id)
            done.events += len(changed)
            if changed and not dry_run:
                self._write(changed)
        return done

    def _write(self, changed: list[dict[str, Any]]) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(EVENTS).where(EVENTS.c.id == bindparam("row_id"))
                               .values(data=bindparam("data")), changed)

    def _batches(self, *conditions: ColumnElement) -> Iterator[list[Any]]:
        """Matching rows in order of id, BATCH at a time, each batch read in its own short transaction."""
        after = 0
        while True:
            with self.engine.connect() as connection:
                rows = connection.execute(
                    select(EVENTS.c.id, EVENTS.c.sender_id, EVENTS.c.data)
                    .where(EVENTS.c.id > after, *conditions).order_by(EVENTS.c.id).limit(BATCH)).all()
            if not rows:
                return
            yield rows
            after = rows[-1].id


def _event(data: str | None) -> dict[str, Any]:
    try:
        event = json.loads(data or "{}")
    except ValueError:
        return {}  # not Rasa's JSON: nothing this module can read or anonymise
    return event if isinstance(event, dict) else {}
