"""Plans on the staff side (issue 18 item 5), through the real servers and a real Chromium: the console shows the
assistant's decisions beside the staff's with the rules that decided, the agreements with their record, and the plans
by status, all in staff Chinese; a supervisor revokes an automated approval within the cooling-off window (an agent
may not, nor anyone after the window), the plan ends as revoked, the lender gets `plan.revoked`, and the borrower is
told at their next question, once."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from kuanxin.console.casework import Casework
from kuanxin.console.staff import StaffDirectory
from kuanxin.core import clock
from kuanxin.store.importer import load_document
from kuanxin.store.models import Agreement, AuditEntry, OutboxEvent, PlanOffer, RepaymentPlan, ServiceRequest
from testkit.plans import ID_TAIL, PHONE, document_with_plan_borrower
from testkit.servers import TODAY, Borrower
from tests.e2e.browser.test_console_shift import english_in, sign_in, visible_text
from tests.e2e.console_client import PASSWORD, ConsoleClient

NUMBER = re.compile(r"编号(XY[0-9]{8}-[0-9]{4})")


@pytest.fixture
def plan_db(db):
    load_document(db, document_with_plan_borrower())
    return db


def agree_to_six_installments(borrower) -> str:
    assert "2,382.50" in borrower.verify(PHONE, ID_TAIL)
    borrower.say("我想分期还")
    assert "年化费率0.00%" in borrower.say("分6期")
    return NUMBER.search(borrower.say("我同意")).group(1)


def agree_to_a_deferral(borrower) -> str:
    borrower.verify("13900001111", "4567")
    borrower.say("我想延期一个月")
    borrower.say("最近公司裁员了 在找工作")
    return NUMBER.search(borrower.say("我同意")).group(1)


def test_the_console_shows_plans_and_a_supervisor_revokes_an_automated_approval(
        servers, plan_db, borrower, new_context, screenshot, monkeypatch):
    monkeypatch.setenv("KUANXIN_TODAY", TODAY)
    directory, tag = StaffDirectory(plan_db), borrower.sender[-6:].lower()
    boss = directory.add(f"qian-{tag}", PASSWORD, "supervisor", "钱主管", clock.now())
    agent = directory.add(f"sun-{tag}", PASSWORD, "agent", "孙客服", clock.now())
    number = agree_to_six_installments(borrower)
    late = agree_to_a_deferral(Borrower(servers))
    refused = Borrower(servers)  # in litigation: refused, put to a person, and decided by the supervisor
    refused.verify("13600003333", "0028")
    refused.say("我想申请分期")
    reference = re.search(r"编号((?:FQ|YQ)[0-9-]+)", refused.say("/request_review")).group(1)
    Casework(plan_db).decide_request(reference, boss, "reject", "诉讼中的借款不能分期", clock.now())
    with plan_db.session() as session:  # the deferral was accepted two days ago: its window is over
        deferral = session.execute(select(Agreement).where(Agreement.number == late)).scalar_one()
        deferral.accepted_at -= dt.timedelta(hours=49)

    page = new_context().new_page()
    sign_in(page, servers.web_url, boss.username)
    page.get_by_role("link", name="还款协议").click()
    expect(page.locator(f'tr.plan[data-number="{number}"]')).to_contain_text("履行中")
    automated = page.locator('tr.decision[data-automated="1"]').filter(has_text="分期还款 6期")
    expect(automated).to_contain_text("助手(自动)")
    expect(automated).to_contain_text("助手已自动批准")
    expect(automated.locator("tr.rule").filter(has_text="期数或月数")).to_contain_text("不超过12期6期符合")
    expect(automated.locator("tr.rule").filter(has_text="逾期天数")).to_contain_text("不超过90天38天符合")
    refusal = page.locator('tr.decision[data-automated="1"]').filter(has_text="不符合条件")
    expect(refusal.locator("tr.rule").first).to_contain_text("借款不在正常状态")
    staff_row = page.locator(f'tr.decision[data-automated="0"][data-reference="{reference}"]')
    expect(staff_row).to_contain_text("钱主管")
    expect(staff_row).to_contain_text("工作人员拒绝")
    expect(staff_row).to_contain_text("诉讼中的借款不能分期")
    expect(page.locator(f'tr.agreement[data-number="{late}"]')).to_contain_text("延期还款")
    screenshot(page, "console-plans")

    page.locator(f'tr.agreement[data-number="{number}"] a').first.click()
    with plan_db.session() as session:
        agreement = session.execute(select(Agreement).where(Agreement.number == number)).scalar_one()
    expect(page.locator("#sha256")).to_have_text(agreement.sha256)
    expect(page.locator("#identity-check")).to_contain_text("本次对话核实了手机号和身份证后四位")
    expect(page.locator("#agreement-text")).to_contain_text("逾期总额2,382.50元")
    expect(page.locator("#payments tbody tr")).to_have_count(6)
    expect(page.locator("#decision tr.rule")).to_have_count(5)
    with plan_db.session() as session:  # the agreement shown in full was an offer, counted in the report
        offers = session.execute(select(PlanOffer).where(PlanOffer.conversation_id == borrower.sender)).scalars().all()
    assert [(o.kind, o.length, o.sha256) for o in offers] == [("installment", 6, agreement.sha256)]
    page.goto(f"{servers.web_url}/console/report?start={TODAY}&end={TODAY}")
    expect(page.locator('#plan-figures tr[data-figure="plans.offered"]')).to_contain_text("协议出示")
    expect(page.locator('#plan-figures tr[data-figure="time_to_plan"]')).to_contain_text("分钟")
    seen = {}
    for path in ("/console/plans", "/console/plans?status=in_force", f"/console/agreements/{number}",
                 f"/console/agreements/{late}", "/console/agreements/XY20261122-9999",
                 f"/console/report?start={TODAY}&end={TODAY}"):
        page.goto(servers.web_url + path)
        seen[path] = english_in(visible_text(page))
    assert {path: codes for path, codes in seen.items() if codes} == {}

    # an agent sees no way to revoke, and the server refuses one anyway; after the window nobody may
    colleague = ConsoleClient(servers.web_url)
    colleague.log_in(agent.username)
    assert 'id="revoke"' not in colleague.get(f"/console/agreements/{number}").text
    assert colleague.post(f"/console/agreements/{number}/revoke", reason="试试").status_code == 403
    supervisor = ConsoleClient(servers.web_url)
    supervisor.log_in(boss.username)
    assert 'id="revoke"' not in supervisor.get(f"/console/agreements/{late}").text
    too_late = supervisor.post(f"/console/agreements/{late}/revoke", reason="太晚了")
    assert too_late.status_code == 409 and "已超过撤销期限(协议生效后48小时内)" in too_late.text

    page.goto(f"{servers.web_url}/console/agreements/{number}")
    page.locator("#revoke-reason").fill("收入证明存疑,需要人工重新审核")
    page.locator("#revoke button").click()
    expect(page.locator("#revoked-notice")).to_be_visible()
    expect(page.locator("#plan-status")).to_contain_text("已撤销")
    expect(page.locator("#revoked-by")).to_contain_text("钱主管")
    screenshot(page, "console-agreement-revoked")
    with plan_db.session() as session:
        plan = session.execute(select(RepaymentPlan).where(RepaymentPlan.agreement_number == number)).scalar_one()
        event = session.execute(select(OutboxEvent).where(OutboxEvent.kind == "plan.revoked")).scalar_one()
        audit = session.execute(select(AuditEntry).where(AuditEntry.action == "revoke_plan")).scalar_one()
        request = session.execute(select(ServiceRequest).where(
            ServiceRequest.reference == agreement.request_reference)).scalar_one()
        unchanged = session.execute(select(Agreement).where(Agreement.number == number)).scalar_one()
    assert (plan.status, plan.open_key) == ("revoked", None)
    assert json.loads(event.payload)["agreement"] == number and audit.staff == boss.username
    assert (request.status, request.decided_by) == ("rejected", boss.username)
    assert (unchanged.text, unchanged.sha256) == (agreement.text, agreement.sha256)

    told = borrower.say("我还要还多少")  # the next contact: told once, and the loan's arrears are back
    assert f"分期协议{number}已于2026年11月22日撤销,不再生效" in told and "2,382.50" in told
    assert "下一期" not in told
    again = borrower.say("还欠多少")
    assert "撤销" not in again and "2,382.50" in again
    with plan_db.session() as session:
        assert session.execute(select(RepaymentPlan.told_at).where(
            RepaymentPlan.agreement_number == number)).scalar_one() is not None
