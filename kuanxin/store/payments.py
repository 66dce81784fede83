"""The payment ledger in the database: recording lender payments once, and the balances they leave.

Each loan's rows are recomputed from its whole ledger (kuanxin/lending/ledger.py) whenever a payment,
a reversal or the loan's schedule arrives, so balances never depend on the order entries came in.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from kuanxin.core.money import ZERO
from kuanxin.core.policy import PaymentPolicy
from kuanxin.lending.ledger import Entry, Instalment, replay
from kuanxin.store.db import Database
from kuanxin.store.models import Loan, Payment, PaymentAcknowledgement

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
    terms = [Instalment(row.period, row.due_date, row.principal, row.interest, row.opening_paid or ZERO)
             for row in loan.schedule]
    ledger = replay(terms, loan.penalty_daily_rate, loan.late_fee, ledger_entries(payments),
                    policy.allocation_order)
    for row in loan.schedule:
        applied = ledger.rows[row.period]
        row.paid, row.paid_penalty, row.paid_late_fee = applied.paid, applied.paid_penalty, applied.paid_late_fee
        row.penalty_accrued, row.accrued_to = applied.penalty_accrued, applied.accrued_to
        row.late_fee_charged = applied.late_fee_charged
        row.paid_on = applied.paid_on or (row.paid_on if row.opening_paid else None)
    loan.credit = ledger.credit


# --- telling the borrower: a payment that arrived is acknowledged once in the conversation --------------------------

def untold_payments(session: Session, borrower_id: str, received_since: dt.datetime) -> list[Payment]:
    """The borrower's payments received since then (naive UTC), not charged back and not yet told, oldest first."""
    reversed_ids = select(Payment.reverses).where(Payment.reverses.is_not(None))
    told = select(PaymentAcknowledgement.payment_id)
    return list(session.execute(
        select(Payment).join(Loan, Loan.id == Payment.loan_id)
        .where(Loan.borrower_id == borrower_id, Payment.amount > ZERO, Payment.reverses.is_(None),
               Payment.received_at >= received_since, Payment.id.not_in(reversed_ids), Payment.id.not_in(told))
        .order_by(Payment.paid_at, Payment.id)).scalars())


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
