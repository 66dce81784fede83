"""Reminder preferences said in the conversation (issue 19), through the real servers over HTTP: stored as said,
refused outside the lawful hours, a pause only after a hardship, and shown to staff on the case page."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from kuanxin.console.casework import Casework
from kuanxin.store import preferences
from kuanxin.store.models import AuditEntry
from tests.e2e.console_client import ConsoleClient, new_staff

PHONE, ID_TAIL = "13812345678", "123X"


def test_a_verified_borrower_chooses_sms_in_the_evening_and_staff_see_it(servers, db, borrower):
    borrower.verify(PHONE, ID_TAIL)
    saved = borrower.say("以后提醒都发短信吧 晚上七点到九点之间")
    assert "已记下" in saved and "用短信提醒" in saved and "19:00-21:00" in saved, saved
    chosen = preferences.current(db, "B1001")
    assert chosen is not None and chosen.channel == "sms"
    assert chosen.window == (dt.time(19), dt.time(21)) and chosen.paused_until is None
    with db.session() as session:
        entry = session.execute(select(AuditEntry).where(AuditEntry.action == "reminder_preferences",  # audit stays
                                                         AuditEntry.conversation_id == borrower.sender)).scalar_one()
    assert (entry.staff, entry.target, entry.conversation_id) == ("borrower", "B1001", borrower.sender)

    borrower.say("转人工")
    escalation = next(e for e in Casework(db).queue() if e.conversation_id == borrower.sender)
    console = ConsoleClient(servers.web_url)
    console.log_in(new_staff(db, "agent"))
    page = console.get(f"/console/escalations/{escalation.id}").text
    assert "提醒偏好" in page and "提醒渠道" in page and "短信" in page and "19:00-21:00" in page
    assert "借款人设置提醒偏好" in console.get(f"/console/escalations/{escalation.id}").text  # in the audit


def test_hours_outside_the_lawful_ones_are_refused_and_nothing_is_stored(servers, db, borrower):
    borrower.verify(PHONE, ID_TAIL)
    refused = borrower.say("你们晚上十点以后再提醒我吧")
    assert "08:00-21:00" in refused and "22:00" in refused, refused
    assert preferences.current(db, "B1001") is None


def test_a_pause_follows_a_stated_hardship_and_asked_before_verification_it_resumes_after(servers, db, borrower):
    asked = borrower.say("提醒先暂停几天行吗")
    assert "手机号" in asked  # behind the identity check
    told = borrower.say(f"{PHONE} {ID_TAIL}")
    assert "暂停提醒是为遇到困难的借款人准备的" in told and "7天" in told, told
    assert preferences.current(db, "B1001") is None
    borrower.say("我上个月被公司裁了 现在没收入")
    paused = borrower.say("那帮我暂停一下提醒吧")
    assert "2026年11月29日前暂停提醒" in paused, paused
    assert preferences.current(db, "B1001").paused_until == dt.date(2026, 11, 29)
