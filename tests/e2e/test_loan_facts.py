"""The loan's own facts and the settlement figure, over REST against the real servers (today pinned to 2026-11-22).

Demo borrower 张伟 (13812345678 / 123X), loan L1001: 12,000.00 at 18% a year in 12 monthly periods from
2026-03-15; periods 1-5 paid, period 6 paid 500.00 (its 150.00 interest and 350.00 principal), 7 and 8 unpaid,
9-12 not yet due. Overdue: principal 650.00 + 1,000.00 + 1,000.00, interest 150.00 + 150.00,
penalty 650.00 × 68 × 0.05% = 22.10, 1,000.00 × 38 × 0.05% = 19.00, 1,000.00 × 7 × 0.05% = 3.50, late fees 3 × 30.00:
3,084.60. Settling today: 2,650.00 + 4 × 1,000.00 principal + 300.00 + 44.60 + 90.00 (no prepayment fee) = 7,084.60.
"""
from sqlalchemy import func, select

from kuanxin.store.models import PaymentPromise


def test_annual_rate_asked_before_identity_is_answered_after_it(borrower):
    ask = borrower.say("我这笔贷款年利率是多少")
    assert "手机号" in ask and "18%" not in ask
    borrower.say("13812345678")
    reply = borrower.say("123X")
    assert "身份核实成功(138****5678)" in reply
    assert "【借款L1001(消费贷)】" in reply
    assert "年化利率:18%" in reply and "借1万元用满一整年,利息约1,800.00元" in reply
    assert "逾期应还" not in reply  # a question about the rate, not about amounts


def test_settlement_figure_to_the_cent_and_not_a_promise(borrower, db):
    borrower.verify("13812345678", "123X")
    reply = borrower.say("还要还多少钱才能还清")
    assert "截至2026年11月22日,今天一次性结清" in reply
    assert "【借款L1001(消费贷)】今天一次性结清需还7,084.60元" in reply
    for part in ("剩余本金:6,650.00元(已逾期2,650.00元 + 未到期4,000.00元)", "逾期利息:300.00元", "罚息:44.60元",
                 "违约金:90.00元", "提前还款手续费:0.00元(按未到期本金的0%计)", "未到期各期的利息不再收取"):
        assert part in reply
    assert "怎么还款" in borrower.buttons()
    with db.session() as s:
        assert s.execute(select(func.count()).select_from(PaymentPromise)).scalar_one() == 0


def test_ambiguous_amount_question_gives_both_figures_labelled(borrower):
    borrower.verify("13812345678", "123X")
    reply = borrower.say("我还要还多少")
    assert "逾期应还:3,084.60元(把已逾期的3期还上,就不再逾期)" in reply
    assert "一次性结清:7,084.60元(今天把整笔借款全部还清)" in reply


def test_overdue_question_gets_the_overdue_figure_only(borrower):
    borrower.verify("13812345678", "123X")
    reply = borrower.say("我逾期了多少钱")
    assert "合计应还:3,084.60元" in reply
    assert "7,084.60" not in reply and "一次性结清" not in reply


def test_term_progress_next_due_and_how_each_charge_was_computed(borrower):
    borrower.verify("13812345678", "123X")
    facts = borrower.say("借了多少 分几期 还了几期")
    assert "借款金额:12,000.00元,2026年3月15日起借" in facts
    assert "共12期,每月一期,2026年3月15日起借,最后一期2027年3月15日到期" in facts
    assert "已还清5期,还剩7期(其中3期已逾期、未还清)" in facts
    due = borrower.say("下期什么时候还多少")
    assert "第9期,2026年12月15日(星期二)应还1,150.00元" in due and "已逾期的3,084.60元请尽快还上" in due
    charges = borrower.say("罚息怎么算的")
    assert "罚息日利率0.05%(按365天折合年化18.25%)" in charges
    for row in ("第6期(应还日2026年9月15日,逾期68天):650.00元 × 68天 × 0.05% = 罚息22.10元,违约金30.00元",
                "第7期(应还日2026年10月15日,逾期38天):1,000.00元 × 38天 × 0.05% = 罚息19.00元,违约金30.00元",
                "第8期(应还日2026年11月15日,逾期7天):1,000.00元 × 7天 × 0.05% = 罚息3.50元,违约金30.00元",
                "罚息合计44.60元,违约金合计90.00元"):
        assert row in charges


def test_two_loans_settled_together_after_verifying_first(borrower):
    # 李娜: L2001 overdue 12 days (400.00 + 24.00 + 400.00 × 12 × 0.05% = 2.40 + 20.00 late fee),
    # L2002 not yet due (22 × 1,500.00 principal; its future interest is not charged)
    ask = borrower.say("一次性还清要多少钱")
    assert "手机号" in ask
    reply = borrower.say("13900001111 4567")
    assert "身份核实成功" in reply
    assert "【借款L2001(手机分期)】今天一次性结清需还446.40元" in reply
    assert "【借款L2002(装修贷)】今天一次性结清需还33,000.00元" in reply
    assert "全部借款今天一次性结清合计:33,446.40元" in reply


def test_loan_question_inside_the_installment_form_is_answered_and_the_form_goes_on(borrower):
    borrower.verify("13812345678", "123X")
    assert "分几期" in borrower.say("我想分期还")
    reply = borrower.say("对了 我这个贷款年化利率多少")
    assert "年化利率:18%" in reply and "回到分期申请" in reply
    assert "分6期" in borrower.say("6期")


def test_settled_borrower_is_told_nothing_is_owed(borrower):
    borrower.verify("13500004444", "0046")
    reply = borrower.say("结清要多少钱")
    assert "【借款L5001(消费贷)】已经结清,不需要再还款" in reply


def test_why_a_charge_is_there_is_answered_with_how_it_is_computed(borrower):
    borrower.verify("13812345678", "123X")
    reply = borrower.say("为啥有违约金")
    assert "违约金每期逾期收取一次,每次30.00元" in reply and "违约金合计90.00元" in reply and "合计应还" not in reply
    assert "我们只通过官方App" in borrower.say("你们是不是骗子") and "400-800-0000" in borrower.replies[0]["text"]


def test_whether_we_are_genuine_asked_beside_the_balance_is_answered_before_the_identity_check(borrower):
    reply = borrower.say("我欠多少 顺便问下你们是不是骗子")
    assert "我们只通过官方App" in reply and "手机号" in reply, reply
    assert reply.index("我们只通过官方App") < reply.index("手机号")
    assert "合计应还:3,084.60元" in borrower.say("13812345678 123X")
