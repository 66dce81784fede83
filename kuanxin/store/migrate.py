"""Schema migrations of the account database with Alembic (`kuanxin db upgrade`).

Every database goes through them: the embedded SQLite default is brought to the latest revision
when a process opens it (kuanxin.store.db.database), so `make run` needs no step and runs the schema
production runs; a PostgreSQL database is changed only by `kuanxin db upgrade`.
"""
from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.future import Connection, Engine

from kuanxin.store.db import make_engine
from kuanxin.store.models import Base

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# the last revision without the CHECK constraints of the closed vocabularies (0005 adds them)
BEFORE_CHECKS = "0004"
# What each revision after it adds, as the keys of `difference_key`: a database made by create_all before
# migrations existed (at most 0004's schema) is adopted when it lacks exactly these and the CHECK constraints.
LEDGER_COLUMNS = {"loans": ("credit",), "schedule_rows": ("opening_paid", "paid_penalty", "paid_late_fee",
                                                            "penalty_accrued", "accrued_to", "late_fee_charged")}
ADDED_BY_0006 = frozenset({("add_table", "payments"), ("add_index", "ix_payments_loan_paid_on"),
                           ("add_table", "inbound_batches")}
                          | {("add_column", table, column) for table, columns in LEDGER_COLUMNS.items()
                             for column in columns})
# 0007 (privacy): where a phone number typed in an identity check waits for the ID tail
ADDED_BY_0007 = frozenset({("add_table", "identity_pending_phones"),
                           ("add_index", "ix_identity_pending_phones_expires_at")})
# 0008 (events out): the outbox
OUTBOX_TABLES = ("outbox_events", "outbox_streams", "outbox_queue", "outbox_deliveries")
OUTBOX_INDEXES = ("ix_outbox_events_borrower_seq", "ix_outbox_events_created", "ix_outbox_deliveries_order",
                  "ix_outbox_deliveries_status_next")
ADDED_BY_0008 = frozenset({("add_table", table) for table in OUTBOX_TABLES}
                          | {("add_index", index) for index in OUTBOX_INDEXES})
# 0009 (staff search): expression indexes, which SQLAlchemy 1.4 does not reflect, so `differences` never names them
# and no adoption set holds them; a database adopted at BEFORE_CHECKS gets them from 0009 itself
ADDED_BY_0009_EXPRESSIONS = ("ix_borrowers_phone_tail",)
# 0010 (console shifts): when an escalation was first answered, who takes part in the round-robin
ADDED_BY_0010 = frozenset({("add_column", "escalations", "first_response_at"),
                           ("add_column", "staff_members", "available")})
# 0011 (plans agreed in writing): automated decisions, agreements, plans in force
PLAN_TABLES = ("plan_decisions", "agreements", "repayment_plans")
ADDED_BY_0011 = frozenset({("add_table", table) for table in PLAN_TABLES}
                          | {("add_index", index) for index in (
                              "ix_plan_decisions_borrower_id", "ix_plan_decisions_conversation_at",
                              "ix_agreements_borrower_id", "ix_repayment_plans_borrower_id",
                              "ix_repayment_plans_status")})
# 0012 (a million accounts): the account classes kept in a table
CLASS_TABLES = ("account_classes", "class_snapshots")
ADDED_BY_0012 = frozenset({("add_table", table) for table in CLASS_TABLES} | {("add_index", "ix_account_classes_cell")})
# 0013 (plans, the staff side): offers and revocations (repayment_plans.told_at comes with 0011's table)
PLAN_STAFF_TABLES = ("plan_offers", "plan_revocations")
ADDED_BY_0013 = frozenset({("add_table", table) for table in PLAN_STAFF_TABLES}
                          | {("add_index", index) for index in ("ix_plan_offers_offered_at",
                                                                "ix_plan_revocations_borrower_id")})
# 0014 (issue 19): what borrowers said about reminders, the payments told in the conversation
PREFERENCE_TABLES = ("reminder_preferences", "payment_acknowledgements")
ADDED_BY_0014 = frozenset({("add_table", table) for table in PREFERENCE_TABLES}
                          | {("add_index", "ix_reminder_preferences_borrower"),
                             ("add_index", "ix_payment_acknowledgements_borrower_id")})
# 0015 (issue 19): the satisfaction question after an outcome, its answers and comments
SATISFACTION_TABLES = ("satisfaction_asks", "satisfaction_ratings", "satisfaction_comments")
ADDED_BY_0015 = frozenset({("add_table", table) for table in SATISFACTION_TABLES}
                          | {("add_index", "ix_satisfaction_asks_asked_at"),
                             ("add_index", "ix_satisfaction_ratings_created_at")})
# 0016 (issue 19): documents borrowers attach and the consent to keep them
DOCUMENT_TABLES = ("document_consents", "documents")
ADDED_BY_0016 = frozenset({("add_table", table) for table in DOCUMENT_TABLES}
                          | {("add_index", index) for index in ("ix_document_consents_borrower",
                                                                "ix_documents_borrower_id", "ix_documents_conversation",
                                                                "ix_documents_received_at")})
# 0017 (issue 19): payments received lately, read by every web process's sweep for payments to tell
ADDED_BY_0017 = frozenset({("add_index", "ix_payments_received_at")})
_QUOTED = re.compile(r"'((?:[^']|'')*)'")


class MigrationError(RuntimeError):
    pass


def _config(connection=None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    if revision is None:
        raise MigrationError(f"no migrations in {MIGRATIONS}")
    return revision


def current(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def differences(connection) -> list:
    """What the database lacks or has beyond the models (empty when they agree), CHECK constraints
    included: Alembic's comparison does not look at them, so named ones are compared here by the
    values they allow."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    with warnings.catch_warnings():  # the expression indexes (ADDED_BY_0009_EXPRESSIONS), known not to compare
        warnings.filterwarnings("ignore", message=".*expression-based index")
        found = list(compare_metadata(context, Base.metadata))
    have, want = database_checks(connection), model_checks()
    for table, name in sorted(want.keys() - have.keys()):
        found.append(("add_check_constraint", table, name))
    for table, name in sorted(have.keys() - want.keys()):
        found.append(("remove_check_constraint", table, name))
    for key in sorted(want.keys() & have.keys()):
        if have[key] != want[key]:
            found.append(("modify_check_constraint", *key, sorted(have[key]), sorted(want[key])))
    return found


def difference_key(difference) -> tuple:
    """A difference by name alone: ("add_table", table), ("add_column", table, column), ("add_index", name), …"""
    kind = difference[0] if isinstance(difference, tuple) else "modify"
    if kind == "add_table":
        return kind, difference[1].name
    if kind == "add_column":
        return kind, difference[2], difference[3].name
    if kind == "add_index":
        return kind, difference[1].name
    if kind == "add_check_constraint":
        return tuple(difference)
    return kind, repr(difference)


def model_checks() -> dict[tuple[str, str], frozenset[str]]:
    """(table, constraint name) -> the quoted values its condition names, for every CHECK in the models."""
    return {(table.name, constraint.name): _quoted(str(constraint.sqltext))
            for table in Base.metadata.tables.values() for constraint in table.constraints
            if isinstance(constraint, CheckConstraint) and constraint.name is not None}  # all are named (one_of)


def database_checks(connection) -> dict[tuple[str, str], frozenset[str]]:
    """The same for the named CHECK constraints the database has on the models' tables."""
    inspector = inspect(connection)
    present = set(inspector.get_table_names()) & set(Base.metadata.tables)
    return {(table, check["name"]): _quoted(check["sqltext"])
            for table in sorted(present) for check in inspector.get_check_constraints(table) if check.get("name")}


def _quoted(condition: str) -> frozenset[str]:
    # SQLite keeps the condition as written; PostgreSQL rewrites IN (…) as = ANY (ARRAY[…]): both keep the literals
    return frozenset(value.replace("''", "'") for value in _QUOTED.findall(condition))


def upgrade(url: str, revision: str = "head") -> str:
    """Brings the database to `revision`; returns the revision it is at afterwards."""
    engine = make_engine(url)
    try:
        return upgrade_engine(engine, revision)
    finally:
        engine.dispose()


def upgrade_engine(engine: Engine, revision: str = "head") -> str:
    """Brings the database behind `engine` to `revision` in one transaction; returns the revision after.

    A database made by create_all before migrations existed is adopted (stamped) when it already
    matches the models exactly, or when it lacks only the vocabularies' CHECK constraints (stamped at
    0004, then upgraded: 0005 checks the values first); one that differs otherwise is refused rather
    than guessed at.
    """
    with _migrating(engine) as connection:
        _adopt(connection)
        command.upgrade(_config(connection), revision)
        reached = MigrationContext.configure(connection).get_current_revision()
        if reached is None:
            raise MigrationError(f"upgrading to {revision} left the database at no revision")
        return reached


def _adopt(connection: Connection) -> None:
    tables = set(inspect(connection).get_table_names())
    if not tables & set(Base.metadata.tables) or "alembic_version" in tables:
        return
    found = frozenset(difference_key(difference) for difference in differences(connection))
    checks = frozenset(("add_check_constraint", table, name) for table, name in model_checks())
    adoptable = {frozenset(): "head", checks | ADDED_BY_0006 | ADDED_BY_0007 | ADDED_BY_0008 | ADDED_BY_0010
                 | ADDED_BY_0011 | ADDED_BY_0012 | ADDED_BY_0013 | ADDED_BY_0014
                 | ADDED_BY_0015 | ADDED_BY_0016 | ADDED_BY_0017:
                 BEFORE_CHECKS}
    if found in adoptable:
        command.stamp(_config(connection), adoptable[found])
    else:
        raise MigrationError("this database was created without migrations and differs from the "
                             "models; export its data, start from an empty database and load it again")


@contextlib.contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One connection and transaction for a whole run.

    On SQLite the write lock is taken first (BEGIN IMMEDIATE), so processes opening a new file together
    migrate it one after the other and the later ones find it done; and foreign keys are off meanwhile,
    because batch mode copies a table and drops the original (PRAGMA has no effect inside a transaction).
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield connection
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def downgrade(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        with _migrating(engine) as connection:
            command.downgrade(_config(connection), revision)
    finally:
        engine.dispose()


def ensure_database(url: str) -> None:
    """Creates the PostgreSQL database a URL names when it does not exist yet (nothing to do for SQLite)."""
    target = make_url(url)
    if not target.drivername.startswith("postgresql"):
        return
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as connection:
            exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                        {"name": target.database}).first()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()
