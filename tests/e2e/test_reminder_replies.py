"""Borrowers stop reminders from where they are: an SMS reply (through the gateway) or the chat (WeChat: wechat/).

Every opt-out is then honoured by the next reminders run; sessions are recorded for the analytics.
"""
import datetime as dt
import time

import requests
from sqlalchemy import select

from kuanxin.core import clock
from kuanxin.core.policy import load_policy
from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.reminders.run import Channels, run
from kuanxin.reminders.sms import SmsGateway, sms_settings
from kuanxin.store.models import ConversationSession, ReminderOptOut
from testkit.servers import run_async

B1001_PHONE = "13812345678"


def opt_outs(db) -> dict:
    with db.session() as session:
        return {o.borrower_id: o.channel for o in session.execute(select(ReminderOptOut)).scalars()}


def reply_sms(servers, sms_gateway, payload, key=None, raw=None):
    return requests.post(f"{servers.web_url}/sms/inbound", data=raw, json=None if raw is not None else payload,
                         headers={"Authorization": f"Bearer {key or sms_gateway.key}"}, timeout=30)


def test_an_sms_reply_stops_reminders_and_tells_nobody_who_borrows(servers, sms_gateway, db):
    assert reply_sms(servers, sms_gateway, {"from": B1001_PHONE, "text": "退订"}, key="wrong" * 5).status_code == 401
    for raw in (b"", b"{", "退订".encode("gbk"), b"[]", b'{"from": 138, "text": "TD"}', b"x" * 10_000,
                b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "TD">]><x>&e;</x>'):
        assert reply_sms(servers, sms_gateway, None, raw=raw).status_code == 400, raw[:30]
    chatty = reply_sms(servers, sms_gateway, {"from": B1001_PHONE, "text": "我下周还'; DROP TABLE borrowers;--"})
    assert chatty.json() == {"opted_out": False} and opt_outs(db) == {}
    stranger = reply_sms(servers, sms_gateway, {"from": "13999999999", "text": "TD"})
    assert stranger.status_code == 200 and stranger.json() == {"opted_out": True}
    stop = reply_sms(servers, sms_gateway, {"from": f"+86{B1001_PHONE}", "text": " 取消提醒 "})
    assert stop.status_code == 200 and opt_outs(db) == {"B1001": "sms"}
    assert reply_sms(servers, sms_gateway, {"from": B1001_PHONE, "text": "TD"}).status_code == 200  # again: fine
    assert opt_outs(db) == {"B1001": "sms"}
    # the first opt-out is confirmed by one SMS (sent after the answer), the second is not
    confirmations = wait_for_sms(sms_gateway, B1001_PHONE)
    assert len(confirmations) == 1 and "退订成功" in confirmations[0]["text"]
    report = remind_now(db, sms_gateway)
    assert "B1001" in {o.plan.candidate.borrower_id for o in report.outcomes if o.plan.skip == "opted_out"}
    assert B1001_PHONE not in [m["to"] for m in sms_gateway.sent]


def wait_for_sms(sms_gateway, phone: str, seconds: float = 10) -> list[dict]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        to_phone = [m for m in sms_gateway.sent if m["to"] == phone]
        if to_phone:
            time.sleep(0.5)  # a second one, which must not come, would be here by now
            return [m for m in sms_gateway.sent if m["to"] == phone]
        time.sleep(0.05)
    return []


def remind_now(db, sms_gateway):
    async def go():
        gateway = SmsGateway(sms_settings(sms_gateway.env()))
        try:
            return await run(db, load_policy(PROJECT_ROOT / "policy.yml"),
                             dt.datetime(2026, 11, 22, 10, tzinfo=clock.BEIJING), Channels(sms=gateway))
        finally:
            await gateway.close()
    sms_gateway.reset()
    return run_async(go())


def test_saying_it_in_the_chat_after_proving_who_you_are(borrower, db):
    ask = borrower.say("以后别再给我发还款提醒了")
    assert "手机号" in ask and opt_outs(db) == {}
    borrower.say(B1001_PHONE)
    done = borrower.say("123X")
    assert "已为您取消还款提醒" in done
    assert opt_outs(db) == {"B1001": "rest"}
    assert "之前已经取消" in borrower.say("退订")
    with db.session() as session:
        sessions = list(session.execute(select(ConversationSession).where(
            ConversationSession.conversation_id == borrower.sender)).scalars())
    assert [s.borrower_id for s in sessions] == ["B1001"]  # the session now counts as B1001's
