"""A supervisor reads the book's classes and the outcome report in a real browser, and prints the report."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from kuanxin.core.settings import PROJECT_ROOT
from tests.e2e.console_client import PASSWORD, new_staff

PDF = PROJECT_ROOT / "var" / "test-output" / "report.pdf"


def test_classes_drill_down_and_the_report_prints(servers, db, borrower, new_context, screenshot):
    borrower.verify("13812345678", "123X")
    borrower.say("转人工")  # today's one conversation, escalated

    console = new_context().new_page()
    console.goto(f"{servers.web_url}/console/login")
    console.get_by_label("用户名").fill(new_staff(db, "supervisor"))
    console.get_by_label("密码").fill(PASSWORD)
    console.get_by_role("button", name="登录").click()

    console.get_by_role("link", name="账户分类").click()
    expect(console.locator("#total-accounts")).to_have_text("6")
    console.locator('tr[data-segment="middle"][data-size="small"] a').click()
    expect(console).to_have_url(re.compile("/console/segments/middle/small$"))
    account = console.locator('[data-borrower="B1001"]')
    expect(account).to_contain_text("138****5678")
    expect(account).to_contain_text("3,084.60")
    assert "13812345678" not in console.content()

    console.get_by_role("link", name="运营报表").click()
    console.get_by_label("开始").fill("2026-11-22")
    console.get_by_label("结束").fill("2026-11-22")
    console.get_by_role("button", name="查看").click()
    expect(console.locator("#m-conversations")).to_have_text("1")
    expect(console.locator("#m-containment")).to_have_text("0.0%")
    chart = console.get_by_role("img", name="转人工原因")
    expect(chart).to_be_visible()
    widths = sorted(bar.bounding_box()["width"] for bar in chart.locator("rect").all())
    assert widths[-1] > 100 and set(widths[:-1]) == {0}  # one reason takes the whole scale, the rest none
    screenshot(console, "console-report")

    with console.expect_popup() as opened:
        console.get_by_role("link", name="打印版").click()
    printable = opened.value
    expect(printable.locator("h1")).to_have_text("宽心 · 运营报表")
    expect(printable.locator("header, nav")).to_have_count(0)  # no console chrome on paper
    PDF.parent.mkdir(parents=True, exist_ok=True)
    printable.pdf(path=str(PDF), format="A4")
    assert PDF.read_bytes().startswith(b"%PDF") and PDF.stat().st_size > 10_000
