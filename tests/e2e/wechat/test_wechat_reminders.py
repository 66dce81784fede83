"""退订 in WeChat: a bound borrower's one-word reply stops reminders at once."""
import datetime as dt

import pytest
from sqlalchemy import select

from kuanxin.store.models import ReminderOptOut, SenderBinding
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
