"""Pay now in WeChat (issue 19), through the WeChat double: no button there, so the signed link to the lender's
payment page is in the answer's text, and the page accepts it only unaltered."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import requests

from tests.e2e.test_lender_api import push
from tests.e2e.wechat.test_wechat_channel import say

PAY_LINK = re.compile(r"(https?://\S+/demo/lender/pay\?\S+)")


def test_the_balance_in_wechat_carries_the_pay_link_in_its_text(servers, platform, wechat_api, openid):
    say(platform, wechat_api, openid, "我逾期了多少钱")
    say(platform, wechat_api, openid, "13812345678")
    answer = say(platform, wechat_api, openid, "123X")  # verified: the question asked first is answered
    link = PAY_LINK.search(answer)
    assert link, answer
    parts = urlsplit(link.group(1))
    assert parse_qs(parts.query)["amount"] == ["3084.60"] and "立即还款" not in answer  # a link, not a button
    page = requests.get(f"{servers.web_url}{parts.path}?{parts.query}", timeout=30)
    assert page.status_code == 200 and "¥3084.60" in page.text
    altered = requests.get(f"{servers.web_url}{parts.path}?{parts.query.replace('L1001', 'L1002')}", timeout=30)
    assert altered.status_code == 403


def test_a_payment_pushed_by_the_lender_is_told_in_wechat_at_once(servers, platform, wechat_api, openid):
    say(platform, wechat_api, openid, "我逾期了多少钱")
    say(platform, wechat_api, openid, "13812345678")
    say(platform, wechat_api, openid, "123X")
    paid = {"type": "payment", "id": "P-WX-1", "loan_id": "L1001", "amount": "1084.60",
            "paid_at": "2026-11-22T08:30:00+08:00", "channel": "wechat_pay"}
    before = len(wechat_api.texts(openid))
    assert push(servers, [paid]).json()["results"][0]["outcome"] == "inserted"
    # the borrower writes nothing: the open conversation is told through a customer-service message
    told = "\n".join(wechat_api.wait_for_texts(openid, before + 1)[before:])
    assert "已收到您2026年11月22日的还款1,084.60元" in told and "目前还有2,000.00元逾期未还" in told, told
    assert "已收到您" not in say(platform, wechat_api, openid, "收到")  # and once only
