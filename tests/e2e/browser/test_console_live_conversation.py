"""A taken-over conversation, live in a real Chromium: while staff write a reply, the borrower types in the web chat
(the page shows 对方正在输入…, never what is typed), sends (the message appears without a reload) and a colleague
replies from another session (it appears too); the reply being written is never lost."""
from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from kuanxin.console.casework import Casework
from kuanxin.console.staff import StaffDirectory
from kuanxin.core import clock
from tests.e2e.browser.axe import violations
from tests.e2e.browser.chat_page import ChatPage
from tests.e2e.browser.test_console_shift import english_in, sign_in, visible_text
from tests.e2e.console_client import PASSWORD

DRAFT = "您好,我正在核对您的还款记录,请稍等。"


def test_new_messages_and_a_typing_borrower_show_without_a_reload(servers, db, new_context, screenshot):
    chat = ChatPage(new_context().new_page(), f"{servers.web_url}/").open()
    chat.send("13812345678 123X 我逾期了多少钱")
    chat.send("转人工")
    reference = re.search(r"RG\d{8}-\d{4}", chat.bot_messages().last.inner_text()).group(0)
    escalation = next(e for e in Casework(db).queue(status=None) if e.reference == reference)

    tag = uuid.uuid4().hex[:6]
    directory = StaffDirectory(db)
    agent = directory.add(f"he-{tag}", PASSWORD, "agent", "何客服", clock.now())
    colleague = directory.add(f"lu-{tag}", PASSWORD, "supervisor", "陆主管", clock.now())
    console = new_context().new_page()
    sign_in(console, servers.web_url, agent.username)
    console.goto(f"{servers.web_url}/console/escalations/{escalation.id}")
    console.get_by_role("button", name="接管对话").click()
    expect(console.locator("#paused")).to_be_visible()
    expect(console.locator("body")).to_have_attribute("data-live", "on")
    console.evaluate("window.sameDocument = true")
    typing = console.locator("#typing")
    expect(typing).to_be_hidden()
    console.get_by_label("回复借款人").fill(DRAFT)  # staff are writing a reply

    # the borrower types: staff see that they do, for a few seconds, and never what
    secret = "我下周五发工资后一次还清"
    chat.page.locator("#kuanxin-chat textarea").press_sequentially(secret, delay=60)
    expect(typing).to_be_visible(timeout=10_000)
    expect(typing).to_have_text("对方正在输入…")
    assert secret not in console.content()
    found = violations(console)  # the page with the typing hint shown
    assert english_in(visible_text(console)) == set()
    screenshot(console, "console-conversation-typing")
    expect(typing).to_be_hidden(timeout=10_000)  # stopped typing: the hint goes by itself

    # the borrower sends: the message appears without a reload, and the reply being written is still there
    chat.page.locator("#kuanxin-chat textarea").press("Enter")
    expect(chat.unsent()).to_have_count(0)
    transcript = console.locator("#transcript")
    expect(transcript).to_contain_text(secret, timeout=10_000)
    expect(console.get_by_label("回复借款人")).to_have_value(DRAFT)
    assert console.evaluate("window.sameDocument") is True

    # a colleague replies from their own session: it shows on this page too, and the draft stays
    other = new_context().new_page()
    sign_in(other, servers.web_url, colleague.username)
    other.goto(f"{servers.web_url}/console/escalations/{escalation.id}")
    other.get_by_label("回复借款人").fill("您好,我是陆主管,收到您的还款安排。")
    other.get_by_role("button", name="发送回复").click()
    expect(chat.page.locator("#kuanxin-chat .message.staff").last).to_contain_text("收到您的还款安排")
    expect(transcript).to_contain_text("人工客服 陆主管", timeout=10_000)
    expect(transcript).to_contain_text("收到您的还款安排")
    expect(console.get_by_label("回复借款人")).to_have_value(DRAFT)
    assert console.evaluate("window.sameDocument") is True
    assert "13812345678" not in console.content()  # the borrower's own numbers stay masked in the redrawn transcript
    expect(transcript).to_contain_text("138****5678")
    assert found == []


def test_the_conversation_stream_is_for_signed_in_staff_only(servers):
    import requests
    anonymous = requests.get(f"{servers.web_url}/console/live", params={"escalation": 1}, allow_redirects=False,
                             timeout=10)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/console/login"
    asked = requests.get(f"{servers.rasa_url}/webhooks/webchat/typing", params={"conversation": "x"}, timeout=10)
    assert asked.status_code == 401  # the chat channel tells only the console (Rasa's API token) who is typing
