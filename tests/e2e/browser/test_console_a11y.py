"""The console's own accessibility and safety, in a real Chromium: every page passes an axe-core audit with no serious
or critical violation; an idle session warns before it ends and can be extended; a supervisor searches the audit log
page by page, and an agent cannot."""
from __future__ import annotations

import datetime as dt
import re
import uuid

from playwright.sync_api import expect
from sqlalchemy import select, update

from kuanxin.console.casework import Casework
from kuanxin.console.staff import StaffDirectory
from kuanxin.core import clock, policy
from kuanxin.store.accounts import Accounts, utc_naive
from kuanxin.store.models import StaffSession
from testkit.servers import TODAY
from tests.e2e.browser.axe import violations
from tests.e2e.browser.test_console_shift import a_shift_of_work, sign_in
from tests.e2e.console_client import PASSWORD


def test_every_console_page_passes_an_accessibility_audit(servers, db, borrower, new_context, monkeypatch):
    monkeypatch.setenv("KUANXIN_TODAY", TODAY)
    tag = uuid.uuid4().hex[:6]
    supervisor = StaffDirectory(db).add(f"gao-{tag}", PASSWORD, "supervisor", "高主管", clock.now())
    shift = a_shift_of_work(db, borrower)
    casework = Casework(db)
    casework.claim(shift["dispute"].id, supervisor, clock.now())
    casework.resolve(shift["frustration"].id, supervisor, "已安抚", clock.now())

    page = new_context().new_page()
    page.goto(f"{servers.web_url}/console/login")
    found = {"/console/login": violations(page)}
    sign_in(page, servers.web_url, supervisor.username)
    paths = ["/console", "/console?status=all", "/console?mine=1&status=all", "/console/search",
             f"/console/search?q={shift['human'].reference}", "/console/segments", "/console/report",
             f"/console/report?start={TODAY}&end={TODAY}", f"/console/report/print?start={TODAY}&end={TODAY}",
             "/console/events", "/console/team", "/console/audit", "/console/audit?borrower=B1001",
             "/console/escalations/999999"]
    paths += [f"/console/escalations/{e.id}" for e in shift.values()]
    # and whatever else the header leads to (a page added later is audited without editing this list)
    paths += sorted(set(page.locator("header nav a").evaluate_all("els => els.map(a => a.pathname + a.search)"))
                    - set(paths))
    for path in paths:
        page.goto(servers.web_url + path)
        found[path] = violations(page)
        if path == "/console/segments":
            links = page.locator("#segments a").evaluate_all("els => els.map(a => a.pathname)")
            paths += sorted(set(links) - set(paths))[:2]
    # the idle warning, shown, is audited too
    page.goto(f"{servers.web_url}/console")
    page.evaluate("document.getElementById('session-warning').hidden = false")
    found["idle warning"] = violations(page)
    assert len(found) >= 22
    assert {path: problems for path, problems in found.items() if problems} == {}


def test_the_audit_finds_what_is_wrong(servers, new_context):
    """The audit is no formality: a page with unlabelled fields and unreadable contrast fails it."""
    page = new_context().new_page()
    page.goto(f"{servers.web_url}/console/login")
    page.evaluate("""() => {
        document.querySelectorAll('label').forEach(label => label.replaceWith(...label.querySelectorAll('input')));
        document.querySelector('button').style.cssText = 'background:#fff;color:#eee;border:none';
    }""")
    assert {v["id"] for v in violations(page)} >= {"label", "color-contrast"}


def session_row(db, username: str) -> StaffSession:
    staff_id = next(member.id for member, _ in StaffDirectory(db).members() if member.username == username)
    with db.session() as session:
        return session.execute(select(StaffSession).where(StaffSession.staff_id == staff_id,
                                                          StaffSession.ended_at.is_(None))).scalar_one()


def idle_for(db, username: str, minutes: float) -> None:
    """As if the staff member had last used the console `minutes` ago (the server's clock is not to be moved)."""
    token_hash = session_row(db, username).token_hash
    with db.session() as session:
        session.execute(update(StaffSession).where(StaffSession.token_hash == token_hash).values(
            last_seen=utc_naive(clock.now()) - dt.timedelta(minutes=minutes)))


def test_an_idle_session_warns_before_it_ends_and_can_be_extended(servers, db, new_context, monkeypatch):
    monkeypatch.setenv("KUANXIN_TODAY", TODAY)
    rules = policy.current().console
    tag = uuid.uuid4().hex[:6]
    agent = StaffDirectory(db).add(f"ma-{tag}", PASSWORD, "agent", "马客服", clock.now())
    context = new_context()
    context.clock.install()
    page = context.new_page()
    sign_in(page, servers.web_url, agent.username)
    page.goto(f"{servers.web_url}/console?status=all")
    warning = page.locator("#session-warning")
    expect(warning).to_be_hidden()
    before_warning = (rules.idle_minutes - rules.idle_warning_minutes) * 60

    # three minutes before the session ends the page warns, counting down; its own reads do not extend the session
    idle_for(db, agent.username, rules.idle_minutes - 3)
    seen = session_row(db, agent.username).last_seen
    page.clock.fast_forward(before_warning * 1000 + 1000)
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("即将自动退出登录")
    expect(page.locator("#session-left")).to_have_text(re.compile(r"^[23]:[0-5][0-9]$"))
    expect(page.get_by_role("button", name="继续使用")).to_be_focused()
    assert session_row(db, agent.username).last_seen == seen

    # 继续使用 extends it: the warning goes, the server counts the idle time from now
    page.get_by_role("button", name="继续使用").click()
    expect(warning).to_be_hidden()
    assert session_row(db, agent.username).last_seen > seen
    expect(page).to_have_url(re.compile(r"/console\?status=all$"))

    # ignored, the session ends and the page says why on the login page
    idle_for(db, agent.username, rules.idle_minutes - 1)
    page.clock.fast_forward(before_warning * 1000 + 1000)
    expect(warning).to_be_visible()
    idle_for(db, agent.username, rules.idle_minutes + 1)  # past its end on the server too
    page.clock.fast_forward(2 * 60 * 1000)
    expect(page).to_have_url(re.compile(r"/console/login\?expired=1$"))
    expect(page.locator(".error")).to_contain_text("由于长时间没有操作")
    page.goto(f"{servers.web_url}/console")
    expect(page).to_have_url(re.compile(r"/console/login$"))  # signed out for real


def test_a_supervisor_searches_the_audit_log_and_an_agent_cannot(servers, db, new_context, monkeypatch):
    monkeypatch.setenv("KUANXIN_TODAY", TODAY)
    tag = uuid.uuid4().hex[:6]
    directory, casework = StaffDirectory(db), Casework(db)
    boss = directory.add(f"he-{tag}", PASSWORD, "supervisor", "何主管", clock.now())
    agent = directory.add(f"lu-{tag}", PASSWORD, "agent", "陆客服", clock.now())
    escalation, _ = Accounts(db).open_escalation(
        conversation_id=f"audit-{tag}", borrower_id="B1001", reason="human", priority="normal", channel="webchat",
        summary="要求人工", today=dt.date.fromisoformat(TODAY), now=clock.now())
    casework.claim(escalation.id, agent, clock.now())
    for n in range(55):
        casework.add_note(escalation.conversation_id, agent, f"跟进记录{n}", clock.now())
    casework.assign(escalation.id, boss, boss.username, clock.now())

    page = new_context().new_page()
    sign_in(page, servers.web_url, boss.username)
    page.get_by_role("link", name="操作日志").click()
    page.get_by_label("操作人").select_option(agent.username)
    page.get_by_label("操作", exact=True).select_option("note")
    page.get_by_label("借款人编号").fill("B1001")
    page.get_by_label("开始日期").fill(TODAY)
    page.get_by_label("结束日期").fill(TODAY)
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#audit-count")).to_have_text("共 55 条记录,第 1 / 2 页")
    rows = page.locator("tr.audit-entry")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("跟进记录54")
    expect(rows.first).to_contain_text("陆客服")
    expect(rows.first).to_contain_text("添加备注")
    page.get_by_role("link", name="下一页").click()
    expect(page.locator("#audit-count")).to_have_text("共 55 条记录,第 2 / 2 页")
    expect(rows).to_have_count(5)
    expect(rows.last).to_contain_text("跟进记录0")
    expect(page.get_by_label("操作人")).to_have_value(agent.username)  # the filters stay as chosen

    page.goto(f"{servers.web_url}/console/audit?who={boss.username}&borrower=B1001")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("分配")
    expect(rows.first).to_contain_text(escalation.reference)
    page.goto(f"{servers.web_url}/console/audit?borrower=B1001&since={TODAY}&until=2000-01-01")
    expect(page.locator(".error")).to_contain_text("日期无效")

    worker = new_context().new_page()
    sign_in(worker, servers.web_url, agent.username)
    expect(worker.get_by_role("link", name="操作日志")).to_have_count(0)
    answer = worker.goto(f"{servers.web_url}/console/audit")
    assert answer.status == 403
    expect(worker.locator("body")).to_contain_text("只有主管可以查看操作日志")
