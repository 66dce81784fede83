import asyncio
import dataclasses
import datetime as dt

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from kuanxin.lending.identity import (
    ID_SLOT,
    PHONE_SLOT,
    Malformed,
    Slip,
    find_id_last4,
    find_phone,
    is_id_last4,
    is_phone,
    mask_id_number,
    mask_phone,
    mask_text,
    read_identity,
)
from kuanxin.store import importer
from kuanxin.store.accounts import Accounts
from kuanxin.store.models import IdentityAttempt
from tests.unit.test_importer import GOOD

T0 = dt.datetime(2026, 11, 22, 10, 0, 0)


@pytest.mark.parametrize("text, phone", [
    ("13812345678", "13812345678"),
    ("我的手机号是13812345678谢谢", "13812345678"),
    ("138 1234 5678", "13812345678"),
    ("138  1234  5678", "13812345678"),
    ("138-1234-5678", "13812345678"),
    ("138.1234.5678", "13812345678"),
    ("138,1234,5678", "13812345678"),  # voice input puts commas in
    ("138—1234—5678", "13812345678"),
    ("1381 234 5678", "13812345678"),
    ("+86 138 1234 5678", "13812345678"),
    ("+8613812345678", "13812345678"),
    ("86 13812345678", "13812345678"),
    ("8613812345678", "13812345678"),
    ("0086-138-1234-5678", "13812345678"),
    ("(+86)13812345678", "13812345678"),
    ("＋８６ １３８１２３４５６７８", "13812345678"),
    ("１３８１２３４５６７８", "13812345678"),
    ("１３８－１２３４－５６７８", "13812345678"),
    ("一三八一二三四五六七八", "13812345678"),
    ("幺三八幺二三四五六七八", "13812345678"),
    ("幺三八 幺二三四 五六七八", "13812345678"),
    ("一三九零零零零幺幺幺幺", "13900001111"),
    ("一三七零零零零两两两两", "13700002222"),
    ("138一二三四5678", "13812345678"),
    ("我手机是138-1234-5678身份证后四位123x", "13812345678"),
    ("我的手機號碼是 138 1234 5678", "13812345678"),
    ("12812345678", None),  # no mobile number starts with 12
    ("138123456789", None),  # 12 digits
    ("1381234567", None),  # 10 digits
    ("138 1234 567", None),
    ("138l2345678", None),
    ("身份证后四位123X", None),
    ("身份证11010119900307123X", None),
    ("", None),
])
def test_find_phone(text, phone):
    assert find_phone(text) == phone


@pytest.mark.parametrize("text, last4", [
    ("123x", "123X"),
    ("123X", "123X"),
    ("１２３Ｘ", "123X"),
    ("１２３ｘ", "123X"),
    ("123×", "123X"),
    ("一二三X", "123X"),
    ("幺二三四", "1234"),
    ("零零幺九", "0019"),
    ("后四位是 0457", "0457"),
    ("身份證後四位是123x", "123X"),
    ("13812345678 123X", "123X"),
    ("138 1234 5678 123x", "123X"),
    ("13812345678123X", "123X"),  # typed straight after the phone number
    ("13812345678", None),
    ("身份证11010119900307123X", "123X"),
    ("身份证11010119900307123x", "123X"),
    ("L1001", None),
    ("12345", None),
    ("12X3", None),
    ("2026年", None),
    ("1000块", None),
    ("", None),
])
def test_find_id_last4(text, last4):
    assert find_id_last4(text) == last4


@pytest.mark.parametrize("text, expecting, phone, last4", [
    ("我手机是138-1234-5678身份证后四位123x", None, "13812345678", "123X"),
    ("+86 139 0000 1111,后四位4567", PHONE_SLOT, "13900001111", "4567"),
    ("幺三七 零零零零 两两两两 零零幺九", PHONE_SLOT, "13700002222", "0019"),
    ("１３８１２３４５６７８　１２３Ｘ", PHONE_SLOT, "13812345678", "123X"),
    ("我的手機是13812345678，身份證後四位123x", None, "13812345678", "123X"),
    ("1234", PHONE_SLOT, None, "1234"),  # a tail alone, before the phone number
    ("123X吧", ID_SLOT, None, "123X"),
    ("就是0457", ID_SLOT, None, "0457"),
    # at activation four digits are a tail only when the borrower says so
    ("2026年借的钱逾期了", None, None, None),
    ("我想查一下欠款 1234", None, None, None),
    # a figure is not a tail, even when the tail was asked for
    ("我欠了5000吗", ID_SLOT, None, None),
    ("我欠了5000", PHONE_SLOT, None, None),
    ("2026年", ID_SLOT, None, None),
    ("分期了还会上征信吗", PHONE_SLOT, None, None),
    ("逾期90天会怎么样", ID_SLOT, None, None),
])
def test_read_identity_values(text, expecting, phone, last4):
    reading = read_identity(text, expecting)
    assert (reading.phone, reading.id_last4, reading.slips) == (phone, last4, ())


@pytest.mark.parametrize("text, expecting, slip", [
    ("1381234567", PHONE_SLOT, Malformed(Slip.PHONE_LENGTH, 10)),
    ("138 1234 567", PHONE_SLOT, Malformed(Slip.PHONE_LENGTH, 10)),
    ("138-1234-56789", PHONE_SLOT, Malformed(Slip.PHONE_LENGTH, 12)),
    ("+86 138 1234 567", PHONE_SLOT, Malformed(Slip.PHONE_LENGTH, 10)),
    ("我的手机号是12345", PHONE_SLOT, Malformed(Slip.PHONE_LENGTH, 5)),
    ("一三八一二三四五六七", PHONE_SLOT, Malformed(Slip.PHONE_LENGTH, 10)),
    ("手机1381234567 后四位123X", None, Malformed(Slip.PHONE_LENGTH, 10)),
    ("12812345678", PHONE_SLOT, Malformed(Slip.PHONE_PREFIX, 11)),
    ("138l2345678", PHONE_SLOT, Malformed(Slip.PHONE_LETTERS, 10)),
    ("138-1234-567O", PHONE_SLOT, Malformed(Slip.PHONE_LETTERS, 10)),
    ("123", ID_SLOT, Malformed(Slip.ID_LENGTH, 3)),
    ("12345", ID_SLOT, Malformed(Slip.ID_LENGTH, 5)),
    ("后四位是12x", ID_SLOT, Malformed(Slip.ID_LENGTH, 3)),
    ("一二三", ID_SLOT, Malformed(Slip.ID_LENGTH, 3)),
    ("12X3", ID_SLOT, Malformed(Slip.ID_LETTERS, 4)),
    ("123a", ID_SLOT, Malformed(Slip.ID_LETTERS, 4)),
    ("１２Ａ３", ID_SLOT, Malformed(Slip.ID_LETTERS, 4)),
    ("11010119900307123", ID_SLOT, Malformed(Slip.ID_NUMBER_LENGTH, 17)),
    ("13812345678 12345", ID_SLOT, Malformed(Slip.ID_LENGTH, 5)),
])
def test_read_identity_slips(text, expecting, slip):
    reading = read_identity(text, expecting)
    assert reading.slip_for(expecting) == slip
    assert not (is_phone(reading.phone) and is_id_last4(reading.id_last4))


def test_a_slip_in_one_value_keeps_the_other():
    reading = read_identity("138 1234 567 123x", PHONE_SLOT)
    assert (reading.phone, reading.id_last4) == (None, "123X")
    assert reading.slip_for(PHONE_SLOT) == Malformed(Slip.PHONE_LENGTH, 10)
    reading = read_identity("手机 138 1234 5678 sfz 12x", PHONE_SLOT)
    assert (reading.phone, reading.id_last4) == ("13812345678", None)
    assert reading.slip_for(PHONE_SLOT) == Malformed(Slip.ID_LENGTH, 3)


@pytest.mark.parametrize("text, expecting", [
    ("我逾期了3个月欠了12000", None),
    ("12000块", PHONE_SLOT),
    ("合同号12345678", None),
    ("你好", PHONE_SLOT),
    ("算了", ID_SLOT),
    ("5G", ID_SLOT),
    ("1" * 5000, PHONE_SLOT),
    ("1 " * 2500, ID_SLOT),
    ("'; DROP TABLE borrowers; --", PHONE_SLOT),
])
def test_read_identity_leaves_other_messages_alone(text, expecting):
    reading = read_identity(text, expecting)
    assert (reading.phone, reading.id_last4, reading.slips) == (None, None, ())


@pytest.mark.parametrize("text", ["1号" * 2500, "12345吗" * 1000, "138l2345678嗯" * 400, "幺三八" * 1700,
                                  "13812345678 " * 400, "1a," * 1700, "后四位" * 1600], ids=range(7))
def test_long_repetitive_input_comes_back(text):
    # linear: a message of thousands of numbers is read in milliseconds (quadratic took seconds)
    for expecting in (None, PHONE_SLOT, ID_SLOT):
        read_identity(text, expecting)
    assert isinstance(mask_text(text), str)


def test_well_formed_values():
    assert is_phone("13812345678") and not is_phone("12812345678") and not is_phone("138 1234 5678")
    assert not is_phone(None) and not is_phone(["13812345678"])
    assert is_id_last4("123X") and is_id_last4("0457")
    assert not is_id_last4("123x") and not is_id_last4("12X3") and not is_id_last4("12345")


def test_masks():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("11010119900307123X") == "110101********123X"
    assert mask_text("电话13812345678,身份证11010119900307123X") == "电话138****5678,身份证110101********123X"


@pytest.mark.parametrize("text, masked", [
    ("手机 138 1234 5678 后四位123X", "手机 138****5678 后四位123X"),
    ("+86 138-1234-5678", "138****5678"),
    ("１３８１２３４５６７８", "138****5678"),
    ("幺三八一二三四五六七八", "138****5678"),
    ("身份证11010119900307123x", "身份证110101********123X"),
    ("还500块,15号", "还500块,15号"),
    ("", ""),
])
def test_mask_text_masks_numbers_as_people_type_them(text, masked):
    assert mask_text(text) == masked


@pytest.fixture
def accounts(db):
    importer.load_document(db, GOOD)
    return Accounts(db)


def verify(accounts, policy, last4, at, phone="13812345678", conversation="c1"):
    return accounts.verify_identity(phone, last4, conversation, at, policy.identity)


def test_right_details_verify_and_x_is_case_insensitive(accounts, policy):
    result = verify(accounts, policy, "123x", T0)
    assert result.verified and result.borrower_id == "B1"


def test_three_failures_lock_phone_and_conversation_for_thirty_minutes(accounts, policy):
    assert verify(accounts, policy, "0000", T0).tries_left == 2
    assert verify(accounts, policy, "0001", T0 + dt.timedelta(minutes=1)).tries_left == 1
    third = verify(accounts, policy, "0002", T0 + dt.timedelta(minutes=2))
    assert third.status == "locked"
    assert third.locked_until == T0 + dt.timedelta(minutes=32)
    # even the right answer is refused while locked, from this conversation ...
    assert verify(accounts, policy, "123X", T0 + dt.timedelta(minutes=31)).status == "locked"
    # ... and for this phone from another conversation
    assert verify(accounts, policy, "123X", T0 + dt.timedelta(minutes=31), conversation="c2").status == "locked"
    # ... and this conversation cannot try another phone either
    assert verify(accounts, policy, "9999", T0 + dt.timedelta(minutes=31), phone="13900001111").status == "locked"
    assert verify(accounts, policy, "123X", T0 + dt.timedelta(minutes=32, seconds=1)).verified


def test_lock_is_reported_without_a_new_attempt(accounts, policy):
    for minute in range(3):
        verify(accounts, policy, "0000", T0 + dt.timedelta(minutes=minute))
    assert accounts.identity_lock(None, "c1", T0 + dt.timedelta(minutes=10), policy.identity)
    assert accounts.identity_lock(None, "c9", T0 + dt.timedelta(minutes=10), policy.identity) is None


def test_success_resets_the_count(accounts, policy):
    verify(accounts, policy, "0000", T0)
    verify(accounts, policy, "0000", T0 + dt.timedelta(minutes=1))
    assert verify(accounts, policy, "123X", T0 + dt.timedelta(minutes=2)).verified
    assert verify(accounts, policy, "0000", T0 + dt.timedelta(minutes=3)).tries_left == 2


def test_failures_spread_beyond_the_window_do_not_lock(accounts, policy):
    verify(accounts, policy, "0000", T0)
    verify(accounts, policy, "0000", T0 + dt.timedelta(minutes=20))
    late = verify(accounts, policy, "0000", T0 + dt.timedelta(minutes=40))
    assert late.status == "mismatch" and late.tries_left == 1


def test_unknown_phone_fails_like_a_wrong_id_tail(accounts, policy):
    result = verify(accounts, policy, "123X", T0, phone="13000000000")
    assert result.status == "mismatch" and result.borrower_id is None


# --- the identity form: slips are re-asked and never counted; a mismatch says how many tries remain

def _tracker(text, requested, slots=None, channel="rest"):
    slots = {PHONE_SLOT: None, ID_SLOT: None, "verified": False, "identity_locked": False,
             "requested_slot": requested, "language": None, **(slots or {})}
    message = {"text": text, "intent": {"name": "inform", "confidence": 0.9}, "entities": []}
    events = [{"event": "user", "text": text, "parse_data": message, "input_channel": channel}]
    return Tracker("conversation-1", slots, message, events, False, None,
                   {"name": "identity_form"}, "action_listen")


@pytest.fixture
def form(accounts, policy, monkeypatch):
    """validate_identity_form on the test database, at T0, with the policy allowing 5 failures."""
    import actions.identity as identity_actions

    five = dataclasses.replace(policy, identity=dataclasses.replace(policy.identity, max_failures=5))
    monkeypatch.setattr(identity_actions, "accounts", lambda: accounts)
    monkeypatch.setattr(identity_actions.ValidateIdentityForm, "policy", staticmethod(lambda: five))
    monkeypatch.setattr(identity_actions.ValidateIdentityForm, "now", staticmethod(lambda: T0))

    def run(text, requested=PHONE_SLOT, **slots):
        dispatcher = CollectingDispatcher()
        events = asyncio.run(identity_actions.ValidateIdentityForm().run(
            dispatcher, _tracker(text, requested, slots), {}))
        said = [m["text"] for m in dispatcher.messages]
        return {e["name"]: e["value"] for e in events if e["event"] == "slot"}, said
    return run


def _attempts(accounts):
    with accounts.db.session() as session:
        return session.execute(select(func.count()).select_from(IdentityAttempt)).scalar_one()


@pytest.mark.parametrize("text, requested, expected", [
    ("1381234567", PHONE_SLOT, "您发的号码是10位数字,手机号应是11位,例如「138 1234 5678」"),
    ("138 1234 567", PHONE_SLOT, "10位数字"),
    ("12812345678", PHONE_SLOT, "手机号是1开头的11位数字"),
    ("138l2345678", PHONE_SLOT, "手机号里只有数字"),
    ("123", ID_SLOT, "身份证号码的最后4位是4个字符,您发的是3位。例如「123X」"),
    ("12X3", ID_SLOT, "只有最后一位可能是字母X"),
    ("11010119900307123", ID_SLOT, "完整的身份证号码是18位,您发的是17位"),
])
def test_a_slip_is_re_asked_with_an_example_and_never_counts(form, accounts, text, requested, expected):
    slots, said = form(text, requested, phone_number="13812345678" if requested == ID_SLOT else None)
    assert len(said) == 1 and expected in said[0] and "这次不算核实失败" in said[0]
    assert slots["requested_slot"] == requested
    assert not slots.get("verified") and not slots.get("identity_locked")
    assert _attempts(accounts) == 0


def test_many_slips_never_lock(form, accounts):
    for _ in range(10):
        form("138 1234 567", PHONE_SLOT)
        form("12345", ID_SLOT, phone_number="13812345678")
    assert _attempts(accounts) == 0
    slots, said = form("138 1234 5678 123x", PHONE_SLOT)
    assert slots["verified"] is True and slots["borrower_id"] == "B1"
    assert said == ["身份核实成功(138****5678),谢谢您的配合。"]


@pytest.mark.parametrize("text", [
    "138 1234 5678 123x", "+86 138-1234-5678 身份证后四位１２３ｘ", "幺三八一二三四五六七八 幺二三X",
    "我手機號是13812345678，身份證後四位123x",
])
def test_numbers_as_people_type_them_verify(form, accounts, text):
    slots, _ = form(text, PHONE_SLOT)
    assert slots["verified"] is True
    assert _attempts(accounts) == 1


def test_a_tail_after_the_phone_number_was_asked_verifies(form, accounts, policy):
    # the slot (and so the conversation store) gets the masked number; the number waits server-side
    slots, _ = form("138-1234-5678", PHONE_SLOT)
    assert (slots[PHONE_SLOT], slots.get(ID_SLOT), slots["requested_slot"]) == ("138****5678", None, ID_SLOT)
    assert accounts.kept_phone("conversation-1", T0) == "13812345678"
    slots, said = form("123x", ID_SLOT, phone_number="138****5678")
    assert slots["verified"] is True and said == ["身份核实成功(138****5678),谢谢您的配合。"]
    # the check is over: the number waits only for a re-sent turn (an instance died mid-turn), which verifies again
    retry = dt.timedelta(seconds=policy.privacy.identity_phone_retry_seconds)
    assert accounts.kept_phone("conversation-1", T0 + retry - dt.timedelta(seconds=1)) == "13812345678"
    assert accounts.kept_phone("conversation-1", T0 + retry) is None
    slots, said = form("123x", ID_SLOT, phone_number="138****5678")
    assert slots["verified"] is True and said == ["身份核实成功(138****5678),谢谢您的配合。"]
    slots, _ = form("123x", ID_SLOT, phone_number="13812345678")  # a conversation saved before masking
    assert slots["verified"] is True


def test_a_masked_number_whose_time_is_up_is_asked_for_again(form, accounts, policy):
    form("138 1234 5678", PHONE_SLOT)
    later = T0 + dt.timedelta(minutes=policy.privacy.identity_phone_minutes, seconds=1)
    assert accounts.kept_phone("conversation-1", later) is None
    accounts.keep_phone("conversation-1", "13900001111", T0, 30)  # another number than the slot's: never used
    slots, _ = form("123x", ID_SLOT, phone_number="138****5678")
    assert slots[PHONE_SLOT] is None and slots[ID_SLOT] == "123X" and slots["requested_slot"] == PHONE_SLOT
    assert _attempts(accounts) == 0


def test_a_locked_check_keeps_the_number_only_until_the_lock_is_said(form, accounts, monkeypatch):
    import actions.identity as identity_actions

    monkeypatch.setattr(identity_actions.ActionIdentityLocked, "now", staticmethod(lambda: T0))
    for tail in ("0000", "0001", "0002", "0003"):
        form(f"13812345678 {tail}", PHONE_SLOT)
    slots, _ = form("138 1234 5678 0004", PHONE_SLOT)
    assert slots["identity_locked"] is True and slots[PHONE_SLOT] == "138****5678"
    assert accounts.kept_phone("conversation-1", T0) == "13812345678"
    dispatcher = CollectingDispatcher()
    tracker = _tracker("", None, {PHONE_SLOT: "138****5678", "identity_locked": True})
    events = asyncio.run(identity_actions.ActionIdentityLocked().run(dispatcher, tracker, {}))
    assert "请在18:30之后再试" in dispatcher.messages[0]["text"]  # the lock found through the kept number
    assert {e["name"]: e["value"] for e in events}[PHONE_SLOT] is None
    assert accounts.kept_phone("conversation-1", T0) is None


def test_a_mismatch_counts_and_says_how_many_tries_remain(form, accounts):
    slots, said = form("13812345678 0000", PHONE_SLOT)
    assert said == ["抱歉,手机号或身份证后四位与我们的记录不一致。为保护账户安全,连续5次不一致会暂停核实30分钟,"
                    "您还可以再试4次。"]
    assert slots[PHONE_SLOT] is None and slots[ID_SLOT] is None and _attempts(accounts) == 1
    for tail in ("0001", "0002"):
        form(f"13812345678 {tail}", PHONE_SLOT)
    _, said = form("13812345678 0003", PHONE_SLOT)
    assert "您还可以再试1次,这是最后一次,再不一致将暂停核实30分钟" in said[0] and "400-800-0000" in said[0]
    slots, said = form("13812345678 0004", PHONE_SLOT)
    assert slots["identity_locked"] is True and _attempts(accounts) == 5


def test_a_value_not_read_by_the_form_is_never_checked(form, accounts):
    # e.g. a slot filled from a raw entity by an older model: "138 1234 5678" / ["1234", "5678"]
    slots, said = form("123X", ID_SLOT, phone_number="138 1234 5678")
    assert slots[PHONE_SLOT] is None and slots[ID_SLOT] == "123X" and slots["requested_slot"] == PHONE_SLOT
    slots, _ = form("13812345678", PHONE_SLOT, id_last4=["1234", "5678"])
    assert slots[ID_SLOT] is None and slots["requested_slot"] == ID_SLOT
    assert _attempts(accounts) == 0
