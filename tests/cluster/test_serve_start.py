"""`kuanxin serve` with the production switch: creates the conversations database, refuses unreachable stores."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import create_engine, text

from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.ops.preflight import prepare_stores
from tests.cluster.conftest import REDIS, SERVER, _drop

KUANXIN = str(PROJECT_ROOT / ".venv" / "bin" / "kuanxin") if (PROJECT_ROOT / ".venv" / "bin" / "kuanxin").exists() \
    else None


def exists(url: str) -> bool:
    admin = create_engine(f"{SERVER}/postgres", future=True)
    try:
        with admin.connect() as connection:
            return connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                      {"n": url.rsplit("/", 1)[1]}).first() is not None
    finally:
        admin.dispose()


def test_the_conversations_database_is_created_when_missing():
    url = f"{SERVER}/kuanxin_serve_{uuid.uuid4().hex[:10]}"
    try:
        prepare_stores({"KUANXIN_TRACKER_STORE_URL": url, "KUANXIN_REDIS_URL": REDIS})
        assert exists(url)
    finally:
        _drop(url)


def serve(tmp_path, **env) -> subprocess.CompletedProcess:
    command = [KUANXIN] if KUANXIN else [sys.executable, "-m", "kuanxin.ops.cli"]
    return subprocess.run(command + ["serve", "--port", "1", "--action-port", "2", "--web-port", "3"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, KUANXIN_VAR_DIR=str(tmp_path), **env))


@pytest.mark.parametrize(("variable", "env"), [
    ("KUANXIN_REDIS_URL", {"KUANXIN_TRACKER_STORE_URL": f"{SERVER}/kuanxin_serve_unused",
                           "KUANXIN_REDIS_URL": "redis://127.0.0.1:1/0"}),
    ("KUANXIN_TRACKER_STORE_URL", {"KUANXIN_TRACKER_STORE_URL": "postgresql://postgres@127.0.0.1:1/kuanxin_conversations",
                                   "KUANXIN_REDIS_URL": REDIS}),
    ("KUANXIN_DATABASE_URL", {"KUANXIN_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/kuanxin"}),
])
def test_serve_stops_at_once_naming_the_store_that_does_not_answer(tmp_path, variable, env):
    try:
        finished = serve(tmp_path, **env)
    finally:
        _drop(f"{SERVER}/kuanxin_serve_unused")
    assert finished.returncode == 1, finished.stderr[-2000:]
    assert f"kuanxin: {variable}" in finished.stderr, finished.stderr[-2000:]
    assert "Traceback" not in finished.stderr and "kuanxin is up" not in finished.stdout


def test_serve_refuses_a_policy_it_cannot_apply(tmp_path):
    policy = (PROJECT_ROOT / "policy.yml").read_text(encoding="utf-8").replace("allowed_periods: [3, 6, 12, 24, 36]",
                                                                              "allowed_periods: [3, 6, six]")
    (tmp_path / "policy.yml").write_text(policy, encoding="utf-8")
    finished = serve(tmp_path, KUANXIN_POLICY=str(tmp_path / "policy.yml"))
    assert finished.returncode == 1, finished.stderr[-2000:]
    assert "installment.allowed_periods" in finished.stderr and "Traceback" not in finished.stderr
