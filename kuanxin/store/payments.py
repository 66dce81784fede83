"""The payment ledger in the database: recording lender payments once, and the balances they leave.

Each loan's rows are recomputed from its whole ledger (kuanxin/lending/ledger.py) whenever a payment,
a reversal or the loan's schedule arrives, so balances never depend on the order entries came in.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from kuanxin.core.money import ZERO
from kuanxin.core.policy import PaymentPolicy
from kuanxin.lending.ledger import Applied, Entry, Instalment, LoanLedger, replay
from kuanxin.store.db import Database
from kuanxin.store.models import Loan, Payment, PaymentAcknowledgement, ScheduleRow

BATCH = 500  # loans recomputed per query


def ledger_entries(payments: Iterable[Payment]) -> list[Entry]:
    return [Entry(p.id, p.paid_on, p.amount, p.reverses) for p in payments]


def recompute(session: Session, loan_ids: Iterable[str], policy: PaymentPolicy) -> int:
    """Writes onto each loan's schedule rows what its ledger applied; returns how many loans it recomputed."""
    ids, done = sorted(set(loan_ids)), 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        loans = session.execute(select(Loan).where(Loan.id.in_(chunk)).options(selectinload(Loan.schedule))
                                .execution_options(populate_existing=True)).scalars().all()
        payments: dict[str, list[Payment]] = {loan_id: [] for loan_id in chunk}
        for payment in session.execute(select(Payment).where(Payment.loan_id.in_(chunk))).scalars():
            payments[payment.loan_id].append(payment)
        for loan in loans:
            apply_ledger(loan, payments[loan.id], policy)
            done += 1
    return done


def apply_ledger(loan: Loan, payments: list[Payment], policy: PaymentPolicy) -> None:
    settle(loan, loan.schedule, payments, policy)


def settle(loan: Any, schedule: list[Any], payments: list[Any], policy: PaymentPolicy) -> None:
    """Writes onto the schedule's rows (in period order) what the loan's ledger applied, and the loan's credit:
    ORM objects, or the sync's rows not yet inserted (kuanxin/store/sync.py settles a new loan before writing it)."""
    ledger = replayed(loan, schedule, ledger_entries(payments), policy)
    for row in schedule:
        for name, value in ledger_figures(row, ledger.rows[row.period]).items():
            setattr(row, name, value)
    loan.credit = ledger.credit


def replayed(loan: Any, schedule: list[Any], entries: list[Entry], policy: PaymentPolicy) -> LoanLedger:
    """The loan's ledger replayed over its schedule rows (kuanxin/lending/ledger.py)."""
    terms = [Instalment(row.period, row.due_date, row.principal, row.interest, row.opening_paid or ZERO)
             for row in schedule]
    return replay(terms, loan.penalty_daily_rate, loan.late_fee, entries, policy.allocation_order)


def ledger_figures(row: Any, applied: Applied) -> dict[str, Any]:
    """A schedule row's ledger columns as the replay left them; a row paid before the ledger began keeps its day."""
    return {"paid": applied.paid, "paid_penalty": applied.paid_penalty, "paid_late_fee": applied.paid_late_fee,
            "penalty_accrued": applied.penalty_accrued, "accrued_to": applied.accrued_to,
            "late_fee_charged": applied.late_fee_charged,
            "paid_on": applied.paid_on or (row.paid_on if row.opening_paid else None)}


def recompute_rows(session: Session, loan_ids: Iterable[str], policy: PaymentPolicy) -> int:
    """recompute read and written as plain rows: each loan's ledger replayed as apply_ledger does, and only the
    schedule rows and credits whose figures it changed are written, in one executemany per chunk (the ORM's
    objects, loading and change tracking cost more than the replay itself). The session's ORM objects of these
    rows are not refreshed: the caller reads them no more."""
    ids, done = sorted(set(loan_ids)), 0
    session.flush()  # the caller's ORM changes first: the rows are read as it left them
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        schedules: dict[str, list[Any]] = {loan_id: [] for loan_id in chunk}
        for row in session.execute(select(ScheduleRow.__table__).where(ScheduleRow.loan_id.in_(chunk))
                                   .order_by(ScheduleRow.loan_id, ScheduleRow.period)):
            schedules[row.loan_id].append(row)
        entries: dict[str, list[Entry]] = {loan_id: [] for loan_id in chunk}
        for payment in session.execute(select(Payment.id, Payment.loan_id, Payment.paid_on, Payment.amount,
                                              Payment.reverses).where(Payment.loan_id.in_(chunk))):
            entries[payment.loan_id].append(Entry(payment.id, payment.paid_on, payment.amount, payment.reverses))
        rows_changed: list[dict[str, Any]] = []
        credits_changed: list[dict[str, Any]] = []
        for loan in session.execute(select(Loan.id, Loan.penalty_daily_rate, Loan.late_fee, Loan.credit)
                                    .where(Loan.id.in_(chunk))):
            credit = replayed_rows(loan, schedules[loan.id], entries[loan.id], policy, rows_changed)
            if credit != loan.credit:
                credits_changed.append({"id": loan.id, "credit": credit})
            done += 1
        if rows_changed:
            write_ledger_figures(session, rows_changed)
        if credits_changed:
            session.bulk_update_mappings(Loan, credits_changed)
    return done


LEDGER_COLUMNS = ("paid", "paid_penalty", "paid_late_fee", "penalty_accrued", "accrued_to", "late_fee_charged",
                  "paid_on")


def write_ledger_figures(session: Session, rows: list[dict[str, Any]]) -> None:
    """The replayed figures onto their schedule rows: on PostgreSQL (psycopg2) one UPDATE … FROM (VALUES …) per
    thousand rows (an UPDATE statement per row, even batched, took a quarter of a day's payments sync)."""
    if session.get_bind().dialect.driver != "psycopg2":
        session.bulk_update_mappings(ScheduleRow, rows)
        return
    from psycopg2.extras import execute_values  # the driver of the URLs kuanxin runs on PostgreSQL with
    cursor = session.connection().connection.cursor()
    execute_values(cursor, UPDATE_LEDGER, [tuple(row[name] for name in ("id", *LEDGER_COLUMNS)) for row in rows],
                   template=LEDGER_VALUES, page_size=1000)


UPDATE_LEDGER = (f"UPDATE schedule_rows AS s SET {', '.join(f'{name} = v.{name}' for name in LEDGER_COLUMNS)} "
                 f"FROM (VALUES %s) AS v (id, {', '.join(LEDGER_COLUMNS)}) WHERE s.id = v.id")
LEDGER_VALUES = "(%s::integer, %s::numeric, %s::numeric, %s::numeric, %s::numeric, %s::date, %s::boolean, %s::date)"


def replayed_rows(loan: Any, schedule: list[Any], entries: list[Entry], policy: PaymentPolicy,
                  changed: list[dict[str, Any]]) -> Decimal:
    """Adds to `changed` each schedule row whose ledger figures differ from the replay's; the loan's credit."""
    ledger = replayed(loan, schedule, entries, policy)
    for row in schedule:
        figures = ledger_figures(row, ledger.rows[row.period])
        if any(getattr(row, name) != value for name, value in figures.items()):
            changed.append({"id": row.id, **figures})
    return ledger.credit


# --- telling the borrower: a payment that arrived is acknowledged once in the conversation --------------------------

def untold(received_since: dt.datetime) -> tuple[ColumnElement, ...]:
    """Payments received since then (naive UTC), not charged back and not yet told: news for their borrower."""
    reversed_ids = select(Payment.reverses).where(Payment.reverses.is_not(None))
    told = select(PaymentAcknowledgement.payment_id)
    return (Payment.amount > ZERO, Payment.reverses.is_(None), Payment.received_at >= received_since,
            Payment.id.not_in(reversed_ids), Payment.id.not_in(told))


def untold_payments(session: Session, borrower_id: str, received_since: dt.datetime) -> list[Payment]:
    """The borrower's untold payments received since then, oldest first."""
    return list(session.execute(
        select(Payment).join(Loan, Loan.id == Payment.loan_id)
        .where(Loan.borrower_id == borrower_id, *untold(received_since))
        .order_by(Payment.paid_at, Payment.id)).scalars())


def borrowers_with_untold_payments(session: Session, received_since: dt.datetime) -> list[str]:
    """Every borrower with an untold payment received since then, in id order."""
    return list(session.execute(
        select(Loan.borrower_id).join(Payment, Payment.loan_id == Loan.id).where(*untold(received_since))
        .distinct().order_by(Loan.borrower_id)).scalars())


def claim_untold_payments(db: Database, borrower_id: str, received_since: dt.datetime, conversation_id: str,
                          now: dt.datetime) -> list[Payment]:
    """The payments to tell the borrower of now, each recorded as told in the same transaction: two instances
    answering at once tell each payment once (the second finds it claimed and tells nothing)."""
    try:
        with db.session() as session:
            payments = untold_payments(session, borrower_id, received_since)
            session.add_all(PaymentAcknowledgement(payment_id=p.id, borrower_id=borrower_id,
                                                   conversation_id=conversation_id, acknowledged_at=now)
                            for p in payments)
            session.flush()
            session.expunge_all()
            return payments
    except IntegrityError:
        return []
