"""The book's account classes, kept in a table so that reading them costs a query, not a pass over the book.

Classifying a borrower needs all their loans and schedules in Python (kuanxin.lending.segments): a million
borrowers take minutes. The console's class pages and the reminders selection read `account_classes`
instead, kept current two ways:
- a whole-book refresh as of a day: `kuanxin classes refresh` (cron, just after midnight Beijing time), or the
  first read of a day that finds the table not yet refreshed for today or for today's class rules (so a small
  book needs no cron);
- the sync re-classifies the borrowers whose loans, schedules or payments it changed, in the same transaction.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import cast

from sqlalchemy import and_, delete, exists, func, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from kuanxin.core.money import to_money
from kuanxin.core.policy import SEGMENTS, SegmentPolicy
from kuanxin.core.vocab import AccountSize
from kuanxin.lending.segments import AccountSegment, SegmentSummary, classify, summary_rows
from kuanxin.store.book import BATCH, borrowers_by_id, segment_accounts
from kuanxin.store.db import Database
from kuanxin.store.models import AccountClass, Borrower, ClassSnapshot, Loan

# A book up to this size is re-classified on the spot when a page finds its classes out of date (seconds);
# a larger one shows its last snapshot, dated, until the nightly `kuanxin classes refresh`.
INLINE_REFRESH_ACCOUNTS = 20_000
REFRESH_LOCK = 0x6B75616E  # PostgreSQL advisory lock: one whole-book refresh at a time ("kuan")
CHUNK = 500  # ids per IN (...) list


def rules_key(rules: SegmentPolicy) -> str:
    """A digest of the class rules: a snapshot made under other thresholds is not current."""
    return hashlib.sha256(json.dumps(dataclasses.asdict(rules), sort_keys=True, default=str).encode()).hexdigest()


def latest(db: Database) -> ClassSnapshot | None:
    with db.session() as session:
        return session.execute(select(ClassSnapshot).order_by(ClassSnapshot.id.desc()).limit(1)).scalar()


def is_current(db: Database, today: dt.date, rules: SegmentPolicy) -> bool:
    return _made_for(latest(db), today, rules)


def _made_for(snapshot: ClassSnapshot | None, today: dt.date, rules: SegmentPolicy) -> bool:
    return snapshot is not None and snapshot.as_of == today and snapshot.rules_key == rules_key(rules)


def for_staff(db: Database, today: dt.date, rules: SegmentPolicy) -> tuple[dt.date, bool]:
    """What the classes staff are about to read are: (as of, current). Refreshed here first when the book is small
    enough or was never classified; otherwise the last snapshot stands until the nightly refresh, and the page
    says so."""
    found = latest(db)
    if found is None or found.accounts <= INLINE_REFRESH_ACCOUNTS:
        ensure_current(db, today, rules)
        return today, True
    return found.as_of, _made_for(found, today, rules)


def ensure_current(db: Database, today: dt.date, rules: SegmentPolicy) -> bool:
    """Refreshes the whole book unless it is current; whether it did. On PostgreSQL a second process that
    finds a refresh under way waits for it rather than doing it again."""
    if is_current(db, today, rules):
        return False
    if db.engine.dialect.name != "postgresql":
        refresh_book(db, today, rules)
        return True
    with db.engine.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": REFRESH_LOCK})
        try:
            if is_current(db, today, rules):
                return False
            refresh_book(db, today, rules)
            return True
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": REFRESH_LOCK})
            lock.commit()


def refresh_book(db: Database, today: dt.date, rules: SegmentPolicy) -> int:
    """Every borrower's class as of `today`, BATCH borrowers to a transaction; how many accounts."""
    started, accounts, batch = dt.datetime.utcnow(), 0, []
    for account in segment_accounts(db, today, rules):
        batch.append(account)
        if len(batch) >= BATCH:
            accounts += _write_batch(db, batch, today)
            batch = []
    accounts += _write_batch(db, batch, today)
    with db.session() as session:
        session.execute(delete(AccountClass).where(~exists().where(Borrower.id == AccountClass.borrower_id))
                        .execution_options(synchronize_session=False))
        session.add(ClassSnapshot(as_of=today, rules_key=rules_key(rules), accounts=accounts, started_at=started,
                                  finished_at=dt.datetime.utcnow()))
    return accounts


def refresh_borrowers(session: Session, borrower_ids: Iterable[str], today: dt.date, rules: SegmentPolicy) -> int:
    """Re-classifies these borrowers inside the caller's transaction (the sync's, after its writes)."""
    ids, done = sorted(set(borrower_ids)), 0
    session.flush()  # the loans and schedules the caller changed are read as it left them (identity map)
    for start in range(0, len(ids), CHUNK):
        borrowers = session.execute(
            select(Borrower).where(Borrower.id.in_(ids[start:start + CHUNK]))
            .options(selectinload(Borrower.loans).selectinload(Loan.schedule))).scalars()
        done += write_classes(session, (classify(borrower, today, rules) for borrower in borrowers), today)
    return done


def refresh_borrower_rows(session: Session, borrower_ids: Iterable[str], today: dt.date,
                          rules: SegmentPolicy) -> int:
    """refresh_borrowers read as plain rows (kuanxin/store/book.py), as the nightly refresh reads the book: the
    sync's own writes are read through its session, without building ORM objects for them."""
    ids, done = sorted(set(borrower_ids)), 0
    session.flush()
    for start in range(0, len(ids), CHUNK):
        borrowers = borrowers_by_id(session, ids[start:start + CHUNK])
        done += write_classes(session, (classify(cast(Borrower, b), today, rules) for b in borrowers), today)
    return done


def write_classes(session: Session, accounts: Iterable[AccountSegment], today: dt.date) -> int:
    """Upserts each account's class: concurrent writers of the same borrower do not collide."""
    rows = [{"borrower_id": a.borrower_id, "segment": a.segment, "size": a.size, "days_overdue": a.days_overdue,
             "amount_cents": int(a.amount * 100), "due_date": a.due_date, "as_of": today} for a in accounts]
    if not rows:
        return 0
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(AccountClass)
    session.execute(statement.on_conflict_do_update(
        index_elements=[AccountClass.borrower_id],
        set_={name: statement.excluded[name] for name in rows[0] if name != "borrower_id"}), rows)
    return len(rows)


def _write_batch(db: Database, accounts: list[AccountSegment], today: dt.date) -> int:
    with db.session() as session:
        return write_classes(session, accounts, today)


def forget(session: Session) -> None:
    """The book was replaced (kuanxin db load): no class is known until the next refresh."""
    session.execute(delete(AccountClass).execution_options(synchronize_session=False))
    session.execute(delete(ClassSnapshot).execution_options(synchronize_session=False))


# --- reading ----------------------------------------------------------------------------------------------------

def summary(db: Database, rules: SegmentPolicy) -> list[SegmentSummary]:
    """Accounts and amounts for every class and size, in policy order, as the table holds them (see for_staff)."""
    with db.session() as session:
        cells = session.execute(select(AccountClass.segment, AccountClass.size, func.count(),
                                       func.coalesce(func.sum(AccountClass.amount_cents), 0))
                                .group_by(AccountClass.segment, AccountClass.size)).all()
    return summary_rows({(segment, size): (count, _money(cents)) for segment, size, count, cents in cells}, rules)


def accounts_in(db: Database, rules: SegmentPolicy, segment: str, size: str,
                limit: int) -> tuple[list[AccountSegment], int]:
    """The class's accounts, largest amount first, at most `limit` of them; and how many there are."""
    cell = and_(AccountClass.segment == segment, AccountClass.size == size)
    with db.session() as session:
        total = session.execute(select(func.count()).select_from(AccountClass).where(cell)).scalar_one()
        rows = session.execute(_with_phone().where(cell).order_by(
            # one direction throughout: the index gives the order, so a class of 700,000 stops at `limit`
            AccountClass.amount_cents.desc(), AccountClass.days_overdue.desc(), AccountClass.borrower_id.desc())
            .limit(limit)).all()
    return [_account(row, rules) for row in rows], total


def accounts_where(db: Database, today: dt.date, rules: SegmentPolicy, cells: Iterable[tuple[str, str]],
                   borrowers: Iterable[str] = ()) -> Iterator[AccountSegment]:
    """Accounts in any of `cells` (segment, size), and the named borrowers in any class, by borrower id, as of
    today: the whole book is refreshed first unless it is current (the reminders must not act on yesterday)."""
    ensure_current(db, today, rules)
    wanted, named = list(cells), sorted(set(borrowers))
    conditions = [tuple_(AccountClass.segment, AccountClass.size).in_(wanted)] if wanted else []
    with db.session() as session:
        found = {}
        for start in range(0, len(named), CHUNK):
            for row in session.execute(_with_phone().where(AccountClass.borrower_id.in_(named[start:start + CHUNK]))):
                found[row.borrower_id] = _account(row, rules)
        if conditions:
            for row in session.execute(_with_phone().where(or_(*conditions))):
                found.setdefault(row.borrower_id, _account(row, rules))
    for borrower_id in sorted(found):
        yield found[borrower_id]


def _with_phone():
    return select(AccountClass.borrower_id, AccountClass.segment, AccountClass.size, AccountClass.days_overdue,
                  AccountClass.amount_cents, AccountClass.due_date, Borrower.phone
                  ).join(Borrower, Borrower.id == AccountClass.borrower_id)


def _account(row, rules: SegmentPolicy) -> AccountSegment:
    return AccountSegment(row.borrower_id, row.segment, row.size, row.days_overdue, _money(row.amount_cents),
                          row.due_date, rules.treatment[row.segment][row.size], row.phone)


def _money(cents: int) -> Decimal:
    return to_money(Decimal(int(cents)) / 100)


def reminder_cells(rules: SegmentPolicy) -> list[tuple[str, str]]:
    """The (class, size) cells the policy treats with an automatic reminder."""
    return [(segment, size) for segment in SEGMENTS for size in AccountSize.values()
            if rules.treatment[segment][size] == "reminder"]
