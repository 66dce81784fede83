"""A staff reply reaches a borrower's web chat whichever instance the console's request lands on.

The console itself (KUANXIN_RASA_URL: the cluster's internal port, hashed on the conversation id)
works an escalation end to end: the foundation's browser test, unchanged, on the cluster.
"""
from __future__ import annotations

import requests
from playwright.sync_api import expect

from testkit.servers import TOKEN
from tests.e2e.browser.chat_page import ChatPage
from tests.e2e.browser.test_console import (  # noqa: F401 - the foundation's console test, run on the cluster
    test_a_supervisor_takes_over_replies_hands_back_approves_and_resolves,
)


def staff_reply(base_url: str, session: str, text: str) -> requests.Response:
    return requests.post(f"{base_url}/conversations/{session}/tracker/events",
                         params={"token": TOKEN, "output_channel": "latest", "execute_side_effects": "true"},
                         json={"event": "bot", "text": text, "data": {"custom": {"kuanxin_staff": {"name": "王小明"}}}},
                         timeout=30)


def test_a_staff_reply_through_either_instance_reaches_the_widget(cluster, db, new_context):
    chat = ChatPage(new_context().new_page(), f"{cluster.url}/").open()
    chat.send("你好")
    session = chat.session_id()
    for n, instance in enumerate(cluster.instances):  # one of them holds the socket, the other does not
        response = staff_reply(instance.rasa_url, session, f"您好,这是第{n + 1}条人工回复。")
        assert response.status_code == 200, response.text
        expect(chat.page.locator("#kuanxin-chat .message.staff")).to_have_count(n + 1)
    expect(chat.page.locator("#kuanxin-chat .message.staff").last).to_contain_text("这是第2条人工回复")
    chat.send("我逾期了会有什么影响")  # the conversation goes on through nginx as before


def test_the_console_address_reaches_rasa_and_the_public_port_does_not(cluster, db, new_context):
    assert cluster.env["KUANXIN_RASA_URL"] == cluster.rasa_url != cluster.url
    chat = ChatPage(new_context().new_page(), f"{cluster.url}/").open()
    chat.send("你好")
    session = chat.session_id()
    assert staff_reply(cluster.url, session, "不该送达").status_code == 404
    response = staff_reply(cluster.rasa_url, session, "您好,我是人工客服。")
    assert response.status_code == 200, response.text
    expect(chat.page.locator("#kuanxin-chat .message.staff")).to_have_count(1)
    expect(chat.page.locator("#kuanxin-chat .message.staff")).to_contain_text("我是人工客服")
