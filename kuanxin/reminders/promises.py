"""The day after a promised date: did the money arrive? The account data decides, kept or broken.

A promise is kept when the payments recorded between the day it was made and the promised date add up
to the promised amount, or when nothing that was overdue then is still unpaid. Each schedule row
carries its total paid and the date of its last payment, so a row paid in the window counts whole.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from kuanxin.core.clock import beijing_date
from kuanxin.core.money import ZERO, to_money
from kuanxin.core.vocab import EventKind, PromiseStatus
from kuanxin.lending.overdue import is_fully_paid
from kuanxin.store.db import Database
from kuanxin.store.models import Borrower, Loan, Payment, PaymentPromise
from kuanxin.store.outbox import follow_up_facts, record_event


@dataclass(frozen=True)
class PromiseOutcome:
    promise_id: int
    reference: str
    borrower_id: str
    promised_date: dt.date
    amount: Decimal
    paid: Decimal
    kept: bool


def paid_between(borrower: Borrower, first: dt.date, last: dt.date) -> Decimal:
    rows = (row for loan in borrower.loans for row in loan.schedule)
    return to_money(sum((row.paid for row in rows if row.paid_on and first <= row.paid_on <= last), ZERO))


def arrears_cleared(borrower: Borrower, made: dt.date, last: dt.date) -> bool:
    """Every row overdue on the day of the promise was fully paid by the promised date."""
    rows = [row for loan in borrower.loans for row in loan.schedule if row.due_date < made]
    return all(is_fully_paid(row) and (row.paid_on is None or row.paid_on <= last) for row in rows)


def judge(promise: PaymentPromise, borrower: Borrower | None) -> PromiseOutcome:
    made = beijing_date(promise.created_at)
    paid = paid_between(borrower, made, promise.promised_date) if borrower else ZERO
    kept = borrower is not None and (paid >= promise.amount
                                     or arrears_cleared(borrower, made, promise.promised_date))
    return PromiseOutcome(promise.id, promise.reference or "", promise.borrower_id, promise.promised_date,
                          promise.amount, paid, kept)


def due_for_follow_up(db: Database, today: dt.date) -> list[PromiseOutcome]:
    """Open promises whose date has passed, judged against today's account data (nothing recorded)."""
    with db.session() as session:
        promises = list(session.execute(
            select(PaymentPromise)
            .where(PaymentPromise.status == PromiseStatus.OPEN, PaymentPromise.promised_date < today)
            .order_by(PaymentPromise.id)).scalars())
        ids = {p.borrower_id for p in promises}
        borrowers = {b.id: b for b in session.execute(
            select(Borrower).where(Borrower.id.in_(ids))
            .options(selectinload(Borrower.loans).selectinload(Loan.schedule))).scalars()} if ids else {}
        return [judge(promise, borrowers.get(promise.borrower_id)) for promise in promises]


def record_outcomes(db: Database, outcomes: list[PromiseOutcome], today: dt.date) -> list[PromiseOutcome]:
    """Marks each promise kept or broken, with its event for the lender; only those still open are changed
    (a concurrent run is harmless).

    Returns the outcomes this call recorded. The open key is cleared so the borrower can promise again.
    """
    recorded = []
    with db.session() as session:
        for outcome in outcomes:
            changed = session.execute(
                update(PaymentPromise)
                .where(PaymentPromise.id == outcome.promise_id, PaymentPromise.status == PromiseStatus.OPEN)
                .values(status=PromiseStatus.KEPT if outcome.kept else PromiseStatus.BROKEN, followed_up_on=today,
                        open_key=None).execution_options(synchronize_session=False))
            if changed.rowcount:  # type: ignore[attr-defined]  # sqlalchemy2-stubs: an UPDATE gives a CursorResult
                tell_lender(session, outcome, today)
                recorded.append(outcome)
    return recorded


def tell_lender(session: Session, outcome: PromiseOutcome, today: dt.date) -> None:
    promise = session.get(PaymentPromise, outcome.promise_id)
    if promise is not None:
        record_event(session, EventKind.PROMISE_KEPT if outcome.kept else EventKind.PROMISE_BROKEN,
                     outcome.borrower_id, follow_up_facts(promise, outcome.paid, today))


def keep_covered_promises(db: Database, loan_ids: Iterable[str], today: dt.date) -> list[PromiseOutcome]:
    """Right after payments arrive (the push API, `kuanxin sync`): each open promise of the loans' borrowers that
    the payments now cover is marked kept, with the lender's event. One not yet covered stays open for the
    day-after follow-up."""
    ids = set(loan_ids)
    if not ids:
        return []
    with db.session() as session:
        owners = select(Loan.borrower_id).where(Loan.id.in_(ids))
        promises = list(session.execute(
            select(PaymentPromise).where(PaymentPromise.status == PromiseStatus.OPEN,
                                         PaymentPromise.borrower_id.in_(owners))
            .order_by(PaymentPromise.id)).scalars())
        borrowers = {b.id: b for b in session.execute(
            select(Borrower).where(Borrower.id.in_({p.borrower_id for p in promises}))
            .options(selectinload(Borrower.loans).selectinload(Loan.schedule))).scalars()} if promises else {}
        covered = [outcome for promise in promises
                   if (outcome := by_ledger(session, judge(promise, borrowers.get(promise.borrower_id)), promise)).kept]
    return record_outcomes(db, covered, today)


def by_ledger(session: Session, outcome: PromiseOutcome, promise: PaymentPromise) -> PromiseOutcome:
    """The judgement with the ledger's own payments in the promise's window counted whole (a schedule row's paid
    figure leaves out the fees and penalty a payment also covered)."""
    made = beijing_date(promise.created_at)
    amounts = session.execute(  # summed here: Money is text on SQLite, whose SUM would be a float
        select(Payment.amount).join(Loan, Loan.id == Payment.loan_id)
        .where(Loan.borrower_id == promise.borrower_id, Payment.paid_on >= made,
               Payment.paid_on <= promise.promised_date)).scalars()
    paid = to_money(sum(amounts, ZERO))
    if paid <= outcome.paid:
        return outcome
    return dataclasses.replace(outcome, paid=paid, kept=outcome.kept or paid >= promise.amount)


def broken_promises(db: Database, since: dt.date) -> list[PaymentPromise]:
    """Promises found broken on or after `since`, newest first: the console's follow-up list."""
    with db.session() as session:
        return list(session.execute(
            select(PaymentPromise)
            .where(PaymentPromise.status == PromiseStatus.BROKEN, PaymentPromise.followed_up_on >= since)
            .order_by(PaymentPromise.followed_up_on.desc(), PaymentPromise.id.desc())).scalars())
