"""Engine and sessions for the account database (SQLAlchemy 1.4 in 2.0 style)."""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.future import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from kuanxin.core import settings
from kuanxin.store.models import Base, Borrower


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # SQLAlchemy 1.4 opens a new file connection per session (NullPool); reusing them, as 2.0
        # does, saves a connect, three PRAGMAs and a close on every transaction.
        pooling: dict[str, Any] = {} if _in_memory(url) else {"poolclass": QueuePool, **_pool_size()}
        engine = create_engine(url, future=True, connect_args={"check_same_thread": False, "timeout": 30},
                               **pooling)
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    # psycopg2 runs an executemany as one statement per row; batched, the ORM's flush of a sync batch's updated
    # schedule rows is a few round trips instead of one per row
    options: dict[str, Any] = {"pool_pre_ping": True, **_pool_size()}
    if make_url(url).get_driver_name() == "psycopg2":
        options["executemany_mode"] = "values_plus_batch"
    return create_engine(url, future=True, **options)


def _pool_size() -> dict[str, Any]:
    # each Rasa process (its actions), action server and web app has its own pool: see settings.RASA_POOL for the sum
    configured = settings.current()
    return {"pool_size": configured.value("KUANXIN_DB_POOL_SIZE"),
            "max_overflow": configured.value("KUANXIN_DB_MAX_OVERFLOW")}


def _in_memory(url: str) -> bool:
    return url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url


def _tune_sqlite(dbapi_connection, _record) -> None:
    # WAL lets the action server read while another process writes; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, future=True, expire_on_commit=False)

    def create_schema(self) -> None:
        """The current schema. SQLite: through the migrations, as production gets it (an empty file is
        upgraded from nothing, one made by create_all before migrations is adopted). Other databases:
        straight from the models, for tests and benchmarks; a production PostgreSQL is changed only by
        `kuanxin db upgrade`."""
        if self.engine.dialect.name == "sqlite":
            from kuanxin.store.migrate import upgrade_engine  # kuanxin.store.migrate needs this module
            upgrade_engine(self.engine)
        else:
            Base.metadata.create_all(self.engine)

    def is_empty(self) -> bool:
        with self.session() as session:
            return session.execute(select(Borrower.id).limit(1)).first() is None

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session


def serialize(session: Session, key: str) -> None:
    """Until the session's transaction ends, other transactions serializing on the same key wait here, so a count
    read next is still true when the transaction writes: a PostgreSQL advisory lock on the key; on SQLite, the
    database's one write lock, taken now (a write statement that changes nothing) instead of at the first write."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
    else:
        session.execute(text("UPDATE borrowers SET id = id WHERE 0"))


@functools.lru_cache(maxsize=4)
def database(url: str | None = None) -> Database:
    db = Database(url or settings.database_url())
    if db.engine.dialect.name == "sqlite":
        db.create_schema()  # the embedded default migrates itself; other databases: `kuanxin db upgrade`
    return db
