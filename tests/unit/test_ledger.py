"""The payment ledger: payments applied in the policy's order, to the cent, against hand-worked figures."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from kuanxin.core import policy as policies
from kuanxin.core.policy import CHARGES, PaymentPolicy, PolicyError, parse_payments
from kuanxin.lending.ledger import Entry, Instalment, net_payments, replay
from kuanxin.lending.overdue import loan_statement
from kuanxin.store.models import Borrower, Loan, Payment, ScheduleRow
from kuanxin.store.payments import recompute

D = Decimal
TODAY = dt.date(2026, 12, 6)
RATE, FEE = D("0.0005"), D("30.00")
# three instalments of 1,000.00 principal + 150.00 interest, due mid-October, -November, -December
TERMS = [Instalment(1, dt.date(2026, 10, 15), D("1000.00"), D("150.00")),
         Instalment(2, dt.date(2026, 11, 15), D("1000.00"), D("150.00")),
         Instalment(3, dt.date(2026, 12, 15), D("1000.00"), D("150.00"))]


def pay(payment_id: str, day: dt.date, amount: str, reverses: str | None = None) -> Entry:
    return Entry(payment_id, day, D(amount), reverses)


def test_a_payment_covers_the_oldest_instalment_fee_then_penalty_then_interest_then_principal():
    ledger = replay(TERMS, RATE, FEE, [pay("P1", dt.date(2026, 11, 20), "500.00")], CHARGES)
    first, second, third = ledger.rows[1], ledger.rows[2], ledger.rows[3]
    # 36 days late on 1,000.00: 18.00 penalty; 30.00 fee; 150.00 interest; the remaining 302.00 to principal
    assert (first.paid_late_fee, first.paid_penalty, first.paid) == (D("30.00"), D("18.00"), D("452.00"))
    assert (first.penalty_accrued, first.accrued_to, first.late_fee_charged) == (D("18.00"), dt.date(2026, 11, 20),
                                                                                 True)
    # the next instalment was 5 days late: its fee is charged and 2.50 of penalty accrued, nothing paid on it
    assert (second.paid, second.penalty_accrued, second.late_fee_charged) == (D("0"), D("2.50"), True)
    assert third.paid == 0 and not third.late_fee_charged and ledger.credit == 0


def test_the_penalty_stops_on_what_a_payment_repaid_from_its_day_on():
    loan = loan_with_ledger([pay("P1", dt.date(2026, 11, 20), "500.00")])
    rows = {row.period: row for row in loan_statement(loan, TODAY).rows}
    # 698.00 principal left on the first instalment: 18.00 before the payment + 698.00 × 0.0005 × 16 days = 5.58
    assert (rows[1].unpaid_principal, rows[1].unpaid_interest, rows[1].penalty, rows[1].late_fee) == (
        D("698.00"), D("0.00"), D("5.58"), D("0.00"))
    # the second instalment owes what it would have without the payment: 1,000.00 × 0.0005 × 21 days
    assert (rows[2].penalty, rows[2].late_fee, rows[2].total) == (D("10.50"), D("30.00"), D("1190.50"))
    assert loan_statement(loan, TODAY).total == D("1894.08")


def test_without_payments_the_statement_is_the_plain_overdue_maths():
    statement = loan_statement(loan_with_ledger([]), TODAY)
    assert [(r.penalty, r.late_fee) for r in statement.rows] == [(D("26.00"), FEE), (D("10.50"), FEE)]
    assert statement.total == D("2396.50")


def test_a_reversal_undoes_the_payment_it_names_as_if_it_never_arrived():
    paid = [pay("P1", dt.date(2026, 11, 20), "500.00")]
    reversed_whole = paid + [pay("R1", dt.date(2026, 11, 25), "-500.00", reverses="P1")]
    assert loan_statement(loan_with_ledger(reversed_whole), TODAY).total == D("2396.50")
    reversed_part = paid + [pay("R1", dt.date(2026, 11, 25), "-200.00", reverses="P1")]
    just_300 = [pay("P1", dt.date(2026, 11, 20), "300.00")]
    assert (loan_statement(loan_with_ledger(reversed_part), TODAY).total
            == loan_statement(loan_with_ledger(just_300), TODAY).total)
    assert net_payments(reversed_part) == [pay("P1", dt.date(2026, 11, 20), "300.00")]


def test_entries_arriving_in_any_order_give_the_same_balances():
    entries = [pay("P2", dt.date(2026, 11, 30), "100.00"), pay("P1", dt.date(2026, 11, 20), "500.00"),
               pay("R1", dt.date(2026, 12, 1), "-100.00", reverses="P2")]
    assert replay(TERMS, RATE, FEE, entries, CHARGES) == replay(TERMS, RATE, FEE, entries[::-1], CHARGES)


def test_what_is_paid_beyond_the_whole_schedule_is_the_loans_credit():
    ledger = replay(TERMS, RATE, FEE, [pay("P1", dt.date(2026, 11, 20), "5000.00")], CHARGES)
    # 1,198.00 (first: fee, 36 days' penalty, interest, principal) + 1,182.50 (second: 5 days) + 1,150.00 (third,
    # not yet due: interest and principal only)
    assert ledger.credit == D("1469.50")
    assert [ledger.rows[p].paid for p in (1, 2, 3)] == [D("1150.00")] * 3
    assert ledger.rows[3].paid_late_fee == 0 and ledger.rows[3].paid_penalty == 0


def test_a_payment_on_or_before_the_due_date_charges_no_fee_and_no_penalty():
    ledger = replay(TERMS, RATE, FEE, [pay("P1", dt.date(2026, 10, 15), "1150.00")], CHARGES)
    assert ledger.rows[1].paid == D("1150.00") and not ledger.rows[1].late_fee_charged
    statement = loan_statement(loan_with_ledger([pay("P1", dt.date(2026, 10, 15), "1150.00")]), TODAY)
    assert [row.period for row in statement.rows] == [2]


def test_the_policy_orders_the_charges():
    order = ("interest", "principal", "penalty", "late_fee")
    ledger = replay(TERMS, RATE, FEE, [pay("P1", dt.date(2026, 11, 20), "500.00")], order)
    assert (ledger.rows[1].paid, ledger.rows[1].paid_penalty, ledger.rows[1].paid_late_fee) == (D("500.00"), 0, 0)


def test_the_lenders_opening_figure_counts_as_paid_before_the_ledger():
    terms = [Instalment(1, dt.date(2026, 10, 15), D("1000.00"), D("150.00"), opening_paid=D("500.00"))]
    ledger = replay(terms, RATE, FEE, [pay("P1", dt.date(2026, 11, 20), "100.00")], CHARGES)
    # 650.00 principal unpaid from the due date: 36 days × 0.0005 = 11.70 penalty; the 100.00 goes to the fee
    # (30.00), the penalty (11.70) and the principal (58.30)
    assert (ledger.rows[1].paid, ledger.rows[1].paid_penalty) == (D("558.30"), D("11.70"))


@pytest.mark.parametrize("order, problem", [
    (["late_fee", "penalty", "interest"], "give each of"),
    (["late_fee", "penalty", "principal", "interest"], "interest must come before principal"),
    ("late_fee", "give each of"),
])
def test_a_bad_allocation_order_is_named(order, problem):
    with pytest.raises(PolicyError, match=f"payments.allocation_order: {problem}"):
        parse_payments({"allocation_order": order})


def test_the_demo_policy_applies_fees_first():
    assert policies.current().payments == PaymentPolicy(("late_fee", "penalty", "interest", "principal"))


def test_recompute_writes_the_ledger_onto_the_rows_and_keeps_the_opening_figure(db):
    with db.session() as session:
        session.add(Borrower(id="B1", name="张伟", phone="13812345678", id_last4="123X",
                             id_masked="110101********123X"))
        session.add(Loan(id="L1", borrower_id="B1", product="消费贷", principal=D("3000.00"), annual_rate=D("0.18"),
                         penalty_daily_rate=RATE, late_fee=FEE, start_date=dt.date(2026, 9, 15), status="active"))
        session.flush()
        for terms in TERMS:
            opening = D("150.00") if terms.period == 1 else D("0.00")
            session.add(ScheduleRow(loan_id="L1", period=terms.period, due_date=terms.due_date,
                                    principal=terms.principal, interest=terms.interest, paid=opening,
                                    opening_paid=opening))
        at = dt.datetime(2026, 11, 20, 2, 0)
        session.add(Payment(id="P1", loan_id="L1", amount=D("500.00"), paid_at=at, paid_on=at.date(),
                            channel="bank_card", source="file", received_at=at))
        session.flush()
        assert recompute(session, ["L1"], policies.current().payments) == 1
    with db.session() as session:
        rows = session.execute(select(ScheduleRow).order_by(ScheduleRow.period)).scalars().all()
        # interest was paid before the ledger: 30.00 fee + 18.00 penalty, then 452.00 to principal
        assert [(r.paid, r.opening_paid, r.paid_late_fee, r.paid_penalty) for r in rows] == [
            (D("602.00"), D("150.00"), FEE, D("18.00")), (D("0.00"), D("0.00"), 0, 0), (D("0.00"), D("0.00"), 0, 0)]
        assert rows[0].paid_on == dt.date(2026, 11, 20) and rows[1].late_fee_charged
        loan = session.get(Loan, "L1")
        assert loan_statement(loan, TODAY).rows[0].unpaid_principal == D("548.00")


def loan_with_ledger(entries: list[Entry]) -> Loan:
    """A loan whose rows carry what the ledger applied, as kuanxin.store.payments writes them."""
    ledger = replay(TERMS, RATE, FEE, entries, CHARGES)
    loan = Loan(id="L1", penalty_daily_rate=RATE, late_fee=FEE, product="消费贷", status="active")
    loan.schedule = [ScheduleRow(period=t.period, due_date=t.due_date, principal=t.principal, interest=t.interest,
                                 paid=ledger.rows[t.period].paid, paid_penalty=ledger.rows[t.period].paid_penalty,
                                 paid_late_fee=ledger.rows[t.period].paid_late_fee,
                                 penalty_accrued=ledger.rows[t.period].penalty_accrued,
                                 accrued_to=ledger.rows[t.period].accrued_to,
                                 late_fee_charged=ledger.rows[t.period].late_fee_charged) for t in TERMS]
    return loan
