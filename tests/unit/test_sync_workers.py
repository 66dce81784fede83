"""`kuanxin sync` on several worker processes (kuanxin/store/sync_workers.py): it must leave exactly what one
process leaves, with the same summary, on PostgreSQL (the only database it runs workers on)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from kuanxin.core import policy as policies
from kuanxin.store import sync, sync_workers
from kuanxin.store.db import Database
from kuanxin.store.models import Borrower, Loan, Payment
from kuanxin.store.sync import Sync
from tests.conftest import POSTGRES_URL, _postgres_database
from tests.unit.test_sync import TODAY
from tests.unit.test_sync_rows import ledger_and_classes

pytestmark = pytest.mark.postgresql


@pytest.fixture
def pg():
    database = _postgres_database()
    database.create_schema()
    yield database
    database.engine.dispose()


def ids_on(worker: int, prefix: str, count: int) -> list[str]:
    """Borrower ids that go to this worker of two."""
    found = (f"{prefix}{n:04d}" for n in range(10_000))
    return [borrower_id for borrower_id in found if sync_workers.worker_of_id(borrower_id, 2) == worker][:count]


def account(borrower_id: str, n: int, phone: str | None = None) -> list[dict]:
    loan_id = "L" + borrower_id
    return [{"type": "borrower", "id": borrower_id, "name": "测试", "phone": phone or f"139{n:08d}",
             "id_number": f"1101011990010{n % 10}123x"},
            {"type": "loan", "id": loan_id, "borrower_id": borrower_id, "product": "消费贷",
             "principal": "3000.00", "annual_rate": "0.18", "penalty_daily_rate": "0.0005", "late_fee": "30.00",
             "start_date": "2026-08-15", "status": "active"},
            *[{"type": "schedule", "loan_id": loan_id, "period": period, "due_date": due, "principal": "1000.00",
               "interest": "45.00", **({"paid": "1045.00"} if period == 1 and n % 3 == 0 else {})}
              for period, due in ((1, "2026-09-15"), (2, "2026-10-15"), (3, "2026-11-15"))]]


def payment(payment_id: str, borrower_id: str, amount: str, **more: str) -> dict:
    return {"type": "payment", "id": payment_id, "loan_id": "L" + borrower_id, "amount": amount,
            "paid_at": "2026-11-20T10:00:00+08:00", "channel": "bank_card", **more}


def book() -> list[dict]:
    """Accounts on both workers, payments and a charge-back, records each rejected for its own reason, and two
    records that cross workers while the first worker still holds what they depend on: a phone given to a borrower
    of the other worker, and a loan moved to a borrower of the other worker."""
    first, second = ids_on(0, "A", 12), ids_on(1, "A", 12)
    records = account(second[1], 1) + account(first[0], 0)
    records += account(ids_on(1, "Z", 1)[0], 90, phone=records[5]["phone"])
    records += [{**records[6], "borrower_id": second[1]}]  # first[0]'s loan, now second[1]'s
    records += [record for n, borrower_id in enumerate(first[1:] + second[:1] + second[2:], 2)
                for record in account(borrower_id, n)]
    records += [payment("P1", first[0], "500.00"), payment("P2", second[0], "1200.00"),
                payment("R2", second[0], "-200.00", reverses="P2"), payment("P3", first[1], "abc"),
                payment("P4", "NOBODY", "10.00"), {"type": "loan", "id": "LX", "borrower_id": "NOBODY"},
                "not an object"]
    return records


def apply(db: Database, records: list, workers: int):
    numbered = [(f"line {n}", record if isinstance(record, dict) else sync.Rejected("must be an object"))
                for n, record in enumerate(records, 1)]
    if workers == 1:
        syncing = Sync(db, policies.current().payments)
        return syncing.run(numbered), syncing.changed_loans
    return sync_workers.run(db, policies.current().payments, policies.current().segments, numbered, workers)


def book_as_held(db: Database) -> tuple:
    with db.session() as session:
        borrowers = session.execute(select(Borrower.id, Borrower.phone).order_by(Borrower.id)).all()
        loans = session.execute(select(Loan.id, Loan.borrower_id).order_by(Loan.id)).all()
        payments = session.execute(select(Payment.id, Payment.loan_id, Payment.amount).order_by(Payment.id)).all()
    return [tuple(b) for b in borrowers], [tuple(loan) for loan in loans], [tuple(p) for p in payments], \
        ledger_and_classes(db)


def test_two_workers_leave_what_one_process_leaves(pg, monkeypatch):
    monkeypatch.setenv("KUANXIN_TODAY", TODAY.isoformat())
    monkeypatch.setattr(sync_workers, "BATCH", 7)  # several batches per worker, and windows cut mid-account
    monkeypatch.setattr(sync_workers, "WINDOW", 11)
    monkeypatch.setattr(sync, "BATCH", 7)
    records = book()
    alone, alone_changed = apply(pg, records, 1)
    held_alone = book_as_held(pg)
    fresh = _postgres_database()
    fresh.create_schema()
    together, together_changed = apply(fresh, records, 2)
    assert together.counts == alone.counts and together.reasons == alone.reasons
    assert book_as_held(fresh) == held_alone and together_changed == alone_changed
    # P3, P4, the second holder of a phone with their loan and schedule, LX, and what is not an object
    assert alone.total("rejected") == 9, alone.reasons
    assert "already the phone" in dict(alone.reasons)["line 11"]
    with fresh.session() as session:  # the loan moved after its borrower's payment went in
        assert session.get(Loan, "L" + ids_on(0, "A", 1)[0]).borrower_id == ids_on(1, "A", 2)[1]
        assert session.get(Payment, "R2").amount == Decimal("-200.00")
    fresh.engine.dispose()


def test_a_second_run_changes_nothing_and_says_so(pg, monkeypatch):
    monkeypatch.setenv("KUANXIN_TODAY", TODAY.isoformat())
    records = [r for n, borrower_id in enumerate(ids_on(0, "B", 5) + ids_on(1, "B", 5))
               for r in account(borrower_id, n)]
    first, _ = apply(pg, records, 2)
    held = book_as_held(pg)
    again, changed = apply(pg, records, 2)
    assert first.total("inserted") == 50 and again.total("unchanged") == 50 and again.total("inserted") == 0
    assert changed == set() and book_as_held(pg) == held


def test_a_failing_worker_stops_the_sync_with_its_reason(pg, monkeypatch):
    def broken(self, batch, summary):
        raise ValueError("the disk is full")

    monkeypatch.setattr(Sync, "apply_batch", broken)  # the workers are forked after this: they inherit it
    with pytest.raises(RuntimeError, match="the disk is full"):
        apply(pg, account("C0001", 1), 2)


def test_workers_only_for_a_large_file_on_postgresql(pg, tmp_path):
    sqlite = Database(f"sqlite:///{tmp_path / 'k.db'}")
    assert sync_workers.workers_for(1 << 30, sqlite, 8) == 1
    assert sync_workers.workers_for(1 << 20, pg, 2) == 1
    assert sync_workers.workers_for(1 << 30, pg, 2) == 2 and sync_workers.workers_for(1 << 30, pg, 16) == 4


def test_the_command_syncs_with_workers_and_prints_the_summary(pg, tmp_path):
    path = tmp_path / "book.jsonl"
    records = [r for n, borrower_id in enumerate(ids_on(0, "D", 3) + ids_on(1, "D", 3))
               for r in account(borrower_id, n)] + [payment("PX", "NOBODY", "1.00")]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    kuanxin = str(Path(sys.executable).parent / "kuanxin")
    done = subprocess.run([kuanxin, "sync", str(path), "--workers", "2", "--quiet"], capture_output=True, text=True,
                          env={**os.environ, "KUANXIN_DATABASE_URL": POSTGRES_URL})
    assert done.returncode == 1, done.stderr  # one record rejected
    assert "schedule" in done.stdout and "line 31: loan_id: no loan 'LNOBODY'" in done.stdout
    with pg.session() as session:
        assert len(session.execute(select(Borrower.id)).all()) == 6

