"""The chat widget on the demo lender pages, in a real Chromium, against the real servers.

Playwright's CSS locators pierce the widget's open shadow root, so the tests read what a borrower sees.
"""
from __future__ import annotations

import re

import requests
from playwright.sync_api import expect

from kuanxin.core.signin import sign_borrower_token
from testkit.servers import TOKEN, WEBCHAT_SECRET
from tests.e2e.browser.chat_page import ChatPage
from tests.e2e.browser.conftest import PHONE


def tracker(servers, session_id: str) -> dict:
    response = requests.get(f"{servers.rasa_url}/conversations/{session_id}/tracker",
                            params={"token": TOKEN}, timeout=30)
    response.raise_for_status()
    return response.json()


def user_texts(servers, session_id: str) -> list[str]:
    return [e.get("text") for e in tracker(servers, session_id)["events"] if e["event"] == "user"]


def test_a_visitor_greets_verifies_and_sees_the_overdue_total(servers, db, new_context, screenshot):
    chat = ChatPage(new_context().new_page(), f"{servers.web_url}/").open()
    chat.send("你好")
    expect(chat.bot_messages().last).to_contain_text("宽心")
    chat.send("我逾期了多少钱")
    expect(chat.bot_messages().last).to_contain_text("手机号")
    chat.send("13812345678")
    chat.send("123X")
    expect(chat.page.locator("#kuanxin-chat .log")).to_contain_text("身份核实成功(138****5678)")
    expect(chat.page.locator("#kuanxin-chat .log")).to_contain_text("3,084.60")
    screenshot(chat.page, "webchat-desktop")
    replies = chat.page.locator("#kuanxin-chat .quick-replies button")
    expect(replies.first).to_be_visible()
    answers, turns = chat.bot_messages().count(), len(user_texts(servers, chat.session_id()))
    title = replies.first.inner_text()
    replies.first.click()
    expect(chat.page.locator("#kuanxin-chat .message.user").last).to_contain_text(title)
    expect(chat.bot_messages()).not_to_have_count(answers)
    assert len(user_texts(servers, chat.session_id())) == turns + 1


def test_a_reload_continues_the_same_conversation(servers, db, new_context):
    page = new_context().new_page()
    chat = ChatPage(page, f"{servers.web_url}/").open()
    chat.send("13812345678 123X 我逾期了多少钱")
    expect(chat.page.locator("#kuanxin-chat .log")).to_contain_text("3,084.60")
    session = chat.session_id()
    page.reload()
    chat = ChatPage(page, page.url).open()  # the panel stays open across the reload
    expect(page.locator("#kuanxin-chat .log")).to_contain_text("3,084.60")  # history replayed
    assert chat.session_id() == session
    chat.send("我逾期了多少钱")  # still verified: no identity questions
    expect(chat.bot_messages().last).to_contain_text("3,084.60")
    assert "手机号" not in chat.bot_messages().last.inner_text()


def test_a_signed_in_borrower_gets_the_amount_without_identity_questions(servers, db, new_context, screenshot):
    chat = ChatPage(new_context().new_page(), f"{servers.web_url}/signed-in").open()
    expect(chat.page.locator("#kuanxin-chat .status")).to_contain_text("已登录")
    chat.send("我逾期了多少钱")
    expect(chat.bot_messages().last).to_contain_text("3,084.60")
    assert "手机号" not in chat.transcript()
    # the charges drawn from the message's data, one labelled row each, the total last
    charges = chat.bot_messages().last.locator("table.amounts")
    expect(charges.locator("tr")).to_have_count(5)
    expect(charges.locator("tr").nth(2)).to_contain_text("罚息")
    expect(charges.locator("tr").nth(2).locator("small")).to_contain_text("按未还本金每天")
    expect(charges.locator("tr.total")).to_have_text(re.compile(r"合计应还\s*3,084\.60元"))
    chat.send("我想分6期还")
    table = chat.page.locator("#kuanxin-chat table.schedule").last
    expect(table.locator("tbody tr")).to_have_count(6)
    expect(table.locator("caption")).to_have_text("还款计划")
    # drawn from the message's schedule data (no text parsed back): every row's date and amount, to the cent
    expect(table.locator("tbody tr").first).to_contain_text("2026年12月22日")
    expect(table.locator("tbody tr").last).to_contain_text("514.10元")
    # inside the envelope the confirmation is the written agreement: its key terms drawn as a card from its data
    card = chat.page.locator("#kuanxin-chat section.terms").last
    expect(card).to_contain_text("分期还款协议(待您确认)")
    expect(card.locator("tr.total")).to_have_text(re.compile(r"共需还款\s*3,084\.60元"))
    expect(card.locator("tr", has_text="年化费率")).to_contain_text("0.00%")
    expect(chat.bot_messages().last).to_contain_text("其他回复都不算同意")
    screenshot(chat.page, "webchat-installment-table")


def test_a_borrower_writing_english_gets_english_tables_and_an_english_widget(servers, db, new_context):
    chat = ChatPage(new_context().new_page(), f"{servers.web_url}/signed-in").open()
    widget = chat.page.locator("#kuanxin-chat")
    expect(widget.locator("button[type=submit]")).to_have_text("发送")
    chat.send("how much do i owe")
    expect(widget.locator("table.amounts tr.total").last).to_have_text(re.compile(r"Total due\s*3,084\.60 yuan"))
    expect(widget.locator("button[type=submit]")).to_have_text("Send")
    expect(widget.locator("textarea")).to_have_attribute("placeholder", re.compile("^Ask a question"))
    expect(widget.locator(".status")).to_have_text("Connected · signed in")
    chat.send("i want to pay in 6 installments")
    schedule = widget.locator("table.schedule").last
    expect(schedule.locator("caption")).to_have_text("Repayment schedule")
    expect(schedule.locator("thead th")).to_have_text(["Installment", "Due on", "Amount"])
    expect(schedule.locator("tbody tr").first).to_have_text(re.compile(r"No\. 1\s*22 December 2026\s*514\.1\d yuan"))
    chat.send("我逾期了多少钱")  # back to Chinese, the widget with it
    expect(widget.locator("button[type=submit]")).to_have_text("发送")
    # the answer in Chinese; the agreement still waiting is then shown again in Chinese, the text to accept
    expect(widget.locator("table.amounts tr.total").filter(has_text="合计应还")).to_have_text(
        [re.compile(r"合计应还\s*3,084\.60元")])


def test_a_tampered_or_expired_token_falls_back_to_the_identity_check(servers, db, new_context):
    good = sign_borrower_token("B1001", WEBCHAT_SECRET)
    header, payload, signature = good.split(".")
    other = sign_borrower_token("B1002", WEBCHAT_SECRET).split(".")[1]
    expired = sign_borrower_token("B1001", WEBCHAT_SECRET, lifetime_seconds=60, issued_at=0)
    for token in (f"{header}.{other}.{signature}", expired, sign_borrower_token("B1001", "not-the-lender-secret")):
        page = new_context().new_page()
        page.add_init_script(f"window.KuanxinChatOptions = {{token: {token!r}}};")
        chat = ChatPage(page, f"{servers.web_url}/").open()
        expect(chat.page.locator("#kuanxin-chat .status")).not_to_contain_text("已登录")
        chat.send("我逾期了多少钱")
        expect(chat.bot_messages().last).to_contain_text("手机号")
        assert "3,084.60" not in chat.transcript()


def test_another_browser_naming_a_session_id_sees_and_writes_nothing_of_it(servers, db, new_context):
    owner = ChatPage(new_context().new_page(), f"{servers.web_url}/").open()
    owner.send("13812345678 123X 我逾期了多少钱")
    expect(owner.page.locator("#kuanxin-chat .log")).to_contain_text("3,084.60")
    victim = owner.session_id()
    before = user_texts(servers, victim)

    intruder_page = new_context().new_page()
    # the stolen id with a made-up credential, as if copied from the owner's storage
    intruder_page.add_init_script(
        f"localStorage.setItem('kuanxin-chat:' + location.protocol + '//' + location.hostname + ':'"
        f" + '{servers.rasa_port}' + ':anonymous', '{victim}.{'0' * 32}');")
    intruder = ChatPage(intruder_page, f"{servers.web_url}/").open()
    assert intruder.session_id() != victim
    assert "3,084.60" not in intruder.transcript()
    # and the stock protocol's way: name the session in session_request and in the message itself
    intruder_page.evaluate(f"""() => {{
        KuanxinChat.socket.emit('session_request', {{session_id: '{victim}', resume: '{victim}'}});
        KuanxinChat.socket.emit('user_uttered', {{message: '我逾期了多少钱', session_id: '{victim}',
                                                  metadata: {{borrower_id: 'B1001'}}}});
    }}""")
    expect(intruder.bot_messages().last).to_contain_text("手机号")
    assert "3,084.60" not in intruder.transcript()
    assert user_texts(servers, victim) == before


def test_the_widget_fits_a_phone_screen(servers, db, new_context, screenshot):
    page = new_context(**PHONE).new_page()
    chat = ChatPage(page, f"{servers.web_url}/").open()
    chat.send("我逾期了会有什么影响")
    box = page.locator("#kuanxin-chat .panel").bounding_box()
    assert box["width"] == PHONE["viewport"]["width"] and box["x"] == 0
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    screenshot(page, "webchat-phone")


def test_a_staff_reply_arrives_labelled_as_from_a_person(servers, db, new_context):
    chat = ChatPage(new_context().new_page(), f"{servers.web_url}/").open()
    chat.send("你好")
    reply = "您好,我是客服小王<b>。</b>您的情况我已了解。"
    response = requests.post(
        f"{servers.rasa_url}/conversations/{chat.session_id()}/tracker/events",
        params={"token": TOKEN, "output_channel": "latest", "execute_side_effects": "true"},
        json={"event": "bot", "text": reply, "data": {"custom": {"kuanxin_staff": {"name": "王小明"}}}},
        timeout=30)
    assert response.status_code == 200, response.text
    staff = chat.page.locator("#kuanxin-chat .message.staff")
    expect(staff).to_have_count(1)
    expect(staff.locator(".who")).to_have_text("人工客服 · 王小明")
    expect(staff).to_contain_text(reply)  # shown as text: the markup is not interpreted
    assert staff.locator("b").count() == 0


def test_no_request_leaves_for_another_host(servers, db, new_context):
    page = new_context().new_page()
    hosts = set()
    page.on("request", lambda request: hosts.add(re.sub(r":\d+$", "", request.url.split("/")[2])))
    chat = ChatPage(page, f"{servers.web_url}/").open()
    chat.send("你好")
    assert hosts == {"127.0.0.1"}


def test_a_lost_connection_is_shown_and_the_conversation_resumes(servers, db, new_context):
    context = new_context()
    chat = ChatPage(context.new_page(), f"{servers.web_url}/").open()
    chat.send("13812345678 123X 我逾期了多少钱")
    expect(chat.bot_messages().last).to_contain_text("3,084.60")
    session = chat.session_id()
    context.set_offline(True)
    status = chat.page.locator("#kuanxin-chat .status")
    expect(status).to_contain_text("正在", timeout=30_000)
    expect(status).to_have_class(re.compile("problem"))
    context.set_offline(False)
    expect(status).to_contain_text("已连接", timeout=30_000)
    assert chat.session_id() == session
    chat.send("我还欠多少")
    expect(chat.bot_messages().last).to_contain_text("3,084.60")  # same session, still verified
