"""Pay now and payments told (issue 19), through the real servers over HTTP: after a balance or a promise the
borrower gets a signed link to the lender's payment page, which the page's verifier accepts only unaltered; a
payment pushed through the lender's API is told in the borrower's next message with the new balance to the cent,
and a promise it covers is kept at once."""
from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from sqlalchemy import select

from kuanxin.store.models import OutboxEvent, PaymentPromise
from testkit.servers import Borrower
from tests.e2e.test_lender_api import push

PAY_LINK = re.compile(r"(https?://\S+/demo/lender/pay\?\S+)")
PHONE, ID_TAIL = "13812345678", "123X"  # 张伟, B1001: L1001 68 days overdue


def blocks(replies: list[dict]) -> list[dict]:
    return [block for message in replies for block in ((message.get("custom") or {}).get("blocks") or [])]


def on_test_server(servers, url: str, **changes: str) -> requests.Response:
    """The link opened on the test's web app (links name KUANXIN_PUBLIC_WEB_URL), with query values changed."""
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    return requests.get(f"{servers.web_url}{parts.path}?{urlencode({**query, **changes})}", timeout=30)


def suggested(reply: str) -> Decimal:
    """The amount a reply's pay link suggests: after a balance, the loan's overdue total."""
    return Decimal(parse_qs(urlsplit(PAY_LINK.findall(reply)[0]).query)["amount"][0])


def test_a_balance_comes_with_a_signed_pay_link_that_the_lenders_page_accepts_only_unaltered(servers, borrower):
    borrower.verify(PHONE, ID_TAIL)
    reply = borrower.say("我逾期了多少钱")
    links = PAY_LINK.findall(reply)
    assert len(links) == 1, reply
    query = parse_qs(urlsplit(links[0]).query)
    assert query["loan"] == ["L1001"]
    button = next(b for b in blocks(borrower.replies) if b["type"] == "pay")
    assert button["url"] == links[0] and button["label"] == f"立即还款 {Decimal(query['amount'][0]):,.2f}元"
    assert "转账" in reply and "账号" not in reply  # never an account number in the chat
    page = on_test_server(servers, links[0])
    assert page.status_code == 200 and "L1001" in page.text and f"¥{query['amount'][0]}" in page.text
    for change in ({"amount": "1.00"}, {"loan": "L1002"}, {"expires": "4102444800"}, {"signature": "A" * 43}):
        refused = on_test_server(servers, links[0], **change)
        assert refused.status_code == 403 and "链接无效" in refused.text and "L100" not in refused.text, change


def test_a_payment_pushed_by_the_lender_is_told_in_the_next_message_with_the_new_balance(servers, borrower):
    borrower.verify(PHONE, ID_TAIL)
    before = suggested(borrower.say("我逾期了多少钱"))
    assert before == Decimal("3084.60")
    paid = {"type": "payment", "id": "P-NOW-1", "loan_id": "L1001", "amount": "1000.00",
            "paid_at": "2026-11-22T09:00:00+08:00", "channel": "wechat_pay"}
    assert push(servers, [paid]).json()["results"][0]["outcome"] == "inserted"
    told = borrower.say("好的谢谢")
    # paid today: the charges it covered stop nothing already accrued, so the total falls by exactly 1,000.00
    after = before - Decimal("1000.00")
    assert "已收到您2026年11月22日的还款1,000.00元" in told, told
    assert f"目前还有{after:,.2f}元逾期未还" in told, told
    assert "已收到您" not in borrower.say("我逾期了多少钱")  # told once
    again = Borrower(servers)  # a new conversation of the same borrower: already told
    assert "已收到您" not in again.verify(PHONE, ID_TAIL)


def test_a_promise_the_payment_covers_is_kept_at_once_and_the_promise_reply_has_its_pay_link(servers, borrower, db):
    borrower.verify(PHONE, ID_TAIL)
    borrower.say("我30号还800")
    recorded = borrower.say("确认")
    assert "已为您登记" in recorded
    links = PAY_LINK.findall(recorded)
    assert len(links) == 1 and parse_qs(urlsplit(links[0]).query)["amount"] == ["800.00"], recorded
    assert on_test_server(servers, links[0]).status_code == 200
    paid = {"type": "payment", "id": "P-PROMISED", "loan_id": "L1001", "amount": "800.00",
            "paid_at": "2026-11-22T11:00:00+08:00", "channel": "bank_card"}
    assert push(servers, [paid]).json()["results"][0]["outcome"] == "inserted"
    with db.session() as session:
        promise = session.execute(select(PaymentPromise).where(PaymentPromise.borrower_id == "B1001")).scalar_one()
        kinds = session.execute(select(OutboxEvent.kind).where(OutboxEvent.borrower_id == "B1001")).scalars().all()
    assert promise.status == "kept" and "promise.kept" in kinds
    told = borrower.say("我还欠多少")
    assert "已收到您2026年11月22日的还款800.00元" in told
