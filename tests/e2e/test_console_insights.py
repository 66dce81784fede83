"""The console's view of the book: classes with drill-down, broken promises, and the outcome report."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import requests

from kuanxin.core import clock
from kuanxin.core.policy import load_policy
from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.reminders.run import Channels, run
from kuanxin.store.models import PaymentPromise
from testkit.servers import run_async
from tests.e2e.console_client import ConsoleClient, new_staff

PAGES = ("/console/segments", "/console/segments/middle/small", "/console/report", "/console/report.csv",
         "/console/report/print")


def signed_in(servers, db) -> ConsoleClient:
    staff = ConsoleClient(servers.web_url)
    staff.log_in(new_staff(db, "agent"))
    return staff


def test_insight_pages_need_a_signed_in_staff_member(servers, db):
    for path in PAGES:
        response = requests.get(servers.web_url + path, allow_redirects=False, timeout=30)
        assert response.status_code == 303 and response.headers["location"] == "/console/login", path


def test_classes_add_up_and_drill_down_to_masked_accounts(servers, db):
    staff = signed_in(servers, db)
    page = staff.get("/console/segments")
    assert page.status_code == 200
    assert '<th class="num" id="total-accounts">6</th>' in page.text and "23,683.81元" in page.text
    assert 'href="/console/segments/middle/small"' in page.text
    drill = staff.get("/console/segments/middle/small")
    assert drill.status_code == 200 and 'data-borrower="B1001"' in drill.text
    assert "138****5678" in drill.text and "13812345678" not in drill.text and "3,084.60元" in drill.text
    for path in ("/console/segments/early/huge", "/console/segments/%3Cscript%3E/small"):
        missing = staff.get(path)
        assert missing.status_code == 404 and "没有这个账户分类" in missing.text and "<script>" not in missing.text


def test_a_broken_promise_shows_after_the_follow_up(servers, db):
    with db.session() as session:
        session.add(PaymentPromise(reference="CN20261115-0001", borrower_id="B1001",
                                   promised_date=dt.date(2026, 11, 20), amount=Decimal("3084.60"), status="open",
                                   created_at=dt.datetime(2026, 11, 15, 2)))
    staff = signed_in(servers, db)
    assert "没有未兑现的承诺" in staff.get("/console/segments").text
    run_async(run(db, load_policy(PROJECT_ROOT / "policy.yml"),
                    dt.datetime(2026, 11, 22, 7, tzinfo=clock.BEIJING), Channels()))  # before hours: follow-up only
    page = staff.get("/console/segments").text
    broken = page[page.index('id="broken-promises"'):]
    assert "CN20261115-0001" in broken and "B1001" in broken and "2026-11-20" in broken


def test_the_report_counts_todays_conversations(servers, db, borrower):
    borrower.verify("13812345678", "123X")
    borrower.say("转人工")
    staff = signed_in(servers, db)
    page = staff.get("/console/report?start=2026-11-22&end=2026-11-22")
    assert page.status_code == 200 and "指标说明" in page.text
    # the period's three charts (no request was made: that chart is empty) and five trend charts
    assert page.text.count("<svg") == 3 + 5 and "本期没有记录" in page.text
    assert 'id="comparison"' in page.text and "上期:2026-11-21 至 2026-11-21" in page.text
    assert '<strong id="m-conversations">1</strong>' in page.text
    assert '<strong id="m-containment">0.0%</strong>' in page.text  # the one conversation went to staff
    csv = staff.get("/console/report.csv?start=2026-11-22&end=2026-11-22")
    assert csv.headers["content-type"].startswith("text/csv") and csv.content.startswith("\ufeff".encode())
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert "本期,2026-11-22,2026-11-22,转人工·要求人工,1,escalations.human" in lines
    assert "上期,2026-11-21,2026-11-21,会话数,0,conversations" in lines
    assert "每日,2026-11-22,2026-11-22,会话数,1,conversations" in lines
    printable = staff.get("/console/report/print?start=2026-11-22&end=2026-11-22")
    assert printable.text.startswith("<!doctype html>") and "运营报表" in printable.text
    for query in ("start=2026-11-30&end=2026-11-01", "start=x&end=%00", "start=2026-11-01"):
        odd = staff.get(f"/console/report?{query}")
        assert odd.status_code == 200 and "统计期间无效" in odd.text, query
