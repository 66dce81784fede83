"""A real cluster for the tests: two Rasa instances and two action servers behind nginx, on PostgreSQL and Redis."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from kuanxin.cluster import NGINX, Cluster
from kuanxin.db import Database
from kuanxin.demo import demo_document
from kuanxin.importer import load_document
from kuanxin.migrate import ensure_database, upgrade
from kuanxin.serve import free_port
from tests.conftest import POSTGRES_URL
from tests.e2e.browser.conftest import chromium, new_context  # noqa: F401 - reused fixtures
from tests.e2e.conftest import another_borrower, borrower, db  # noqa: F401 - the foundation's fixtures, reused
from tests.e2e.harness import MODEL, TODAY, TOKEN, WEBCHAT_SECRET

SERVER = POSTGRES_URL.rsplit("/", 1)[0]
REDIS = os.environ.get("KUANXIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _drop(url: str) -> None:
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train`")
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: `make nginx` installs it")
    run = uuid.uuid4().hex[:10]
    accounts, conversations = f"{SERVER}/kuanxin_cluster_{run}", f"{SERVER}/kuanxin_tracker_{run}"
    for url in (accounts, conversations):
        ensure_database(url)
    upgrade(accounts)
    load_document(Database(accounts), demo_document())
    env = dict(os.environ, KUANXIN_DATABASE_URL=accounts, KUANXIN_TRACKER_STORE_URL=conversations,
               KUANXIN_REDIS_URL=REDIS, KUANXIN_REDIS_PREFIX=f"kx{run}", KUANXIN_TODAY=TODAY,
               KUANXIN_WEBCHAT_SECRET=WEBCHAT_SECRET, KUANXIN_DEMO_PAGES="1", TF_CPP_MIN_LOG_LEVEL="3")
    running = Cluster(2, free_port(), env, tmp_path_factory.mktemp("cluster"), TOKEN, MODEL)
    running.start()
    try:
        yield running
    finally:
        running.stop()
        for url in (accounts, conversations):
            _drop(url)
        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(f"kx{run}*"):
            client.delete(key)


@pytest.fixture(scope="session")
def servers(cluster):
    """The foundation's end-to-end tests talk to `servers`: here, the cluster's nginx."""
    return cluster
