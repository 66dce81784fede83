"""A supervisor works an escalation in the console in a real browser while the borrower chats in the widget."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from kuanxin.store.accounts import Accounts
from tests.e2e.browser.chat_page import ChatPage
from tests.e2e.console_client import PASSWORD, new_staff


def test_a_supervisor_takes_over_replies_hands_back_approves_and_resolves(servers, db, new_context, screenshot):
    chat = ChatPage(new_context().new_page(), f"{servers.web_url}/").open()
    chat.send("13812345678 123X 我逾期了多少钱")
    chat.send("我想延期三个月,因为我失业了")
    chat.page.locator("#kuanxin-chat .quick-replies button", has_text="确认提交").click()
    expect(chat.bot_messages().filter(has_text="YQ20261122-")).to_have_count(1)  # then the satisfaction question
    expect(chat.bot_messages().last).to_contain_text("评价")
    chat.send("转人工")
    expect(chat.bot_messages().last).to_contain_text("RG20261122-")
    reference = re.search(r"RG\d{8}-\d{4}", chat.bot_messages().last.inner_text()).group(0)

    console = new_context().new_page()
    console.goto(f"{servers.web_url}/console")
    expect(console).to_have_url(re.compile("/console/login$"))
    console.get_by_label("用户名").fill(new_staff(db, "supervisor", display_name="王小明"))
    console.get_by_label("密码").fill(PASSWORD)
    console.get_by_role("button", name="登录").click()
    console.get_by_role("link", name=reference).click()
    transcript = console.locator("#transcript")
    expect(transcript).to_contain_text("转人工")
    expect(transcript).to_contain_text("意图 要求人工")  # the intent in staff words, not its code
    expect(transcript).to_contain_text("138****5678")  # the borrower's own digits are masked for staff
    assert "13812345678" not in console.content()

    console.get_by_role("button", name="接管对话").click()
    expect(console.locator("#paused")).to_be_visible()
    console.get_by_label("回复借款人").fill("您好,我是客服王小明,已经看到您的延期申请,我来帮您跟进。")
    console.get_by_role("button", name="发送回复").click()
    staff_message = chat.page.locator("#kuanxin-chat .message.staff")
    expect(staff_message).to_contain_text("我来帮您跟进")
    expect(staff_message.locator(".who")).to_have_text("人工客服 · 王小明")
    answers = chat.bot_messages().count()
    chat.say_unanswered("好的,谢谢,我等您消息")
    console.reload()
    expect(transcript).to_contain_text("我等您消息")  # recorded while paused
    assert chat.bot_messages().count() == answers  # and the assistant stayed quiet
    screenshot(console, "console-conversation")

    console.get_by_role("button", name="交还助手").click()
    expect(console.locator("#paused")).to_have_count(0)
    chat.send("我逾期了多少钱")
    expect(chat.bot_messages().last).to_contain_text("3,084.60")

    request = console.locator(".request", has_text="YQ20261122-")
    request.get_by_placeholder("审批说明").fill("情况属实,同意延期三个月")
    request.get_by_role("button", name="批准").click()
    expect(console.locator(".request", has_text="YQ20261122-").locator(".request-status")).to_have_text("已通过")
    chat.send("我的申请进度怎么样了")
    expect(chat.bot_messages().last).to_contain_text("已通过")
    expect(chat.bot_messages().last).to_contain_text("情况属实,同意延期三个月")
    assert [r.status for r in Accounts(db).requests_of("B1001") if r.type == "deferral"] == ["approved"]

    console.get_by_label("处理结果").fill("已批准延期,借款人知悉")
    console.get_by_role("button", name="办结").click()
    expect(console.locator("#status")).to_have_text("已办结")
    audit = console.locator("#audit")
    for action in ("接管对话", "回复借款人", "交还助手", "批准申请", "办结"):
        expect(audit).to_contain_text(action)


def test_an_agent_finds_a_conversation_by_phone_tail_from_the_header(servers, db, new_context):
    chat = ChatPage(new_context().new_page(), f"{servers.web_url}/").open()
    chat.send("13812345678 123X 我逾期了多少钱")
    chat.send("转人工")
    expect(chat.bot_messages().last).to_contain_text("RG20261122-")
    reference = re.search(r"RG\d{8}-\d{4}", chat.bot_messages().last.inner_text()).group(0)

    console = new_context().new_page()
    console.goto(f"{servers.web_url}/console/login")
    console.get_by_label("用户名").fill(new_staff(db, "agent"))
    console.get_by_label("密码").fill(PASSWORD)
    console.get_by_role("button", name="登录").click()
    console.locator("header").get_by_role("searchbox", name="搜索").fill("5678")
    console.locator("header").get_by_role("button", name="搜索").click()
    hit = console.locator("#search-results tr.hit", has_text=reference)
    expect(hit).to_contain_text("138****5678")
    expect(hit).to_contain_text("手机尾号")
    assert "13812345678" not in console.content()
    hit.get_by_role("link", name="查看对话").click()
    expect(console.locator("#status")).to_have_text("待处理")
    expect(console.locator("#transcript")).to_contain_text("转人工")
