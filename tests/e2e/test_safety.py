"""The safety protocol against the real servers: REST in the middle of the identity and deferral forms,
WeChat through the double; the escalation, the reminder pause and staff clearing it in the console.
Then anger and despair without danger: a calm answer, a person the second time."""
from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from sqlalchemy import select

from kuanxin.console.casework import Casework
from kuanxin.reminders.selection import read_circumstances
from kuanxin.store.models import Escalation, SafetyFlag, SenderBinding
from testkit.servers import TODAY
from testkit.wechat import Platform, new_openid, text_xml
from tests.e2e.console_client import ConsoleClient, new_staff

AMOUNT = re.compile(r"\d[\d,]*(?:\.\d{2})?元")
IDENTITY_WORDS = ("手机号", "身份证", "后4位", "后四位", "核实身份")
DAY = dt.date.fromisoformat(TODAY)


def assert_crisis_reply(reply: str) -> None:
    assert "12356" in reply and "120" in reply and "110" in reply, reply
    assert not AMOUNT.search(reply), reply
    for word in IDENTITY_WORDS + ("逾期", "欠款", "征信", "起诉"):
        assert word not in reply, (word, reply)


def safety_escalation(db, conversation_id: str) -> Escalation:
    with db.session() as session:
        return session.execute(select(Escalation).where(Escalation.conversation_id == conversation_id,
                                                        Escalation.reason == "safety")).scalar_one()


def flags(db, conversation_id: str) -> list[SafetyFlag]:
    with db.session() as session:
        return list(session.execute(select(SafetyFlag).where(SafetyFlag.conversation_id == conversation_id)).scalars())


def latest_user_intent(tracker: dict) -> str:
    return [e for e in tracker["events"] if e["event"] == "user"][-1]["parse_data"]["intent"]["name"]


def test_in_the_identity_form_then_verified_later_and_cleared_in_the_console(servers, borrower, db):
    assert "手机号" in borrower.say("我逾期了多少钱")
    assert "后4位" in borrower.say("138 1234 5678")
    reply = borrower.say("欠这么多钱还不上,我真的不想活了")
    assert_crisis_reply(reply)
    tracker = borrower.tracker()
    assert tracker["active_loop"] in ({}, None) or not tracker["active_loop"].get("name")
    assert latest_user_intent(tracker) == "express_crisis"
    escalation = safety_escalation(db, borrower.sender)
    assert (escalation.priority, escalation.status, escalation.borrower_id) == ("high", "open", None)
    assert Casework(db).queue()[0].id == escalation.id
    [flag] = flags(db, borrower.sender)
    assert flag.borrower_id is None and flag.cleared_at is None

    # the borrower verifies later in the conversation: the flag now names them, reminders pause
    borrower.verify("13812345678", "123X")
    assert flags(db, borrower.sender)[0].borrower_id == "B1001"
    assert "B1001" in read_circumstances(db, DAY).in_crisis

    # staff see it on the conversation page and clear it, with an audit entry
    console = ConsoleClient(servers.web_url)
    console.log_in(new_staff(db, "agent", "李娜"))
    page = console.get(f"/console/escalations/{escalation.id}").text
    assert "安全关注" in page and "解除安全关注" in page
    done = console.post(f"/console/escalations/{escalation.id}/clear-safety", note="已电话联系,借款人确认安全")
    assert done.status_code == 200 and "安全关注已解除" in done.text and "已电话联系,借款人确认安全" in done.text
    assert "解除安全关注" in done.text  # the audit trail names the action
    assert flags(db, borrower.sender)[0].cleared_at is not None
    assert "B1001" not in read_circumstances(db, DAY).in_crisis


def test_in_the_deferral_form_a_verified_borrower_is_flagged_at_once(borrower, db):
    borrower.verify("13812345678", "123X")
    ask = borrower.say("我想申请延期")
    assert "几个月" in ask
    reply = borrower.say("活着真没意思,还不如死了算了")
    assert_crisis_reply(reply)
    tracker = borrower.tracker()
    assert not (tracker.get("active_loop") or {}).get("name")
    assert safety_escalation(db, borrower.sender).borrower_id == "B1001"
    assert "B1001" in read_circumstances(db, DAY).in_crisis
    # the conversation goes on normally afterwards; the form does not come back by itself
    after = borrower.say("你好")
    assert "12356" not in after and "几个月" not in after


def test_a_resent_crisis_message_is_answered_once(borrower, db):
    first = borrower.say("我想自杀", message_id="m-crisis-1")
    again = borrower.say("我想自杀", message_id="m-crisis-1")
    assert first == again and "12356" in first
    assert len([e for e in borrower.tracker()["events"] if e["event"] == "user"]) == 1


def test_hyperbole_is_not_the_protocol(borrower, db):
    reply = borrower.say("烦死了")
    assert "12356" not in reply
    assert flags(db, borrower.sender) == []


@pytest.fixture
def platform(servers, wechat_account, wechat_api, action_proxy, db):
    wechat_api.reset(keep_token=True)
    action_proxy.delays.clear()
    return Platform(wechat_account, f"{servers.rasa_url}/webhooks/wechat/webhook")


def test_wechat_bound_borrower_gets_the_protocol_and_reminders_pause(platform, wechat_api, db):
    openid = new_openid()
    with db.session() as session:
        session.add(SenderBinding(sender_id=openid, channel="wechat", borrower_id="B1003",
                                  created_at=dt.datetime(2026, 11, 1)))
    deliveries = platform.push(text_xml(openid, "欠了三个平台 真的撐不下去了 想一了百了", time.time_ns() // 1000))
    assert [(d.status, d.body) for d in deliveries] == [(200, "success")]
    reply = "\n".join(wechat_api.wait_for_texts(openid, 1))
    assert_crisis_reply(reply)
    escalation = safety_escalation(db, openid)
    assert (escalation.priority, escalation.borrower_id, escalation.channel) == ("high", "B1003", "wechat")
    assert "B1003" in read_circumstances(db, DAY).in_crisis
    Casework(db).clear_safety_flags(openid, _staff(db), "已联系,借款人安全", dt.datetime.now(dt.timezone.utc))
    assert "B1003" not in read_circumstances(db, DAY).in_crisis


def _staff(db):
    from kuanxin.console.staff import StaffDirectory
    username = new_staff(db, "agent")
    return next(member for member, _ in StaffDirectory(db).members() if member.username == username)


# anger and despair without danger --------------------------------------------------------------

def test_frustration_gets_a_calm_answer_then_a_person(borrower, db):
    first = borrower.say("你们有完没完啊 烦死了")
    assert "12356" not in first and "一步一步来" in first and "转人工" in borrower.buttons()
    second = borrower.say("什么垃圾平台 气死我了")
    assert "已为您转接工作人员" in second
    with db.session() as session:
        escalation = session.execute(select(Escalation).where(Escalation.conversation_id == borrower.sender)
                                     ).scalar_one()
    assert (escalation.reason, escalation.priority) == ("frustration", "normal")


def test_frustration_inside_a_form_is_answered_and_the_form_goes_on(borrower):
    borrower.verify("13812345678", "123X")
    assert "几个月" in borrower.say("我想申请延期")
    reply = borrower.say("唉 真的烦死了 我太难了")
    assert "一步一步来" in reply and "12356" not in reply
    assert "个月" in reply  # the form asks its question again
    assert "原因" in borrower.say("三个月")  # the form took the answer and asks its next question
