"""Forms as borrowers use them: questions in the middle, corrections, leaving, partial promises.

Today is pinned to 2026-11-22; 张伟 (13812345678 / 123X) has loan L1001 68 days overdue, 3,084.60 owed.
"""
import re

from sqlalchemy import select

from kuanxin.store import preferences
from kuanxin.store.models import AuditEntry, PaymentPromise, ServiceRequest

REFERENCE = re.compile(r"(?:YQ|FQ|CN)\d{8}-\d{4}")
NOT_UNDERSTOOD = "没有识别到需要的信息"


def requests_of(db, sender):
    with db.session() as session:
        return list(session.execute(select(ServiceRequest).where(ServiceRequest.conversation_id == sender)).scalars())


def test_a_question_inside_the_installment_form_is_answered_then_the_form_goes_on(borrower, db):
    borrower.verify("13812345678", "123X")
    assert "分几期" in borrower.say("我想分期")
    reply = borrower.say("分期了还会上征信吗")
    assert "征信" in reply and "5年" in reply and NOT_UNDERSTOOD not in reply
    assert reply.strip().endswith("您想分几期?(可选3、6、12、24、36期)")
    assert borrower.buttons() == ["3期", "6期", "12期", "24期", "36期"]  # the answer's own buttons stay out
    assert "共需还款3,084.60元" in borrower.say("6期")


def test_how_long_a_decision_takes_asked_inside_a_plan_is_answered_by_the_plan(borrower, db):
    borrower.verify("13812345678", "123X")
    assert "分几期" in borrower.say("我想分期")
    reply = borrower.say("要多久能批下来")
    assert "3个工作日内" in reply and "申请进度" not in reply, reply  # the plan's terms, not a status check
    assert reply.strip().endswith("您想分几期?(可选3、6、12、24、36期)")
    assert requests_of(db, borrower.sender) == []


def test_a_question_inside_the_identity_form_is_answered_and_the_check_goes_on(borrower):
    assert "手机号" in borrower.say("我要查一下欠款")
    reply = borrower.say("逾期了会有什么后果")
    assert "征信" in reply and "我们继续核实身份:请告诉我您登记的手机号。" in reply
    assert "已逾期68天" in borrower.say("13812345678 123X")


def test_a_question_about_plans_inside_the_identity_form_is_answered_and_the_first_request_resumes(borrower):
    assert "手机号" in borrower.say("我要查一下欠款")
    reply = borrower.say("等等 分期要手续费吗")
    assert "不另收利息或手续费" in reply and "当场办理" in reply and "3个工作日" in reply  # the envelope, then staff
    assert "没有识别到手机号" not in reply and "我们继续核实身份:请告诉我您登记的手机号。" in reply
    resumed = borrower.say("13812345678 123X")
    assert "合计应还:3,084.60元" in resumed and "分几期" not in resumed  # what they asked for, not the question


def test_reminder_preferences_said_inside_an_agreement_are_kept_and_the_agreement_waits(borrower, db):
    borrower.verify("13812345678", "123X")
    assert "分期还款协议" in borrower.say("我想分6期")
    reply = borrower.say("以后提醒我用短信发 晚上别打扰")
    assert "已记下" in reply and "08:00-18:00" in reply and "回到分期协议" in reply and "「确认」" not in reply
    chosen = preferences.current(db, "B1001")
    assert chosen.channel == "sms" and (f"{chosen.window[0]:%H:%M}", f"{chosen.window[1]:%H:%M}") == ("08:00", "18:00")
    assert "明确回复「我同意」" in borrower.say("嗯嗯")  # not acceptance
    asked = borrower.say("等下 这个要手续费吗")  # "这个": the plan in hand, whatever the classifier made of it
    assert "不另收利息或手续费" in asked and "回到分期协议" in asked and "没太明白" not in asked, asked
    assert REFERENCE.search(borrower.say("我同意"))


def test_a_change_of_mind_when_asked_for_a_reason_is_not_taken_for_the_reason(borrower, db):
    borrower.verify("13812345678", "123X")
    borrower.say("我想延期三个月")
    assert "原因" in borrower.replies[-1]["text"]
    switched = borrower.say("那还是分期吧")
    assert "分几期" in switched and "延期" not in switched, switched
    assert "分期还款协议" in borrower.say("6期")
    assert requests_of(db, borrower.sender) == []


def test_a_balance_asked_with_a_request_is_shown_before_the_request_goes_on(borrower):
    reply = borrower.say("13812345678 123X 我想知道欠多少 还有能不能分期")
    assert "身份核实成功" in reply and "合计应还:3,084.60元" in reply and "分几期" in reply
    assert reply.index("合计应还") < reply.index("分几期")
    assert borrower.buttons() == ["3期", "6期", "12期", "24期", "36期"]  # the form's choices, not the balance's


def test_asked_what_each_payment_would_be_the_form_shows_it_for_every_choice(borrower):
    borrower.verify("13812345678", "123X")
    assert "分几期" in borrower.say("我想分期")
    reply = borrower.say("分期的话每期多少")
    assert "分6期每期514.10元" in reply and "分3期每期1,028.20元" in reply and "3,084.60元" in reply, reply
    assert reply.strip().endswith("您想分几期?(可选3、6、12、24、36期)")


def test_asked_before_identity_what_each_payment_would_be_the_question_after_it_shows_them(borrower):
    assert "手机号" in borrower.say("我想分期 每期多少")
    borrower.say("13812345678")
    reply = borrower.say("123X")
    assert "分几期" in reply and "分6期每期514.10元" in reply and "分3期每期1,028.20元" in reply, reply
    assert borrower.buttons() == ["3期", "6期", "12期", "24期", "36期"]


def test_asked_about_the_credit_report_inside_a_plan_the_answer_is_about_the_plan(borrower, db):
    borrower.verify("13812345678", "123X")
    assert "分期还款协议" in borrower.say("分6期")
    reply = borrower.say("等等 分期会影响征信吗")
    assert "分期不会删除已经发生的逾期记录" in reply and "保留5年" in reply, reply
    assert "每天增加约" not in reply  # not the general consequences of being overdue
    assert "回到分期协议" in reply and borrower.buttons() == ["我同意", "取消"]
    assert REFERENCE.search(borrower.say("我同意"))


def test_a_request_said_with_its_hardship_is_the_request_with_its_reason(borrower):
    """The classifier splits "我想延期 现在失业了 没收入" between the request and the hardship: it is the request."""
    assert "手机号" in borrower.say("我想延期 现在失业了 没收入")
    borrower.say("13812345678")
    assert "延期几个月" in borrower.say("123X")
    summary = borrower.say("3个月")
    assert "原因:现在失业了,没收入" in summary and "确认提交吗" in summary, summary


def test_a_correction_before_confirming_changes_the_plan(borrower, db):
    borrower.verify("13812345678", "123X")  # inside the envelope: the confirmation is the written agreement
    assert "分6期偿还" in borrower.say("分6期")
    corrected = borrower.say("不对,我要分12期")
    assert "分12期偿还" in corrected and "第12期" in corrected
    confirmed = borrower.say("我同意")
    assert REFERENCE.search(confirmed)
    [request] = requests_of(db, borrower.sender)
    assert (request.type, request.periods, request.status) == ("installment", 12, "approved")


def test_a_change_to_a_pending_request_updates_it_with_an_audit_entry(borrower, db):
    borrower.verify("13812345678", "123X")
    borrower.say("分24期")  # beyond the 12 periods the assistant approves: a request for staff
    first = REFERENCE.search(borrower.say("确认")).group(0)
    borrower.say("我想改成分36期")
    changed = borrower.say("确认")
    assert "已按您的新要求修改" in changed and first in changed
    [request] = requests_of(db, borrower.sender)
    assert request.periods == 36 and request.reference == first
    with db.session() as session:
        audit = session.execute(select(AuditEntry).where(AuditEntry.target == first,  # references restart
                                                         AuditEntry.action == "request_changed",
                                                         AuditEntry.conversation_id == borrower.sender)).scalar_one()
    assert "24 -> 36" in audit.detail


def test_leaving_a_form_at_any_step_keeps_the_borrower_verified(borrower, db):
    borrower.verify("13812345678", "123X")
    borrower.say("我要延期")
    left = borrower.say("算了不办了")
    assert "已取消" in left
    assert "已逾期68天" in borrower.say("我逾期了多少钱")  # no identity question again
    borrower.say("分6期")
    assert "已取消" in borrower.say("先不用了")
    assert requests_of(db, borrower.sender) == []


def test_a_message_the_form_cannot_use_gets_an_example(borrower):
    borrower.verify("13812345678", "123X")
    borrower.say("我想分期")
    reply = borrower.say("嗯嗯那个啥")
    assert "例如「分6期」" in reply and NOT_UNDERSTOOD not in reply


def test_deferral_offers_only_the_lengths_that_would_help(borrower):
    borrower.verify("13812345678", "123X")  # earliest overdue 2026-09-15: +1 and +2 months are already past
    reply = borrower.say("我想申请延期")
    assert "可选3个月" in reply and borrower.buttons() == ["3个月"]


def test_a_partial_promise_records_the_amount_said_and_what_remains(borrower, db):
    borrower.verify("13812345678", "123X")
    reply = borrower.say("下个月5号我先还1000")
    assert "先还1,000.00元" in reply and "仍有2,084.60元逾期" in reply and "每天0.05%" in reply
    assert "2026年12月5日" in borrower.say("12月5号")  # the same date again: still the same question
    recorded = borrower.say("对")
    assert "还款1,000.00元" in recorded and REFERENCE.search(recorded)
    with db.session() as session:
        promise = session.execute(select(PaymentPromise).where(
            PaymentPromise.conversation_id == borrower.sender)).scalar_one()
    assert str(promise.amount) == "1000.00" and promise.promised_date.isoformat() == "2026-12-05"


def test_a_promise_of_more_than_is_owed_says_the_allowed_range(borrower):
    borrower.verify("13812345678", "123X")
    reply = borrower.say("月底还5000块")
    assert "超过了目前的逾期总额3,084.60元" in reply


def test_a_change_of_mind_moves_to_the_other_request(borrower, db):
    borrower.verify("13812345678", "123X")
    assert "分几期" in borrower.say("我想分期")
    switched = borrower.say("还是申请延期吧")
    assert "延期几个月" in switched and "分几期" not in switched
    assert "原因" in borrower.say("3个月")


def test_leaving_words_that_name_the_other_plan_switch_to_it_and_back(borrower, db):
    borrower.verify("13812345678", "123X")
    borrower.say("我想延期三个月")
    assert "原因" in borrower.replies[-1]["text"]
    switched = borrower.say("算了 还是分期吧")  # classified as leaving: still a change of mind
    assert "分几期" in switched and "已取消" not in switched, switched
    back = borrower.say("算了 还是延期吧")
    assert "延期" in back and "已取消" not in back and "分几期" not in back, back
    assert "已取消" in borrower.say("算了")  # leaving said alone leaves
    assert requests_of(db, borrower.sender) == []


def test_leaving_words_that_name_the_other_plan_switch_even_at_the_agreement(borrower, db):
    borrower.verify("13812345678", "123X")
    assert "分期还款协议" in borrower.say("我想分6期")
    switched = borrower.say("算了 还是延期吧")
    assert "延期几个月" in switched and "已取消" not in switched, switched
    assert "已取消" in borrower.say("算了 不延期了")  # the plan in hand refused: leaving
    assert requests_of(db, borrower.sender) == []


def test_a_plan_asked_for_beside_whether_we_are_genuine_gets_the_answer_then_the_identity_check(borrower):
    reply = borrower.say("你好 我想分期 每期多少 顺便问下你们是正规平台吗")
    assert "我们只通过官方App" in reply and "手机号" in reply, reply
    assert reply.index("我们只通过官方App") < reply.index("手机号")
    resumed = borrower.say("13812345678 123X")
    assert "分几期" in resumed and "分6期每期514.10元" in resumed and "还有什么可以帮您" not in resumed, resumed
    assert "我们只通过官方App" not in resumed  # answered once


def test_a_deferral_asked_for_beside_whether_we_are_genuine_gets_both_verified_or_not(borrower, another_borrower):
    reply = borrower.say("我想延期 你们是正规的吗")
    assert "我们只通过官方App" in reply and "手机号" in reply, reply
    assert "延期几个月" in borrower.say("13812345678 123X")
    another_borrower.verify("13812345678", "123X")
    reply = another_borrower.say("我想延期 你们是正规的吗")
    assert "我们只通过官方App" in reply and "延期几个月" in reply, reply
    assert reply.index("我们只通过官方App") < reply.index("延期几个月")
