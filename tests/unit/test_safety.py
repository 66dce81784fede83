"""The safety protocol's domain: the detector (own examples, then the independent corpus), its
policy and texts, the flag that pauses reminders, and staff clearing it. Real databases."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from kuanxin.console.casework import CaseError, Casework
from kuanxin.console.staff import StaffDirectory
from kuanxin.core import texts
from kuanxin.core.policy import parse_policy
from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.core.zh_parse import normalize_text
from kuanxin.lending import safety
from kuanxin.reminders.selection import read_circumstances
from kuanxin.store import importer
from kuanxin.store.accounts import Accounts
from kuanxin.store.demo import demo_document
from kuanxin.store.models import AuditEntry, Escalation, SafetyFlag
from testkit.sms_gateway import SmsGatewayDouble
from tests.unit.test_records import NOW, TODAY
from tests.unit.test_reminders import MORNING, add_borrower, remind, sms_phones
from tests.unit.test_reminders import TODAY as REMINDER_DAY

CORPUS = PROJECT_ROOT / "tests" / "safety" / "corpus.yml"

# written for the product, before the independent corpus was read
CRISIS = [
    "欠这么多钱还不上,我真的不想活了", "不想活了", "活着没意思", "活着真没意思", "想跳楼", "一了百了",
    "我想死", "想自杀", "我割腕了", "我吃了一瓶安眠药", "准备烧炭", "我写好遗书了", "我想离开这个世界",
    "真的撑不下去了", "你们再逼我,我就去死", "我死了你们就拿不到钱了", "死了算了", "还不如死了",
    "我站在楼顶上", "从楼上跳下去", "你们要逼死我吗", "我想结束自己的生命", "拿命还吗", "想不开了",
    "活不下去了", "没法活了", "我上吊算了", "我喝农药", "活着好累", "拿刀割手腕",
    # spaces, punctuation, emoji, typing slips, pinyin
    "不 想 活 了!!!", "不想活了😭", "我不想活le", "我不想或了", "一了白了", "燒碳", "buxianghuole",
    # Traditional characters
    "自殺", "我想跳樓", "遺書已經寫好了", "離開這個世界", "活著沒意思", "撐不下去了",
    # English
    "I want to kill myself", "i dont want to live anymore", "I want to end my life",
    "thinking about suicide", "I'm going to hurt myself",
]
NOT_CRISIS = [
    "烦死了", "累死了", "笑死了", "气死我了", "死活不还", "要死啊这么贵", "手机死机了", "今天热死了",
    "我快累死了", "烦死了,算了不说了", "想死你了", "这个月死定了", "我真的还不上了", "好烦啊", "我失业了",
    "这日子没法过", "催收天天打电话烦死人了", "我想活动一下", "这一周忙得要死", "等得急死了", "我死心了",
    "该死的催收", "吓死我了", "我要投诉你们", "活动期间能减免吗", "催收说要拿刀砍我", "我先走了",
    "我做了件傻事借了网贷", "死期存款能取吗", "我累得半死", "紫砂壶", "this app is killing me",
    "I could just die of embarrassment", "这游戏我死了十几次", "我逾期了多少钱", "",
]


@pytest.mark.parametrize("text", CRISIS)
def test_danger_is_detected(text):
    assert safety.detect(text), text


@pytest.mark.parametrize("text", NOT_CRISIS)
def test_hyperbole_and_ordinary_messages_are_not_danger(text):
    assert not safety.detect(text), (text, safety.danger(text))


def test_the_message_is_read_without_spaces_punctuation_or_harmless_phrases():
    reading = safety.read("烦死了,算了 不想 活了!")
    assert reading.chinese.startswith(safety.BLANK * 2) and "不想活了" in reading.chinese
    assert safety.read("I'M SO  tired…").english == "i'm so tired"
    assert safety.detect("自殺") and safety.detect("我想问一下还款的事。" * 300 + "其实我不想活了")


def test_traditional_characters_through_the_shared_normalization():
    if normalize_text("這個") != "这个":
        pytest.skip("kuanxin.core.zh_parse.normalize_text does not convert Traditional characters yet")
    assert safety.detect("我真的活不下去了,對不起")


def test_a_bad_lexicon_is_refused_with_its_entry(tmp_path):
    bad = tmp_path / "lexicon.yml"
    bad.write_text("chinese:\n  - '不想(活'\n", encoding="utf-8")
    with pytest.raises(ValueError, match="不想\\(活"):
        safety.load_lexicon(bad)
    bad.write_text("fold:\n  殺殺: 杀\n", encoding="utf-8")
    with pytest.raises(ValueError, match="one character"):
        safety.load_lexicon(bad)


def test_the_independent_corpus_recall_is_complete():
    if not CORPUS.exists():
        pytest.skip(f"{CORPUS} is not there")
    corpus = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    crisis, ordinary = corpus["crisis"], corpus["not_crisis"]
    missed = [text for text in crisis if not safety.detect(text)]
    alarms = [(text, safety.danger(text)) for text in ordinary if safety.detect(text)]
    recall, false_alarms = 1 - len(missed) / len(crisis), len(alarms) / len(ordinary)
    print(f"\nsafety corpus: recall {recall:.1%} ({len(crisis) - len(missed)}/{len(crisis)}), "
          f"false alarms {false_alarms:.1%} ({len(alarms)}/{len(ordinary)})")
    for text, words in alarms:
        print(f"  false alarm: {text!r} ({words})")
    assert missed == []


# policy and texts -----------------------------------------------------------------------------

def raw_policy() -> dict:
    return yaml.safe_load(Path(PROJECT_ROOT / "policy.yml").read_text(encoding="utf-8"))


def test_hotlines_come_from_the_policy_and_are_checked():
    raw = raw_policy()
    assert parse_policy(raw).safety.crisis_hotline == "12356"
    raw["safety"] = {"crisis_hotline": "0571-85029595", "ambulance": "120", "police": "110"}
    assert parse_policy(raw).safety.crisis_hotline == "0571-85029595"
    for bad in ({"crisis_hotline": "call us"}, {"police": ""}, {"hotline": "12356"}):
        raw["safety"] = bad
        with pytest.raises(ValueError, match="safety"):
            parse_policy(raw)
    del raw["safety"]
    assert parse_policy(raw).safety == parse_policy(raw_policy()).safety  # the national numbers by default


def test_the_crisis_reply_names_the_hotlines_and_nothing_about_money(policy):
    reply = texts.text("safety.reply", policy=policy)
    assert "12356" in reply and "120" in reply and "110" in reply
    for word in ("元", "欠款", "逾期", "还款", "征信", "身份", "手机号", "起诉", "罚息"):
        assert word not in reply
    other = dataclasses.replace(policy, safety=dataclasses.replace(policy.safety, crisis_hotline="400-161-9995"))
    assert "400-161-9995" in texts.text("safety.reply", policy=other)


# the flag -------------------------------------------------------------------------------------

@pytest.fixture
def staff(db):
    return StaffDirectory(db).add("wang", "correct horse battery", "supervisor", "王小明", NOW)


def test_a_flag_opens_one_high_priority_escalation_at_the_top_of_the_queue(db, staff):
    importer.load_document(db, demo_document())
    accounts = Accounts(db)
    abuse, _ = accounts.open_escalation(conversation_id="c0", borrower_id=None, reason="collection_abuse",
                                        priority="high", channel="webchat", summary="投诉", today=TODAY, now=NOW)
    flag, escalation = accounts.raise_safety_flag(conversation_id="c1", borrower_id=None, channel="rest",
                                                  summary="不想活了 13812345678", today=TODAY,
                                                  now=NOW.replace(hour=NOW.hour - 1))
    again, same = accounts.raise_safety_flag(conversation_id="c1", borrower_id=None, channel="rest",
                                             summary="真的不想活了", today=TODAY, now=NOW)
    assert (again.id, same.id) == (flag.id, escalation.id)
    assert escalation.reason == "safety" and escalation.priority == "high" and "138****5678" in escalation.summary
    assert [e.reference for e in Casework(db).queue()] == [escalation.reference, abuse.reference]


def test_the_borrower_is_attached_when_they_verify_later(db, policy):
    importer.load_document(db, demo_document())
    accounts = Accounts(db)
    accounts.raise_safety_flag(conversation_id="c1", borrower_id=None, channel="rest", summary="想死",
                               today=TODAY, now=NOW)
    assert accounts.verify_identity("13812345678", "123X", "c1", NOW, policy.identity).verified
    with db.session() as session:
        assert session.execute(select(SafetyFlag.borrower_id)).scalar_one() == "B1001"
        assert session.execute(select(Escalation.borrower_id).where(Escalation.reason == "safety")
                               ).scalar_one() == "B1001"


@pytest.fixture(scope="module")
def gateway():
    double = SmsGatewayDouble()
    yield double
    double.close()


def test_reminders_pause_until_staff_clear_the_flag(db, policy, gateway, staff):
    gateway.reset()
    add_borrower(db, "B1", "13800000001", overdue_days=5)
    add_borrower(db, "B2", "13800000002", overdue_days=5)
    accounts, casework = Accounts(db), Casework(db)
    accounts.raise_safety_flag(conversation_id="c-b1", borrower_id="B1", channel="wechat", summary="不想活了",
                               today=REMINDER_DAY, now=MORNING)
    assert read_circumstances(db, REMINDER_DAY).in_crisis == {"B1"}
    report = remind(db, policy, gateway=gateway)
    assert sms_phones(gateway) == ["13800000002"]
    assert {o.plan.candidate.borrower_id: o.plan.skip for o in report.outcomes}["B1"] == "safety"

    with pytest.raises(CaseError):
        casework.clear_safety_flags("c-b1", staff, "  ", MORNING)
    assert casework.clear_safety_flags("c-b1", staff, "已电话联系,借款人确认安全", MORNING) == 1
    with pytest.raises(CaseError):
        casework.clear_safety_flags("c-b1", staff, "再点一次", MORNING)
    assert read_circumstances(db, REMINDER_DAY).in_crisis == set()
    with db.session() as session:
        entry = session.execute(select(AuditEntry).where(AuditEntry.action == "clear_safety")).scalar_one()
        assert (entry.staff, entry.conversation_id, entry.detail) == ("wang", "c-b1", "已电话联系,借款人确认安全")
    gateway.reset()
    remind(db, policy, gateway=gateway)
    assert sms_phones(gateway) == ["13800000001"]  # B2 was reminded today already
    # a new crisis in the conversation raises a new flag
    flag, _ = accounts.raise_safety_flag(conversation_id="c-b1", borrower_id="B1", channel="wechat",
                                         summary="还是不想活", today=REMINDER_DAY, now=MORNING)
    assert flag.cleared_at is None and read_circumstances(db, REMINDER_DAY).in_crisis == {"B1"}
