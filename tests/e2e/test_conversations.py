"""Whole conversations over the REST channel against running Rasa and action servers (today pinned to 2026-11-22)."""
import re

import pytest
from sqlalchemy import select

from kuanxin.store.models import Escalation, PaymentPromise, ServiceRequest

AMOUNT = re.compile(r"\d[\d,]*\.\d{2}元")
REFERENCE = re.compile(r"(?:YQ|FQ|JM|CN|RG)\d{8}-\d{4}")


def test_greeting_says_it_is_an_ai_assistant(borrower):
    reply = borrower.say("你好")
    assert "AI智能助手" in reply
    assert "查询欠款" in borrower.buttons()


def test_balance_needs_identity_first_then_shows_every_part(borrower):
    ask = borrower.say("我逾期了多少钱")
    assert "手机号" in ask and not AMOUNT.search(ask) and "L1001" not in ask
    ask_id = borrower.say("13812345678")
    assert "后4位" in ask_id and not AMOUNT.search(ask_id)
    statement = borrower.say("123x")
    assert "身份核实成功(138****5678)" in statement
    assert "13812345678" not in statement
    for expected in ("已逾期68天", "未还本金:2,650.00元", "未还利息:300.00元", "罚息:44.60元",
                     "每天增加约1.33元", "违约金:90.00元", "合计应还:3,084.60元"):
        assert expected in statement


def test_not_overdue_loan_shows_next_due_date_and_amount(borrower):
    statement = borrower.verify("13900001111", "4567")
    assert "【借款L2001(手机分期)】已逾期12天" in statement
    assert "合计应还:446.40元" in statement
    assert "借款L2002(装修贷)】目前没有逾期" in statement
    assert "2026年11月28日(星期六),应还1,788.00元" in statement


def test_deferral_from_one_message_confirmed_and_recorded(borrower, db):
    borrower.verify("13812345678", "123X")
    summary = borrower.say("延期三个月,因为我失业了")
    assert "延期:3个月" in summary
    assert "新还款日为2026年12月15日(星期二)" in summary
    assert "原因:我失业了" in summary
    assert borrower.buttons() == ["确认提交", "取消"]
    done = borrower.say("/affirm")
    reference = REFERENCE.search(done).group(0)
    assert reference.startswith("YQ20261122-") and "待工作人员审核" in done
    assert "批准" not in done.replace("不能直接批准", "").replace("只能直接批准", "")  # never claims an approval
    with db.session() as s:
        request = s.execute(select(ServiceRequest).where(ServiceRequest.reference == reference)).scalar_one()
    assert (request.type, request.status, request.months, request.loan_id) == ("deferral", "pending", 3, "L1001")
    status = borrower.say("我的申请审核到哪一步了")
    assert reference in status and "审核中" in status


def test_installment_asked_before_identity_resumes_with_the_full_schedule(borrower, db):
    ask = borrower.say("欠款想分六期慢慢还")
    assert "手机号" in ask
    plan = borrower.say("手机13700002222 身份证后四位0019")
    assert "逾期总额10,247.52元,分6期" in plan
    assert "第1期 2026年12月22日 1,707.92元" in plan
    assert "第6期 2027年5月22日 1,707.92元" in plan
    assert "共需还款10,247.52元,比今天的逾期总额多0.00元" in plan and "年化费率0.00%" in plan
    done = borrower.say("确认")
    reference = REFERENCE.search(done).group(0)
    assert reference.startswith("FQ20261122-")
    with db.session() as s:
        request = s.execute(select(ServiceRequest).where(ServiceRequest.reference == reference)).scalar_one()
    assert (request.periods, request.status) == (6, "pending")


def test_installment_periods_asked_when_missing_and_cancel_records_nothing(borrower, db):
    borrower.verify("13812345678", "123X")
    ask = borrower.say("能分期还吗")
    assert "分几期" in ask
    wrong = borrower.say("分5期")
    assert "分期期数可选3、6、12、24、36期" in wrong
    borrower.say("12期")
    cancelled = borrower.say("/deny")
    assert "已取消" in cancelled
    with db.session() as s:
        assert not s.execute(select(ServiceRequest).where(ServiceRequest.conversation_id == borrower.sender)).all()


def test_refusal_names_the_rule_and_offers_what_is_open(borrower):
    borrower.verify("13700002222", "0019")
    refusal = borrower.say("我想延期还款")
    assert "延期还款要求逾期不超过90天,借款L3001已逾期125天" in refusal
    assert "申请分期还款" in borrower.buttons() and "转人工客服" in borrower.buttons()
    assert "申请延期还款" not in borrower.buttons()


def test_hardship_offers_exactly_the_open_options(borrower):
    borrower.verify("13300005555", "003X")
    reply = borrower.say("我失业了,真的还不上")
    assert borrower.buttons() == ["申请减免罚息", "转人工客服"]
    assert "延期" not in reply.split("可以选择")[1]


def test_three_wrong_answers_lock_the_check(borrower, another_borrower):
    borrower.say("查询欠款")
    assert "还可以再试2次" in borrower.say("13812345678 0000")
    assert "还可以再试1次" in borrower.say("13812345678 0001")
    locked = borrower.say("13812345678 0002")
    assert "暂停核实30分钟" in locked and not AMOUNT.search(locked)
    again = borrower.say("查询欠款")
    assert "暂停核实" in again
    # the phone is locked for other conversations too
    another_borrower.say("查一下我的账单")
    assert "暂停核实" in another_borrower.say("13812345678 123X")


def test_promise_to_pay_repeats_the_exact_date_and_records_it(borrower, db):
    borrower.verify("13900001111", "4567")
    confirm = borrower.say("那我下个星期五把钱还上吧")
    assert "2026年11月27日(星期五)" in confirm
    done = borrower.say("对的")
    assert "已为您登记:2026年11月27日(星期五)还款446.40元" in done
    with db.session() as s:
        query = select(PaymentPromise).where(PaymentPromise.conversation_id == borrower.sender)
        promise = s.execute(query).scalar_one()
    assert str(promise.promised_date) == "2026-11-27"


def test_promise_beyond_thirty_days_is_refused(borrower):
    borrower.verify("13900001111", "4567")
    borrower.say("钱我肯定会还的")
    too_late = borrower.say("明年2月1号")
    assert "30天以内" in too_late and "2026年12月22日" in too_late


def test_consequences_general_before_and_personal_after_verification(borrower):
    general = borrower.say("不还钱会怎么样")
    assert "5年" in general and not AMOUNT.search(general)
    borrower.verify("13700002222", "0019")
    personal = borrower.say("如果一直不还会有什么后果")
    assert "借款L3001已逾期125天" in personal and "超过90天" in personal and "每天增加约4.17元" in personal


def test_abuse_complaint_is_escalated_high_with_rights_and_channels(borrower, db):
    reply = borrower.say("你们催收的天天打电话骂我,还打给我同事说我欠钱")
    assert "高优先级" in reply and "12378" in reply and "22:00" in reply and "第三方" in reply
    with db.session() as s:
        escalation = s.execute(select(Escalation).where(Escalation.conversation_id == borrower.sender)).scalar_one()
    assert (escalation.reason, escalation.priority, escalation.status) == ("collection_abuse", "high", "open")
    assert escalation.borrower_id is None


def test_more_abuse_told_after_a_complaint_goes_to_the_same_complaint(borrower, db):
    first = REFERENCE.search(borrower.say("催收天天打我妈电话 太过分了")).group(0)
    for more in ("他们还骂人", "我要投诉"):
        reply = borrower.say(more)
        assert "已经为您登记了" in reply and first in reply and "12378" not in reply, reply  # not the whole text again
    with db.session() as s:
        escalations = s.execute(select(Escalation).where(Escalation.conversation_id == borrower.sender)).scalars()
        assert [e.reason for e in escalations] == ["collection_abuse"]


def test_punctuation_alone_is_asked_again_not_refused(borrower):
    reply = borrower.say("？？？")
    assert "帮不上忙" not in reply and "换个说法" in reply, reply


def test_request_human_from_inside_a_form_escalates_with_the_borrower(borrower, db):
    borrower.verify("13812345678", "123X")
    borrower.say("我要申请延期")
    reply = borrower.say("转人工")
    assert "人工客服" in reply and REFERENCE.search(reply)
    with db.session() as s:
        escalation = s.execute(select(Escalation).where(Escalation.conversation_id == borrower.sender)).scalar_one()
    assert (escalation.reason, escalation.borrower_id) == ("human", "B1001")
    tracker = borrower.tracker()
    assert not tracker["active_loop"].get("name")  # the form is gone, and so is what it collected
    assert tracker["slots"]["loan_id"] is None and tracker["slots"]["verified"] is True


def test_bot_challenge_credit_repair_and_repayment_methods(borrower):
    assert "AI" in borrower.say("跟我聊天的是机器人吧")
    repair = borrower.say("花钱能把征信洗白吗")
    assert "5年" in repair and "骗局" in repair
    assert "官方渠道" in borrower.say("我该去哪儿还钱")


@pytest.mark.parametrize("text", [
    "", " ", "😀😀😀", "\x00\x07\x1b[31m", "a" * 5000, "逾期" * 2500,
    "'; DROP TABLE borrowers; --", "<script>alert(1)</script>", "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>&e;",
])
def test_bad_input_gets_a_polite_answer_and_leaks_nothing(borrower, servers, text):
    reply = borrower.say(text)
    assert reply.strip(), "every message gets an answer"
    assert "Traceback" not in reply and not AMOUNT.search(reply) and "L1001" not in reply
    assert "root:" not in reply


@pytest.mark.parametrize("text", ["<script>alert(1)</script> 我想分期", "我想分期<br>每期多少", "<b>我想分期</b>"])
def test_markup_around_a_request_is_read_past(borrower, text):
    ask = borrower.say(text)  # the installment request's identity check, not "I did not understand"
    assert "手机号" in ask and not AMOUNT.search(ask)
    assert "分期" in borrower.say("13812345678") + borrower.say("123X")
