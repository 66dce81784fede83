"""Cluster benchmark: the same load against one Rasa instance and against two, both behind nginx.

Production's shape on this machine: PostgreSQL tracker store and account database, Redis lock store,
each instance a Rasa running its actions (or, with KUANXIN_ACTIONS=server, beside an action server), nginx hashing
conversations to instances. The account
database holds the demo accounts plus BORROWERS synthetic ones; CONVERSATIONS conversations of
bench.load's 8 messages run CONCURRENCY at a time. Usage: python -m bench.cluster [--concurrency 16]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.load import TODAY, conversation, report, run_load, synthetic_accounts
from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.ops.cluster import Cluster
from kuanxin.ops.serve import free_port, latest_model
from kuanxin.store.db import Database
from kuanxin.store.importer import load_document
from kuanxin.store.migrate import ensure_database, upgrade

SERVER = os.environ.get("KUANXIN_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("KUANXIN_BENCH_REDIS", "redis://127.0.0.1:6379/0")


def measure(instances: int, env: dict[str, str], picks: list[int], concurrency: int, workdir: Path) -> str:
    cluster = Cluster(instances, free_port(), env, workdir / f"{instances}-instances", uuid.uuid4().hex,
                      latest_model(PROJECT_ROOT / "models"))
    cluster.start()
    endpoint = f"{cluster.url}/webhooks/rest/webhook"
    try:
        asyncio.run(run_load(endpoint, picks[:4], 4))  # warm-up: first requests load lazily
        latencies, elapsed = asyncio.run(run_load(endpoint, picks[4:], concurrency))
    finally:
        cluster.stop()
    return report(f"{instances} instance{'s' if instances > 1 else ''}, {concurrency} at once", latencies, elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--borrowers", type=int, default=2000)
    parser.add_argument("--conversations", type=int, default=160)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    run = uuid.uuid4().hex[:8]
    accounts, conversations = f"{SERVER}/kuanxin_bench_{run}", f"{SERVER}/kuanxin_bench_tracker_{run}"
    for url in (accounts, conversations):
        ensure_database(url)
    upgrade(accounts)
    load_document(Database(accounts), synthetic_accounts(args.borrowers))
    env = dict(os.environ, KUANXIN_DATABASE_URL=accounts, KUANXIN_TRACKER_STORE_URL=conversations,
               KUANXIN_REDIS_URL=REDIS, KUANXIN_REDIS_PREFIX=f"kxbench{run}", KUANXIN_TODAY=TODAY,
               TF_CPP_MIN_LOG_LEVEL="3")
    picks = random.Random(7).sample(range(args.borrowers), k=min(args.borrowers, args.conversations + 4))
    workdir = Path(tempfile.mkdtemp(prefix="kuanxin-bench-cluster-"))
    try:
        lines = [measure(n, env, picks, args.concurrency, workdir) for n in (1, 2)]
    finally:
        admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT", future=True)
        with admin.connect() as connection:
            for name in (accounts, conversations):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"PostgreSQL tracker store and accounts ({args.borrowers + 6} borrowers), Redis locks, nginx; "
          f"{args.conversations} conversations of {len(conversation(0))} messages")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
