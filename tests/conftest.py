import datetime as dt
from decimal import Decimal

import pytest

from kuanxin.db import Database
from kuanxin.models import Borrower, Loan, ScheduleRow, ServiceRequest
from kuanxin.policy import load_policy
from kuanxin.settings import PROJECT_ROOT


@pytest.fixture
def policy():
    return load_policy(PROJECT_ROOT / "policy.yml")


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'kuanxin.db'}")
    database.create_schema()
    return database


def make_loan(rows, *, status="active", rate="0.0005", late_fee="30.00", loan_id="L1"):
    """A loan with schedule rows given as (due_date, principal, interest, paid)."""
    loan = Loan(id=loan_id, borrower_id="B1", product="消费贷", principal=Decimal("12000.00"),
                annual_rate=Decimal("0.18"), penalty_daily_rate=Decimal(rate), late_fee=Decimal(late_fee),
                start_date=dt.date(2026, 1, 1), status=status)
    loan.schedule = [ScheduleRow(period=i, due_date=due, principal=Decimal(p), interest=Decimal(it), paid=Decimal(pd))
                     for i, (due, p, it, pd) in enumerate(rows, 1)]
    return loan


def make_request(kind, status, created_on, loan_id="L1"):
    return ServiceRequest(type=kind, status=status, created_on=created_on, loan_id=loan_id, borrower_id="B1")


def make_borrower(loans, requests=()):
    borrower = Borrower(id="B1", name="张伟", phone="13812345678", id_last4="123X", id_masked="110101********123X")
    borrower.loans = list(loans)
    borrower.requests = list(requests)
    return borrower
