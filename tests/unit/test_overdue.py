import datetime as dt
from decimal import Decimal

import pytest

from kuanxin.core.money import to_money, yuan
from kuanxin.lending.overdue import loan_statement
from tests.conftest import make_loan

D = dt.date


def test_row_due_today_is_not_overdue_and_is_next_due():
    loan = make_loan([(D(2026, 11, 22), "1000.00", "150.00", "0.00")])
    statement = loan_statement(loan, D(2026, 11, 22))
    assert not statement.is_overdue
    assert statement.total == Decimal("0.00")
    assert statement.next_due.due_date == D(2026, 11, 22)
    assert statement.next_due.amount == Decimal("1150.00")


def test_one_day_overdue_charges_penalty_and_one_late_fee():
    loan = make_loan([(D(2026, 11, 21), "1000.00", "150.00", "0.00")])
    s = loan_statement(loan, D(2026, 11, 22))
    assert s.days_overdue == 1
    assert (s.unpaid_principal, s.unpaid_interest, s.penalty, s.late_fees) == (
        Decimal("1000.00"), Decimal("150.00"), Decimal("0.50"), Decimal("30.00"))
    assert s.total == Decimal("1180.50")


def test_partial_payment_covers_interest_first_then_principal():
    loan = make_loan([(D(2026, 9, 15), "1000.00", "150.00", "500.00")])
    s = loan_statement(loan, D(2026, 11, 22))
    assert s.unpaid_interest == Decimal("0.00")
    assert s.unpaid_principal == Decimal("650.00")
    assert s.days_overdue == 68
    assert s.penalty == Decimal("22.10")  # 650 × 0.0005 × 68


def test_partial_payment_smaller_than_interest_leaves_all_principal():
    loan = make_loan([(D(2026, 11, 1), "1000.00", "150.00", "100.00")])
    s = loan_statement(loan, D(2026, 11, 22))
    assert (s.unpaid_principal, s.unpaid_interest) == (Decimal("1000.00"), Decimal("50.00"))


def test_fully_paid_row_past_due_is_not_overdue_even_when_overpaid():
    loan = make_loan([(D(2026, 10, 15), "1000.00", "150.00", "1200.00"),
                      (D(2026, 12, 15), "1000.00", "150.00", "0.00")])
    s = loan_statement(loan, D(2026, 11, 22))
    assert not s.is_overdue
    assert s.next_due.due_date == D(2026, 12, 15)


def test_several_overdue_rows_sum_and_days_count_from_the_earliest():
    loan = make_loan([(D(2026, 9, 15), "1000.00", "150.00", "500.00"),
                      (D(2026, 10, 15), "1000.00", "150.00", "0.00"),
                      (D(2026, 11, 15), "1000.00", "150.00", "0.00"),
                      (D(2026, 12, 15), "1000.00", "150.00", "0.00")])
    s = loan_statement(loan, D(2026, 11, 22))
    assert len(s.rows) == 3
    assert s.earliest_overdue_date == D(2026, 9, 15)
    assert s.days_overdue == 68
    assert s.penalty == Decimal("44.60")  # 22.10 + 19.00 + 3.50
    assert s.late_fees == Decimal("90.00")
    assert s.total == Decimal("3084.60")
    assert s.daily_penalty_growth == Decimal("1.33")  # 2650 × 0.0005 = 1.325, half-up


def test_penalty_rounds_half_up_per_row():
    # 333.33 × 0.0005 × 3 = 0.499995 → 0.50; two rows each rounded, not the sum
    loan = make_loan([(D(2026, 11, 19), "333.33", "0.00", "0.00"),
                      (D(2026, 11, 19), "333.33", "0.00", "0.00")])
    s = loan_statement(loan, D(2026, 11, 22))
    assert [r.penalty for r in s.rows] == [Decimal("0.50"), Decimal("0.50")]


@pytest.mark.parametrize("due, today, days", [
    (D(2028, 2, 28), D(2028, 3, 1), 2),    # leap year: 29 Feb exists
    (D(2027, 2, 28), D(2027, 3, 1), 1),    # common year
    (D(2026, 1, 31), D(2026, 3, 31), 59),  # across a short month
    (D(2026, 12, 31), D(2027, 1, 1), 1),   # year end
])
def test_days_overdue_over_month_ends_and_leap_years(due, today, days):
    loan = make_loan([(due, "100.00", "0.00", "0.00")])
    s = loan_statement(loan, today)
    assert s.days_overdue == days
    assert s.penalty == to_money(Decimal("100.00") * Decimal("0.0005") * days)


def test_money_is_exact_and_half_up():
    assert to_money("2.675") == Decimal("2.68")
    assert to_money("2.665") == Decimal("2.67")
    assert yuan(Decimal("12345.6")) == "12,345.60元"
    with pytest.raises(TypeError):
        to_money(0.1)
    with pytest.raises(ValueError):
        to_money("NaN")
