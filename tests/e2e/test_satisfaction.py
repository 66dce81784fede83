"""Borrower satisfaction through the real servers over HTTP (REST channel): after a promise the borrower is asked
once, taps 满意 and leaves a comment; a second conversation the same day is not asked; a typed answer counts; a
question ignored is never asked again and the message is answered as usual; the console's report page and CSV show
the figures with their definitions. The db fixture (conftest) starts each test without satisfaction records."""
from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from kuanxin.store.models import SatisfactionAsk, SatisfactionComment, SatisfactionRatingRecord
from testkit.servers import Borrower
from tests.e2e.console_client import ConsoleClient, new_staff

PHONE, ID_TAIL = "13812345678", "123X"  # 张伟, B1001
OTHER_PHONE, OTHER_TAIL = "13900001111", "4567"  # B1002
QUESTION = "想请您评价一下这次服务"
RATINGS = ["满意", "一般", "不满意"]
DAY = "2026-11-22"  # the servers' pinned today


def asks(db) -> list[SatisfactionAsk]:
    with db.session() as session:
        rows = list(session.execute(select(SatisfactionAsk).order_by(SatisfactionAsk.id)).scalars())
        session.expunge_all()
        return rows


def test_a_promise_is_followed_by_one_question_a_tap_and_a_comment_and_not_again_that_day(servers, db, borrower):
    borrower.verify(PHONE, ID_TAIL)
    borrower.say("我30号还800")
    recorded = borrower.say("确认")
    assert "已登记" in recorded or "CN2026" in recorded, recorded
    assert QUESTION in recorded and borrower.buttons() == RATINGS
    payloads = [b["payload"] for m in borrower.replies for b in m.get("buttons", [])]
    assert payloads == ['/rate_conversation{"rating":"good"}', '/rate_conversation{"rating":"neutral"}',
                        '/rate_conversation{"rating":"bad"}']

    thanked = borrower.say(payloads[0])  # the borrower taps 满意
    assert "谢谢您的评价" in thanked and "有什么想说的可以直接告诉我,不说也没关系" in thanked
    commented = borrower.say("说话挺客气的,有事打我电话13812345678")
    assert "谢谢您的意见" in commented
    assert QUESTION not in borrower.say("谢谢")  # never twice in one conversation

    [ask] = asks(db)
    assert (ask.conversation_id, ask.borrower_id, ask.channel, ask.topic, ask.outcome, str(ask.day)) == (
        borrower.sender, "B1001", "rest", "promise_to_pay", "promise", DAY)
    with db.session() as session:
        rating = session.execute(select(SatisfactionRatingRecord)).scalar_one()
        comment = session.execute(select(SatisfactionComment)).scalar_one()
    assert (rating.ask_id, rating.rating, rating.outcome, rating.channel) == (ask.id, "good", "promise", "rest")
    assert comment.comment == "说话挺客气的,有事打我电话138****5678"  # the number masked

    second = Borrower(servers)  # the same borrower, a new conversation, the same day
    second.verify(PHONE, ID_TAIL)
    second.say("我29号还500")
    again = second.say("确认")
    assert "CN2026" in again and QUESTION not in again and "满意" not in second.buttons()
    assert QUESTION not in second.say("谢谢")
    assert len(asks(db)) == 1


def test_a_question_answered_then_thanks_asks_and_a_typed_rating_counts(servers, db, borrower):
    borrower.verify(OTHER_PHONE, OTHER_TAIL)
    assert "还款" in borrower.say("怎么还款")
    asked = borrower.say("好的谢谢")
    assert "不客气" in asked and QUESTION in asked and borrower.buttons() == RATINGS
    assert "谢谢您的评价,我们会继续改进" in borrower.say("还行吧")  # typed, not tapped
    answer = borrower.say("我逾期了多少钱")  # not a comment: a question, answered as usual
    assert "谢谢您的意见" not in answer and "元" in answer
    [ask] = asks(db)
    assert (ask.borrower_id, ask.outcome, ask.topic) == ("B1002", "answered", "ask_repayment_methods")
    with db.session() as session:
        assert session.execute(select(SatisfactionRatingRecord.rating)).scalar_one() == "neutral"
        assert session.execute(select(func.count()).select_from(SatisfactionComment)).scalar_one() == 0


def test_a_question_ignored_is_not_a_trap_and_never_asked_again(servers, db, borrower):
    borrower.say("还款方式有哪些")  # not verified: a general question, keyed by the conversation
    assert QUESTION in borrower.say("谢谢")
    moved_on = borrower.say("逾期了会影响征信吗")
    assert QUESTION not in moved_on and "谢谢您的评价" not in moved_on and "征信" in moved_on
    assert QUESTION not in borrower.say("好的 谢谢")
    [ask] = asks(db)
    assert ask.borrower_id is None and ask.outcome == "answered"
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(SatisfactionRatingRecord)).scalar_one() == 0


def test_the_report_page_and_csv_show_the_figures_with_their_definitions(servers, db, borrower):
    borrower.verify(PHONE, ID_TAIL)
    borrower.say("我30号还800")
    borrower.say("确认")
    borrower.say('/rate_conversation{"rating":"bad"}')
    other = Borrower(servers)
    other.verify(OTHER_PHONE, OTHER_TAIL)
    other.say("怎么还款")
    other.say("谢谢")  # asked, never answered
    staff = ConsoleClient(servers.web_url)
    staff.log_in(new_staff(db, "agent"))
    page = staff.get(f"/console/report?start={DAY}&end={DAY}").text
    part = page[page.index('id="satisfaction-title"'):page.index('id="satisfaction-definitions"')]
    assert '<tr data-figure="satisfaction.asked"><th scope="row">已询问</th><td class="num">2</td>' in part
    assert "1(50.0%)" in part  # answered, and the response rate
    assert "0.0% / 0.0% / 100.0%" in part  # satisfied / neutral / dissatisfied
    assert "登记还款承诺" in part and "解答问题" in part and "承诺还款" in part and "接口" in part
    for definition in ("满意率</dt><dd>评价为「满意」的次数 ÷ 已评价次数。", "评价率</dt><dd>已评价 ÷ 已询问。"):
        assert definition in page
    export = staff.get(f"/console/report.csv?start={DAY}&end={DAY}")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    this_period = {row[5]: (row[3], row[4]) for row in rows if row[0] == "本期"}
    assert this_period["satisfaction.asked"] == ("满意度·已询问", "2")
    assert this_period["satisfaction.response_rate"] == ("满意度·评价率", "50.0%")
    assert this_period["satisfaction.csat"] == ("满意度·满意率", "0.0%")
    assert this_period["satisfaction.outcome.promise.answered"] == ("满意度·登记还款承诺·已评价", "1")
    assert this_period["satisfaction.channel.rest.asked"] == ("满意度·接口·已询问", "2")
