"""Phone numbers and ID tails as borrowers type them, against the real servers (issue 15, point 3).

A slip (a digit too few, a letter in the number) is re-asked with an example and never counts toward
the lock; only a well-formed pair that does not match counts, and the reply says how many tries remain.
"""
from sqlalchemy import func, select

from kuanxin.store.models import IdentityAttempt


def _attempts(db) -> int:
    with db.session() as session:
        return session.execute(select(func.count()).select_from(IdentityAttempt)).scalar_one()


def test_spaced_phone_and_full_width_tail_verify_after_a_slip(borrower, db):
    before = _attempts(db)
    borrower.say("我逾期了多少钱")
    slip = borrower.say("138 1234 567")
    assert "10位数字" in slip and "138 1234 5678" in slip and "这次不算核实失败" in slip
    assert "后4位" in borrower.say("138 1234 5678")
    statement = borrower.say("１２３ｘ")
    assert "身份核实成功(138****5678)" in statement and "合计应还:3,084.60元" in statement
    assert _attempts(db) == before + 1  # the slip was not an attempt


def test_slips_never_lock_and_a_mismatch_says_how_many_tries_remain(borrower, db):
    before = _attempts(db)
    borrower.say("查询欠款")
    for _ in range(4):
        assert "这次不算核实失败" in borrower.say("1390000111")
    assert _attempts(db) == before
    mismatch = borrower.say("+86 139-0000-1111 身份证后四位4568")
    assert "还可以再试2次" in mismatch and "连续3次" in mismatch
    statement = borrower.say("幺三九零零零零幺幺幺幺 后四位四五六七")
    assert "身份核实成功(139****1111)" in statement


def test_traditional_characters_and_one_message(borrower):
    borrower.say("查询欠款")
    statement = borrower.say("我的手機號是138-1234-5678，身份證後四位123x")
    assert "身份核实成功(138****5678)" in statement
