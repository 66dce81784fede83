"""A real cluster for the tests: two Rasa instances and two action servers behind nginx, on PostgreSQL and Redis.

The cluster runs supervised (its own supervision loop in a thread, as `kuanxin cluster` runs it), so a
test that kills a process sees it started again. Figures the tests measure are printed at the end of
the run (and kept in var/test-output/cluster-figures.txt) for the README.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.ops.cluster import NGINX, Cluster
from kuanxin.ops.serve import free_port
from kuanxin.store.db import Database
from kuanxin.store.demo import demo_document
from kuanxin.store.importer import load_document
from kuanxin.store.migrate import ensure_database, upgrade
from testkit.servers import MODEL, TODAY, TOKEN, WEBCHAT_SECRET
from tests.conftest import POSTGRES_URL
from tests.e2e.browser.conftest import SCREENSHOTS, chromium, new_context  # noqa: F401 - reused fixtures
from tests.e2e.conftest import another_borrower, borrower, db  # noqa: F401 - the foundation's fixtures, reused

SERVER = POSTGRES_URL.rsplit("/", 1)[0]
REDIS = os.environ.get("KUANXIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
FIGURES_FILE = PROJECT_ROOT / "var" / "test-output" / "cluster-figures.txt"
FIGURES: list[str] = []


@pytest.fixture(scope="session")
def figures() -> list[str]:
    """Lines a test measured, printed after the run."""
    return FIGURES


def pytest_terminal_summary(terminalreporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("cluster figures")
    for line in FIGURES:
        terminalreporter.write_line(line)
    FIGURES_FILE.parent.mkdir(parents=True, exist_ok=True)
    FIGURES_FILE.write_text("\n".join(FIGURES) + "\n", encoding="utf-8")


@pytest.fixture
def screenshot():
    """The foundation's browser tests on the cluster keep their screenshots apart from the single servers' ones."""
    def save(page, name: str) -> Path:
        folder = SCREENSHOTS / "cluster"
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=False)
        return folder / f"{name}.png"
    return save


def _drop(url: str) -> None:
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def cluster(request):
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
    # not under pytest's basetemp: another pytest run on this machine prunes those while this one runs
    workdir = Path(tempfile.mkdtemp(prefix="kuanxin-test-cluster-"))
    running = Cluster(2, free_port(), env, workdir, TOKEN, MODEL)
    try:
        _start(running, workdir)
        yield running
    finally:
        running.stop()
        if request.session.testsfailed:
            FIGURES.append(f"cluster logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        for url in (accounts, conversations):
            _drop(url)
        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(f"kx{run}*"):
            client.delete(key)


def _start(running: Cluster, workdir: Path) -> None:
    """Starts the cluster and its supervision; a start that fails says why, with the end of every log."""
    try:
        running.start()
    except RuntimeError as exc:
        tails = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}"
                          for log in sorted(workdir.glob("*.log")))
        raise RuntimeError(f"{exc}; logs in {workdir}\n{tails}") from None
    running.supervise_in_background()


@pytest.fixture(scope="session")
def servers(cluster):
    """The foundation's end-to-end tests talk to `servers`: here, the cluster's nginx."""
    return cluster
