import datetime as dt

import pytest

from kuanxin import importer
from kuanxin.accounts import Accounts
from kuanxin.identity import find_id_last4, find_phone, mask_id_number, mask_phone, mask_text
from tests.unit.test_importer import GOOD

T0 = dt.datetime(2026, 11, 22, 10, 0, 0)


@pytest.mark.parametrize("text, phone", [
    ("13812345678", "13812345678"),
    ("我的手机号是13812345678谢谢", "13812345678"),
    ("138 1234 5678", "13812345678"),
    ("138-1234-5678", "13812345678"),
    ("１３８１２３４５６７８", "13812345678"),
    ("一三八一二三四五六七八", "13812345678"),
    ("12812345678", None),
    ("138123456789", None),
    ("身份证后四位123X", None),
    ("", None),
])
def test_find_phone(text, phone):
    assert find_phone(text) == phone


@pytest.mark.parametrize("text, last4", [
    ("123x", "123X"),
    ("后四位是 0457", "0457"),
    ("13812345678 123X", "123X"),
    ("13812345678", None),
    ("身份证11010119900307123X", "123X"),
    ("L1001", None),
    ("12345", None),
    ("", None),
])
def test_find_id_last4(text, last4):
    assert find_id_last4(text) == last4


def test_masks():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("11010119900307123X") == "110101********123X"
    assert mask_text("电话13812345678,身份证11010119900307123X") == "电话138****5678,身份证110101********123X"


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
