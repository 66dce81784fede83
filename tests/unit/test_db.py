"""The embedded SQLite engine: pooled connections that keep the tuning and work across threads."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import event, func, select, text

from kuanxin.store.db import Database
from kuanxin.store.models import ReminderOptOut


def test_a_file_database_reuses_its_connection_with_the_tuning_in_place(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'k.db'}")
    db.create_schema()
    connects = []
    event.listen(db.engine, "connect", lambda *_: connects.append(1))
    for _ in range(3):
        with db.session() as session:
            assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert len(connects) <= 1


def test_writes_from_many_threads_all_land(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'k.db'}")
    db.create_schema()

    def opt_out(n: int) -> None:
        with db.session() as session:
            session.add(ReminderOptOut(borrower_id=f"B{n:03d}", channel="sms", at=datetime(2026, 11, 22)))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(opt_out, range(200)))
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(ReminderOptOut)).scalar() == 200


def test_an_in_memory_database_keeps_what_was_written():
    db = Database("sqlite://")
    db.create_schema()
    with db.session() as session:
        session.add(ReminderOptOut(borrower_id="B001", channel="sms", at=datetime(2026, 11, 22)))
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(ReminderOptOut)).scalar() == 1
