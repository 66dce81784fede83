"""How long a reminders run takes over a large book (python -m bench.reminders).

A fresh database (SQLite by default, or --database-url) with N synthetic borrowers spread over every
class, the SMS gateway double on a local port; then a dry run, a real run (every reminder through
the gateway over HTTP) and a same-day re-run (which must send nothing).
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import platform
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert

from kuanxin.core import clock
from kuanxin.core.policy import load_policy
from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.reminders.run import Channels, run
from kuanxin.reminders.sms import SmsGateway, sms_settings
from kuanxin.store.db import Database
from kuanxin.store.models import Base, Borrower, Loan, ScheduleRow
from testkit.sms_gateway import SmsGatewayDouble

TODAY = dt.date(2026, 11, 22)
# days overdue by borrower number: upcoming, early, middle, late, current (negative: due in that many days)
SPREAD = (-2, 5, 20, 45, 120, -10, 12, 29)


def fill(db: Database, count: int) -> None:
    borrowers, loans, rows = [], [], []
    for n in range(count):
        days = SPREAD[n % len(SPREAD)]
        borrowers.append({"id": f"S{n:06d}", "name": "测试", "phone": f"15{n:09d}", "id_last4": "1234",
                          "id_masked": "x"})
        loans.append({"id": f"SL{n:06d}", "borrower_id": f"S{n:06d}", "product": "消费贷",
                      "principal": Decimal("3000.00"), "annual_rate": Decimal("0.18"),
                      "penalty_daily_rate": Decimal("0.0005"), "late_fee": Decimal("30.00"),
                      "start_date": dt.date(2026, 1, 1), "status": "active"})
        rows.append({"loan_id": f"SL{n:06d}", "period": 1, "due_date": TODAY - dt.timedelta(days=days),
                     "principal": Decimal(1000 + 37 * (n % 150)), "interest": Decimal("45.00"),
                     "paid": Decimal("0.00")})
    with db.session() as session:
        for model, batch in ((Borrower, borrowers), (Loan, loans), (ScheduleRow, rows)):
            session.execute(insert(model), batch)


async def timed_run(db: Database, gateway: SmsGatewayDouble, dry_run: bool):
    sms = SmsGateway(sms_settings(gateway.env()))
    started = time.perf_counter()
    try:
        report = await run(db, load_policy(PROJECT_ROOT / "policy.yml"),
                           dt.datetime.combine(TODAY, dt.time(10), clock.BEIJING), Channels(sms=sms), dry_run)
    finally:
        await sms.close()
    return time.perf_counter() - started, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--borrowers", type=int, default=20_000)
    parser.add_argument("--database-url", help="an empty database (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        Base.metadata.create_all(db.engine)
        fill(db, args.borrowers)
        gateway = SmsGatewayDouble()
        try:
            print(f"{platform.machine()}, {db.engine.dialect.name}, {args.borrowers:,} borrowers")
            for label, dry in (("dry run", True), ("run", False), ("re-run, same day", False)):
                seconds, report = asyncio.run(timed_run(db, gateway, dry))
                sent = report.count("sent") or report.count("would_send")
                print(f"{label:<17} {seconds:7.2f} s  {sent:>6} reminders  "
                      f"{report.count('skipped'):>6} skipped  gateway holds {len(gateway.sent)}")
        finally:
            gateway.close()


if __name__ == "__main__":
    main()
