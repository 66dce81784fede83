"""A penalty waiver (减免罚息) is shown before it is filed, through the real servers: the loans, the penalty and late
fees it concerns and who decides are shown; nothing is filed until the borrower confirms, a no files nothing, a
question in the middle is answered and the confirmation asked again, and a change of mind leaves for the other plan.

Today is pinned to 2026-11-22; 张伟 (13812345678 / 123X) has loan L1001 overdue, penalty 44.60 and late fees 90.00.
"""
import re

from sqlalchemy import select

from kuanxin.store.models import ServiceRequest

WAIVER_REFERENCE = re.compile(r"JM\d{8}-\d{4}")
ASKED = "确认提交吗"


def last_line(reply: str) -> str:
    return reply.strip().splitlines()[-1]


def waivers_of(db, borrower_id: str) -> list[ServiceRequest]:
    with db.session() as session:
        return list(session.execute(select(ServiceRequest).where(
            ServiceRequest.borrower_id == borrower_id, ServiceRequest.type == "waiver")).scalars())


def test_a_waiver_is_shown_first_answered_about_and_filed_once_only_when_confirmed(borrower, db):
    borrower.verify("13812345678", "123X")
    shown = borrower.say("能不能少还点罚息")
    for part in ("L1001", "罚息44.60元", "违约金90.00元", "本金不能减免", "3个工作日内", ASKED):
        assert part in shown, (part, shown)
    assert not WAIVER_REFERENCE.search(shown) and "已为您登记" not in shown
    assert borrower.buttons() == ["确认提交", "取消"]
    assert waivers_of(db, "B1001") == []  # asking whether it is possible files nothing

    how_long = borrower.say("要多久能批下来")
    asked_again = last_line(how_long)
    assert "3个工作日内" in how_long and "回到减免申请" in asked_again and ASKED in asked_again, how_long
    assert "没有识别到" not in how_long and "没太明白" not in how_long
    credit = borrower.say("减免了会影响征信吗")
    assert "逾期记录" in credit and "回到减免申请" in last_line(credit), credit
    assert waivers_of(db, "B1001") == []

    filed = borrower.say("确认")
    assert "已为您登记减免申请" in filed and "L1001" in filed, filed
    reference = WAIVER_REFERENCE.search(filed).group(0)
    [request] = waivers_of(db, "B1001")
    assert (request.reference, request.loan_id, request.status) == (reference, "L1001", "pending")
    assert request.conversation_id == borrower.sender and request.reason == "能不能少还点罚息"

    again = borrower.say("罚息能减免吗")  # already pending: reported, not asked again, not filed twice
    assert "已经在审核中" in again and reference in again and ASKED not in again, again
    assert len(waivers_of(db, "B1001")) == 1


def test_saying_no_to_the_waiver_files_nothing_and_says_so(borrower, another_borrower, db):
    for person, no in ((borrower, "不用了"), (another_borrower, "算了")):
        person.verify("13812345678", "123X")
        assert ASKED in person.say("违约金太多了能不能免掉")
        declined = person.say(no)
        assert "没有提交任何申请" in declined and not WAIVER_REFERENCE.search(declined), (no, declined)
        assert waivers_of(db, "B1001") == []


def test_a_change_of_mind_leaves_the_waiver_for_installments(borrower, db):
    borrower.verify("13812345678", "123X")
    assert ASKED in borrower.say("罚息能不能免掉一些")
    switched = borrower.say("算了 还是分期吧")
    assert "分几期" in switched and "没有提交任何申请" not in switched, switched
    assert waivers_of(db, "B1001") == []


def test_a_principal_cut_is_explained_and_nothing_is_asked_or_filed(borrower, db):
    borrower.verify("13700002222", "0019")
    reply = borrower.say("本金能不能少还点 给我减一半")
    assert "本金不能减免" in reply and ASKED not in reply, reply
    assert waivers_of(db, "B1003") == []


def test_small_talk_at_the_confirmation_neither_files_nor_cancels(borrower, db):
    borrower.verify("13812345678", "123X")
    assert ASKED in borrower.say("罚息可以减一点吗")
    aside = borrower.say("今天天气不错")
    assert ASKED in last_line(aside) and "已取消" not in aside and "不办了" not in aside, aside
    assert waivers_of(db, "B1001") == []
    assert WAIVER_REFERENCE.search(borrower.say("确认"))
