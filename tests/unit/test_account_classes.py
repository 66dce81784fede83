"""The account classes kept in a table: the same answer as classifying the book, refreshed once a day or when the
rules change, kept right by the sync for the borrowers it changes, forgotten when the book is replaced."""
from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from decimal import Decimal

from sqlalchemy import func, select

from kuanxin.core import policy as policies
from kuanxin.lending.segments import summarize
from kuanxin.store import classes
from kuanxin.store.book import segment_accounts
from kuanxin.store.demo import demo_document
from kuanxin.store.importer import load_document
from kuanxin.store.models import AccountClass, ClassSnapshot
from kuanxin.store.sync import Sync

TODAY = dt.date(2026, 11, 22)


def snapshots(db) -> int:
    with db.session() as session:
        return session.execute(select(func.count()).select_from(ClassSnapshot)).scalar_one()


def class_of(db, borrower_id: str) -> AccountClass:
    with db.session() as session:
        return session.get(AccountClass, borrower_id)


def read(db, day: dt.date, rules) -> list:
    """The summary a console page shows on `day`."""
    classes.for_staff(db, day, rules)
    return classes.summary(db, rules)


def sync(db, records: list[dict], rules) -> None:
    summary = Sync(db, policies.current().payments, segments=rules).run(
        (f"line {n}", record) for n, record in enumerate(records, 1))
    assert summary.total("rejected") == 0, summary.reasons


def test_the_table_answers_what_classifying_the_book_answers(db):
    rules = policies.current().segments
    load_document(db, demo_document())
    assert read(db, TODAY, rules) == summarize(segment_accounts(db, TODAY, rules), rules)
    rows = {(r.segment, r.size): r for r in classes.summary(db, rules)}
    assert (rows[("late", "large")].accounts, rows[("late", "large")].amount) == (1, Decimal("10247.52"))
    assert sum(r.accounts for r in rows.values()) == 6


def test_refreshed_once_a_day_and_again_when_the_rules_change(db):
    rules = policies.current().segments
    load_document(db, demo_document())
    read(db, TODAY, rules)
    assert classes.for_staff(db, TODAY, rules) == (TODAY, True)
    assert snapshots(db) == 1
    before = class_of(db, "B1004").days_overdue
    read(db, TODAY + dt.timedelta(days=1), rules)
    assert snapshots(db) == 2 and class_of(db, "B1004").days_overdue == before + 1
    stricter = dataclasses.replace(rules, large_from=Decimal("100000.00"))
    rows = {(r.segment, r.size): r.accounts for r in read(db, TODAY + dt.timedelta(days=1), stricter)}
    assert snapshots(db) == 3 and rows[("late", "large")] == 0 and rows[("late", "small")] == 1


def test_the_drill_down_is_largest_first_with_the_count(db):
    rules = policies.current().segments
    records = [{"type": "borrower", "id": f"C{n}", "name": "测试", "phone": f"1390000{n:04d}",
                "id_number": f"11010119900101{n:04d}"} for n in range(5)]
    for n in range(5):  # one instalment each, 10 + n days overdue, 100 * (n + 1) owed
        records += [{"type": "loan", "id": f"CL{n}", "borrower_id": f"C{n}", "product": "消费贷",
                     "principal": "1000.00", "annual_rate": "0", "penalty_daily_rate": "0", "late_fee": "0",
                     "start_date": "2026-09-01", "status": "active"},
                    {"type": "schedule", "loan_id": f"CL{n}", "period": 1,
                     "due_date": (TODAY - dt.timedelta(days=10 + n)).isoformat(),
                     "principal": f"{100 * (n + 1)}.00", "interest": "0.00"}]
    sync(db, records, rules)
    read(db, TODAY, rules)
    shown, total = classes.accounts_in(db, rules, "early", "small", 3)
    assert total == 5
    assert [(a.borrower_id, a.amount, a.days_overdue) for a in shown] == [
        ("C4", Decimal("500.00"), 14), ("C3", Decimal("400.00"), 13), ("C2", Decimal("300.00"), 12)]
    assert shown[0].phone == "13900000004" and shown[0].treatment == rules.treatment["early"]["small"]


def test_a_synced_payment_moves_the_borrower_without_a_whole_book_refresh(db, monkeypatch):
    monkeypatch.setenv("KUANXIN_TODAY", TODAY.isoformat())
    rules = policies.current().segments
    load_document(db, demo_document())
    read(db, TODAY, rules)
    early = class_of(db, "B1002")
    assert (early.segment, early.amount_cents) == ("early", 44640)
    sync(db, [{"type": "payment", "id": "PAY-1", "loan_id": "L2001", "amount": "446.40",
               "paid_at": f"{TODAY.isoformat()}T09:00:00+08:00", "channel": "bank_card"}], rules)
    assert class_of(db, "B1002").segment in ("current", "upcoming") and snapshots(db) == 1
    rows = {(r.segment, r.size): r.accounts for r in read(db, TODAY, rules)}
    assert rows[("early", "small")] == 0 and snapshots(db) == 1


def test_a_synced_new_borrower_is_classed_at_once(db, monkeypatch):
    monkeypatch.setenv("KUANXIN_TODAY", TODAY.isoformat())
    rules = policies.current().segments
    load_document(db, demo_document())
    read(db, TODAY, rules)
    sync(db, [{"type": "borrower", "id": "N1", "name": "新人", "phone": "13911112222",
               "id_number": "110101199001011234"},
              {"type": "loan", "id": "NL1", "borrower_id": "N1", "product": "消费贷", "principal": "900.00",
               "annual_rate": "0", "penalty_daily_rate": "0", "late_fee": "0", "start_date": "2026-08-01",
               "status": "active"},
              {"type": "schedule", "loan_id": "NL1", "period": 1, "due_date": "2026-09-01", "principal": "900.00",
               "interest": "0.00"}], rules)
    assert (class_of(db, "N1").segment, class_of(db, "N1").days_overdue) == ("middle", 82)
    assert sum(r.accounts for r in read(db, TODAY, rules)) == 7 and snapshots(db) == 1


def test_a_replaced_book_is_classified_again(db):
    rules = policies.current().segments
    load_document(db, demo_document())
    read(db, TODAY, rules)
    document = demo_document()
    document["borrowers"] = document["borrowers"][:2]
    load_document(db, document)
    assert snapshots(db) == 0
    assert sum(r.accounts for r in read(db, TODAY, rules)) == 2


def test_reminder_cells_follow_the_policy():
    rules = policies.current().segments
    cells = classes.reminder_cells(rules)
    assert cells and all(rules.treatment[segment][size] == "reminder" for segment, size in cells)


def test_readers_at_once_refresh_the_book_once(db):
    rules = policies.current().segments
    load_document(db, demo_document())
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            read(db, TODAY, rules)
        except BaseException as error:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(error)

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert not errors
    if db.engine.dialect.name == "postgresql":  # the advisory lock: the others wait, then find it current
        assert snapshots(db) == 1
    assert sum(r.accounts for r in read(db, TODAY, rules)) == 6


def test_a_large_book_shows_its_last_snapshot_dated_until_the_nightly_refresh(db, monkeypatch):
    rules = policies.current().segments
    load_document(db, demo_document())
    read(db, TODAY, rules)
    monkeypatch.setattr(classes, "INLINE_REFRESH_ACCOUNTS", 5)  # the demo's 6 accounts are now "large"
    tomorrow = TODAY + dt.timedelta(days=1)
    assert classes.for_staff(db, tomorrow, rules) == (TODAY, False) and snapshots(db) == 1
    stale = class_of(db, "B1004").days_overdue
    found = {a.borrower_id: a for a in classes.accounts_where(db, tomorrow, rules, classes.reminder_cells(rules))}
    assert snapshots(db) == 2 and class_of(db, "B1004").days_overdue == stale + 1  # the reminders never act on
    assert classes.for_staff(db, tomorrow, rules) == (tomorrow, True)               # yesterday's classes
    assert found and all(rules.treatment[a.segment][a.size] == "reminder" for a in found.values())
