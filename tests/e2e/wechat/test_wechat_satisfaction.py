"""The satisfaction question in WeChat (against the WeChat double): the buttons become a numbered choice, and the
borrower's digit is the rating, counted under the WeChat channel."""
from __future__ import annotations

from sqlalchemy import select

from kuanxin.store.models import SatisfactionAsk, SatisfactionRatingRecord
from tests.e2e.wechat.test_wechat_channel import say


def test_a_question_answered_then_thanks_asks_with_numbers_and_a_digit_rates(platform, wechat_api, openid, db):
    assert "还款" in say(platform, wechat_api, openid, "还款渠道有哪些")
    asked = say(platform, wechat_api, openid, "谢谢")
    assert "想请您评价一下这次服务" in asked and "1. 满意\n2. 一般\n3. 不满意" in asked, asked
    assert "谢谢您的评价!" in say(platform, wechat_api, openid, "1")
    with db.session() as session:
        ask = session.execute(select(SatisfactionAsk)).scalar_one()
        rating = session.execute(select(SatisfactionRatingRecord.rating)).scalar_one()
    assert (ask.conversation_id, ask.borrower_id, ask.channel, ask.outcome, ask.topic, rating) == (
        openid, None, "wechat", "answered", "ask_repayment_methods", "good")
