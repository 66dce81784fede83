"""The sync's set-based writer (kuanxin/store/sync.py, WRITE_ROWS): new rows as plain inserts, balances and classes
computed from plain rows. It must leave exactly what the ORM's way left, write nothing for records that did not
change, and write a batch's good records when one of them is rejected."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event, select

from kuanxin.core import policy as policies
from kuanxin.store import classes, sync
from kuanxin.store.models import AccountClass, Borrower, Loan, ScheduleRow
from kuanxin.store.payments import recompute
from kuanxin.store.sync import Sync
from tests.unit.test_sync import BOOK, BORROWER, LOAN, PAYMENT, SCHEDULE, TODAY, total

SECOND = [{**BORROWER, "id": "B9002", "phone": "13900008888"},
          {**LOAN, "id": "L9002", "borrower_id": "B9002", "start_date": "2026-06-10", "principal": "6000.00"},
          *[{**row, "loan_id": "L9002", "principal": "2000.00", "due_date": due, **paid}
            for row, due, paid in zip(SCHEDULE, ("2026-07-10", "2026-08-10", "2026-09-10"),
                                      ({"paid": "2150.00"}, {"paid": "100.00"}, {}), strict=True)]]
PAYMENTS = [PAYMENT, {**PAYMENT, "id": "P2", "loan_id": "L9002", "amount": "3000.00",
                      "paid_at": "2026-10-01T09:00:00"},
            {**PAYMENT, "id": "R2", "loan_id": "L9002", "amount": "-1000.00", "reverses": "P2",
             "paid_at": "2026-10-20T09:00:00+08:00"}]


def run(db, records: list):
    return Sync(db, policies.current().payments).run((f"line {n}", r) for n, r in enumerate(records, 1))


def ledger_and_classes(db) -> tuple[list, list]:
    """Every schedule row's figures, every loan's credit and every account class, as the database holds them."""
    with db.session() as session:
        rows = session.execute(select(ScheduleRow.loan_id, ScheduleRow.period, ScheduleRow.paid, ScheduleRow.paid_on,
                                      ScheduleRow.paid_penalty, ScheduleRow.paid_late_fee,
                                      ScheduleRow.penalty_accrued, ScheduleRow.accrued_to,
                                      ScheduleRow.late_fee_charged, ScheduleRow.opening_paid)
                               .order_by(ScheduleRow.loan_id, ScheduleRow.period)).all()
        credits = session.execute(select(Loan.id, Loan.credit).order_by(Loan.id)).all()
        accounts = session.execute(select(AccountClass).order_by(AccountClass.borrower_id)).scalars().all()
        return [tuple(r) for r in rows] + [tuple(c) for c in credits], [
            (a.borrower_id, a.segment, a.size, a.days_overdue, a.amount_cents, a.due_date) for a in accounts]


def writes_during(db, action) -> list[str]:
    """The INSERT, UPDATE and DELETE statements the database was sent while `action` ran."""
    sent: list[str] = []

    def seen(_conn, _cursor, statement, _parameters, _context, _executemany):
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    return sent


def test_the_row_writer_leaves_what_the_orm_replay_and_classification_leave(db, monkeypatch):
    monkeypatch.setenv("KUANXIN_TODAY", TODAY.isoformat())
    assert sync.WRITE_ROWS
    summary = run(db, [*BOOK, *SECOND, *PAYMENTS, {**LOAN, "late_fee": "20.00"}])
    assert summary.total("rejected") == 0, summary.reasons
    written = ledger_and_classes(db)
    assert len(written[1]) == 2 and any(row[2] != row[-1] for row in written[0][:6])  # the ledger did apply
    rules = policies.current().segments
    with db.session() as session:  # the ORM's way over the same rows, inside one transaction
        recompute(session, ["L9001", "L9002"], policies.current().payments)
        classes.refresh_borrowers(session, ["B9001", "B9002"], TODAY, rules)
    assert ledger_and_classes(db) == written


def test_records_that_changed_nothing_write_nothing(db, monkeypatch):
    monkeypatch.setenv("KUANXIN_TODAY", TODAY.isoformat())
    run(db, [*BOOK, *SECOND, *PAYMENTS])
    before = ledger_and_classes(db)
    summaries = []
    assert writes_during(db, lambda: summaries.append(run(db, [*BOOK, *SECOND, *PAYMENTS]))) == []
    assert summaries[0].total("unchanged") == 13 and summaries[0].total("inserted") == 0
    assert ledger_and_classes(db) == before


def test_a_changed_schedule_row_is_written_and_only_its_loan_recomputed(db, monkeypatch):
    monkeypatch.setenv("KUANXIN_TODAY", TODAY.isoformat())
    run(db, [*BOOK, *SECOND, *PAYMENTS])
    before = ledger_and_classes(db)
    sent = writes_during(db, lambda: run(db, [{**SCHEDULE[1], "interest": "120.00"}]))
    assert sent and all("schedule_rows" in s or "account_classes" in s for s in sent)
    with db.session() as session:
        assert session.get(ScheduleRow, session.execute(select(ScheduleRow.id).where(
            ScheduleRow.loan_id == "L9001", ScheduleRow.period == 2)).scalar_one()).interest == Decimal("120.00")
    assert total(db) == Decimal("1864.08")  # the 1,894.08 of the book and its payment, less 30.00 interest overdue
    after = ledger_and_classes(db)
    assert [row for row in after[0] if row[0] == "L9002"] == [row for row in before[0] if row[0] == "L9002"]
    assert after[1][1] == before[1][1]  # the other borrower's class


def test_a_batch_with_a_rejected_record_writes_the_rest_with_balances_and_class(db, monkeypatch):
    monkeypatch.setenv("KUANXIN_TODAY", TODAY.isoformat())
    summary = run(db, [BORROWER, LOAN, SCHEDULE[0], {**SCHEDULE[1], "due_date": "15 November"}, SCHEDULE[1],
                       SCHEDULE[2], {**PAYMENT, "id": "P0", "amount": "abc"}, PAYMENT])
    assert summary.total("rejected") == 2 and summary.total("inserted") == 6
    assert "due_date" in dict(summary.reasons)["line 4"] and "amount" in dict(summary.reasons)["line 7"]
    assert total(db) == Decimal("1894.08")  # the hand-worked figure of the book and its payment
    with db.session() as session:
        account = session.get(AccountClass, "B9001")
        assert account is not None and account.amount_cents > 0 and account.as_of == TODAY


@pytest.mark.parametrize("batch", [1, 2, 5])
def test_rows_written_in_one_batch_are_read_by_the_next(db, monkeypatch, batch):
    """A loan in one transaction, its schedule and payments in later ones: each batch reads what the last wrote."""
    monkeypatch.setenv("KUANXIN_TODAY", TODAY.isoformat())
    monkeypatch.setattr(sync, "BATCH", batch)
    summary = run(db, [*BOOK, PAYMENT])
    assert summary.total("inserted") == 6 and summary.total("rejected") == 0
    assert total(db) == Decimal("1894.08")
    with db.session() as session:
        assert session.get(AccountClass, "B9001").as_of == TODAY


def test_the_orm_writer_is_still_there_and_agrees(db, monkeypatch):
    """WRITE_ROWS = False is the way back: it leaves the same rows (kept until the row writer has run in production)."""
    monkeypatch.setenv("KUANXIN_TODAY", TODAY.isoformat())
    monkeypatch.setattr(sync, "WRITE_ROWS", False)
    run(db, [*BOOK, *SECOND, *PAYMENTS])
    by_orm = ledger_and_classes(db)
    monkeypatch.setattr(sync, "WRITE_ROWS", True)
    with db.session() as session:  # the row replay over the same rows finds nothing to change
        assert sync.recompute_rows(session, ["L9001", "L9002"], policies.current().payments) == 2
        classes.refresh_borrower_rows(session, ["B9001", "B9002"], TODAY, policies.current().segments)
    assert ledger_and_classes(db) == by_orm


def test_text_with_copy_s_own_characters_is_stored_as_sent(db, monkeypatch):
    """New rows go in by COPY on PostgreSQL: a tab, a backslash, a line break or `\\N` in a value stay text."""
    monkeypatch.setenv("KUANXIN_TODAY", TODAY.isoformat())
    awkward = "周\t敏 \\N 路\\\\口\r\n二号"
    summary = run(db, [{**BORROWER, "name": awkward}, {**LOAN, "product": "消费贷\\t"}, *SCHEDULE])
    assert summary.total("inserted") == 5, summary.reasons
    with db.session() as session:
        assert session.get(Borrower, "B9001").name == awkward.strip()
        assert session.get(Loan, "L9001").product == "消费贷\\t"


def test_text_no_database_can_hold_is_rejected_with_its_reason_and_the_rest_written(db, monkeypatch):
    """A NUL or a lone surrogate (a JSON escape can carry either) once stopped the whole sync at the insert."""
    monkeypatch.setenv("KUANXIN_TODAY", TODAY.isoformat())
    summary = run(db, [{**BORROWER, "id": "B0", "name": "周\x00敏"}, {**LOAN, "id": "L0", "product": "消费\ud800贷"},
                       *BOOK])
    assert summary.total("rejected") == 2 and summary.total("inserted") == 5
    reasons = dict(summary.reasons)
    assert "name: holds a character that cannot be stored" in reasons["line 1"]
    assert "product: holds a character that cannot be stored" in reasons["line 2"]
    assert total(db) == Decimal("2396.50")
