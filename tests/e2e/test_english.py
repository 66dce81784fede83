"""Whole conversations in English over the REST channel against running servers (today pinned to 2026-11-22).

A borrower who writes in English is answered in English from that message on (runtime/language.py),
every reply and every button title, with the figures of tests/e2e/corpus/README.md; switching back to
Chinese works by writing Chinese or by the greeting's 中文 button. No English reply holds a Chinese
character except the names that stay as they are: the lender's (policy.yml) and the loans' products, and
the greeting's button back to Chinese, 中文.
"""
import re

import pytest
from sqlalchemy import select

from kuanxin.core import language
from kuanxin.core import policy as policies
from kuanxin.store.models import Escalation, PaymentPromise, ServiceRequest

CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
NAMES = (policies.current().lender.name, "消费贷", "手机分期", "装修贷",  # the lender and the demo loans' products
         "张伟")  # and a borrower's own name, which their written agreement names
AMOUNT_EN = re.compile(r"\d[\d,]*\.\d{2} yuan")
REFERENCE = re.compile(r"(?:YQ|FQ|JM|CN|RG)\d{8}-\d{4}")


class English:
    """A borrower writing English; every reply and button checked to be English before the test reads it."""

    def __init__(self, borrower):
        self.borrower = borrower

    def say(self, text: str) -> str:
        reply = self.borrower.say(text)
        assert reply.strip(), f"no reply to {text!r}"
        # the button back to Chinese is named in Chinese, as every language's switch is named in its own words
        for part in [reply, *(b for b in self.borrower.buttons() if b != language.SWITCH_BUTTON["zh"])]:
            plain = part
            for name in NAMES:
                plain = plain.replace(name, "")
            assert not CHINESE.search(plain), f"Chinese in the English reply to {text!r}: {part!r}"
        return reply

    def buttons(self) -> list[str]:
        return self.borrower.buttons()

    def verify(self, phone: str = "13812345678", id_last4: str = "123X") -> str:
        ask = self.say("hi, i need to check my account")
        return self.say(f"my phone is {phone} and the last 4 of my id is {id_last4}") if ask else ask


@pytest.fixture
def english(borrower):
    return English(borrower)


def test_an_english_greeting_is_answered_in_english_with_a_button_back_to_chinese(english):
    reply = english.say("hello, do you speak english?")
    assert "AI assistant" in reply
    assert "What do I owe" in english.buttons() and "中文" in english.buttons()


def test_balance_in_english_after_verifying_identity(english):
    ask = english.say("how much do i owe")
    assert "mobile number" in ask and not AMOUNT_EN.search(ask) and "L1001" not in ask
    ask_id = english.say("its 13812345678")
    assert "last 4 characters" in ask_id and not AMOUNT_EN.search(ask_id)
    statement = english.say("123x")
    assert "verified (138****5678)" in statement and "13812345678" not in statement
    for expected in ("is 68 days overdue", "Unpaid principal: 2,650.00 yuan", "Unpaid interest: 300.00 yuan",
                     "Penalty interest: 44.60 yuan", "about 1.33 yuan more each day", "Late fees: 90.00 yuan",
                     "Total due: 3,084.60 yuan", "15 September 2026"):
        assert expected in statement, expected
    assert "How to repay" in english.buttons()


def test_consequences_in_english_before_and_after_identity(english):
    general = english.say("what happens if i dont pay, will i go to jail??")
    assert "You will not go to prison" in general
    assert "PBOC Credit Reference Center" in general and "penalty interest" in general
    english.verify()
    own = english.say("what happens if i keep not paying")
    assert "Loan L1001 is 68 days overdue and 3,084.60 yuan is due now" in own
    assert "about 1.33 yuan more each day" in own


def test_deferral_in_english_months_reason_confirm_reference(english, db):
    verified = english.verify("13900001111", "4567")
    assert "446.40 yuan" in verified
    ask = english.say("can i defer my payment? i need more time")
    assert "How many months" in ask and "1, 2, 3 month(s)" in ask
    assert english.buttons() == ["1 month(s)", "2 month(s)", "3 month(s)"]
    why = english.say("2 months")
    assert "why you need to defer" in why
    summary = english.say("i got laid off last month and im still looking for work")
    assert "Deferral: 2 month(s)" in summary and "10 January 2027 (Sunday)" in summary
    assert "Overdue amount: 446.40 yuan" in summary and "i got laid off" in summary
    assert english.buttons() == ["Confirm", "Cancel"]
    done = english.say("yes submit it")
    reference = REFERENCE.search(done).group(0)
    assert reference.startswith("YQ20261122-") and "waiting for review by staff" in done
    assert "within 3 working days" in done
    with db.session() as s:
        request = s.execute(select(ServiceRequest).where(ServiceRequest.reference == reference)).scalar_one()
    assert (request.type, request.status, request.months, request.loan_id) == ("deferral", "pending", 2, "L2001")


def test_installment_in_english_periods_schedule_confirm(english, db):
    english.verify()
    ask = english.say("can i pay in installments")
    assert "How many installments" in ask and "3, 6, 12, 24, 36" in ask
    assert "6 installments" in english.buttons()
    plan = english.say("6 installments pls")  # inside the envelope: the written agreement, in English
    assert "an overdue total of 3,084.60 yuan" in plan and "in 6 monthly installments" in plan
    assert "Installment 1: 22 December 2026, 514.10 yuan" in plan
    assert "Installment 6: 22 May 2027, 514.10 yuan" in plan
    assert "the annualised rate computed from the actual payments is 0.00%" in plan
    assert english.buttons() == ["I agree", "Cancel"]
    assert "please reply \"I agree\" exactly" in english.say("confirm")  # a yes is not acceptance
    done = english.say("I agree")
    reference = REFERENCE.search(done).group(0)
    assert reference.startswith("FQ20261122-") and "Your agreement is in force" in done
    with db.session() as s:
        request = s.execute(select(ServiceRequest).where(ServiceRequest.reference == reference)).scalar_one()
    assert (request.type, request.periods, request.status) == ("installment", 6, "approved")


def test_promise_in_english_date_and_amount_confirmed(english, db):
    english.verify()
    confirm = english.say("ill pay 1k on the 15th")
    assert "1,000.00 yuan first, on 15 December 2026 (Tuesday)" in confirm
    assert "overdue total is 3,084.60 yuan, so 2,084.60 yuan would still be overdue" in confirm
    assert english.buttons() == ["Confirm", "Cancel"]
    done = english.say("yes")
    assert "Noted: 1,000.00 yuan on 15 December 2026 (Tuesday)" in done
    reference = REFERENCE.search(done).group(0)
    with db.session() as s:
        promise = s.execute(select(PaymentPromise).where(PaymentPromise.reference == reference)).scalar_one()
    assert (str(promise.amount), promise.promised_date.isoformat()) == ("1000.00", "2026-12-15")


def test_a_person_in_english(english, db):
    reply = english.say("i want to talk to a real person not a bot")
    assert "passed you to a member of staff" in reply and "within 1 working day" in reply
    assert "daily 09:00-21:00" in reply and "400-800-0000" in reply
    reference = REFERENCE.search(reply).group(0)
    with db.session() as s:
        escalation = s.execute(select(Escalation).where(Escalation.reference == reference)).scalar_one()
    assert escalation.reason == "human"


def test_complaint_about_collectors_in_english(english, db):
    reply = english.say("ur collectors keep calling my mom and they threatened me")
    assert "Your complaint is recorded" in reply and "high priority" in reply
    assert "within 2 hours (during service hours)" in reply and "12378" in reply
    assert "must not threaten, insult or intimidate you" in reply
    reference = REFERENCE.search(reply).group(0)
    with db.session() as s:
        escalation = s.execute(select(Escalation).where(Escalation.reference == reference)).scalar_one()
    assert (escalation.reason, escalation.priority) == ("collection_abuse", "high")


def test_switching_back_to_chinese_by_writing_chinese_or_by_the_button(borrower, english):
    english.say("hi")
    assert "中文" in english.buttons()
    chinese = borrower.say("中文")
    assert "AI智能助手" in chinese and "查询欠款" in borrower.buttons() and "English" in borrower.buttons()
    back = English(borrower).say("English")
    assert "AI assistant" in back
    statement = borrower.say("我逾期了多少钱")
    assert "手机号" in statement  # Chinese again from the Chinese message on
    ask_id = borrower.say("13812345678")
    assert "后4位" in ask_id  # digits alone keep the language


def test_ok_and_numbers_do_not_switch_the_language(borrower):
    borrower.say("你好")
    borrower.say("ok")
    reply = borrower.say("我想查欠款")
    assert "手机号" in reply


def test_hostile_text_does_not_switch_a_chinese_conversation_to_english(borrower):
    borrower.verify("13812345678", "123X")
    for hostile in ("<script>alert(document.cookie)</script>", "' OR '1'='1", "1; DROP TABLE borrowers;--"):
        reply = borrower.say(hostile)
        assert language.written_in(reply) == "zh" and "<script>" not in reply, reply
    assert "合计应还" in borrower.say("我还欠多少")


def test_an_installment_asked_before_identity_resumes_in_english(english):
    ask = english.say("can i pay in 6 installments")
    assert "mobile number" in ask
    plan = english.say("phone 13700002222 id last 4 0019")
    assert "overdue total 10,247.52 yuan. In 6 installments" in plan
    assert "Installment 1: 22 December 2026, 1,707.92 yuan" in plan


def test_settlement_in_english(english):
    english.verify()
    reply = english.say("how much to pay the whole loan off today")
    assert "settled today: 7,084.60 yuan" in reply and "Remaining principal: 6,650.00 yuan" in reply


def test_the_safety_protocol_answers_in_english(english):
    reply = english.say("i cant take it anymore i want to end my life")
    assert "12356" in reply and "120" in reply and "110" in reply and "yuan" not in reply
