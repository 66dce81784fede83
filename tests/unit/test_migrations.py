"""Alembic migrations on real PostgreSQL and SQLite: from empty, from the previous revision with data,
and in step with the models."""
from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select, text

from kuanxin import migrate
from kuanxin.db import Database
from kuanxin.demo import demo_document
from kuanxin.importer import load_document
from kuanxin.models import Borrower, PaymentPromise
from tests.conftest import POSTGRES_URL


def fresh_postgres(name: str) -> str:
    admin = create_engine(POSTGRES_URL.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    finally:
        admin.dispose()
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.db'}"
    return fresh_postgres(POSTGRES_URL.rsplit("/", 1)[1] + "_migrations")


def test_upgrade_from_empty_gives_exactly_the_models(empty_url):
    assert migrate.upgrade(empty_url) == migrate.head()
    database = Database(empty_url)
    with database.engine.connect() as connection:
        assert migrate.differences(connection) == []
    assert migrate.current(empty_url) == migrate.head()
    database.engine.dispose()


def test_upgrade_from_the_previous_revision_keeps_the_data(empty_url):
    assert migrate.upgrade(empty_url, "0001") == "0001"
    database = Database(empty_url)
    load_document(database, demo_document())
    with database.engine.begin() as connection:  # as 0001's code wrote it: today's models have more columns
        connection.execute(text(
            "INSERT INTO payment_promises (reference, borrower_id, promised_date, amount, status, created_at) "
            "VALUES ('CN20261122-0001', 'B1001', '2026-11-30', '3084.60', 'open', '2026-11-22 10:00:00')"))
    assert migrate.upgrade(empty_url) == migrate.head()
    indexes = {i["name"] for i in inspect(database.engine).get_indexes("payment_promises")}
    assert "ix_promises_status_date" in indexes
    with database.session() as session:
        assert session.execute(select(Borrower.phone).where(Borrower.id == "B1001")).scalar_one() == "13812345678"
        assert session.execute(select(PaymentPromise.amount)).scalar_one() == Decimal("3084.60")
    migrate.downgrade(empty_url, "0001")
    indexes = {i["name"] for i in inspect(database.engine).get_indexes("payment_promises")}
    assert "ix_promises_status_date" not in indexes
    database.engine.dispose()


def test_a_database_made_before_migrations_is_adopted_when_it_matches(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    Database(url).create_schema()
    assert migrate.upgrade(url) == migrate.head()


def test_a_database_that_differs_from_the_models_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'odd.db'}"
    database = Database(url)
    database.create_schema()
    with database.engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_promises_status_date"))
    with pytest.raises(migrate.MigrationError, match="created without migrations"):
        migrate.upgrade(url)


def test_kuanxin_db_upgrade_command(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    kuanxin = str(Path(sys.executable).parent / "kuanxin")
    env = {"KUANXIN_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    assert subprocess.run([kuanxin, "db", "current"], env=env, capture_output=True).returncode == 1
    done = subprocess.run([kuanxin, "db", "upgrade"], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and f"revision {migrate.head()}" in done.stdout
    assert subprocess.run([kuanxin, "db", "current"], env=env, capture_output=True).returncode == 0


def test_0004_adds_the_safety_flags_and_keeps_the_data(empty_url):
    assert migrate.upgrade(empty_url, "0003") == "0003"
    database = Database(empty_url)
    load_document(database, demo_document())
    assert "safety_flags" not in inspect(database.engine).get_table_names()
    assert migrate.upgrade(empty_url) == migrate.head()
    with database.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO safety_flags (conversation_id, borrower_id, raised_at, open_key) "
            "VALUES ('c1', 'B1001', '2026-11-22 10:00:00', 'c1')"))
    assert {i["name"] for i in inspect(database.engine).get_indexes("safety_flags")} >= {
        "ix_safety_flags_borrower_cleared", "ix_safety_flags_conversation_id"}
    with database.session() as session:
        assert session.execute(select(Borrower.phone).where(Borrower.id == "B1001")).scalar_one() == "13812345678"
    migrate.downgrade(empty_url, "0003")
    assert "safety_flags" not in inspect(database.engine).get_table_names()
    with database.session() as session:
        assert session.execute(select(Borrower.phone).where(Borrower.id == "B1001")).scalar_one() == "13812345678"
    database.engine.dispose()
