"""PostgreSQL or Redis down: the borrower is told plainly to send the message again; nothing is lost.

Measured: while a store is down every turn answers 503 with Retry-After (never a 200 with nothing, never
a blank-tracker answer), /ready says which part fails, and after the store is back the same message
re-sent with its message_id is handled exactly once.
"""
from __future__ import annotations

import re
import time
import uuid

import pytest
from sqlalchemy import select

from kuanxin.store.db import Database
from kuanxin.store.models import ServiceRequest
from testkit.servers import Borrower
from testkit.wechat import Platform, new_openid, text_xml
from tests.e2e.faults.conftest import ready, wait_until_ready
from tests.e2e.wechat.conftest import Tracker

REFERENCE = re.compile(r"YQ\d{8}-\d{4}")


def borrower_at_confirmation(servers) -> Borrower:
    borrower = Borrower(servers)
    borrower.verify("13812345678", "123X")
    borrower.say("延期三个月,因为我失业了")
    assert borrower.buttons() == ["确认提交", "取消"], borrower.replies
    return borrower


def requests_of(servers, sender: str) -> list[str]:
    with Database(servers.env["KUANXIN_DATABASE_URL"]).session() as session:
        return list(session.execute(select(ServiceRequest.reference)
                                    .where(ServiceRequest.conversation_id == sender)).scalars())


def user_texts(borrower: Borrower) -> list[str]:
    return [e["text"] for e in borrower.tracker()["events"] if e["event"] == "user"]


@pytest.mark.parametrize("outage", ["postgres", "redis"])
def test_an_outage_answers_retry_and_the_resent_message_counts_once(fault_servers, fresh_accounts, private_postgres,
                                                                     private_redis, outage):
    store = private_postgres if outage == "postgres" else private_redis
    borrower = borrower_at_confirmation(fault_servers)
    confirm_id = uuid.uuid4().hex
    store.stop()
    try:
        answers = [borrower.send("/affirm", confirm_id) for _ in range(3)]
        assert [a.status_code for a in answers] == [503] * 3
        assert all(a.headers["Retry-After"] == "2" and "没有处理成功" in a.json()["message"] for a in answers)
        assert "Traceback" not in answers[0].text
        failing = ready(fault_servers)
        assert failing.status_code == 503
        assert ("tracker_store" if outage == "postgres" else "lock_store") in failing.json()["failing"]
    finally:
        store.start()
    print(f"\n{outage} back: ready again after {wait_until_ready(fault_servers):.1f}s")
    reply = borrower.say("/affirm", confirm_id)
    reference = REFERENCE.search(reply).group(0)
    assert borrower.say("/affirm", confirm_id) == reply  # a second re-send: the same answer, no second turn
    assert user_texts(borrower).count("/affirm") == 1
    assert requests_of(fault_servers, borrower.sender) == [reference]


def test_a_conversation_store_outage_never_runs_a_turn_on_a_blank_tracker(fault_servers, fresh_accounts,
                                                                          private_postgres):
    borrower = borrower_at_confirmation(fault_servers)
    private_postgres.stop()
    try:
        answer = borrower.send("/affirm")
        assert answer.status_code == 503 and "请问还有什么可以帮您" not in answer.text
    finally:
        private_postgres.start()
    wait_until_ready(fault_servers)
    assert REFERENCE.search(borrower.say("/affirm"))  # the form is where it was


def test_wechat_pushes_are_not_acknowledged_while_the_store_is_down(fault_servers, private_postgres,
                                                                    wechat_account, wechat_api):
    platform = Platform(wechat_account, f"{fault_servers.rasa_url}/webhooks/wechat/webhook")
    openid, push = new_openid(), None
    private_postgres.stop()
    time.sleep(1.1)  # the channel re-checks readiness at most once a second
    try:
        push = text_xml(openid, "逾期会有什么后果", 920_001)
        refused = platform.push(push, tries=1)
        assert [d.status for d in refused] == [503]  # WeChat pushes it again later
    finally:
        private_postgres.start()
    wait_until_ready(fault_servers)
    time.sleep(1.1)  # the channel re-checks readiness at most once a second
    assert [d.status for d in platform.push(push, tries=1)] == [200]  # WeChat's retry of the same message
    assert "征信" in "\n".join(wechat_api.wait_for_texts(openid, 1))
    assert [e["text"] for e in Tracker(fault_servers).events(openid) if e["event"] == "user"] == ["逾期会有什么后果"]
