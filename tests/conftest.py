import datetime as dt
import os
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from kuanxin.core.policy import load_policy
from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.store.db import Database
from kuanxin.store.models import Base, Borrower, Loan, ScheduleRow, ServiceRequest


@pytest.fixture
def policy():
    return load_policy(PROJECT_ROOT / "policy.yml")


POSTGRES_URL = os.environ.get("KUANXIN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/kuanxin_test")
# Under pytest-xdist (`make check` runs the unit tests with -n 2) each worker drops and recreates its own
# databases: kuanxin_test_gw0, kuanxin_test_gw1 (and their _migrations), never another worker's.
if os.environ.get("PYTEST_XDIST_WORKER"):
    POSTGRES_URL = f"{POSTGRES_URL}_{os.environ['PYTEST_XDIST_WORKER']}"


def _postgres_database() -> Database:
    """A clean kuanxin_test database (one per xdist worker) on the local PostgreSQL, created when missing."""
    admin = create_engine(POSTGRES_URL.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as conn:
            name = POSTGRES_URL.rsplit("/", 1)[1]
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.orig}")
    finally:
        admin.dispose()
    database = Database(POSTGRES_URL)
    Base.metadata.drop_all(database.engine)
    return database


# Both backends the product supports; the PostgreSQL half is marked so that `make check` (the fast loop) can
# leave it to `make test`, which runs everything.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path):
    """The account database on both backends the product supports."""
    database = (Database(f"sqlite:///{tmp_path / 'kuanxin.db'}") if request.param == "sqlite"
                else _postgres_database())
    database.create_schema()
    yield database
    database.engine.dispose()


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
