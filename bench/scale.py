"""A book of a million accounts on PostgreSQL (`make bench-scale`; outside `make test`).

Generates a synthetic book as the lender would send it (JSON Lines: borrowers, loans, schedules), with
realistic spreads of days overdue and amounts, then measures whole commands and pages against it:
the sync of the book, the sync of a day's payments, the nightly class refresh, the console's class pages
(p95 of page loads over HTTP) and the reminders dry run. Prints each figure beside its target.

The sync is timed on the first --sync-sample borrowers (all of them when the book is no larger); the book is
then made up to --borrowers by copying those synced rows in SQL under new ids, so that the pages and the
reminders are measured on the whole book. The whole-book sync figure is then the sample's rate scaled up,
and says so. --sync-only stops after the sync figures.
Usage: python -m bench.scale [--borrowers N] [--sync-sample N] [--payments N] [--sync-only] [--database-url URL]
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import requests
from dateutil.relativedelta import relativedelta
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.load import percentile, run_load
from kuanxin.console.staff import StaffDirectory
from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.ops.serve import Servers, answers, free_port, latest_model, web_command
from kuanxin.store.db import Database
from kuanxin.store.models import Base

TODAY = dt.date(2026, 11, 22)
PERIODS = 12
# (share of the book, days overdue range): most accounts are current; a long tail is far behind
SPREAD = ((0.70, (-25, 0)), (0.14, (1, 30)), (0.09, (31, 90)), (0.05, (91, 180)), (0.02, (181, 720)))
CENT = Decimal("0.01")
PAGE_LOADS = 20  # of each console page measured
PAGES = ("/console/segments", "/console/segments/early/small", "/console/segments/current/small",
         "/console/search?q=4560", "/console/search?q=测试甲", "/console/search?q=SL0500000",  # phone tail, name, loan
         "/console/search?q=RG20261122-0500000")  # a reference
# how the copies of the synced sample get their ids: every id is a prefix and a zero-padded number
RENUMBER = {"borrowers": {"id": ("SB", 7), "phone": ("17", 9)},
            "loans": {"id": ("SL", 7), "borrower_id": ("SB", 7)},
            "schedule_rows": {"loan_id": ("SL", 7)}}


def days_overdue(rng: random.Random) -> int:
    pick, total = rng.random(), 0.0
    for share, (low, high) in SPREAD:
        total += share
        if pick <= total:
            return rng.randint(low, high)
    return 0


def account(n: int, rng: random.Random) -> Iterator[dict]:
    """One borrower with one loan of 12 monthly instalments, paid up to the one now `days` overdue."""
    borrower_id, loan_id = f"SB{n:07d}", f"SL{n:07d}"
    principal = Decimal(int(rng.lognormvariate(9.0, 0.7)) // 100 * 100 + 500)
    days = days_overdue(rng)
    first_unpaid_due = TODAY - dt.timedelta(days=days)
    unpaid_period = rng.randint(1, PERIODS)
    start = first_unpaid_due - relativedelta(months=unpaid_period)
    yield {"type": "borrower", "id": borrower_id, "name": "测试" + "甲乙丙丁戊己庚辛"[n % 8],
           "phone": f"17{n:09d}", "id_number": f"110101{1960 + n % 40}0101{n % 1000:03d}{n % 10}"}
    yield {"type": "loan", "id": loan_id, "borrower_id": borrower_id, "product": "消费贷", "principal": str(principal),
           "annual_rate": "0.18", "penalty_daily_rate": "0.0005", "late_fee": "30.00",
           "start_date": start.isoformat(), "status": "active"}
    each = (principal / PERIODS).quantize(CENT, ROUND_HALF_UP)
    interest = (principal * Decimal("0.015")).quantize(CENT, ROUND_HALF_UP)
    for period in range(1, PERIODS + 1):
        row = {"type": "schedule", "loan_id": loan_id, "period": period,
               "due_date": (start + relativedelta(months=period)).isoformat(),
               "principal": str(each), "interest": str(interest)}
        if period < unpaid_period:
            row["paid"] = str(each + interest)
        yield row


def day_of_payments(count: int, borrowers: int, rng: random.Random) -> Iterator[dict]:
    for n in rng.sample(range(borrowers), min(count, borrowers)):
        yield {"type": "payment", "id": f"SP{TODAY:%Y%m%d}{n:07d}", "loan_id": f"SL{n:07d}",
               "amount": f"{rng.randint(1, 40) * 50}.00", "paid_at": f"{TODAY.isoformat()}T09:30:00+08:00",
               "channel": rng.choice(("bank_card", "wechat_pay", "alipay"))}


def write_jsonl(path: Path, records: Iterator[dict]) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def fresh_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - started


def copy_sample(url: str, sample: int, copies: int) -> None:
    """Makes the book `copies` times the synced sample: each copy of borrower n is borrower n + k * sample,
    with the same loans and schedule as the sync wrote them (derived columns included)."""
    engine = create_engine(url)
    with engine.begin() as connection:
        for table, renumbered in RENUMBER.items():
            columns = [c.name for c in Base.metadata.tables[table].columns if not (table == "schedule_rows"
                                                                                  and c.name == "id")]
            values = [f"'{renumbered[c][0]}' || lpad((substr({c}, 3)::bigint + k * {sample})::text, "
                      f"{renumbered[c][1]}, '0')" if c in renumbered else c for c in columns]
            connection.execute(text(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} "
                                    f"FROM {table}, generate_series(1, {copies - 1}) AS k"))
        connection.execute(text("ANALYZE"))
    engine.dispose()


def add_cases(url: str, borrowers: int, every: int = 20) -> None:
    """An escalation for every `every`-th borrower (resolved but the last 2,000), spread over 90 days: what staff
    search finds, by reference, phone tail, name or loan."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO escalations (reference, conversation_id, borrower_id, reason, priority, status, channel, "
            "created_at, taken_over, resolved_at) "
            "SELECT 'RG20261122-' || lpad(n::text, 7, '0'), 'scale-' || n, 'SB' || lpad(n::text, 7, '0'), 'human', "
            "'normal', CASE WHEN n >= :open_from THEN 'open' ELSE 'resolved' END, 'rest', "
            "timestamp '2026-11-22 02:00' - (n % 90) * interval '1 day', false, "
            "CASE WHEN n >= :open_from THEN NULL ELSE timestamp '2026-11-22 03:00' END "
            "FROM generate_series(0, :last, :every) AS n"),
            {"open_from": borrowers - 2000 * every, "last": borrowers - 1, "every": every})
        connection.execute(text("ANALYZE escalations"))
    engine.dispose()


def console_page_loads(url: str, env: dict[str, str]) -> dict[str, list[float]]:
    """Seconds per load of each of PAGES, PAGE_LOADS times, through the real web app, signed in as staff."""
    username, password = f"bench-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    StaffDirectory(Database(url)).add(username, password, "supervisor", "压测", dt.datetime.utcnow())
    port = free_port()
    server = subprocess.Popen(web_command(port), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not answers(f"{base}/health"):
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the web app did not start")
            time.sleep(0.3)
        browser = requests.Session()
        form = browser.get(f"{base}/console/login", timeout=30).text
        token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        browser.post(f"{base}/console/login", timeout=30,
                     data={"username": username, "password": password, "csrf_token": token}).raise_for_status()
        loads: dict[str, list[float]] = {page: [] for page in PAGES}
        for _ in range(PAGE_LOADS):
            for page in PAGES:
                started = time.perf_counter()
                answer = browser.get(base + page, timeout=600)
                loads[page].append(time.perf_counter() - started)
                if answer.status_code != 200 or "/console/login" in answer.url:
                    raise SystemExit(f"{page}: HTTP {answer.status_code} at {answer.url}")
        return loads
    finally:
        server.terminate()
        server.wait(30)


def scale_conversation(n: int) -> list[str]:
    """A borrower of the synthetic book asking what they owe: identity check, balance, and two questions."""
    return ["你好", f"17{n:09d}", f"{n % 1000:03d}{n % 10}", "我逾期了多少钱", "不还会怎么样", "谢谢"]


def turn_times(url: str, env: dict[str, str], borrowers: int, reminders: list[str]) -> tuple[float, float]:
    """p50 of one borrower's turns (seconds) on the book: alone, then while reminders dry runs run back to back."""
    workdir = Path(tempfile.mkdtemp(prefix="kuanxin-scale-turns-"))
    servers = Servers(free_port(), free_port(), uuid.uuid4().hex, latest_model(PROJECT_ROOT / "models"), env)
    servers.start(servers.logs_in(workdir))
    endpoint = f"{servers.rasa_url}/webhooks/rest/webhook"
    picks = random.Random(11).sample(range(borrowers), 42)
    try:
        asyncio.run(run_load(endpoint, picks[:2], 1, scale_conversation))  # warm-up: first requests load lazily
        alone, _ = asyncio.run(run_load(endpoint, picks[2:22], 1, scale_conversation))
        running = subprocess.Popen(["bash", "-c", f"while true; do {' '.join(reminders)} >/dev/null; done"],
                                   env=env, start_new_session=True)
        try:
            busy, _ = asyncio.run(run_load(endpoint, picks[22:], 1, scale_conversation))
        finally:
            os.killpg(running.pid, signal.SIGTERM)
            running.wait(30)
    finally:
        servers.stop()
    return percentile(alone, 50), percentile(busy, 50)


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--borrowers", type=int, default=1_000_000)
    parser.add_argument("--sync-sample", type=int, default=100_000,
                        help="borrowers synced through `kuanxin sync`; the rest are copies of them (see above)")
    parser.add_argument("--payments", type=int, default=50_000)
    parser.add_argument("--sync-only", action="store_true",
                        help="only the sync figures: the sample, a day's payments and the sample again")
    parser.add_argument("--database-url", default=os.environ.get(
        "KUANXIN_SCALE_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/kuanxin_scale"))
    args = parser.parse_args()
    sample = min(args.sync_sample, args.borrowers)
    if args.borrowers % sample:
        raise SystemExit("--borrowers must be a multiple of --sync-sample")
    rng = random.Random(20261122)
    kuanxin = str(Path(sys.executable).parent / "kuanxin")
    env = {**os.environ, "KUANXIN_DATABASE_URL": args.database_url, "KUANXIN_TODAY": TODAY.isoformat(),
           "KUANXIN_TIME": "10:00"}
    figures: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as work:
        book, payments = Path(work) / "book.jsonl", Path(work) / "payments.jsonl"
        started = time.perf_counter()
        records = write_jsonl(book, (r for n in range(sample) for r in account(n, rng)))
        paid = write_jsonl(payments, day_of_payments(args.payments, args.borrowers, rng))
        print(f"generated {sample:,} borrowers, {records:,} records, {paid:,} payments "
              f"in {time.perf_counter() - started:.0f} s", flush=True)
        fresh_database(args.database_url)
        timed([kuanxin, "db", "upgrade"], env)
        seconds = timed([kuanxin, "sync", str(book), "--quiet"], env)
        if sample == args.borrowers:
            figures.append(("sync of the whole book", f"{seconds:.0f} s ({records / seconds:,.0f} records/s)",
                            "< 15 min"))
        else:
            scaled = seconds * args.borrowers / sample
            figures.append((f"sync of {sample:,} borrowers", f"{seconds:.0f} s ({records / seconds:,.0f} records/s)",
                            "-"))
            figures.append(("sync of the whole book (scaled from it)", f"~{scaled / 60:.0f} min", "< 15 min"))
            started = time.perf_counter()
            copy_sample(args.database_url, sample, args.borrowers // sample)
            print(f"copied the sample up to {args.borrowers:,} borrowers in {time.perf_counter() - started:.0f} s",
                  flush=True)
        add_cases(args.database_url, args.borrowers)
        seconds = timed([kuanxin, "sync", str(payments), "--quiet"], env)
        figures.append(("sync of a day's payments", f"{seconds:.0f} s ({paid / seconds:,.0f} payments/s)",
                        "< 2 min"))
        if not args.sync_only:
            measure_the_book(args, env, figures)
        seconds = timed([kuanxin, "sync", str(book), "--quiet"], env)
        figures.append(("the synced book again (nothing changed)", f"{seconds:.0f} s", "-"))
    width = max(len(name) for name, _, _ in figures)
    print(f"\n{'':{width}}  {'measured':>34}  target")
    for name, measured, target in figures:
        print(f"{name:{width}}  {measured:>34}  {target}")
    return 0


def measure_the_book(args: argparse.Namespace, env: dict[str, str], figures: list[tuple[str, str, str]]) -> None:
    """The nightly refresh, the console's pages, the reminders and a borrower's turns on the whole book."""
    kuanxin = str(Path(sys.executable).parent / "kuanxin")
    seconds = timed([kuanxin, "classes", "refresh", "--force"], env)
    figures.append(("nightly class refresh (whole book)", f"{seconds:.0f} s", "-"))
    for page, loads in console_page_loads(args.database_url, env).items():
        p50 = statistics.median(loads)
        figures.append((f"GET {page}", f"p95 {p95(loads) * 1000:,.0f} ms (p50 {p50 * 1000:,.0f})", "< 1 s"))
    seconds = timed([kuanxin, "reminders", "run", "--dry-run"], env)
    figures.append(("reminders dry run", f"{seconds:.0f} s", "< 2 min"))
    reminders = [kuanxin, "reminders", "run", "--dry-run"]
    for how, command in (("", reminders), (" at nice 19", ["nice", "-n", "19", *reminders])):
        alone, busy = turn_times(args.database_url, env, args.borrowers, command)
        figures.append((f"a borrower's turn, p50: alone / during reminders{how}",
                        f"{alone * 1000:.0f} / {busy * 1000:.0f} ms ({busy / alone - 1:+.0%})", "within 10 %"))


if __name__ == "__main__":
    sys.exit(main())
