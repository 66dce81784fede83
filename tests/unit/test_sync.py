"""Incremental sync: upsert by the lender's ids, never delete, never touch what conversations own, payments once."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kuanxin.core import policy as policies
from kuanxin.lending.overdue import loan_statement
from kuanxin.store.demo import demo_document
from kuanxin.store.importer import load_document
from kuanxin.store.models import (
    Borrower,
    Escalation,
    Loan,
    Payment,
    PaymentPromise,
    ScheduleRow,
    ServiceRequest,
)
from kuanxin.store.sync import Sync, file_lines, read_records, summary_text

TODAY = dt.date(2026, 12, 6)
BORROWER = {"type": "borrower", "id": "B9001", "name": "周敏", "phone": "13900009999",
            "id_number": "11010119900101123x"}
LOAN = {"type": "loan", "id": "L9001", "borrower_id": "B9001", "product": "消费贷", "principal": "3000.00",
        "annual_rate": "0.18", "penalty_daily_rate": "0.0005", "late_fee": "30.00", "start_date": "2026-09-15",
        "status": "active"}
SCHEDULE = [{"type": "schedule", "loan_id": "L9001", "period": n, "due_date": due, "principal": "1000.00",
             "interest": "150.00"} for n, due in ((1, "2026-10-15"), (2, "2026-11-15"), (3, "2026-12-15"))]
PAYMENT = {"type": "payment", "id": "P1", "loan_id": "L9001", "amount": "500.00",
           "paid_at": "2026-11-20T10:00:00+08:00", "channel": "bank_card"}
BOOK = [BORROWER, LOAN, *SCHEDULE]


def run(db, records: list, source: str = "file"):
    return Sync(db, policies.current().payments, source).run((f"line {i}", r) for i, r in enumerate(records, 1))


def total(db, loan_id: str = "L9001") -> Decimal:
    with db.session() as session:
        return loan_statement(session.get(Loan, loan_id), TODAY).total


def test_a_book_then_a_payment_leaves_the_hand_worked_balance(db):
    first = run(db, BOOK)
    assert first.counts["schedule"]["inserted"] == 3 and first.total("rejected") == 0
    assert total(db) == Decimal("2396.50")  # 1,206.00 + 1,190.50, no payment yet
    paid = run(db, [PAYMENT])
    assert paid.counts["payment"] == {"inserted": 1, "updated": 0, "unchanged": 0, "rejected": 0}
    # the 500.00 of 20 November: fee and 36 days' penalty of the first instalment, its interest, 302.00 principal
    assert total(db) == Decimal("1894.08")
    with db.session() as session:
        borrower = session.get(Borrower, "B9001")
        assert (borrower.id_last4, borrower.id_masked) == ("123X", mask_of("11010119900101123X"))


def test_an_instalment_the_lender_reports_as_paid_counts_as_paid(db):
    paid_first = [{**SCHEDULE[0], "paid": "1150.00"}, *SCHEDULE[1:]]
    first = run(db, [BORROWER, LOAN, *paid_first])
    assert first.counts["schedule"]["inserted"] == 3 and first.total("rejected") == 0
    assert total(db) == Decimal("1190.50")  # only the second instalment is overdue
    again = run(db, [BORROWER, LOAN, *paid_first])
    assert again.total("unchanged") == 5


def mask_of(id_number: str) -> str:
    from kuanxin.lending.identity import mask_id_number
    return mask_id_number(id_number)


def test_the_same_records_again_change_nothing(db):
    run(db, [*BOOK, PAYMENT])
    again = run(db, [*BOOK, PAYMENT])
    assert again.total("inserted") == again.total("updated") == again.total("rejected") == 0
    assert again.total("unchanged") == 6
    assert total(db) == Decimal("1894.08")
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(Payment)).scalar() == 1


def test_a_changed_record_is_updated_and_what_is_absent_is_kept(db):
    run(db, [*BOOK, PAYMENT])
    changed = run(db, [{**LOAN, "late_fee": "20.00"}, {**BORROWER, "name": "周敏敏"}])
    assert changed.counts["loan"]["updated"] == 1 and changed.counts["borrower"]["updated"] == 1
    with db.session() as session:
        assert session.get(Borrower, "B9001").name == "周敏敏"
        assert session.execute(select(func.count()).select_from(ScheduleRow)
                               .where(ScheduleRow.loan_id == "L9001")).scalar() == 3  # never deleted
    # the fee paid stays paid (30.00 of a 20.00 fee is 10.00 more to the next charges): balances recomputed
    assert total(db) < Decimal("1894.08")


def test_what_conversations_recorded_survives_every_sync(db):
    load_document(db, demo_document())
    with db.session() as session:
        session.add(PaymentPromise(reference="CN1", borrower_id="B1001", promised_date=TODAY, amount=Decimal("100"),
                                   status="open", created_at=dt.datetime(2026, 12, 5)))
        session.add(Escalation(conversation_id="c1", borrower_id="B1001", reason="human", priority="normal",
                               status="open", created_at=dt.datetime(2026, 12, 5)))
        before = {model: session.execute(select(func.count()).select_from(model)).scalar()
                  for model in (PaymentPromise, ServiceRequest, Escalation)}
    demo_loan = {"type": "loan", "id": "L1001", "borrower_id": "B1001", "product": "消费贷", "principal": "12000.00",
                 "annual_rate": "0.18", "penalty_daily_rate": "0.0005", "late_fee": "30.00",
                 "start_date": "2026-03-15", "status": "active"}
    run(db, [*BOOK, PAYMENT, demo_loan, {**PAYMENT, "id": "P2", "loan_id": "L1001"}])
    with db.session() as session:
        after = {model: session.execute(select(func.count()).select_from(model)).scalar()
                 for model in (PaymentPromise, ServiceRequest, Escalation)}
    assert after == before


def test_a_recorded_payment_is_never_changed_and_a_reversal_must_name_one(db):
    run(db, [*BOOK, PAYMENT])
    summary = run(db, [
        {**PAYMENT, "amount": "600.00"},
        {**PAYMENT, "id": "R1", "amount": "-100.00"},
        {**PAYMENT, "id": "R2", "amount": "-100.00", "reverses": "NOPE"},
        {**PAYMENT, "id": "R3", "amount": "-600.00", "reverses": "P1"},
        {**PAYMENT, "id": "R4", "amount": "100.00", "reverses": "P1"},
        {**PAYMENT, "id": "P9", "amount": "0.001"},
        {**PAYMENT, "id": "P8", "paid_at": "yesterday"},
    ])
    reasons = dict(summary.reasons)
    assert summary.counts["payment"]["rejected"] == 7
    assert "never changed" in reasons["line 1"]
    assert "must name the payment it reverses" in reasons["line 2"]
    assert "no payment 'NOPE'" in reasons["line 3"]
    assert "reverses more than payment P1" in reasons["line 4"]
    assert "must be negative" in reasons["line 5"]
    assert "at most 2 decimals" in reasons["line 6"]
    assert "ISO 8601" in reasons["line 7"]
    assert total(db) == Decimal("1894.08")
    reversal = run(db, [{**PAYMENT, "id": "R5", "amount": "-500.00", "reverses": "P1",
                         "paid_at": "2026-11-28T09:00:00+08:00"}])
    assert reversal.counts["payment"]["inserted"] == 1
    assert total(db) == Decimal("2396.50")  # as if the 500.00 had never arrived


def test_bad_records_are_rejected_with_the_field_and_the_rest_applied(db):
    summary = run(db, [
        {**BORROWER, "phone": "1234"}, "not an object", {"type": "nonsense"},
        {**LOAN, "borrower_id": "B0"}, {**SCHEDULE[0], "loan_id": "L0"},
        BORROWER, {**BORROWER, "id": "B9002"}, LOAN, {**LOAN, "id": "L9002", "principal": "-1"},
    ])
    reasons = dict(summary.reasons)
    assert "phone: must be an 11-digit" in reasons["line 1"]
    assert "must be an object" in reasons["line 2"]
    assert "type: must be one of" in reasons["line 3"]
    assert "no borrower 'B0'" in reasons["line 4"] and "no loan 'L0'" in reasons["line 5"]
    assert "already the phone of borrower B9001" in reasons["line 7"]
    assert "principal" in reasons["line 9"]
    assert summary.counts["borrower"]["inserted"] == 1 and summary.counts["loan"]["inserted"] == 1
    text = summary_text(summary)
    assert "rejected (7):" in text and "line 7: phone: already the phone of borrower B9001" in text


def test_hostile_text_is_stored_as_text(db):
    name = "'; DROP TABLE borrowers;-- <script>&amp;"
    run(db, [{**BORROWER, "name": name}])
    with db.session() as session:
        assert session.get(Borrower, "B9001").name == name


def test_csv_and_json_lines_files_are_read_as_streams(tmp_path: Path):
    csv_file = tmp_path / "payments.csv"
    csv_file.write_text("\ufeffid,loan_id,amount,paid_at,channel,reverses\n"
                        "P1,L9001,500.00,2026-11-20T10:00:00+08:00,bank_card,\n"
                        "R1,L9001,-100.00,2026-11-21,bank_card,P1\n", encoding="utf-8")
    read: list[int] = []
    records = list(read_records(file_lines(csv_file, read.append), "csv", "payment"))
    assert records[0] == ("line 2", {"id": "P1", "loan_id": "L9001", "amount": "500.00",
                                     "paid_at": "2026-11-20T10:00:00+08:00", "channel": "bank_card",
                                     "type": "payment"})
    assert records[1][1]["reverses"] == "P1" and read[-1] == csv_file.stat().st_size
    lines = tmp_path / "book.jsonl"
    lines.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in BOOK) + "\n\n{broken\n", encoding="utf-8")
    parsed = list(read_records(file_lines(lines), "jsonl"))
    assert [where for where, _ in parsed] == ["line 1", "line 2", "line 3", "line 4", "line 5", "line 7"]
    assert isinstance(parsed[-1][1], ValueError)


@pytest.mark.slow
def test_the_command_syncs_a_file_prints_the_summary_and_exits_1_on_a_rejection(tmp_path: Path):
    book = tmp_path / "book.jsonl"
    book.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [*BOOK, PAYMENT, {**LOAN, "id": ""}]),
                    encoding="utf-8")
    env = {"KUANXIN_DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}", "KUANXIN_TODAY": "2026-12-06",
           "PATH": "/usr/bin:/bin"}
    kuanxin = str(Path(sys.executable).parent / "kuanxin")
    done = subprocess.run([kuanxin, "sync", str(book), "--rejects", str(tmp_path / "rejects.json")], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert "payment             1          0          0          0" in done.stdout
    assert "100%" in done.stderr
    assert json.loads((tmp_path / "rejects.json").read_text())[0]["record"] == "line 7"
    again = subprocess.run([kuanxin, "sync", str(book), "--quiet"], env=env, capture_output=True, text=True)
    assert "payment             0          0          1          0" in again.stdout and again.stderr == ""
