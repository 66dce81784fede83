"""Schema migrations of the account database with Alembic (`kuanxin db upgrade`).

The embedded SQLite default is still created directly from the models (kuanxin.db), so `make run`
needs no step; every other database is changed only through these migrations.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from kuanxin.db import make_engine
from kuanxin.models import Base

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class MigrationError(RuntimeError):
    pass


def _config(connection=None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def differences(connection) -> list:
    """What the database lacks or has beyond the models (empty when they agree)."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


def upgrade(url: str, revision: str = "head") -> str:
    """Brings the database to `revision`; returns the revision it is at afterwards.

    A database made by create_all before migrations existed is adopted (stamped) when it already
    matches the models exactly; one that differs is refused rather than guessed at.
    """
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            tables = set(inspect(connection).get_table_names())
            if tables & set(Base.metadata.tables) and "alembic_version" not in tables:
                if differences(connection):
                    raise MigrationError("this database was created without migrations and differs from the "
                                         "models; export its data, start from an empty database and load it again")
                command.stamp(_config(connection), "head")
            command.upgrade(_config(connection), revision)
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def downgrade(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
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
