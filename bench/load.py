"""Load benchmark: simulated borrowers talking to real servers over the REST channel.

Starts the action server and Rasa on free ports against a fresh SQLite account database with
the demo accounts plus BORROWERS synthetic ones, then measures
  1. one borrower alone (latency of each message, sequential), and
  2. CONCURRENCY borrowers at once, each with its own sender id (throughput and latency).
Each borrower's conversation mixes unverified turns, the identity check and verified turns
that read the account database.  Usage: python -m bench.load [--borrowers 2000] [--concurrency 16]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import aiohttp

from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.ops.serve import Servers, free_port, latest_model
from kuanxin.store.db import Database
from kuanxin.store.demo import demo_document
from kuanxin.store.importer import load_document

TODAY = "2026-11-22"


def synthetic_accounts(count: int) -> dict:
    """The demo accounts plus `count` borrowers with one overdue loan each (phones 150xxxxxxxx)."""
    document = demo_document()
    for n in range(count):
        schedule = [{"period": p, "due_date": f"2026-{p + 5:02d}-10", "principal": "500.00", "interest": "60.00",
                     "paid": "560.00" if p <= 3 else "0.00"} for p in range(1, 7)]
        document["borrowers"].append({
            "id": f"S{n:06d}", "name": "测试用户", "phone": f"150{n:08d}", "id_number": f"110101199001{n:06d}",
            "loans": [{"id": f"SL{n:06d}", "product": "消费贷", "principal": "3000.00", "annual_rate": "0.18",
                       "penalty_daily_rate": "0.0005", "late_fee": "30.00", "start_date": "2026-05-10",
                       "status": "active", "schedule": schedule}]})
    return document


def conversation(n: int) -> list[str]:
    phone, last4 = f"150{n:08d}", f"{n:06d}"[-4:]
    return ["你好", "不还钱会有什么后果", "我逾期了多少钱", phone, last4, "我的申请进度怎么样了", "在哪里还款", "谢谢"]


async def talk(session: aiohttp.ClientSession, url: str, messages: list[str], latencies: list[float]) -> None:
    sender = f"bench-{uuid.uuid4().hex[:10]}"
    for text in messages:
        started = time.perf_counter()
        # the sender in the query too, for a load balancer hashing on it (bench.cluster)
        async with session.post(url, params={"sender": sender}, json={"sender": sender, "message": text}) as response:
            replies = await response.json()
        latencies.append(time.perf_counter() - started)
        if response.status != 200 or not replies:
            raise RuntimeError(f"no answer to {text!r}: {response.status} {replies}")


async def run_load(url: str, borrowers: list[int], concurrency: int,
                   script: Callable[[int], list[str]] = conversation) -> tuple[list[float], float]:
    latencies: list[float] = []
    queue = list(borrowers)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async def worker():
            while queue:
                await talk(session, url, script(queue.pop()), latencies)
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, time.perf_counter() - started


def percentile(seconds: list[float], q: int) -> float:
    """The q-th percentile of the latencies, in seconds like them."""
    return statistics.quantiles(seconds, n=100, method="inclusive")[q - 1] if len(seconds) > 1 else seconds[0]


def report(name: str, latencies: list[float], elapsed: float) -> str:
    ms = {q: percentile(latencies, q) * 1000 for q in (50, 95, 99)}
    return (f"{name:<28} {len(latencies):>6} msgs  {len(latencies) / elapsed:7.1f} msg/s  "
            f"p50 {ms[50]:6.1f} ms  p95 {ms[95]:6.1f} ms  p99 {ms[99]:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--borrowers", type=int, default=2000, help="synthetic borrowers in the database")
    parser.add_argument("--conversations", type=int, default=160, help="conversations in the concurrent run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--stock-rasa", action="store_true", help="run stock Rasa, without runtime.main")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kuanxin-bench-"))
    url = f"sqlite:///{workdir / 'accounts.db'}"
    db = Database(url)
    db.create_schema()
    load_document(db, synthetic_accounts(args.borrowers))
    env = dict(os.environ, KUANXIN_DATABASE_URL=url, KUANXIN_TODAY=TODAY, TF_CPP_MIN_LOG_LEVEL="3")
    servers = Servers(free_port(), free_port(), uuid.uuid4().hex, latest_model(PROJECT_ROOT / "models"), env,
                      rasa_module="rasa" if args.stock_rasa else "runtime.main")
    servers.start(servers.logs_in(workdir))
    endpoint = f"{servers.rasa_url}/webhooks/rest/webhook"
    try:
        picks = random.Random(7).sample(range(args.borrowers), k=min(args.borrowers, args.conversations + 10))
        asyncio.run(run_load(endpoint, picks[:2], 2))  # warm-up: first requests load lazily
        alone, alone_time = asyncio.run(run_load(endpoint, picks[2:10], 1))
        many, many_time = asyncio.run(run_load(endpoint, picks[10:], args.concurrency))
    finally:
        servers.stop()
    cores = os.cpu_count()
    print(f"machine: {platform.machine()}, {cores} cores, Python {platform.python_version()}")
    print(f"database: SQLite, {args.borrowers + 6} borrowers; each conversation {len(conversation(0))} messages; "
          f"{'stock Rasa' if args.stock_rasa else 'runtime.main'}")
    print(report("1 borrower (sequential)", alone, alone_time))
    print(report(f"{args.concurrency} borrowers at once", many, many_time))


if __name__ == "__main__":
    main()
