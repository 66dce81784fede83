"""Reminders and WeChat: a bound borrower's one-word 退订 stops reminders at once; a borrower WeChat refuses
(unfollowed: 43004) gets the reminder by SMS from `kuanxin reminders run` the same day."""
import datetime as dt
import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from kuanxin.store.models import Reminder, ReminderOptOut, SenderBinding
from testkit.wechat import text_xml


@pytest.mark.parametrize("word", ["退订", "取消提醒"])
def test_a_bound_wechat_borrower_replies_one_word(platform, wechat_api, openid, db, word):
    with db.session() as session:
        session.add(SenderBinding(sender_id=openid, channel="wechat", borrower_id="B1003",
                                  created_at=dt.datetime(2026, 11, 1)))
    platform.push(text_xml(openid, word, msg_id=abs(hash((openid, word))) % 10**12))
    answer = wechat_api.wait_for_texts(openid, 1)[0]
    assert "已为您取消还款提醒" in answer
    assert opted_out(db) == {"B1003": "wechat"}


def opted_out(db) -> dict:
    with db.session() as session:
        return {o.borrower_id: o.channel for o in session.execute(select(ReminderOptOut)).scalars()}


B1002_PHONE = "13900001111"  # the demo's early borrower; B1001 (13812345678) is reminded by SMS as usual


def test_a_borrower_who_unfollowed_gets_the_reminder_by_sms(servers, wechat_api, sms_gateway, openid, db):
    with db.session() as session:
        session.add(SenderBinding(sender_id=openid, channel="wechat", borrower_id="B1002",
                                  created_at=dt.datetime(2026, 11, 1)))
    wechat_api.reset(keep_token=True)
    wechat_api.refuse(openid, 43004)
    sms_gateway.reset()
    env = {**servers.env, "KUANXIN_TIME": "10:00"}
    run = subprocess.run([sys.executable, "-m", "kuanxin.ops.cli", "reminders", "run"], env={**os.environ, **env},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "sent 2, failed 0" in run.stdout and "WeChat errcode 43004; sent by SMS" in run.stdout
    assert wechat_api.refused == [("/cgi-bin/message/template/send", 43004)] and wechat_api.sent == []
    texts = {m["to"]: m["text"] for m in sms_gateway.sent}
    assert sorted(texts) == ["13812345678", B1002_PHONE]
    assert texts[B1002_PHONE].startswith("【宽心消费金融(演示)】您的借款有款项尚未归还")
    assert B1002_PHONE not in run.stdout + run.stderr  # masked
    with db.session() as session:
        record = session.execute(select(Reminder).where(Reminder.borrower_id == "B1002")).scalar_one()
    assert (record.channel, record.recipient, record.status, record.error) == (
        "sms", "139****1111", "sent", "WeChat errcode 43004; sent by SMS")
