"""Two requests in one message, and a request asked for again: nothing the borrower said is lost, and nothing said
for an earlier request fills a new one.

Today is pinned to 2026-11-22; 张伟 (13812345678 / 123X) has loan L1001 68 days overdue, 3,084.60 owed; a deferral
can only be for 3 months (the earlier lengths end in the past).
"""
import re

from sqlalchemy import select

from kuanxin.store.models import PaymentPromise, ServiceRequest

PROMISE_REFERENCE = re.compile(r"CN\d{8}-\d{4}")
PLAN_REFERENCE = re.compile(r"FQ\d{8}-\d{4}")
ASKS_MONTHS = "您想延期几个月"
ASKS_REASON = "需要延期的原因"


def promises_of(db, sender):
    with db.session() as session:
        return list(session.execute(select(PaymentPromise).where(PaymentPromise.conversation_id == sender)).scalars())


def requests_of(db, sender):
    with db.session() as session:
        return list(session.execute(select(ServiceRequest).where(ServiceRequest.conversation_id == sender)).scalars())


def test_a_promise_and_a_plan_for_the_rest_in_one_message_are_both_taken_up(borrower, db):
    borrower.verify("13812345678", "123X")
    reply = borrower.say("我下个月5号还2000 剩下的能分期吗")
    assert "先登记这笔还款" in reply and "剩下部分的分期" in reply, reply  # the other half is said to follow
    assert "2026年12月5日(星期六)先还2,000.00元" in reply and "仍有1,084.60元逾期" in reply, reply
    assert reply.index("先登记这笔还款") < reply.index("先还2,000.00元")
    recorded = borrower.say("对")
    assert PROMISE_REFERENCE.search(recorded) and "还款2,000.00元" in recorded, recorded
    assert "接下来为您办理剩下部分的分期" in recorded and "您想分几期" in recorded, recorded
    assert recorded.index("还款2,000.00元") < recorded.index("您想分几期")
    [promise] = promises_of(db, borrower.sender)
    assert (promise.promised_date.isoformat(), str(promise.amount)) == ("2026-12-05", "2000.00")
    assert requests_of(db, borrower.sender) == []  # the plan is still being asked about
    assert "分6期偿还" in borrower.say("6期")
    assert PLAN_REFERENCE.search(borrower.say("我同意"))
    [plan] = requests_of(db, borrower.sender)
    assert (plan.type, plan.periods, plan.status) == ("installment", 6, "approved")
    assert len(promises_of(db, borrower.sender)) == 1


def test_a_promise_said_inside_the_plan_form_is_recorded_and_the_plan_goes_on(borrower, db):
    borrower.verify("13812345678", "123X")
    assert "您想分几期" in borrower.say("我想分期")
    reply = borrower.say("这样吧 12月5号我先还1500 剩下的分6期")
    assert "先还1,500.00元" in reply and "分期还款协议" not in reply, reply
    recorded = borrower.say("确认")
    assert PROMISE_REFERENCE.search(recorded) and "您想分几期" in recorded, recorded
    [promise] = promises_of(db, borrower.sender)
    assert (promise.promised_date.isoformat(), str(promise.amount)) == ("2026-12-05", "1500.00")
    assert "分6期偿还" in borrower.say("6期")


def test_a_promise_and_a_plan_asked_before_the_identity_check_are_both_taken_up_after_it(borrower, db):
    assert "手机号" in borrower.say("下个月5号我先还2000块 剩下的分期行不行")
    reply = borrower.say("13812345678 123X")
    assert "先登记这笔还款" in reply and "2026年12月5日(星期六)先还2,000.00元" in reply, reply
    declined = borrower.say("不对")  # the promise refused: the plan asked for is still taken up
    assert "这次先不登记" in declined and "接下来为您办理分期" in declined and "您想分几期" in declined, declined
    assert promises_of(db, borrower.sender) == []


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


def test_periods_said_with_the_promise_fill_the_plan_that_follows(borrower, db):
    borrower.verify("13812345678", "123X")
    reply = borrower.say("月底能还一千 剩下的分6期可以不")
    assert "先登记这笔还款" in reply and "2026年11月30日(星期一)先还1,000.00元" in reply, reply
    recorded = borrower.say("好的")
    assert PROMISE_REFERENCE.search(recorded) and "分6期偿还" in recorded and "您想分几期" not in recorded, recorded
    [promise] = promises_of(db, borrower.sender)
    assert (promise.promised_date.isoformat(), str(promise.amount)) == ("2026-11-30", "1000.00")
