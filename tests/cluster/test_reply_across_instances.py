"""A staff reply reaches a borrower's web chat whichever instance the console's request lands on."""
from __future__ import annotations

import requests
from playwright.sync_api import expect

from tests.e2e.browser.chat_page import ChatPage
from tests.e2e.harness import TOKEN


def test_a_staff_reply_through_either_instance_reaches_the_widget(cluster, db, new_context):
    chat = ChatPage(new_context().new_page(), f"{cluster.url}/").open()
    chat.send("你好")
    session = chat.session_id()
    for n, instance in enumerate(cluster.instances):  # one of them holds the socket, the other does not
        response = requests.post(
            f"{instance.rasa_url}/conversations/{session}/tracker/events",
            params={"token": TOKEN, "output_channel": "latest", "execute_side_effects": "true"},
            json={"event": "bot", "text": f"您好,这是第{n + 1}条人工回复。",
                  "data": {"custom": {"kuanxin_staff": {"name": "王小明"}}}}, timeout=30)
        assert response.status_code == 200, response.text
        expect(chat.page.locator("#kuanxin-chat .message.staff")).to_have_count(n + 1)
    expect(chat.page.locator("#kuanxin-chat .message.staff").last).to_contain_text("这是第2条人工回复")
    chat.send("我逾期了会有什么影响")  # the conversation goes on through nginx as before
