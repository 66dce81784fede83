"""Which language a message is written in (kuanxin.core.language), and English in the WeChat rendering."""
import datetime as dt
from decimal import Decimal

import pytest

from kuanxin.core import formats, language
from kuanxin.wechat.render import render_turn


@pytest.mark.parametrize("text, written_in", [
    ("how much do i owe", "en"), ("ur collectors keep calling my mom", "en"), ("hi", "en"),
    ("my name is 张伟 and i owe money", "en"), ("English", "en"), ("in english please", "en"), ("英文", "en"),
    ("我逾期了多少钱", "zh"), ("好的", "zh"), ("我想问一下APR是多少", "zh"), ("中文", "zh"), ("Chinese", "zh"),
    ("ok", None), ("OK", None), ("13812345678", None), ("123X", None), ("L1001", None), ("/affirm", None),
    ("/check_overdue", None), ("", None), ("👍", None), ("id 123x", None),
    # markup is not language
    ("<script>alert(1)</script> 我欠多少", "zh"), ("<b>how much do i owe</b>", "en"), ("&lt;&gt;&amp;", None),
    # hostile input is not language either: it leaves the conversation as it was
    ("<script>alert(document.cookie)</script>", None), ("<img src=x onerror=alert('hacked')>", None),
    ("' OR '1'='1", None), ("1; DROP TABLE borrowers;--", None), ("L1001' UNION SELECT password FROM staff --", None),
    ("<script>alert(1)", None), ("select the loan please", "en"), ("or not", "en"), ("a" * 5000, None),
])
def test_the_language_a_message_is_written_in(text, written_in):
    assert language.written_in(text) == written_in


def test_the_conversation_keeps_its_language_until_a_message_says_otherwise():
    assert language.next_language("ok", "en") == "en"
    assert language.next_language("13812345678", "en") == "en"
    assert language.next_language("好的", "en") == "zh"
    assert language.next_language("123x", None) == "zh"
    assert language.next_language("yes please", "zh") == "en"


def test_switch_words_are_only_whole_messages():
    assert language.switch_word("English") == "en" and language.switch_word("中文!") == "zh"
    assert language.switch_word("can you speak english with me about my loan") is None


def test_values_are_shown_in_each_language():
    day = dt.date(2026, 12, 22)
    assert formats.money(Decimal("3084.6"), "en") == "3,084.60 yuan"
    assert formats.money(Decimal("3084.6")) == "3,084.60元"
    assert formats.long_date(day, "en") == "22 December 2026 (Tuesday)"
    assert formats.long_date(day) == "2026年12月22日(星期二)"
    assert formats.items([1, 2, 3], "en") == "1, 2, 3" and formats.items([1, 2, 3]) == "1、2、3"
    assert str(formats.Money(Decimal("5"))) == "5.00元"


def test_wechat_choices_are_worded_in_the_conversations_language():
    menu = [{"title": "What do I owe", "payload": "/check_overdue"}, {"title": "Talk to a person", "payload": "/x"}]
    assert render_turn([{"text": "Hello", "buttons": menu}], "en") == [
        "Hello\nReply with a number to choose:\n1. What do I owe\n2. Talk to a person"]
    periods = [{"title": "3 installments", "payload": "3 installments"}, {"title": "6 installments", "payload": "6"}]
    assert render_turn([{"text": "How many?", "buttons": periods}], "en") == [
        "How many?\nJust reply: 3 installments, 6 installments"]


def test_the_policys_english_words_must_be_complete():
    import copy

    import yaml

    from kuanxin.core.policy import PolicyError, parse_policy
    from kuanxin.core.settings import PROJECT_ROOT

    raw = yaml.safe_load((PROJECT_ROOT / "policy.yml").read_text(encoding="utf-8"))
    assert parse_policy(raw).words("en").decision_time == "within 3 working days"
    without = copy.deepcopy(raw)
    del without["en"]["texts"]["prevention"]
    with pytest.raises(PolicyError, match="policy.en.texts"):
        parse_policy(without)
    no_section = copy.deepcopy(raw)
    del no_section["en"]
    assert parse_policy(no_section).words("en") == parse_policy(no_section).words("zh")  # Chinese, never half
