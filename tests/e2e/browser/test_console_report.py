"""The report that shows change, in a real Chromium, on two weeks of demo activity: the comparison with the previous
period, trend charts readable on an A4 page, the CSV downloaded through its link; and the README's screenshots of
the queue and the report (docs/console-*.png, rewritten when KUANXIN_UPDATE_DOCS=1)."""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import uuid
from decimal import Decimal

from PIL import Image
from playwright.sync_api import expect

from kuanxin.console.casework import Casework
from kuanxin.console.staff import StaffDirectory
from kuanxin.core import clock
from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.store.accounts import Accounts, utc_naive
from kuanxin.store.models import ConversationSession, PaymentPromise, Reminder
from testkit.servers import TODAY
from tests.e2e.browser.conftest import SCREENSHOTS
from tests.e2e.browser.test_console_shift import sign_in
from tests.e2e.console_client import PASSWORD

DOCS = PROJECT_ROOT / "docs"
MAX_PNG_BYTES = 200_000
A4_WIDTH = 794  # CSS pixels of an A4 page's width at 96 dpi
REASONS = ("human", "dispute", "frustration", "low_confidence", "collection_abuse", "human", "dispute")


def two_weeks_of_activity(db, tag: str) -> None:
    """Conversations, escalations of every kind, promises made and kept, reminders sent, on each of the last 14 days
    (more in the second week, so the trend and the comparison have something to show)."""
    today, now = dt.date.fromisoformat(TODAY), clock.now()

    def at(days_ago: int, minutes: int) -> dt.datetime:
        """A moment on the Beijing day `days_ago` before today, never later than now: counted on that day whatever
        the time of day (now minus some hours crossed midnight when the tests ran just after it, Beijing time)."""
        start = dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(), tzinfo=clock.BEIJING)
        return min(start + dt.timedelta(minutes=minutes), now)

    accounts = Accounts(db)
    borrowers = ("B1001", "B1002", "B1003", "B1004", "B1005", "B1006")
    with db.session() as session:
        for days_ago in range(14):
            day_now = at(days_ago, 720)
            busy = 3 + (13 - days_ago) // 3 + days_ago % 2
            for n in range(busy):
                session.add(ConversationSession(conversation_id=f"demo-{tag}-{days_ago}-{n}",
                                                started_at=utc_naive(at(days_ago, 60 * (n + 1))),
                                                borrower_id=borrowers[n % len(borrowers)]))
            for n in range(2):
                session.add(Reminder(borrower_id=borrowers[(days_ago + n) % len(borrowers)],
                                     day=today - dt.timedelta(days=days_ago), kind="segment", segment="early",
                                     channel="sms", recipient="138****0000", amount=Decimal("500.00"), status="sent",
                                     attempts=1, created_at=utc_naive(day_now)))
            if days_ago % 2 == 0:
                session.add(PaymentPromise(borrower_id=borrowers[days_ago % len(borrowers)],
                                           promised_date=today - dt.timedelta(days=days_ago - 3),
                                           amount=Decimal("800.00"), status="kept" if days_ago > 3 else "open",
                                           created_at=utc_naive(day_now)))
    for days_ago in range(14):
        for n in range(1 + (days_ago % 3 == 0) + (days_ago < 7)):
            reason = REASONS[(days_ago + n) % len(REASONS)]
            accounts.open_escalation(
                conversation_id=f"demo-{tag}-{days_ago}-{n}", borrower_id=borrowers[n], reason=reason,
                priority="high" if reason == "collection_abuse" else "normal", channel=("webchat", "wechat")[n % 2],
                summary="借款人希望人工协助处理还款问题", today=today,
                now=at(days_ago, 700 - 40 * n))


def small_png(path, name: str):
    """The screenshot as a small PNG (palette colours), copied to docs/ when asked."""
    with Image.open(path) as image:
        image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    size = path.stat().st_size
    assert size < MAX_PNG_BYTES, (name, size)
    if os.environ.get("KUANXIN_UPDATE_DOCS") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(path, DOCS / name)
    return size


def test_the_report_shows_change_and_prints_readably(servers, db, borrower, new_context, monkeypatch):
    monkeypatch.setenv("KUANXIN_TODAY", TODAY)
    tag = uuid.uuid4().hex[:6]
    directory = StaffDirectory(db)
    boss = directory.add(f"zhao-{tag}", PASSWORD, "supervisor", "赵主管", clock.now())
    agent = directory.add(f"qin-{tag}", PASSWORD, "agent", "秦客服", clock.now())
    two_weeks_of_activity(db, tag)
    casework = Casework(db)
    waiting = casework.queue()
    casework.claim(waiting[2].id, agent, clock.now())
    casework.claim(waiting[4].id, boss, clock.now())
    borrower.verify("13812345678", "123X")
    borrower.say("我不想活了")  # a borrower in crisis: always on top of the queue

    page = new_context(viewport={"width": 1280, "height": 720}).new_page()
    sign_in(page, servers.web_url, boss.username)
    expect(page.locator("tr.escalation").first).to_contain_text("安全关注")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    queue_png = SCREENSHOTS / "console-queue.png"
    page.screenshot(path=str(queue_png))
    small_png(queue_png, "console-queue.png")

    start = (dt.date.fromisoformat(TODAY) - dt.timedelta(days=6)).isoformat()
    page.set_viewport_size({"width": 1280, "height": 1100})
    page.goto(f"{servers.web_url}/console/report?start={start}&end={TODAY}&by=day")
    comparison = page.locator("#comparison")
    expect(comparison).to_contain_text("本期")
    # 45 conversations in these seven days against 30 in the seven before (and today's borrower)
    expect(comparison.locator('tr[data-figure="conversations"] td').nth(2)).to_have_text(re.compile(r"^\+1[56]$"))
    expect(page.locator("#trends figure")).to_have_count(5)
    assert page.locator("#trends figure").first.locator("rect title").count() >= 12  # 7 days, 2 series
    page.evaluate("window.scrollTo(0, document.getElementById('trends').offsetTop - 50)")  # the trend charts
    report_png = SCREENSHOTS / "console-report.png"
    page.screenshot(path=str(report_png))
    small_png(report_png, "console-report.png")

    # the CSV, downloaded through its link: Excel-safe UTF-8 with a byte order mark, every part present
    with page.expect_download() as download:
        page.get_by_role("link", name="下载CSV").click()
    data = open(download.value.path(), "rb").read()
    assert data.startswith("\ufeff".encode()) and download.value.suggested_filename.endswith(".csv")
    text = data.decode("utf-8-sig")
    assert all(f"\r\n{part}," in text for part in ("本期", "上期", "变化", "每日"))

    # on paper: the printable page at A4 width, printed media; the smallest chart text is still 9 px (about 7 pt)
    printed = new_context(viewport={"width": A4_WIDTH, "height": 1123}).new_page()
    sign_in(printed, servers.web_url, boss.username)
    printed.emulate_media(media="print")
    printed.goto(f"{servers.web_url}/console/report/print?start={start}&end={TODAY}")
    expect(printed.locator("figure.trend")).to_have_count(5)
    smallest = printed.evaluate("""() => Math.min(...Array.from(document.querySelectorAll('figure.trend svg text'))
        .map(t => t.getBoundingClientRect().height))""")
    assert smallest >= 9, smallest
    widest = printed.evaluate("document.documentElement.scrollWidth")
    assert widest <= A4_WIDTH, widest
