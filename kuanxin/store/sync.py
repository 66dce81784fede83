"""Incremental sync from the lender's systems: accounts, loans, schedules and payments, upserted by the lender's ids.

The same records arrive as a file (`kuanxin sync FILE`, JSON Lines or CSV, streamed) or through the push API
(web/lender_api.py). A sync inserts what is new, updates what changed and leaves the rest; it never deletes
anything, and never touches what the conversation side owns (promises, requests, escalations, notes,
opt-outs, audit). A payment is recorded once per lender payment id and never changed: a charge-back is a
new, negative entry naming the payment it reverses. Each loan whose schedule or ledger changed has its
balances recomputed from its whole ledger (kuanxin/store/payments.py).

Records (one JSON object per line, or one CSV row with a header; `type` names the kind):
  borrower  id, name, phone, id_number (only its last 4 characters and a masked form are kept)
  loan      id, borrower_id, product, principal, annual_rate, penalty_daily_rate, late_fee, start_date, status
  schedule  loan_id, period, due_date, principal, interest[, paid: the lender's figure from before the ledger]
  payment   id, loan_id, amount, paid_at (ISO 8601; without an offset it is Beijing time), channel[, reverses]
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from dateutil import parser as date_parser
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kuanxin.core import clock
from kuanxin.core.money import ZERO, to_money
from kuanxin.core.policy import PaymentPolicy, SegmentPolicy
from kuanxin.core.policy import current as current_policy
from kuanxin.lending.identity import mask_id_number
from kuanxin.lending.segments import classify
from kuanxin.store import classes
from kuanxin.store.book import BorrowerRows, LoanRows
from kuanxin.store.db import Database
from kuanxin.store.importer import ID_NUMBER, LOAN_STATUSES, PHONE, FieldChecker
from kuanxin.store.models import Borrower, Loan, Payment, ScheduleRow
from kuanxin.store.payments import recompute, recompute_rows, settle

KINDS = ("borrower", "loan", "schedule", "payment")
OUTCOMES = ("inserted", "updated", "unchanged", "rejected")
BATCH = 1000  # records per transaction
# rows written as plain inserts and executemany updates, balances and classes computed from plain rows (the
# set-based writer); False: through the ORM's objects, as before it
WRITE_ROWS = True
MAX_REASONS = 100  # rejections kept with their reasons in a summary
# The planner's statistics of the tables a sync fills are refreshed after this many inserted records, then each
# time the count doubles: statistics taken when the tables were small had the schedule read by a whole-table
# scan for every batch (127 ms a batch at 1.4 M rows), and autovacuum's analyze comes too late for a long sync.
ANALYZE_AFTER = 50_000
SYNCED_TABLES = ("borrowers", "loans", "schedule_rows", "payments")


class Rejected(ValueError):
    """A record that cannot be applied; the message says why, naming the field."""


@dataclass
class Summary:
    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: {kind: dict.fromkeys(OUTCOMES, 0) for kind in (*KINDS, "unknown")})
    reasons: list[tuple[str, str]] = field(default_factory=list)  # (where, why), the first MAX_REASONS

    def count(self, kind: str, outcome: str) -> None:
        self.counts[kind if kind in KINDS else "unknown"][outcome] += 1

    def reject(self, kind: str, where: str, why: str) -> None:
        self.count(kind, "rejected")
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append((where, why))

    def total(self, outcome: str) -> int:
        return sum(kinds[outcome] for kinds in self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {"counts": {k: v for k, v in self.counts.items() if any(v.values())},
                "rejected": [{"record": where, "reason": why} for where, why in self.reasons]}


# --- reading ---------------------------------------------------------------------------------------------------

def read_records(lines: Iterable[str], fmt: str, kind: str | None = None) -> Iterator[tuple[str, Any]]:
    """(where, record) for each record of JSON Lines or CSV text; `kind` fills a CSV without a type column."""
    if fmt == "csv":
        for number, row in enumerate(csv.DictReader(lines), 2):
            record = {k.strip(): (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k}
            record = {k: v for k, v in record.items() if v not in ("", None)}
            if kind and "type" not in record:
                record["type"] = kind
            yield f"line {number}", _typed_csv(record)
        return
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                yield f"line {number}", json.loads(line)
            except ValueError as error:
                yield f"line {number}", Rejected(f"not a JSON object: {error}")


def file_lines(path: Path, read: Callable[[int], None] | None = None) -> Iterator[str]:
    """The file's lines as text, streamed, telling `read` how many bytes have been read so far."""
    done = 0
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            done += len(raw)
            if read:
                read(done)
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8", errors="replace")
            yield line


def _typed_csv(record: dict[str, Any]) -> dict[str, Any]:
    """CSV holds only text: whole numbers where the format has them."""
    if "period" in record and record["period"].isdigit():
        record["period"] = int(record["period"])
    return record


# --- applying ---------------------------------------------------------------------------------------------------

class Sync:
    """Applies records in order, BATCH to a transaction; loans whose ledger or schedule changed are recomputed."""

    def __init__(self, db: Database, policy: PaymentPolicy, source: str = "file",
                 segments: SegmentPolicy | None = None):
        self.db, self.policy, self.source = db, policy, source
        self.segments = segments or current_policy().segments
        self.changed_loans: set[str] = set()  # loans whose ledger or schedule changed: their promises may be kept
        self.analyzed_at = 0  # records inserted when the statistics were last refreshed

    def run(self, records: Iterable[tuple[str, Any]], progress: Callable[[int], None] | None = None) -> Summary:
        summary, batch, done = Summary(), [], 0
        for item in records:
            batch.append(item)
            if len(batch) >= BATCH:
                done += self.apply_batch(batch, summary)
                batch = []
                if progress:
                    progress(done)
        if batch:
            done += self.apply_batch(batch, summary)
            if progress:
                progress(done)
        return summary

    def apply(self, records: list[tuple[str, Any]]) -> tuple[Summary, list[tuple[str, str, str | None]]]:
        """Every record in one transaction, with each record's (kind, outcome, reason): the push API's way."""
        summary, results = Summary(), []
        with self.db.session() as session:
            changed: set[str] = set()
            known = Known(session, [record for _where, record in records])
            for where, record in records:
                results.append(self._apply_one(known, summary, changed, where, record))
            self._write(session, known, changed)
        return summary, results

    def apply_batch(self, batch: list[tuple[str, Any]], summary: Summary) -> int:
        with self.db.session() as session:
            changed: set[str] = set()
            known = Known(session, [record for _where, record in batch])
            for where, record in batch:
                self._apply_one(known, summary, changed, where, record)
            self._write(session, known, changed)
        self._keep_statistics(summary.total("inserted"))
        return len(batch)

    def _keep_statistics(self, inserted: int) -> None:
        if inserted - self.analyzed_at < max(ANALYZE_AFTER, self.analyzed_at):
            return
        self.analyzed_at = inserted
        if self.db.engine.dialect.name == "postgresql":
            with self.db.engine.begin() as connection:
                connection.execute(text(f"ANALYZE {', '.join(SYNCED_TABLES)}"))

    def _write(self, session: Session, known: Known, changed: set[str]) -> None:
        """The batch's rows, the balances of the loans it changed, and those borrowers' classes, in one transaction."""
        touched = {row.id for row in known.new[Borrower]} | {known.loans[loan_id].borrower_id for loan_id in changed}
        if WRITE_ROWS:
            today = clock.today()
            fresh = known.settle_new_loans(changed, self.policy)
            classified = [classify(cast(Borrower, borrower), today, self.segments)
                          for borrower in known.new_borrowers()]
            known.write_rows(session)
            recompute_rows(session, changed - fresh, self.policy)
            self.changed_loans |= changed
            classes.write_classes(session, classified, today)
            classes.refresh_borrower_rows(session, touched - {a.borrower_id for a in classified}, today,
                                          self.segments)
            return
        known.write(session)
        recompute(session, changed, self.policy)
        self.changed_loans |= changed
        classes.refresh_borrowers(session, touched, clock.today(), self.segments)

    def _apply_one(self, known: Known, summary: Summary, changed: set[str], where: str,
                   record: Any) -> tuple[str, str, str | None]:
        kind = record.get("type") if isinstance(record, dict) else None
        try:
            if isinstance(record, Rejected):
                raise record
            if not isinstance(record, dict):
                raise Rejected("must be an object")
            if kind not in KINDS:
                raise Rejected(f"type: must be one of {', '.join(KINDS)}, got {kind!r}")
            # every check comes before the record's one write, so a rejected record leaves nothing written
            outcome = APPLY[kind](known, record, changed, self.source)
        except Rejected as why:
            summary.reject(str(kind), where, str(why))
            return str(kind), "rejected", str(why)
        summary.count(kind, outcome)
        return kind, outcome, None


class Known:
    """The rows a batch of records can touch, read in one query per table before the batch is applied.

    Looking each record's rows up one at a time cost a database round trip per record (and a flush per
    insert); reading them together makes a batch of 1,000 records a handful of queries and one flush.
    Rows the batch inserts are added here too, so a loan can follow its borrower in the same batch.
    """

    def __init__(self, session: Session, records: list[Any]):
        named = referenced_ids(records)
        borrower_ids, phones = named[("borrower", "id")] | named[("loan", "borrower_id")], named[("borrower", "phone")]
        loan_ids = named[("loan", "id")] | named[("schedule", "loan_id")] | named[("payment", "loan_id")]
        payment_ids = named[("payment", "id")] | named[("payment", "reverses")]
        self.borrowers = {b.id: b for b in _rows(session, Borrower, Borrower.id.in_(borrower_ids)
                                                 | Borrower.phone.in_(phones), borrower_ids | phones)}
        self.phone_holders = {b.phone: b.id for b in self.borrowers.values()}
        self.loans = {loan.id: loan for loan in _rows(session, Loan, Loan.id.in_(loan_ids), loan_ids)}
        schedule_loans = named[("schedule", "loan_id")] & self.loans.keys()  # a loan not yet written has no schedule
        self.schedule = {(row.loan_id, row.period): row for row in _rows(
            session, ScheduleRow, ScheduleRow.loan_id.in_(schedule_loans), schedule_loans)}
        self.payments = {p.id: p for p in _rows(session, Payment, Payment.id.in_(payment_ids), payment_ids)}
        self.reversed: dict[str, list[Decimal]] = {}
        self.new: dict[type, list[Any]] = {model: [] for model in (Borrower, Loan, ScheduleRow, Payment)}
        self.new_schedules: dict[str, list[Any]] = {}  # each new loan's schedule rows, in period order
        for reversal in _rows(session, Payment, Payment.reverses.in_(payment_ids), payment_ids):
            self.reversed.setdefault(reversal.reverses, []).append(reversal.amount)


    def add(self, row: Any) -> Any:
        self.new[row.model if isinstance(row, NewRow) else type(row)].append(row)
        return row

    def settle_new_loans(self, changed: set[str], policy: PaymentPolicy) -> set[str]:
        """The loans this batch inserts, settled in memory before they are written: their whole schedule and
        ledger so far are rows of this batch, so replaying them needs no read-back (and no UPDATE after the
        insert). A loan whose schedule goes on in the next batch is recomputed there from the database."""
        fresh = {loan_id for loan_id in changed if isinstance(self.loans[loan_id], NewRow)}
        self.new_schedules = {loan_id: [] for loan_id in fresh}  # read by new_borrowers
        payments: dict[str, list[Any]] = {loan_id: [] for loan_id in fresh}
        for row in sorted(self.new[ScheduleRow], key=lambda row: row.period):
            self.new_schedules.get(row.loan_id, []).append(row)
        for payment in self.new[Payment]:
            payments.get(payment.loan_id, []).append(payment)
        for loan_id in fresh:
            settle(self.loans[loan_id], self.new_schedules[loan_id], payments[loan_id], policy)
        return fresh

    def new_borrowers(self) -> list[BorrowerRows]:
        """The borrowers this batch inserts, with their loans and schedules as settled (a new borrower's every
        loan is new too): classified without reading back what the batch writes."""
        loans: dict[str, list[LoanRows]] = {}
        for loan in self.new[Loan]:
            loans.setdefault(loan.borrower_id, []).append(LoanRows(loan, self.new_schedules.get(loan.id, [])))
        return [BorrowerRows(b.id, b.phone, sorted(loans.get(b.id, []), key=lambda loan: loan.id))
                for b in self.new[Borrower]]

    def write_rows(self, session: Session) -> None:
        """The changed rows it read go out through the ORM's flush (an UPDATE of the columns that differ, as
        _changed_fields left them); the new rows as plain inserts, parents first, one COPY (PostgreSQL) or
        executemany per table: no ORM object of theirs joins the session (the ORM's bookkeeping of a new row
        cost more than its insert)."""
        session.flush()
        for model, rows in self.new.items():
            if rows:
                insert_rows(session, model, [row.values() for row in rows])
            rows.clear()

    def write(self, session: Session) -> None:
        """New rows go in parents first (a loan after its borrower): the ORM does not order tables it only
        knows to be related by a foreign key."""
        for rows in self.new.values():
            session.add_all(rows)
            session.flush()
            rows.clear()


# the ids each kind of record names, by field: the rows a batch may touch
REFERENCES = {"borrower": ("id", "phone"), "loan": ("id", "borrower_id"), "schedule": ("loan_id",),
              "payment": ("id", "loan_id", "reverses")}


def referenced_ids(records: list[Any]) -> dict[tuple[str, str], set[str]]:
    """{(kind, field): the ids the batch's records of that kind name in that field}, in one pass."""
    named: dict[tuple[str, str], set[str]] = {(kind, name): set() for kind, names in REFERENCES.items()
                                              for name in names}
    for record in records:
        kind = record.get("type") if isinstance(record, dict) else None
        if not isinstance(kind, str):
            continue
        for name in REFERENCES.get(kind, ()):
            value = record.get(name)
            if isinstance(value, (str, int)):
                named[(kind, name)].add(str(value))
    return named


class NewRow:
    """A row a batch inserts, for the row writer: its columns as attributes, as an ORM object would have them,
    without the ORM's instrumentation (building and tracking 24,000 objects a batch cost more than inserting them)."""

    def __init__(self, model: type, values: dict[str, Any]):
        self.__dict__.update(values)
        self.model = model

    def values(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if name != "model"}


def insert_rows(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Plain inserts: COPY on PostgreSQL (psycopg2; executemany's statements cost several times as much), else
    one executemany. Rows with the same columns go together."""
    if session.get_bind().dialect.driver != "psycopg2":
        session.bulk_insert_mappings(model, rows)
        return
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    cursor = session.connection().connection.cursor()
    table = sa_inspect(model).local_table.name
    for columns, group in groups.items():
        lines = "".join("\t".join([copy_value(row[name]) for name in columns]) + "\n" for row in group)
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.StringIO(lines))


COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_value(value: Any) -> str:
    """A value in COPY's text format (str() of a date, time, Decimal or int is already the format's own)."""
    if value is None:
        return "\\N"
    if value.__class__ is str:
        return value if value.isprintable() and "\\" not in value else value.translate(COPY_ESCAPES)
    if value.__class__ is bool:
        return "t" if value else "f"
    return str(value)


def new_row(model: type, values: dict[str, Any]) -> Any:
    return NewRow(model, values) if WRITE_ROWS else model(**values)


def _rows(session: Session, model: type, condition: Any, keys: set[str]) -> list[Any]:
    return list(session.execute(select(model).where(condition)).scalars()) if keys else []


def _changed_fields(row: Any, values: dict[str, Any]) -> bool:
    """Writes onto `row` the values that differ; whether any did."""
    differing = {name: value for name, value in values.items() if getattr(row, name) != value}
    for name, value in differing.items():
        setattr(row, name, value)
    return bool(differing)


def _checked(record: dict[str, Any], read: Callable[[FieldChecker], dict[str, Any]]) -> dict[str, Any]:
    check = FieldChecker([])
    values = read(check)
    if check.errors:
        raise Rejected("; ".join(error.removeprefix("record.") for error in check.errors))
    return values


def _upsert(known: dict[str, Any], model: type, values: dict[str, Any]) -> tuple[Any, str]:
    """A new row (for Known.write to insert) or the known one updated; only the columns in `values` are written."""
    row = known.get(values["id"])
    if row is None:
        row = known[values["id"]] = new_row(model, values)
        return row, "inserted"
    return row, "updated" if _changed_fields(row, values) else "unchanged"


def apply_borrower(known: Known, record: dict[str, Any], changed: set[str], source: str) -> str:
    def read(check: FieldChecker) -> dict[str, Any]:
        raw_id = record.get("id_number")
        id_number = check.pattern({"id_number": raw_id.upper() if isinstance(raw_id, str) else raw_id},
                                  "record", "id_number", ID_NUMBER, "must be an 18-character ID number")
        return {"id": check.text(record, "record", "id", 64), "name": check.text(record, "record", "name", 100),
                "phone": check.pattern(record, "record", "phone", PHONE, "must be an 11-digit mainland mobile number"),
                "id_last4": (id_number or "")[-4:], "id_masked": mask_id_number(id_number or "")}
    values = _checked(record, read)
    holder = known.phone_holders.get(values["phone"])
    if holder not in (None, values["id"]):
        raise Rejected(f"phone: already the phone of borrower {holder}")
    earlier = known.borrowers.get(values["id"])
    if earlier is not None and earlier.phone != values["phone"]:
        known.phone_holders.pop(earlier.phone, None)
    known.phone_holders[values["phone"]] = values["id"]
    borrower, outcome = _upsert(known.borrowers, Borrower, values)
    if outcome == "inserted":
        known.add(borrower)
    return outcome


def apply_loan(known: Known, record: dict[str, Any], changed: set[str], source: str) -> str:
    values = _checked(record, lambda check: {
        "id": check.text(record, "record", "id", 64), "borrower_id": check.text(record, "record", "borrower_id", 64),
        "product": check.text(record, "record", "product", 100),
        "principal": check.money(record, "record", "principal", positive=True),
        "annual_rate": check.rate(record, "record", "annual_rate", "1"),
        "penalty_daily_rate": check.rate(record, "record", "penalty_daily_rate", "0.01"),
        "late_fee": check.money(record, "record", "late_fee"),
        "start_date": check.date(record, "record", "start_date"),
        "status": check.choice(record, "record", "status", LOAN_STATUSES)})
    if values["borrower_id"] not in known.borrowers:
        raise Rejected(f"borrower_id: no borrower {values['borrower_id']!r} (send the borrower first)")
    loan, outcome = _upsert(known.loans, Loan, values)
    if outcome == "inserted":
        known.add(loan)
    if outcome != "unchanged":
        changed.add(loan.id)
    return outcome


def apply_schedule(known: Known, record: dict[str, Any], changed: set[str], source: str) -> str:
    values = _checked(record, lambda check: {
        "loan_id": check.text(record, "record", "loan_id", 64),
        "period": check.integer(record, "record", "period", 1, 1000),
        "due_date": check.date(record, "record", "due_date"),
        "principal": check.money(record, "record", "principal"),
        "interest": check.money(record, "record", "interest"),
        **({"opening_paid": check.money(record, "record", "paid")} if "paid" in record else {})})
    if values["loan_id"] not in known.loans:
        raise Rejected(f"loan_id: no loan {values['loan_id']!r} (send the loan first)")
    key = (values["loan_id"], values["period"])
    row = known.schedule.get(key)
    if row is None:
        opening = values.get("opening_paid", Decimal("0.00"))
        known.schedule[key] = known.add(new_row(ScheduleRow, {**values, **UNSETTLED, "paid": opening,
                                                               "opening_paid": opening}))
        outcome = "inserted"
    else:
        outcome = "updated" if _changed_fields(row, values) else "unchanged"
    if outcome != "unchanged":
        changed.add(values["loan_id"])
    return outcome


# a new schedule row's ledger figures before its loan's ledger is replayed (the columns' database defaults)
UNSETTLED = {"paid_penalty": ZERO, "paid_late_fee": ZERO, "penalty_accrued": ZERO, "accrued_to": None,
             "late_fee_charged": False, "paid_on": None}


def apply_payment(known: Known, record: dict[str, Any], changed: set[str], source: str) -> str:
    values = _checked(record, lambda check: {
        "id": check.text(record, "record", "id", 64), "loan_id": check.text(record, "record", "loan_id", 64),
        "amount": signed_amount(check, record), "paid_at": moment(check, record),
        "channel": check.text(record, "record", "channel", 40),
        "reverses": check.text(record, "record", "reverses", 64) if record.get("reverses") is not None else None})
    if values["loan_id"] not in known.loans:
        raise Rejected(f"loan_id: no loan {values['loan_id']!r} (send the loan first)")
    existing = known.payments.get(values["id"])
    if existing is not None:
        same = all(getattr(existing, name) == values[name] for name in ("loan_id", "amount", "paid_at", "reverses"))
        if not same:
            raise Rejected(f"id: payment {values['id']} is already recorded with other values; a recorded payment "
                           "is never changed (send a reversal naming it)")
        return "unchanged"
    check_reversal(known, values)
    payment = known.payments[values["id"]] = new_row(Payment, {
        **values, "paid_on": clock.beijing_date(values["paid_at"]), "source": source,
        "received_at": dt.datetime.utcnow()})
    known.add(payment)
    if payment.reverses is not None:
        known.reversed.setdefault(payment.reverses, []).append(payment.amount)
    changed.add(values["loan_id"])
    return "inserted"


def signed_amount(check: FieldChecker, record: dict[str, Any]) -> Decimal | None:
    amount = check.decimal(record, "record", "amount")
    if amount is not None and (amount == 0 or amount != to_money(amount)):
        check.fail("record.amount", "must be a non-zero amount with at most 2 decimals (negative for a reversal)")
        return None
    if amount is not None and amount < 0 and record.get("reverses") is None:
        check.fail("record.reverses", "a negative amount (a reversal) must name the payment it reverses")
    if amount is not None and amount > 0 and record.get("reverses") is not None:
        check.fail("record.amount", "a reversal's amount must be negative")
    return to_money(amount) if amount is not None else None


def moment(check: FieldChecker, record: dict[str, Any]) -> dt.datetime | None:
    """paid_at as naive UTC (how the database keeps times); a time without an offset is Beijing time."""
    value = record.get("paid_at")
    try:
        parsed = date_parser.isoparse(value) if isinstance(value, str) else None
    except (ValueError, OverflowError):
        parsed = None
    if parsed is None:
        check.fail("record.paid_at", f"must be an ISO 8601 time such as 2026-12-05T10:30:00+08:00, got {value!r}")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=clock.BEIJING)
    return parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)


def check_reversal(known: Known, values: dict[str, Any]) -> None:
    if values["reverses"] is None:
        return
    original = known.payments.get(values["reverses"])
    if original is None or original.loan_id != values["loan_id"] or original.amount <= 0:
        raise Rejected(f"reverses: no payment {values['reverses']!r} on loan {values['loan_id']} to reverse")
    earlier = known.reversed.get(original.id, [])
    if -(sum(earlier, Decimal("0")) + values["amount"]) > original.amount:
        raise Rejected(f"amount: reverses more than payment {original.id} was ({original.amount})")


APPLY: dict[str, Callable[[Known, dict[str, Any], set[str], str], str]] = {
    "borrower": apply_borrower, "loan": apply_loan, "schedule": apply_schedule, "payment": apply_payment}


def summary_text(summary: Summary) -> str:
    """The summary as a table, one line per kind of record, then why each rejected record was rejected."""
    lines = [f"{'':10}" + "".join(f"{outcome:>11}" for outcome in OUTCOMES)]
    lines += [f"{kind:10}" + "".join(f"{counts[outcome]:>11,}" for outcome in OUTCOMES)
              for kind, counts in summary.counts.items() if kind in KINDS or any(counts.values())]
    rejected = summary.total("rejected")
    if rejected:
        lines.append(f"rejected ({rejected:,}):" if rejected <= MAX_REASONS
                     else f"rejected ({rejected:,}; the first {MAX_REASONS}):")
        lines += [f"  {where}: {why}" for where, why in summary.reasons]
    return "\n".join(lines)
