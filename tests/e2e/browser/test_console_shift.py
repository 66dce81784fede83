"""A shift in the console, in a real Chromium: every page speaks Chinese (no field name or English code in what staff
see), the queue shows service clocks with a borrower in crisis on top, and a supervisor assigns work that shows in
the agent's own queue and in the team view."""
from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import time
import uuid
from decimal import Decimal

import pytest
import requests
import yaml
from playwright.sync_api import expect

from kuanxin.console.casework import Casework
from kuanxin.console.staff import StaffDirectory
from kuanxin.core import clock, vocab
from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.ops.serve import free_port, web_command
from kuanxin.store.accounts import Accounts
from kuanxin.store.models import Escalation
from testkit.servers import TODAY
from tests.e2e.console_client import PASSWORD
from tests.unit.test_live_queue import REDIS, redis_reachable

VOCABULARIES = (vocab.EscalationStatus, vocab.EscalationReason, vocab.Priority, vocab.RequestType,
                vocab.RequestStatus, vocab.PromiseStatus, vocab.EventKind, vocab.AuditAction, vocab.DeliveryStatus,
                vocab.StaffRole, vocab.ReminderStatus, vocab.Segment, vocab.LoanStatus, vocab.ReminderChannel)


def english_codes() -> set[str]:
    """Every code staff must never read: the closed vocabularies, the assistant's slots and intents, channels."""
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    codes = {value for vocabulary in VOCABULARIES for value in vocabulary.values()}
    codes |= set(domain["slots"]) | set(domain["intents"])
    return codes | {"webchat", "socketio", "rest", "cmdline", "UTC", "None", "True", "False", "null"}


CODES = english_codes()
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.]*[A-Za-z0-9_]|[A-Za-z]")
LINK = re.compile(r"https?://\S+")  # a link a reply carried (pay now, an agreement): an address, not staff wording


def english_in(text: str) -> set[str]:
    """The codes in a page's visible text: a known code, or anything shaped like a field name (snake_case)."""
    return {word for word in WORD.findall(LINK.sub(" ", text)) if word in CODES or word.lower() in CODES or "_" in word}


def visible_text(page) -> str:
    """What a person reads: the rendered text, and the words shown in fields and on hover."""
    shown = page.eval_on_selector_all(
        "[placeholder], [title], [aria-label]",
        "els => els.map(e => [e.placeholder || '', e.title || '', e.getAttribute('aria-label') || ''].join(' '))")
    return page.inner_text("body") + "\n" + page.title() + "\n" + "\n".join(shown)


def sign_in(page, url: str, username: str) -> None:
    page.goto(f"{url}/console/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile("/console$"))


def a_shift_of_work(db, borrower) -> dict[str, Escalation]:
    """A real conversation (verified, a deferral pending, handed to staff) and escalations of every reason and
    status, a promise, and the lender's events they record."""
    borrower.verify("13812345678", "123X")
    assert "YQ" in borrower.say("我想延期三个月,因为我失业了") + borrower.say("/affirm")
    borrower.say("转人工")
    accounts, today = Accounts(db), dt.date.fromisoformat(TODAY)
    now = clock.now()
    accounts.record_promise(borrower_id="B1001", promised_date=today + dt.timedelta(days=3),
                            amount=Decimal("1234.50"), conversation_id=borrower.sender, today=today, now=now)
    shift = {e.reason: e for e in Casework(db).queue(status=None) if e.conversation_id == borrower.sender}
    others = (("collection_abuse", "high", "wechat", 3), ("dispute", "normal", "rest", 1),
              ("frustration", "normal", "webchat", 2), ("low_confidence", "normal", "wechat", 0))
    for reason, priority, channel, days_ago in others:
        shift[reason], _ = accounts.open_escalation(
            conversation_id=f"{borrower.sender}-{reason}", borrower_id="B1001", reason=reason, priority=priority,
            channel=channel, summary="借款人来信,请尽快处理", today=today, now=now - dt.timedelta(days=days_ago))
    _, shift["safety"] = accounts.raise_safety_flag(conversation_id=f"{borrower.sender}-safety", borrower_id=None,
                                                    channel="webchat", summary="我不想活了", today=today, now=now)
    return shift


def test_a_shift_in_chinese_with_clocks_and_assignment(servers, db, borrower, new_context, screenshot, monkeypatch):
    assert english_in("意图 request_human · 状态 open · 借款 L1001 RG20261122-0001") == {"request_human", "open"}
    assert english_in("立即还款 http://localhost:8000/demo/lender/pay?loan=L1001&signature=trVPk_uQ") == set()
    monkeypatch.setenv("KUANXIN_TODAY", TODAY)  # this process's clock reads as the servers' does
    directory = StaffDirectory(db)
    suffix = borrower.sender[-6:].lower()
    supervisor = directory.add(f"wang-{suffix}", PASSWORD, "supervisor", "王主管", clock.now())
    agent = directory.add(f"li-{suffix}", PASSWORD, "agent", "李客服", clock.now())
    shift = a_shift_of_work(db, borrower)
    casework = Casework(db)
    casework.claim(shift["dispute"].id, supervisor, clock.now())
    casework.add_note(shift["dispute"].conversation_id, supervisor, "已电话联系", clock.now())
    casework.resolve(shift["frustration"].id, supervisor, "已安抚,借款人同意按期还款", clock.now())

    boss = new_context().new_page()
    sign_in(boss, servers.web_url, supervisor.username)
    rows = boss.locator("tr.escalation")
    expect(rows.first).to_have_attribute("data-reference", shift["safety"].reference)  # crisis on top
    abuse = boss.locator(f'tr.escalation[data-reference="{shift["collection_abuse"].reference}"]')
    expect(abuse).to_have_attribute("data-clock", "red")  # three days waiting, two service hours allowed
    expect(abuse.locator(".clock")).to_contain_text("已超时")
    screenshot(boss, "console-queue-clocks")

    # the supervisor gives the abuse complaint to the agent; it shows in the agent's queue and the team view
    boss.locator(f'a:text-is("{shift["collection_abuse"].reference}")').click()
    boss.locator("#assign select").select_option(agent.username)
    boss.locator("#assign button").click()
    expect(boss.locator("#owner")).to_have_text("李客服")
    boss.goto(f"{servers.web_url}/console/team")
    expect(boss.locator(f'#holdings tr[data-staff="{agent.username}"]')).to_contain_text(
        shift["collection_abuse"].reference)

    worker = new_context().new_page()
    sign_in(worker, servers.web_url, agent.username)
    worker.goto(f"{servers.web_url}/console?mine=1&status=all")
    expect(worker.locator("tr.escalation")).to_have_count(1)
    expect(worker.locator("tr.escalation")).to_have_attribute("data-reference", shift["collection_abuse"].reference)

    pages = ["/console", "/console?status=all", "/console?status=resolved", "/console?mine=1&status=all",
             "/console/search", f"/console/search?q={shift['human'].reference}", "/console/search?q=5678",
             "/console/segments", "/console/report", f"/console/report/print?start={TODAY}&end={TODAY}",
             "/console/events", "/console/team", "/console/escalations/999999", "/console/audit",
             f"/console/report?start={TODAY}&end={TODAY}&by=week"]
    pages += [f"/console/escalations/{e.id}" for e in shift.values()]
    seen = {}
    for path in pages:
        boss.goto(servers.web_url + path)
        seen[path] = english_in(visible_text(boss))
        if path == "/console/segments":
            pages += [link for link in boss.locator("#segments a").evaluate_all("els => els.map(a => a.pathname)")
                      if link not in pages]
    for path in ("/console", f"/console/escalations/{shift['collection_abuse'].id}", "/console/team"):
        worker.goto(servers.web_url + path)
        seen[f"agent {path}"] = english_in(visible_text(worker))
    worker.goto(f"{servers.web_url}/console/login")  # signed in: back to the queue; signed out below
    boss.context.clear_cookies()
    boss.goto(f"{servers.web_url}/console/login")
    seen["/console/login"] = english_in(visible_text(boss))

    assert {path: codes for path, codes in seen.items() if codes} == {}
    # usable at 1280×720 and on a tablet: the queue and a conversation fit the width
    for size in ({"width": 1280, "height": 720}, {"width": 768, "height": 1024}):
        boss_size = new_context(viewport=size).new_page()
        sign_in(boss_size, servers.web_url, supervisor.username)
        for path in ("/console?status=all", f"/console/escalations/{shift['human'].id}"):
            boss_size.goto(servers.web_url + path)
            assert boss_size.evaluate("document.documentElement.scrollWidth") <= size["width"], (size, path)
    assert len(seen) >= len(pages) + 4
    # what the pages held: the transcript's slots and intents in words, money as the borrower reads it
    boss_again = new_context().new_page()
    sign_in(boss_again, servers.web_url, supervisor.username)
    boss_again.goto(f"{servers.web_url}/console/escalations/{shift['human'].id}")
    page_text = boss_again.inner_text("body")
    assert "已核实身份" in page_text and "要求人工" in page_text and "延期还款" in page_text
    assert re.search(r"[0-9,]+\.[0-9]{2}元", page_text)
    assert "13812345678" not in boss_again.content()


def test_the_queue_is_live_in_two_sessions(servers, db, new_context, monkeypatch):
    monkeypatch.setenv("KUANXIN_TODAY", TODAY)
    directory, tag = StaffDirectory(db), uuid.uuid4().hex[:8]
    agent = directory.add(f"zhou-{tag}", PASSWORD, "agent", "周客服", clock.now())
    supervisor = directory.add(f"wu-{tag}", PASSWORD, "supervisor", "吴主管", clock.now())
    pages = []
    for member in (agent, supervisor):
        page = new_context().new_page()
        sign_in(page, servers.web_url, member.username)
        page.goto(f"{servers.web_url}/console?status=all")
        expect(page.locator("body")).to_have_attribute("data-live", "on")
        page.evaluate("window.sameDocument = true")
        pages.append(page)

    # written by another process, as the action server writes it: both queues show it without a reload
    escalation, _ = Accounts(db).open_escalation(
        conversation_id=f"live-{tag}", borrower_id=None, reason="dispute", priority="normal", channel="webchat",
        summary="借款人对欠款金额有异议", today=dt.date.fromisoformat(TODAY), now=clock.now())
    rows = [page.locator(f'tr.escalation[data-reference="{escalation.reference}"]') for page in pages]
    for row in rows:
        expect(row).to_contain_text("待处理", timeout=10_000)

    # the agent claims it; the supervisor's queue shows who holds it, still without a reload
    pages[0].locator(f'a:text-is("{escalation.reference}")').click()
    expect(pages[0].get_by_role("button", name="认领")).to_be_visible()
    pages[0].wait_for_load_state()  # the shortcuts' script has run
    pages[0].keyboard.press("c")  # the shortcut of 认领
    expect(pages[0].locator("#owner")).to_have_text("周客服")
    expect(rows[1]).to_contain_text("周客服", timeout=10_000)
    expect(rows[1]).to_contain_text("处理中")
    assert pages[1].evaluate("window.sameDocument") is True
    expect(pages[1].locator("#live-state")).to_contain_text("已自动更新")

    # on the conversation page, a colleague's note and reassignment appear without a reload
    expect(pages[0].locator("body")).to_have_attribute("data-live", "on")
    pages[0].evaluate("window.sameDocument = true")
    Casework(db).add_note(escalation.conversation_id, supervisor, "借款人下午三点方便接电话", clock.now())
    expect(pages[0].locator("#notes")).to_contain_text("借款人下午三点方便接电话", timeout=10_000)
    Casework(db).assign(escalation.id, supervisor, supervisor.username, clock.now())
    expect(pages[0].locator("#owner")).to_have_text("吴主管", timeout=10_000)
    expect(pages[0].locator("#audit")).to_contain_text("由 周客服 转给 吴主管")
    assert pages[0].evaluate("window.sameDocument") is True

    # the keyboard: j chooses the first row, Enter opens it, r starts a reply
    first = pages[1].locator("tr.escalation").first.get_attribute("data-reference")
    pages[1].keyboard.press("j")
    pages[1].keyboard.press("Enter")
    expect(pages[1].locator("h1")).to_contain_text(first)
    pages[1].wait_for_load_state()
    pages[1].keyboard.press("r")
    expect(pages[1].locator("#reply")).to_be_focused()


def start_web(port: int, env: dict, log_path) -> subprocess.Popen:
    log = open(log_path, "w")
    process = subprocess.Popen(web_command(port), cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"web instance did not start: {log_path.read_text()[-2000:]}")


def test_a_claim_on_one_instance_reaches_the_other_through_redis(servers, db, new_context, tmp_path, monkeypatch):
    if not redis_reachable():
        pytest.skip("Redis not reachable")
    monkeypatch.setenv("KUANXIN_TODAY", TODAY)
    # two web instances sharing the database and Redis; their database watch is too slow to be what carries the claim
    slow = (PROJECT_ROOT / "policy.yml").read_text(encoding="utf-8")
    slow = slow.replace("live_poll_seconds: 2", "live_poll_seconds: 60")
    (tmp_path / "policy.yml").write_text(slow, encoding="utf-8")
    env = {**os.environ, **{k: v for k, v in servers.env.items() if k.startswith("KUANXIN_")},
           "KUANXIN_POLICY": str(tmp_path / "policy.yml"), "KUANXIN_REDIS_URL": REDIS,
           "KUANXIN_REDIS_PREFIX": "kxlive" + uuid.uuid4().hex[:8]}
    ports = [free_port(), free_port()]
    instances = [start_web(port, env, tmp_path / f"web-{port}.log") for port in ports]
    try:
        tag = uuid.uuid4().hex[:8]
        escalation, _ = Accounts(db).open_escalation(
            conversation_id=f"redis-{tag}", borrower_id=None, reason="human", priority="normal", channel="wechat",
            summary="借款人要求人工", today=dt.date.fromisoformat(TODAY), now=clock.now())
        directory = StaffDirectory(db)
        members = [directory.add(f"{name}-{tag}", PASSWORD, "agent", words, clock.now())
                   for name, words in (("sun", "孙客服"), ("qian", "钱客服"))]
        pages = []
        for member, port in zip(members, ports, strict=True):
            page = new_context().new_page()
            sign_in(page, f"http://127.0.0.1:{port}", member.username)
            page.goto(f"http://127.0.0.1:{port}/console?status=all")
            expect(page.locator("body")).to_have_attribute("data-live", "on")
            pages.append(page)
        started = time.monotonic()
        pages[0].locator(f'a:text-is("{escalation.reference}")').click()
        pages[0].get_by_role("button", name="认领").click()
        row = pages[1].locator(f'tr.escalation[data-reference="{escalation.reference}"]')
        expect(row).to_contain_text("孙客服", timeout=10_000)
        assert time.monotonic() - started < 30  # well inside the 60 s the database watch would take
    finally:
        for process in instances:
            process.terminate()
            process.wait(timeout=20)
