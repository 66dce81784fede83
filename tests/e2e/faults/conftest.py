"""Servers on a PostgreSQL and a Redis of the tests' own, which the outage tests stop and start again.

Accounts and conversations both live in that PostgreSQL (as in production); the conversation locks
in that Redis. WeChat talks to the double, as in the other end-to-end tests.
"""
from __future__ import annotations

import time

import pytest
import requests

from kuanxin.store.db import Database
from kuanxin.store.demo import demo_document
from kuanxin.store.importer import load_document
from kuanxin.store.migrate import ensure_database, upgrade
from testkit.servers import MODEL, start_servers
from tests.e2e.faults.services import PrivatePostgres, PrivateRedis


@pytest.fixture(scope="session")
def private_postgres():
    server = PrivatePostgres()
    server.setup()
    yield server
    server.remove()


@pytest.fixture(scope="session")
def private_redis(tmp_path_factory):
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fault_servers(tmp_path_factory, private_postgres, private_redis, wechat_account, wechat_api):
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train`")
    accounts = f"{private_postgres.server_url}/kuanxin"
    conversations = f"{private_postgres.server_url}/kuanxin_conversations"
    for url in (accounts, conversations):
        ensure_database(url)
    upgrade(accounts)
    load_document(Database(accounts), demo_document())
    workdir = tmp_path_factory.mktemp("fault-servers")
    running = start_servers(workdir, accounts, {
        **wechat_account.env(wechat_api.url), "KUANXIN_TRACKER_STORE_URL": conversations,
        "KUANXIN_REDIS_URL": private_redis.url, "KUANXIN_REDIS_PREFIX": "kxfaults"})
    running.logs = workdir
    try:
        yield running
    finally:
        running.stop()


def ready(servers) -> requests.Response:
    return requests.get(f"{servers.rasa_url}/ready", timeout=10)


def wait_until_ready(servers, timeout: float = 30) -> float:
    """Seconds until the Rasa instance says it is ready again."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if ready(servers).status_code == 200:
                return time.monotonic() - start
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"not ready within {timeout}s: {ready(servers).text}")


@pytest.fixture
def fresh_accounts(fault_servers):
    """The demo accounts loaded again, so each test's borrower starts with nothing filed."""
    database = Database(fault_servers.env["KUANXIN_DATABASE_URL"])
    load_document(database, demo_document())
    return database
