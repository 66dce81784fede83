"""Borrowers' reminder preferences: read from their words, stored append-only with an audit entry, and respected
by the reminders run (channel, the hours they chose, at the window's edges, and a pause after a hardship)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from kuanxin.core.preference_words import channel_of, wants_pause, window_of
from kuanxin.store import preferences
from kuanxin.store.models import AuditEntry
from tests.unit import test_reminders as reminders_tests
from tests.unit.test_reminders import TODAY, add_borrower, at, bind_wechat, remind, reminders, sms_phones

# the reminders tests' SMS gateway and WeChat doubles, as fixtures of this module too
gateway, wechat_double = reminders_tests.gateway, reminders_tests.wechat_double
sms, wechat = reminders_tests.sms, reminders_tests.wechat

HOURS = (dt.time(8), dt.time(21))


def t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


@pytest.mark.parametrize(("said", "window"), [
    ("晚上7点到9点提醒我", ("19:00", "21:00")), ("下午两点到四点半", ("14:00", "16:30")),
    ("早上八点半到十点吧", ("08:30", "10:00")), ("10:00-12:00", ("10:00", "12:00")),
    ("中午12点到1点", ("12:00", "13:00")), ("下午3点以后再发", ("15:00", "21:00")), ("上午", ("08:00", "12:00")),
    ("7pm to 9pm", ("19:00", "21:00")), ("晚上10点以后", ("22:00", "21:00")), ("改成短信提醒", None),
    # a part of the day refused: the rest of the contact hours, when it is one stretch
    ("用短信发 晚上别打扰", ("08:00", "18:00")), ("不要在早上发", ("10:00", "21:00")),
    ("上午不方便", ("12:00", "21:00")), ("中午别发", None), ("don't text me in the evening", ("08:00", "18:00")),
])
def test_the_hours_a_borrower_names(said, window):
    found = window_of(said, HOURS)
    assert (found and (f"{found[0]:%H:%M}", f"{found[1]:%H:%M}")) == (window and tuple(window))


@pytest.mark.parametrize(("said", "channel"), [
    ("以后改成短信提醒我", "sms"), ("发微信就行", "wechat"), ("别发微信了", "sms"), ("不要短信 发微信", "wechat"),
    ("微信短信都行", None), ("晚上7点后提醒", None), ("please text me instead", "sms"),
])
def test_the_channel_a_borrower_names(said, channel):
    assert channel_of(said) == channel


def test_a_pause_is_asked_for_in_so_many_words():
    assert wants_pause("最近失业了 这几天先别提醒") and wants_pause("能不能暂停一周")
    assert not wants_pause("晚上7点到9点提醒我")


def test_each_change_is_a_new_row_carrying_the_rest_with_an_audit_entry(db):
    now = at(10)
    preferences.record(db, "B1", conversation_id="c1", now=now, channel="sms")
    later = preferences.record(db, "B1", conversation_id="c1", now=now, window=(t("19:00"), t("21:00")))
    assert (later.channel, later.window, later.paused_until) == ("sms", (t("19:00"), t("21:00")), None)
    assert [row.channel for row in preferences.history(db, "B1")] == ["sms", "sms"]
    assert preferences.current(db, "B2") is None
    with db.session() as session:
        details = session.execute(select(AuditEntry.detail).where(AuditEntry.action == "reminder_preferences")
                                  .order_by(AuditEntry.id)).scalars().all()
    assert details == ["提醒渠道:短信;提醒时段:联系时段内均可;暂停至:未暂停",
                       "提醒渠道:短信;提醒时段:19:00-21:00;暂停至:未暂停"]


@pytest.mark.parametrize(("hour", "minute", "sends"), [(18, 59, False), (19, 0, True), (20, 59, True)])
def test_the_run_reminds_only_inside_the_hours_the_borrower_chose(db, policy, sms, hour, minute, sends):
    add_borrower(db, "B1", "13800000001", overdue_days=5)
    add_borrower(db, "B2", "13800000002", overdue_days=5)  # said nothing: any contact hour
    preferences.record(db, "B1", conversation_id="c1", now=at(9), window=(t("19:00"), t("21:00")))
    report = remind(db, policy, at(hour, minute), sms)
    assert sms_phones(sms) == (["13800000001", "13800000002"] if sends else ["13800000002"])
    if not sends:
        assert report.count("sent") == 1


def test_a_window_ending_before_the_contact_hours_end_is_exclusive(db, policy, sms):
    add_borrower(db, "B1", "13800000001", overdue_days=5)
    preferences.record(db, "B1", conversation_id="c1", now=at(9), window=(t("08:00"), t("10:00")))
    remind(db, policy, at(10), sms)
    assert sms_phones(sms) == []
    remind(db, policy, at(9, 59), sms)
    assert sms_phones(sms) == ["13800000001"]


def test_a_pause_holds_reminders_until_its_day(db, policy, sms):
    add_borrower(db, "B1", "13800000001", overdue_days=5)
    resume = TODAY + dt.timedelta(days=7)
    preferences.record(db, "B1", conversation_id="c1", now=at(9), paused_until=resume)
    remind(db, policy, at(10, day=resume - dt.timedelta(days=1)), sms)
    assert sms_phones(sms) == [] and reminders(db) == []
    remind(db, policy, at(10, day=resume), sms)
    assert sms_phones(sms) == ["13800000001"]


def test_a_borrower_bound_in_wechat_who_chose_sms_gets_an_sms(db, policy, sms, wechat, wechat_double):
    add_borrower(db, "WX", "13800000001", overdue_days=3)
    add_borrower(db, "WX2", "13800000002", overdue_days=3)
    bind_wechat(db, "WX")
    bind_wechat(db, "WX2")
    preferences.record(db, "WX", conversation_id="c1", now=at(9), channel="sms")
    remind(db, policy, at(10), sms, wechat_double)
    assert sms_phones(sms) == ["13800000001"]
    assert len(wechat.sent) == 1
    assert {r.borrower_id: r.channel for r in reminders(db)} == {"WX": "sms", "WX2": "wechat"}


def test_the_pause_length_comes_from_the_policy_within_limits(policy):
    import yaml

    from kuanxin.core.policy import parse_policy
    from kuanxin.core.settings import PROJECT_ROOT
    raw = yaml.safe_load((PROJECT_ROOT / "policy.yml").read_text(encoding="utf-8"))
    assert policy.reminders.hardship_pause_days == raw["reminders"]["hardship_pause_days"] == 7
    raw["reminders"]["hardship_pause_days"] = 0
    with pytest.raises(ValueError, match="reminders.hardship_pause_days"):
        parse_policy(raw)
