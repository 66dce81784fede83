"""Privacy in the domain: full phone and ID numbers masked as people type them, in stored events and log records;
anonymised events keep their kind, time and intent; the policy's privacy section is checked by name."""
from __future__ import annotations

import copy
import io
import logging

import pytest
import yaml

from kuanxin.core.policy import PolicyError, PrivacyPolicy, parse_policy
from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.core.zh_parse import digits_to_ascii
from kuanxin.lending.identity import mask_text
from kuanxin.lending.privacy import KEPT_SLOTS, anonymised_event, install_log_masking, redacted_event

PHONE, ID_NUMBER = "13812345678", "11010119900307123X"


def digits_of(text: str) -> str:
    """The text as someone grepping for a number sees it: separators and country codes gone, ASCII digits."""
    return digits_to_ascii(text.translate(str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx"))).replace(
        " ", "").replace("-", "")


@pytest.mark.parametrize("typed", [
    "13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "+86-138-1234-5678", "0086 13812345678",
    "(+86)13812345678", "１３８１２３４５６７８", "１３８　１２３４　５６７８", "＋８６ １３８－１２３４－５６７８",
    "幺三八一二三四五六七八", "我手机是138.1234.5678谢谢", "13812345678 123X 我逾期了多少钱", "13812345678123X",
])
def test_a_phone_number_is_masked_however_it_is_typed(typed):
    hidden = mask_text(typed)
    assert "138****5678" in hidden
    assert "12345678" not in digits_of(hidden) and "1234" not in digits_of(hidden).replace("123X", "")


@pytest.mark.parametrize("typed", [
    "11010119900307123X", "11010119900307123x", "身份证号 110101 19900307 123X", "110101-1990-0307-123X",
    "１１０１０１１９９００３０７１２３Ｘ", "一一零一零一一九九零零三零七一二三X",
])
def test_an_id_number_is_masked_however_it_is_typed(typed):
    hidden = mask_text(typed)
    assert "110101********123X" in hidden and "19900307" not in digits_of(hidden)


@pytest.mark.parametrize("kept", ["123X", "后四位是0019", "138****5678", "110101********123X", "分12期,15号还1000",
                                  "借款L1001逾期68天", "FQ20261122-0001", "2026-11-22"])
def test_what_is_not_a_full_number_is_left_as_it_is(kept):
    assert mask_text(kept) == kept  # an ID tail identifies nobody; masking twice changes nothing


def user_event(text: str, **more) -> dict:
    return {"event": "user", "timestamp": 1764000000.5, "text": text, "message_id": "m-13812345678",
            "input_channel": "rest", "metadata": {"note": text},
            "parse_data": {"text": text, "intent": {"name": "inform", "confidence": 0.9},
                           "entities": [{"entity": "phone_number", "value": PHONE, "start": 0, "end": 13}]}, **more}


def test_a_user_event_is_stored_with_its_numbers_masked_and_its_ids_kept():
    stored = redacted_event(user_event(f"138 1234 5678 身份证{ID_NUMBER}"))
    assert stored["text"] == "138****5678 身份证110101********123X"
    assert stored["parse_data"]["text"] == stored["text"] and stored["metadata"]["note"] == stored["text"]
    assert stored["parse_data"]["entities"][0]["value"] == "138****5678"
    assert stored["parse_data"]["intent"] == {"name": "inform", "confidence": 0.9}
    assert stored["message_id"] == "m-13812345678"  # how a re-sent message is found: never changed
    assert (stored["timestamp"], stored["input_channel"]) == (1764000000.5, "rest")


def test_bot_and_slot_events_are_stored_with_their_numbers_masked():
    bot = {"event": "bot", "text": "例如「13812345678」", "data": {"buttons": [{"title": PHONE, "payload": "/x"}]},
           "metadata": {"utter_action": "utter_ask"}}
    assert redacted_event(bot)["text"] == "例如「138****5678」"
    assert redacted_event(bot)["data"]["buttons"][0]["title"] == "138****5678"
    slot = {"event": "slot", "name": "phone_number", "value": PHONE, "timestamp": 1.0}
    assert redacted_event(slot) == {**slot, "value": "138****5678"}
    nested = {"event": "slot", "name": "session_started_metadata", "value": {"tel": [f"+86 {PHONE}"]}}
    assert redacted_event(nested)["value"] == {"tel": ["138****5678"]}
    other = {"event": "action", "name": "action_listen", "timestamp": 2.0}
    assert redacted_event(other) is other


PLACEHOLDER = "(removed)"


def test_an_anonymised_event_keeps_kind_time_and_intent_and_nothing_said():
    anonymous = anonymised_event(redacted_event(user_event("我失业了 家里有病人")), PLACEHOLDER)
    assert anonymous["text"] == PLACEHOLDER and anonymous["parse_data"]["text"] == PLACEHOLDER
    assert anonymous["parse_data"]["entities"] == [] and anonymous["metadata"] == {}
    assert anonymous["parse_data"]["intent"]["name"] == "inform"
    assert (anonymous["event"], anonymous["timestamp"], anonymous["message_id"]) == ("user", 1764000000.5,
                                                                                      "m-13812345678")
    assert anonymised_event(anonymous, PLACEHOLDER) == anonymous  # twice changes nothing


def test_anonymised_bot_events_keep_only_that_staff_answered():
    staff = {"event": "bot", "text": "您好,我是王小明", "data": {"custom": {"kuanxin_staff": {"name": "王小明"}}},
             "metadata": {"utter_action": "x", "other": "张伟"}}
    assert anonymised_event(staff, PLACEHOLDER) == {
        "event": "bot", "text": PLACEHOLDER, "metadata": {"utter_action": "x"},
        "data": {"custom": {"kuanxin_staff": {"name": "王小明"}}}}
    bot = {"event": "bot", "text": "逾期应还3,084.60元", "data": {"custom": {"blocks": [{"amount": "3084.60"}]}}}
    assert anonymised_event(bot, PLACEHOLDER)["data"] == {}


@pytest.mark.parametrize("name, value, kept", [
    ("phone_number", "138****5678", False), ("id_last4", "123X", False), ("borrower_id", "B1001", False),
    ("deferral_reason", "孩子住院", False), ("promise_amount", "1000", False), ("loan_id", "L1001", False),
    ("verified", True, True), ("pending_intent", "check_overdue", True), ("language", "en", True),
])
def test_personal_slots_are_cleared_and_the_state_of_the_conversation_kept(name, value, kept):
    event = {"event": "slot", "name": name, "value": value, "timestamp": 3.0}
    assert anonymised_event(event, PLACEHOLDER)["value"] == (value if kept else None)
    assert (name in KEPT_SLOTS) is kept


@pytest.fixture
def masked_log():
    """A logger writing to a buffer through a handler set up *after* masking was installed, as Rasa's are."""
    factory = logging.getLogRecordFactory()
    install_log_masking()
    install_log_masking()  # once is enough; twice must not mask twice
    buffer, logger = io.StringIO(), logging.getLogger("kuanxin.test_privacy")
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.propagate, logger.level = False, logging.DEBUG
    yield logger, buffer
    logger.removeHandler(handler)
    logging.setLogRecordFactory(factory)


def test_log_records_never_print_a_full_number(masked_log):
    logger, buffer = masked_log
    logger.info("user said %r in %s", "+86 138-1234-5678", "c1")
    logger.debug(f"slots: {{'phone_number': '{PHONE}'}}")
    try:
        raise ValueError(f"duplicate key (phone)=({PHONE}) for id {ID_NUMBER}")
    except ValueError:
        logger.exception("query failed")
    logger.warning("no number %d%%", 5)
    written = buffer.getvalue()
    assert "user said '138****5678' in c1" in written and "'phone_number': '138****5678'" in written
    assert "Traceback" in written and "(phone)=(138****5678) for id 110101********123X" in written
    assert "no number 5%" in written
    assert PHONE not in written and "12345678" not in written and "19900307" not in written


SHIPPED = yaml.safe_load((PROJECT_ROOT / "policy.yml").read_text(encoding="utf-8"))


def with_privacy(value) -> dict:
    raw = copy.deepcopy(SHIPPED)
    if value is KeyError:
        del raw["privacy"]
    else:
        raw["privacy"] = value
    return raw


def test_the_privacy_section_is_read_and_defaults_when_absent():
    assert parse_policy(SHIPPED).privacy == PrivacyPolicy(transcript_days=180, identity_phone_minutes=30)
    assert parse_policy(with_privacy(KeyError)).privacy == PrivacyPolicy()
    assert parse_policy(with_privacy({"transcript_days": 30})).privacy.transcript_days == 30


@pytest.mark.parametrize("value, named", [
    ({"transcript_days": 0}, "policy.privacy.transcript_days: give a whole number from 1 to 3650, got 0"),
    ({"transcript_days": "180"}, "policy.privacy.transcript_days: give a whole number"),
    ({"transcript_days": 1.5}, "policy.privacy.transcript_days"),
    ({"transcript_days": True}, "policy.privacy.transcript_days"),
    ({"transcript_days": None}, "policy.privacy.transcript_days: missing"),
    ({"identity_phone_minutes": 0}, "policy.privacy.identity_phone_minutes: give a whole number from 1 to 1440"),
    ({"transcript_day": 30}, "policy.privacy: unknown setting transcript_day"),
    ([180], "policy.privacy: give a section"),
])
def test_a_bad_privacy_value_is_refused_by_name(value, named):
    with pytest.raises(PolicyError, match=named.replace("(", r"\(").replace(")", r"\)")):
        parse_policy(with_privacy(value))
