"""`kuanxin reminders run`: the channels from the environment, one run, a report an operator can read.

Exit status: 0 when every reminder due went out (or the run was outside contact hours), 1 when some
failed (cron mails that), 2 when the configuration is wrong.
"""
from __future__ import annotations

import asyncio
import sys

from kuanxin.core import clock, policy
from kuanxin.lending.identity import mask_phone
from kuanxin.reminders.run import Channels, RunReport, run
from kuanxin.reminders.selection import SKIP_REASONS
from kuanxin.reminders.sms import SmsConfigError, SmsGateway, sms_settings
from kuanxin.store.db import database
from kuanxin.wechat.api import WeChatApi, mask_openid
from kuanxin.wechat.config import WeChatConfigError, settings_from_env


def run_reminders(dry_run: bool) -> int:
    try:
        wechat, sms = settings_from_env(), sms_settings()
    except (WeChatConfigError, SmsConfigError) as exc:
        print(f"kuanxin: {exc}", file=sys.stderr)
        return 2
    report = asyncio.run(_run(wechat, sms, dry_run))
    print_report(report)
    return 1 if report.failures else 0


async def _run(wechat_settings, sms_settings_, dry_run: bool) -> RunReport:
    channels = Channels(WeChatApi(wechat_settings) if wechat_settings else None,
                        SmsGateway(sms_settings_) if sms_settings_ else None)
    try:
        return await run(database(), policy.current(), clock.now(), channels, dry_run)
    finally:
        for client in (channels.wechat, channels.sms):
            if client is not None:
                await client.close()


def print_report(report: RunReport) -> None:
    mode = " (dry run: nothing sent or recorded)" if report.dry_run else ""
    print(f"reminders run at {report.at:%Y-%m-%d %H:%M} Beijing time{mode}")
    kept = sum(1 for p in report.promises if p.kept)
    print(f"promises followed up: {len(report.promises)} ({kept} kept, {len(report.promises) - kept} broken)")
    ended = ", ".join(f"{number} {status}" for number, status in report.plans_ended) or "none"
    print(f"plans ended today: {ended}")
    if not report.in_hours:
        rules = policy.current().reminders
        print(f"outside contact hours ({rules.contact_start:%H:%M}-{rules.contact_end:%H:%M}): no reminder sent")
        return
    for outcome in report.outcomes:
        plan = outcome.plan
        if outcome.status == "skipped":
            why = SKIP_REASONS.get(plan.skip or outcome.error, plan.skip or outcome.error)
            print(f"  skip  {plan.candidate.borrower_id:<12} {plan.candidate.segment:<9} {why}")
            continue
        to = mask_openid(plan.address or "") if plan.channel == "wechat" else mask_phone(plan.address or "")
        detail = f" {outcome.error}" if outcome.error else ""
        print(f"  {outcome.status:<10} {plan.candidate.borrower_id:<12} {plan.candidate.segment:<9} "
              f"{plan.channel:<6} {to} {outcome.reference}{detail}")
    print(f"sent {report.count('sent')}, failed {report.count('failed')}, would send {report.count('would_send')}, "
          f"skipped {report.count('skipped')}")
