"""A book of a million accounts on PostgreSQL (`make bench-scale`; outside `make test`).

Generates a synthetic book as the lender would send it (JSON Lines: borrowers, loans, schedules), with
realistic spreads of days overdue and amounts, then measures whole commands and pages against it:
the sync of the whole book, the sync of a day's payments, the reminders dry run. Prints each figure
beside its target.  Usage: python -m bench.scale [--borrowers N] [--database-url URL] [--keep]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from dateutil.relativedelta import relativedelta
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

TODAY = dt.date(2026, 11, 22)
PERIODS = 12
# (share of the book, days overdue range): most accounts are current; a long tail is far behind
SPREAD = ((0.70, (-25, 0)), (0.14, (1, 30)), (0.09, (31, 90)), (0.05, (91, 180)), (0.02, (181, 720)))
CENT = Decimal("0.01")


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--borrowers", type=int, default=1_000_000)
    parser.add_argument("--payments", type=int, default=50_000)
    parser.add_argument("--database-url", default=os.environ.get(
        "KUANXIN_SCALE_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/kuanxin_scale"))
    args = parser.parse_args()
    rng = random.Random(20261122)
    kuanxin = str(Path(sys.executable).parent / "kuanxin")
    env = {**os.environ, "KUANXIN_DATABASE_URL": args.database_url, "KUANXIN_TODAY": TODAY.isoformat()}
    figures: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as work:
        book, payments = Path(work) / "book.jsonl", Path(work) / "payments.jsonl"
        started = time.perf_counter()
        records = write_jsonl(book, (r for n in range(args.borrowers) for r in account(n, rng)))
        paid = write_jsonl(payments, day_of_payments(args.payments, args.borrowers, rng))
        print(f"generated {args.borrowers:,} borrowers, {records:,} records, {paid:,} payments "
              f"in {time.perf_counter() - started:.0f} s", flush=True)
        fresh_database(args.database_url)
        timed([kuanxin, "db", "upgrade"], env)
        seconds = timed([kuanxin, "sync", str(book), "--quiet"], env)
        figures.append(("sync of the whole book", f"{seconds:.0f} s ({records / seconds:,.0f} records/s)",
                        "< 15 min"))
        seconds = timed([kuanxin, "sync", str(payments), "--quiet"], env)
        figures.append(("sync of a day's payments", f"{seconds:.0f} s ({paid / seconds:,.0f} payments/s)",
                        "< 2 min"))
        seconds = timed([kuanxin, "sync", str(book), "--quiet"], env)
        figures.append(("the whole book again (nothing changed)", f"{seconds:.0f} s", "-"))
    width = max(len(name) for name, _, _ in figures)
    print(f"\n{'':{width}}  {'measured':>32}  target")
    for name, measured, target in figures:
        print(f"{name:{width}}  {measured:>32}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
