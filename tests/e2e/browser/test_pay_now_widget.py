"""Pay now in the widget, in a real Chromium against the real servers: the balance comes with a button that opens
the lender's payment page in a new tab, signed; a payment the lender then pushes is told at once in the open
conversation, without the borrower writing (the web process's sweeper, through Rasa's API), and not again at the
next message."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from tests.e2e.browser.chat_page import ChatPage
from tests.e2e.test_lender_api import push


def test_the_balance_has_a_pay_now_button_and_a_pushed_payment_is_told_at_once(servers, db, new_context, screenshot):
    chat = ChatPage(new_context().new_page(), f"{servers.web_url}/signed-in").open()
    chat.send("我逾期了多少钱")
    button = chat.bot_messages().last.locator("a.pay-now")
    expect(button).to_have_text("立即还款 3,084.60元")
    expect(button).to_have_attribute("target", "_blank")
    href = button.get_attribute("href") or ""
    query = parse_qs(urlsplit(href).query)
    assert query["loan"] == ["L1001"] and query["amount"] == ["3084.60"]
    screenshot(chat.page, "webchat-pay-now")
    # the lender's page (served here by the demo app; links name KUANXIN_PUBLIC_WEB_URL) checks the signature
    page = new_context().new_page()
    page.goto(f"{servers.web_url}{urlsplit(href).path}?{urlsplit(href).query}")
    expect(page.locator("#amount")).to_have_text("¥3084.60")
    page.goto(f"{servers.web_url}{urlsplit(href).path}?{urlsplit(href).query.replace('3084.60', '30.00')}")
    expect(page.locator("#refused")).to_contain_text("链接已过期或被改动")

    paid = {"type": "payment", "id": "P-WIDGET-1", "loan_id": "L1001", "amount": "84.60",
            "paid_at": "2026-11-22T10:00:00+08:00", "channel": "wechat_pay"}
    told = "已收到您2026年11月22日的还款84.60元"
    replies = chat.bot_messages().count()
    assert push(servers, [paid]).json()["results"][0]["outcome"] == "inserted"
    log = chat.page.locator("#kuanxin-chat .log")
    expect(log).to_contain_text(told, timeout=20_000)  # the borrower wrote nothing
    expect(log).to_contain_text("目前还有3,000.00元逾期未还")
    assert chat.bot_messages().count() == replies + 1
    screenshot(chat.page, "webchat-payment-told-open")
    chat.send("好的")  # waits for the reply; the payment, if told again, would come before it
    chat.page.wait_for_timeout(1000)
    assert log.inner_text().count(told) == 1  # told once: the next message does not tell it again
