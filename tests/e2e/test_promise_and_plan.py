"""A request asked for again: nothing said for an earlier request fills a new one.

Today is pinned to 2026-11-22; 张伟 (13812345678 / 123X) has loan L1001 68 days overdue, 3,084.60 owed; a deferral
can only be for 3 months (the earlier lengths end in the past).
"""

from sqlalchemy import select

from kuanxin.store.models import ServiceRequest

ASKS_MONTHS = "您想延期几个月"
ASKS_REASON = "需要延期的原因"


def requests_of(db, sender):
    with db.session() as session:
        return list(session.execute(select(ServiceRequest).where(ServiceRequest.conversation_id == sender)).scalars())


def test_a_deferral_asked_for_again_asks_for_the_months_again(borrower, db):
    borrower.verify("13812345678", "123X")
    first = borrower.say("我想延期三个月")
    assert ASKS_REASON in first and ASKS_MONTHS not in first, first  # the months said are taken
    assert "已取消" in borrower.say("算了")
    assert "分几期" in borrower.say("我想分期")
    again = borrower.say("算了 还是延期吧")  # a change of mind: a new deferral, not the one cancelled
    assert ASKS_MONTHS in again and ASKS_REASON not in again, again
    assert ASKS_REASON in borrower.say("3个月")
    assert requests_of(db, borrower.sender) == []


def test_months_said_before_the_identity_check_fill_the_deferral_but_only_that_one(borrower, db):
    assert "手机号" in borrower.say("我想延期三个月")
    borrower.say("13812345678")
    first = borrower.say("123X")
    assert ASKS_REASON in first and ASKS_MONTHS not in first, first
    assert "已取消" in borrower.say("算了 不办了")
    again = borrower.say("最近生病住院 收入没了 只能申请延期了")  # a hardship naming the plan starts it
    assert ASKS_MONTHS in again and ASKS_REASON not in again, again  # its reason is taken, its months asked
    summary = borrower.say("3个月")
    assert "原因:最近生病住院" in summary and "确认提交吗" in summary, summary
