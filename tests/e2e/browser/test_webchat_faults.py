"""The widget under stress and with bad options, in a real Chromium against the real servers.

Fifty messages sent at once all reach the conversation, in order, each answered (the widget's send
queue: one message at a time, the next after the server's acknowledgement). A lender token that is
not a plain ASCII string is dropped before use and the chat goes on as an anonymous one.
"""
from __future__ import annotations

import re
import time

import requests
from playwright.sync_api import expect

from testkit.servers import TOKEN
from tests.e2e.browser.chat_page import RESUME_KEY, ChatPage

BURST = 50


def events(servers, session_id: str) -> list[dict]:
    response = requests.get(f"{servers.rasa_url}/conversations/{session_id}/tracker",
                            params={"token": TOKEN}, timeout=30)
    response.raise_for_status()
    return response.json()["events"]


def user_texts(servers, session_id: str) -> list[str]:
    return [e.get("text") for e in events(servers, session_id) if e["event"] == "user"]


def test_fifty_messages_sent_at_once_all_arrive_in_order_and_are_answered(servers, db, new_context):
    page = new_context().new_page()
    # no websocket: socket.io stays on HTTP long-polling, where engine.io takes at most 16 packets a request
    page.route_web_socket(re.compile(r"/socket\.io/"), lambda socket: socket.close())
    chat = ChatPage(page, f"{servers.web_url}/").open()
    texts = [f"第{n}条:逾期了会有什么影响" for n in range(1, BURST + 1)]
    chat.send_all_at_once(texts)
    expect(chat.page.locator("#kuanxin-chat .message.user")).to_have_count(BURST)
    session = chat.session_id()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(user_texts(servers, session)) < BURST:
        time.sleep(1)
    recorded = events(servers, session)
    said = [e.get("text") for e in recorded if e["event"] == "user"]
    assert said == texts, f"{len(said)} of {BURST} recorded: {said}"
    # each message answered before the next one was taken up
    kinds = [e["event"] for e in recorded if e["event"] in ("user", "bot")]
    turns = "".join("u" if kind == "user" else "b" for kind in kinds)
    assert "uu" not in turns and turns.endswith("b"), turns
    expect(chat.unsent()).to_have_count(0, timeout=60_000)
    assert chat.bot_messages().count() >= BURST + 1  # the greeting and at least one answer each
    assert chat.page.locator("#kuanxin-chat .notice").count() == 0


def test_a_malformed_token_is_dropped_and_the_chat_goes_on_anonymously(servers, db, new_context):
    # JavaScript source: a lone surrogate, control characters, a token over 4 KB, not a string at all
    for token in ('"eyJhbGciOiJIUzI1NiJ9.\\ud800.x"', '"abc\\u0000def\\u0007"', '"a".repeat(5000)', "12345",
                  '{"sub": "B1001"}', '"\\udfff"'):
        page = new_context().new_page()
        page.add_init_script(f"window.KuanxinChatOptions = {{token: {token}}};")
        chat = ChatPage(page, f"{servers.web_url}/").open()
        expect(chat.page.locator("#kuanxin-chat .status")).not_to_contain_text("已登录")
        chat.send("我逾期了多少钱")
        expect(chat.bot_messages().last).to_contain_text("手机号")
        assert user_texts(servers, chat.session_id()) == ["我逾期了多少钱"], token
        # dropped by the widget itself (not only refused by the server): kept as an anonymous chat
        keys = page.evaluate("() => Object.keys(localStorage)")
        assert [k for k in keys if RESUME_KEY.match(k)][0].endswith(":anonymous"), (token, keys)


def test_a_message_with_a_lone_surrogate_still_gets_an_answer(servers, db, new_context):
    page = new_context().new_page()
    page.add_init_script("window.KuanxinChatOptions = {token: 'x\\ud800'};")
    chat = ChatPage(page, f"{servers.web_url}/").open()
    before = chat.bot_messages().count()
    page.evaluate("() => KuanxinChat.send('逾期了会有什么影响\\ud800\\u0001', '逾期了会有什么影响')")
    expect(chat.bot_messages()).not_to_have_count(before)
    expect(chat.unsent()).to_have_count(0)
    said = user_texts(servers, chat.session_id())
    assert len(said) == 1 and said[0].startswith("逾期了会有什么影响") and "\x01" not in said[0]
