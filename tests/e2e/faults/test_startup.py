"""A configured store that cannot be reached stops the start with the variable's name, within seconds."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.ops.serve import free_port
from testkit.servers import MODEL


def start_rasa(**env: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "runtime.main", "run", "--model", str(MODEL),
                           "--port", str(free_port()), "--enable-api", "--endpoints", "endpoints.production.yml"],
                          cwd=PROJECT_ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    return done, time.monotonic() - started


def test_an_unreachable_conversations_database_stops_the_start(private_redis):
    done, seconds = start_rasa(KUANXIN_TRACKER_STORE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere",
                               KUANXIN_REDIS_URL=private_redis.url)
    assert done.returncode != 0 and seconds < 60
    assert "KUANXIN_TRACKER_STORE_URL" in done.stderr and "does not answer" in done.stderr


def test_a_missing_conversations_database_stops_the_start(private_postgres, private_redis):
    done, _ = start_rasa(KUANXIN_TRACKER_STORE_URL=f"{private_postgres.server_url}/no_such_database",
                         KUANXIN_REDIS_URL=private_redis.url)
    assert done.returncode != 0 and "KUANXIN_TRACKER_STORE_URL" in done.stderr


def test_an_unreachable_redis_stops_the_start(private_postgres):
    done, _ = start_rasa(KUANXIN_TRACKER_STORE_URL=f"{private_postgres.server_url}/postgres",
                         KUANXIN_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert done.returncode != 0 and "KUANXIN_REDIS_URL" in done.stderr
