"""Fixtures for whole conversations against real servers (see harness.py)."""
import pytest

from kuanxin.db import Database
from kuanxin.demo import demo_document
from kuanxin.importer import load_document
from tests.e2e.harness import MODEL, Borrower, start_servers


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train`")
    workdir = tmp_path_factory.mktemp("servers")
    url = f"sqlite:///{workdir / 'accounts.db'}"
    db = Database(url)
    db.create_schema()
    load_document(db, demo_document())
    running = start_servers(workdir, url)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def db(servers):
    """The servers' account database, reloaded with the demo accounts so each test starts alike."""
    database = Database(servers.env["KUANXIN_DATABASE_URL"])
    load_document(database, demo_document())
    return database


@pytest.fixture
def borrower(servers, db):
    return Borrower(servers)


@pytest.fixture
def another_borrower(servers, db):
    return Borrower(servers)
