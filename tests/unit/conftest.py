"""The unit tests' account databases: SQLite files copied from one migrated per session (running the
migrations for each test would add seconds to the run), PostgreSQL as tests/conftest.py makes it."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kuanxin.store import migrate
from kuanxin.store.db import Database
from tests.conftest import BACKENDS, _postgres_database


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """An empty SQLite file at the latest revision, the way `kuanxin.store.db.database()` makes one."""
    path = tmp_path_factory.mktemp("template") / "kuanxin.db"
    migrate.upgrade(f"sqlite:///{path}")  # the last connection closing folds the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path, migrated_sqlite):
    """The account database on both backends the product supports."""
    if request.param == "sqlite":
        shutil.copyfile(migrated_sqlite, tmp_path / "kuanxin.db")
        database = Database(f"sqlite:///{tmp_path / 'kuanxin.db'}")
    else:
        database = _postgres_database()
        database.create_schema()
    yield database
    database.engine.dispose()
