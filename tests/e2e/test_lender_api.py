"""The lender's push API over HTTP against the real web app, and what a borrower then hears in the chat."""
from __future__ import annotations

import json
import time
import uuid

import requests
from sqlalchemy import select

from kuanxin.core.webhooks import signed_headers
from kuanxin.store.models import PaymentPromise
from testkit.servers import LENDER_API_SECRET

BOOK = [
    {"type": "borrower", "id": "B9001", "name": "周敏", "phone": "13900009999", "id_number": "11010119900101123x"},
    {"type": "loan", "id": "L9001", "borrower_id": "B9001", "product": "消费贷", "principal": "3000.00",
     "annual_rate": "0.18", "penalty_daily_rate": "0.0005", "late_fee": "30.00", "start_date": "2026-09-15",
     "status": "active"},
    *({"type": "schedule", "loan_id": "L9001", "period": n, "due_date": due, "principal": "1000.00",
       "interest": "150.00"} for n, due in ((1, "2026-10-15"), (2, "2026-11-15"), (3, "2026-12-15"))),
    {"type": "payment", "id": "P1", "loan_id": "L9001", "amount": "500.00", "paid_at": "2026-11-20T10:00:00+08:00",
     "channel": "bank_card"},
]


def push(servers, records, batch_id: str | None = None, secret: str = LENDER_API_SECRET,
         now: float | None = None) -> requests.Response:
    body = json.dumps({"records": records}, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json",
               **signed_headers(secret, batch_id or f"msg_{uuid.uuid4().hex}", body, now)}
    return requests.post(f"{servers.web_url}/lender/v1/records", data=body, headers=headers, timeout=30)


def test_a_pushed_book_and_payment_reach_the_borrower_to_the_cent(servers, db, borrower):
    answer = push(servers, BOOK)
    assert answer.status_code == 200, answer.text
    assert [r["outcome"] for r in answer.json()["results"]] == ["inserted"] * 6
    reply = borrower.verify("139 0000 9999", "123x")
    reply += borrower.say("我逾期了多少钱")
    # today (22 Nov): the 500.00 of 20 Nov paid the first instalment's fee, 36 days' penalty (18.00), its interest
    # and 302.00 of principal; 698.70 is left on it (0.70 penalty since) and 1,183.50 on the second
    assert "1,882.20" in reply, reply


def test_a_batch_sent_again_is_answered_the_same_and_changes_nothing(servers, db):
    first = push(servers, BOOK, batch_id="msg_same")
    again = push(servers, BOOK, batch_id="msg_same")
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other_body = push(servers, BOOK[:1], batch_id="msg_same")
    assert other_body.status_code == 409
    fresh = push(servers, BOOK)  # a new id for the same records: every one unchanged
    assert {r["outcome"] for r in fresh.json()["results"]} == {"unchanged"}


def test_each_rejected_record_is_named_with_its_reason(servers, db):
    answer = push(servers, [BOOK[0], {**BOOK[1], "borrower_id": "B0"}, {"type": "payment", "id": "X"}, "junk"])
    results = answer.json()["results"]
    assert answer.status_code == 200
    assert results[0]["outcome"] == "inserted"
    assert results[1] == {"index": 1, "type": "loan", "outcome": "rejected",
                          "reason": "borrower_id: no borrower 'B0' (send the borrower first)"}
    assert results[2]["outcome"] == "rejected" and "loan_id" in results[2]["reason"]
    assert results[3]["outcome"] == "rejected"


def test_unsigned_forged_stale_or_malformed_requests_are_refused(servers, db):
    url = f"{servers.web_url}/lender/v1/records"
    assert requests.post(url, json={"records": BOOK}, timeout=30).status_code == 401
    assert push(servers, BOOK, secret="whsec_" + "A" * 44).status_code == 401
    assert push(servers, BOOK, now=time.time() - 3600).status_code == 401  # a replay an hour later
    body = b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>"
    headers = {"Content-Type": "application/json", **signed_headers(LENDER_API_SECRET, "msg_xml", body)}
    refused = requests.post(url, data=body, headers=headers, timeout=30)
    assert refused.status_code == 400 and "not JSON" in refused.json()["error"]
    assert push(servers, []).status_code == 400
    assert requests.post(url, data="x", headers={"Content-Type": "text/plain"}, timeout=30).status_code == 415


def test_a_sync_keeps_what_the_borrower_promised(servers, db, borrower):
    borrower.verify("13812345678", "123X")
    borrower.say("我30号还1000")
    borrower.say("确认")
    with db.session() as session:
        promised = session.execute(select(PaymentPromise.amount).where(PaymentPromise.borrower_id == "B1001")).all()
    assert promised, "the promise was not recorded"
    changed_loan = {"type": "loan", "id": "L1001", "borrower_id": "B1001", "product": "消费贷", "principal": "12000.00",
                    "annual_rate": "0.18", "penalty_daily_rate": "0.0005", "late_fee": "30.00",
                    "start_date": "2026-03-15", "status": "active"}
    payment = {"type": "payment", "id": "P-L1001-1", "loan_id": "L1001", "amount": "100.00",
               "paid_at": "2026-11-21T09:00:00+08:00", "channel": "wechat_pay"}
    assert push(servers, [changed_loan, payment]).status_code == 200
    with db.session() as session:
        assert session.execute(select(PaymentPromise.amount)
                               .where(PaymentPromise.borrower_id == "B1001")).all() == promised
