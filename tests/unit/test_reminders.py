"""Reminders: who is reminded, when, through which channel, with which words, and exactly once.

Real databases (SQLite and PostgreSQL), the real run, and the SMS gateway and WeChat API doubles over HTTP;
the SMS replies through the web app's /sms/inbound served on a free port.
"""
import asyncio
import dataclasses
import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal

import pytest
import requests
import uvicorn
import yaml
from fastapi import FastAPI
from sqlalchemy import select

from kuanxin.core import clock
from kuanxin.core.policy import parse_policy
from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.reminders import messages
from kuanxin.reminders.optout import PhoneOptOut, is_opt_out_reply, opt_out, opt_out_by_phone
from kuanxin.reminders.run import Channels, run
from kuanxin.reminders.selection import Candidate, sms_instead_bar
from kuanxin.reminders.sms import SmsConfigError, SmsGateway, sms_settings
from kuanxin.store.db import database
from kuanxin.store.models import Borrower, Escalation, PaymentPromise, Reminder, ReminderOptOut, SenderBinding
from kuanxin.wechat.api import WeChatApi
from kuanxin.wechat.config import settings_from_env
from testkit.sms_gateway import SmsGatewayDouble
from testkit.wechat import Account, Api, new_openid
from tests.conftest import make_loan, make_request
from web import sms as web_sms

TODAY = dt.date(2026, 11, 22)


def at(hour: int, minute: int = 0, day: dt.date = TODAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), clock.BEIJING)


MORNING = at(10)


@pytest.fixture(scope="module")
def gateway():
    double = SmsGatewayDouble()
    yield double
    double.close()


@pytest.fixture(scope="module")
def wechat_double():
    account = Account()
    double = Api(account)
    yield account, double
    double.close()


@pytest.fixture
def sms(gateway):
    gateway.reset()
    return gateway


@pytest.fixture
def wechat(wechat_double):
    account, double = wechat_double
    double.reset()
    return double


def channels(gateway=None, wechat_double=None, wechat_client=WeChatApi) -> Channels:
    wechat_api = wechat_client(settings_from_env(wechat_double[0].env(wechat_double[1].url))) if wechat_double else None
    return Channels(wechat_api, SmsGateway(sms_settings(gateway.env())) if gateway else None)


def remind(db, policy, now=MORNING, gateway=None, wechat_double=None, dry_run=False, wechat_client=WeChatApi):
    async def go():
        chosen = channels(gateway, wechat_double, wechat_client)
        try:
            return await run(db, policy, now, chosen, dry_run, pause=0.01)
        finally:
            for client in (chosen.wechat, chosen.sms):
                if client:
                    await client.close()
    return asyncio.run(go())


def add_borrower(db, borrower_id: str, phone: str, *, overdue_days: int | None = None, due_in: int | None = None,
                 principal: str = "1000.00", status: str = "active", paid: str = "0.00",
                 paid_on: dt.date | None = None) -> None:
    due = TODAY - dt.timedelta(days=overdue_days) if overdue_days is not None else TODAY + dt.timedelta(days=due_in)
    loan = make_loan([(due, principal, "0.00", paid)], status=status, rate="0", late_fee="0.00",
                     loan_id=f"L-{borrower_id}")
    loan.schedule[0].paid_on = paid_on
    with db.session() as session:
        session.add(Borrower(id=borrower_id, name="测试", phone=phone, id_last4="1234", id_masked="x",
                             loans=[loan]))


def sms_phones(gateway) -> list[str]:
    return sorted(message["to"] for message in gateway.sent)


def reminders(db) -> list[Reminder]:
    with db.session() as session:
        return list(session.execute(select(Reminder).order_by(Reminder.borrower_id)).scalars())


# contact hours -------------------------------------------------------------------------------

@pytest.mark.parametrize(("hour", "minute", "sends"), [(7, 59, False), (8, 0, True), (20, 59, True), (21, 0, False)])
def test_contact_hours(db, policy, sms, hour, minute, sends):
    add_borrower(db, "B1", "13800000001", overdue_days=5)
    report = remind(db, policy, at(hour, minute), sms)
    assert report.in_hours is sends
    assert sms_phones(sms) == (["13800000001"] if sends else [])
    assert len(reminders(db)) == (1 if sends else 0)


def test_contact_hours_never_wider_than_the_law():
    raw = yaml.safe_load((PROJECT_ROOT / "policy.yml").read_text(encoding="utf-8"))
    for start, end in (("07:30", "21:00"), ("08:00", "22:30"), ("21:00", "09:00"), ("8点", "21:00")):
        raw["reminders"]["contact_hours"] = {"start": start, "end": end}
        with pytest.raises(ValueError, match="contact_hours"):
            parse_policy(raw)
    raw["reminders"]["contact_hours"] = {"start": "08:00", "end": "22:00"}
    assert parse_policy(raw).reminders.contact_end == dt.time(22)


# who is reminded -----------------------------------------------------------------------------

def test_only_classes_whose_treatment_is_a_reminder(db, policy, sms):
    add_borrower(db, "UP", "13800000001", due_in=3)  # upcoming
    add_borrower(db, "E1", "13800000002", overdue_days=30)  # early
    add_borrower(db, "M1", "13800000003", overdue_days=31)  # middle, small
    add_borrower(db, "ML", "13800000004", overdue_days=31, principal="5000.00")  # middle, large: collection
    add_borrower(db, "LT", "13800000005", overdue_days=91)  # late: collection
    add_borrower(db, "LG", "13800000006", overdue_days=10, status="litigation")
    add_borrower(db, "CU", "13800000007", due_in=4)  # current
    add_borrower(db, "ST", "13800000008", overdue_days=40, paid="1000.00", paid_on=TODAY, status="settled")
    report = remind(db, policy, gateway=sms)
    assert sms_phones(sms) == ["13800000001", "13800000002", "13800000003"]
    assert sorted((o.plan.candidate.borrower_id, o.status) for o in report.outcomes) == [
        ("E1", "sent"), ("M1", "sent"), ("UP", "sent")]


def test_exclusions(db, policy, sms):
    for n, name in enumerate(("OPT", "ABUSE", "ABUSE_DONE", "PENDING", "PROMISED", "PROMISE_PAST", "PLAIN"), 1):
        add_borrower(db, name, f"1380000000{n}", overdue_days=5)
    opt_out(db, "OPT", "sms", MORNING)
    with db.session() as session:
        session.add_all([
            Escalation(conversation_id="c1", borrower_id="ABUSE", reason="collection_abuse", priority="high",
                       status="claimed", created_at=dt.datetime(2026, 11, 20)),
            Escalation(conversation_id="c2", borrower_id="ABUSE_DONE", reason="collection_abuse", priority="high",
                       status="resolved", created_at=dt.datetime(2026, 11, 1)),
            PaymentPromise(borrower_id="PROMISED", promised_date=TODAY + dt.timedelta(days=2),
                           amount=Decimal("1000.00"), status="open", created_at=dt.datetime(2026, 11, 21)),
            PaymentPromise(borrower_id="PROMISE_PAST", promised_date=TODAY - dt.timedelta(days=9),
                           amount=Decimal("1000.00"), status="broken", created_at=dt.datetime(2026, 11, 10)),
        ])
        request = make_request("deferral", "pending", TODAY - dt.timedelta(days=1), loan_id="L-PENDING")
        request.borrower_id = "PENDING"
        session.add(request)
    report = remind(db, policy, gateway=sms)
    skipped = {o.plan.candidate.borrower_id: o.plan.skip for o in report.outcomes if o.status == "skipped"}
    assert skipped == {"OPT": "opted_out", "ABUSE": "abuse_complaint", "PENDING": "pending_request",
                       "PROMISED": "promise_open"}
    assert sms_phones(sms) == ["13800000003", "13800000006", "13800000007"]


def test_opt_out_words_and_phone():
    for text in ("退订", " TD ", "td", "取消提醒", "T", "退订。", "Unsubscribe"):
        assert is_opt_out_reply(text), text
    for text in ("", "我要退订吗?", "还款", "退订<script>", "TDX"):
        assert not is_opt_out_reply(text), text


def test_opt_out_is_recorded_once_by_phone_or_id(db):
    add_borrower(db, "B1", "13800000001", overdue_days=5)
    assert opt_out_by_phone(db, "13800000001", "sms", MORNING) == PhoneOptOut("B1", new=True)
    assert opt_out_by_phone(db, "13800000001", "sms", MORNING) == PhoneOptOut("B1", new=False)
    assert opt_out_by_phone(db, "13900000000", "sms", MORNING) is None  # nobody's phone: nothing recorded
    assert not opt_out(db, "B1", "wechat", MORNING)  # already opted out
    with db.session() as session:
        assert [(o.borrower_id, o.channel) for o in session.execute(select(ReminderOptOut)).scalars()] == [
            ("B1", "sms")]


# once a day, a weekly cap, idempotent -----------------------------------------------------------

def test_a_rerun_and_a_concurrent_run_send_nothing_twice(db, policy, sms):
    for n in range(1, 7):
        add_borrower(db, f"B{n}", f"1380000000{n}", overdue_days=n)

    async def two_at_once():
        first, second = channels(sms), channels(sms)
        try:
            return await asyncio.gather(run(db, policy, MORNING, first), run(db, policy, MORNING, second))
        finally:
            await first.sms.close()
            await second.sms.close()

    reports = asyncio.run(two_at_once())
    assert sum(r.count("sent") for r in reports) == 6
    again = remind(db, policy, at(15), sms)
    assert again.count("sent") == 0
    assert {o.plan.skip for o in again.outcomes} == {"reminded_today"}
    assert sms_phones(sms) == [f"1380000000{n}" for n in range(1, 7)]
    assert {(r.status, r.attempts, r.recipient[:7]) for r in reminders(db)} == {("sent", 1, "138****")}


def test_weekly_cap_counts_the_last_seven_days(db, policy, sms):
    add_borrower(db, "CAPPED", "13800000001", overdue_days=20)
    add_borrower(db, "OLDER", "13800000002", overdue_days=20)
    with db.session() as session:
        for borrower, days_ago in (("CAPPED", 1), ("CAPPED", 6), ("OLDER", 3), ("OLDER", 7)):
            session.add(Reminder(borrower_id=borrower, day=TODAY - dt.timedelta(days=days_ago), kind="segment",
                                 segment="early", channel="sms", recipient="138****0001", amount=Decimal("1"),
                                 status="sent", attempts=1, created_at=dt.datetime(2026, 11, 1)))
    report = remind(db, policy, gateway=sms)
    assert {o.plan.candidate.borrower_id: o.plan.skip for o in report.outcomes} == {"CAPPED": "weekly_cap",
                                                                                   "OLDER": None}
    assert sms_phones(sms) == ["13800000002"]


def test_dry_run_sends_and_records_nothing(db, policy, sms):
    add_borrower(db, "B1", "13800000001", overdue_days=5)
    report = remind(db, policy, gateway=sms, dry_run=True)
    assert [o.status for o in report.outcomes] == ["would_send"]
    assert sms.requests == 0 and reminders(db) == []


# delivery: the requests exactly, retries and failures ---------------------------------------------

def test_sms_text_is_exactly_what_the_gateway_gets(db, policy, sms):
    add_borrower(db, "B1", "13800000001", overdue_days=12, principal="1234.50")
    add_borrower(db, "B2", "13800000002", due_in=2, principal="800.00")
    remind(db, policy, gateway=sms)
    by_phone = {m["to"]: m for m in sms.sent}
    assert by_phone["13800000001"]["text"] == (
        "【宽心消费金融(演示)】您的借款有款项尚未归还(还款日2026年11月10日),截至2026年11月22日应还1,234.50元。"
        "还款方式:宽心App「我的借款」或微信服务号「在线还款」。"
        "如需延期、分期或有疑问,可咨询在线助手 https://kuanxin.example.cn/help。回复退订或取消提醒,将不再收到提醒。")
    assert by_phone["13800000002"]["text"].startswith(
        "【宽心消费金融(演示)】温馨提醒:您的借款将于2026年11月24日到期,应还800.00元。")
    references = {m["reference"] for m in sms.sent}
    assert len(references) == 2 and all(r.startswith("TX20261122-") for r in references)
    for text in (m["text"] for m in sms.sent):  # what a third party holding the phone must not learn
        assert not any(word in text for word in ("测试", "征信", "起诉", "法律", "逾期", "L-B1", "1234"))


def test_wechat_borrowers_get_a_template_message(db, policy, sms, wechat, wechat_double):
    add_borrower(db, "WX", "13800000001", overdue_days=3, principal="2000.00")
    add_borrower(db, "SMS", "13800000002", overdue_days=3)
    openid = new_openid()
    with db.session() as session:
        session.add(SenderBinding(sender_id=openid, channel="wechat", borrower_id="WX", created_at=dt.datetime.now()))
    report = remind(db, policy, gateway=sms, wechat_double=wechat_double)
    assert wechat.sent == [{
        "touser": openid, "template_id": "kx-repayment-reminder", "url": "https://kuanxin.example.cn/help",
        "data": {"thing1": {"value": "宽心消费金融(演示)"}, "amount2": {"value": "2,000.00元"},
                 "time3": {"value": "2026年11月19日"}, "thing4": {"value": "App或服务号「在线还款」"},
                 "thing5": {"value": "点此咨询在线助手,回复退订可取消"}}}]
    assert sms_phones(sms) == ["13800000002"]
    wx = next(r for r in reminders(db) if r.borrower_id == "WX")
    assert (wx.channel, wx.status, wx.recipient) == ("wechat", "sent", f"{openid[:4]}…{openid[-2:]}")
    assert report.count("sent") == 2


def test_template_values_over_twenty_characters_are_refused_before_sending(policy):
    long_lender = dataclasses.replace(policy, lender=dataclasses.replace(policy.lender, name="宽" * 21))
    with pytest.raises(ValueError, match="lender"):
        messages.template_data(long_lender, messages.Reminding("early", Decimal("1.00"), TODAY, TODAY))


def test_transient_failures_are_retried_then_reported(db, policy, sms):
    add_borrower(db, "RETRIED", "13800000001", overdue_days=5)
    add_borrower(db, "DOWN", "13800000002", overdue_days=5)
    add_borrower(db, "REFUSED", "13800000003", overdue_days=5)
    only = {}

    def run_one(borrower, *faults):
        """A run where only `borrower` is due (the others opted out), the gateway failing as told."""
        sms.reset()
        sms.fail_next(*faults)
        with db.session() as session:
            for other in session.execute(select(Borrower)).scalars():
                if other.id != borrower:
                    opt_out(db, other.id, "test", MORNING)
            session.query(ReminderOptOut).filter(ReminderOptOut.borrower_id == borrower).delete()
        only[borrower] = remind(db, policy, gateway=sms)
        return sms.requests

    assert run_one("RETRIED", "http500", "http500") == 3
    assert run_one("DOWN", "http500", "http500", "http500") == 3
    assert run_one("REFUSED", "http400") == 1
    assert [(r.borrower_id, r.status, r.attempts) for r in reminders(db)] == [
        ("DOWN", "failed", 3), ("REFUSED", "failed", 3), ("RETRIED", "sent", 3)]
    assert [o.error for o in only["DOWN"].failures] == ["gateway error HTTP 500"]
    assert [o.error for o in only["REFUSED"].failures] == ["gateway refused HTTP 400"]
    # a re-run the same day does not try the spent ones again
    assert run_one("DOWN") == 0


def test_a_failed_reminder_with_attempts_left_is_retried_by_the_rerun(db, policy, sms):
    add_borrower(db, "B1", "13800000001", overdue_days=5)
    with db.session() as session:
        session.add(Reminder(borrower_id="B1", day=TODAY, kind="segment", segment="early", channel="sms",
                             recipient="138****0001", amount=Decimal("1000.00"), status="failed", attempts=1,
                             error="gateway unreachable", created_at=dt.datetime(2026, 11, 22, 1)))
    report = remind(db, policy, gateway=sms)
    assert report.count("sent") == 1 and sms_phones(sms) == ["13800000001"]
    assert [(r.status, r.attempts) for r in reminders(db)] == [("sent", 2)]


def test_no_channel_configured(db, policy):
    add_borrower(db, "B1", "13800000001", overdue_days=5)
    report = remind(db, policy)
    assert [o.plan.skip for o in report.outcomes] == ["no_channel"]


def test_sms_settings():
    assert sms_settings({}) is None
    for env in ({"KUANXIN_SMS_URL": "ftp://x", "KUANXIN_SMS_KEY": "k" * 20},
                {"KUANXIN_SMS_URL": "http://sms.local/send", "KUANXIN_SMS_KEY": "short"},
                {"KUANXIN_SMS_URL": "http://sms.local/send", "KUANXIN_SMS_KEY": "k" * 20,
                 "KUANXIN_SMS_TIMEOUT": "soon"}):
        with pytest.raises(SmsConfigError):
            sms_settings(env)
    settings = sms_settings({"KUANXIN_SMS_URL": "http://sms.local/send", "KUANXIN_SMS_KEY": "k" * 20})
    assert "k" * 20 not in repr(settings)


# WeChat refusals: the same reminder by SMS that day, on the same record --------------------------

TEMPLATE = "/cgi-bin/message/template/send"


def bind_wechat(db, borrower_id: str) -> str:
    openid = new_openid()
    with db.session() as session:
        session.add(SenderBinding(sender_id=openid, channel="wechat", borrower_id=borrower_id,
                                  created_at=dt.datetime(2026, 11, 1)))
    return openid


def the_record(db, borrower_id: str) -> tuple:
    record = next(r for r in reminders(db) if r.borrower_id == borrower_id)
    return record.channel, record.recipient, record.status, record.attempts, record.error


@pytest.mark.parametrize("errcode", [43004, 43101, 40003])  # unfollowed, refused the template, an OpenID gone
def test_a_borrower_wechat_refuses_gets_the_reminder_by_sms_that_day(db, policy, sms, wechat, wechat_double,
                                                                      errcode):
    add_borrower(db, "WX", "13800000001", overdue_days=3)
    add_borrower(db, "PLAIN", "13800000002", overdue_days=3)  # owes the same: gets the same SMS
    wechat.refuse(bind_wechat(db, "WX"), errcode)
    report = remind(db, policy, gateway=sms, wechat_double=wechat_double)
    assert wechat.refused == [(TEMPLATE, errcode)] and wechat.sent == []
    by_phone = {m["to"]: m for m in sms.sent}
    assert sorted(by_phone) == ["13800000001", "13800000002"]
    assert by_phone["13800000001"]["text"] == by_phone["13800000002"]["text"]
    note = f"WeChat errcode {errcode}; sent by SMS"
    assert the_record(db, "WX") == ("sms", "138****0001", "sent", 2, note)  # one WeChat try, one SMS
    outcome = next(o for o in report.outcomes if o.plan.candidate.borrower_id == "WX")
    assert (outcome.status, outcome.plan.channel, outcome.error) == ("sent", "sms", note)
    assert by_phone["13800000001"]["reference"] == outcome.reference and not report.failures
    # once a day still: a re-run that afternoon sends nothing on either channel, and adds no record
    again = remind(db, policy, at(15), sms, wechat_double)
    assert {o.plan.skip for o in again.outcomes} == {"reminded_today"}
    assert len(sms.sent) == 2 and len(wechat.refused) == 1 and len(reminders(db)) == 2


@pytest.mark.slow  # waits out real retries
def test_a_busy_wechat_is_retried_and_never_falls_back(db, policy, sms, wechat, wechat_double):
    add_borrower(db, "WX", "13800000001", overdue_days=3)
    bind_wechat(db, "WX")
    wechat.fail_next(TEMPLATE, *[-1] * 9)  # system busy through the client's 3 tries of each of the run's 3
    report = remind(db, policy, gateway=sms, wechat_double=wechat_double)
    assert [o.error for o in report.failures] == ["WeChat errcode -1"]
    assert len(wechat.refused) == 9 and sms.requests == 0
    assert the_record(db, "WX")[2:] == ("failed", 3, "WeChat errcode -1") and the_record(db, "WX")[0] == "wechat"


def test_a_refusal_of_our_own_making_is_not_covered_up_by_an_sms(db, policy, sms, wechat, wechat_double):
    add_borrower(db, "WX", "13800000001", overdue_days=3)
    bind_wechat(db, "WX")
    wechat.templates.clear()  # the template was withdrawn: 40037 for everyone, for staff to fix
    report = remind(db, policy, gateway=sms, wechat_double=wechat_double)
    assert [o.error for o in report.failures] == ["WeChat errcode 40037"] and sms.requests == 0


@pytest.mark.parametrize(("phone", "sms_configured"), [("", True), ("13800000001", False)])
def test_without_a_phone_or_an_sms_gateway_the_wechat_failure_stands(db, policy, sms, wechat, wechat_double,
                                                                     phone, sms_configured):
    add_borrower(db, "WX", phone, overdue_days=3)
    openid = bind_wechat(db, "WX")
    wechat.refuse(openid, 43004)
    report = remind(db, policy, gateway=sms if sms_configured else None, wechat_double=wechat_double)
    assert [o.error for o in report.failures] == ["WeChat errcode 43004"] and sms.requests == 0
    assert the_record(db, "WX") == ("wechat", f"{openid[:4]}…{openid[-2:]}", "failed", 3, "WeChat errcode 43004")


def test_a_borrower_at_the_weekly_cap_gets_neither(db, policy, sms, wechat, wechat_double):
    add_borrower(db, "WX", "13800000001", overdue_days=20)
    wechat.refuse(bind_wechat(db, "WX"), 43004)
    with db.session() as session:
        for days_ago in (2, 5):
            session.add(Reminder(borrower_id="WX", day=TODAY - dt.timedelta(days=days_ago), kind="segment",
                                 segment="early", channel="wechat", recipient="oAbc…yz", amount=Decimal("1"),
                                 status="sent", attempts=1, created_at=dt.datetime(2026, 11, 1)))
    report = remind(db, policy, gateway=sms, wechat_double=wechat_double)
    assert [o.plan.skip for o in report.outcomes] == ["weekly_cap"]
    assert wechat.refused == [] and sms.requests == 0


def test_the_rules_are_checked_again_when_the_sms_would_go(db, policy):
    """sms_instead_bar: a phone on file, the contact hours at that moment, the cap counting the other reminders."""
    add_borrower(db, "B1", "13800000001", overdue_days=20)
    with db.session() as session:
        rows = [Reminder(borrower_id="B1", day=TODAY - dt.timedelta(days=days_ago), kind="segment", segment="early",
                         channel="wechat", recipient="oAbc…yz", amount=Decimal("1"), status=status, attempts=1,
                         created_at=dt.datetime(2026, 11, 1))
                for days_ago, status in ((0, "sending"), (3, "sent"), (4, "failed"), (7, "sent"))]
        session.add_all(rows)
    today = rows[0].id
    candidate = Candidate("B1", "13800000001", "early", "segment", Decimal("1000.00"), TODAY - dt.timedelta(days=20))
    assert sms_instead_bar(db, candidate, policy.reminders, MORNING, today) is None  # one other sent this week
    assert sms_instead_bar(db, dataclasses.replace(candidate, phone=""), policy.reminders, MORNING, today) == "no_phone"
    assert sms_instead_bar(db, candidate, policy.reminders, at(21), today) == "outside_hours"
    capped = dataclasses.replace(policy.reminders, weekly_cap=1)
    assert sms_instead_bar(db, candidate, capped, MORNING, today) == "weekly_cap"


def test_an_opt_out_while_wechat_refuses_stops_the_sms(db, policy, sms, wechat, wechat_double):
    add_borrower(db, "WX", "13800000001", overdue_days=3)
    wechat.refuse(bind_wechat(db, "WX"), 43004)

    class RepliedTdMeanwhile(WeChatApi):
        async def send_template(self, *args, **kwargs):
            opt_out_by_phone(db, "13800000001", "sms", MORNING)  # 退订 by SMS while the template is on its way
            await super().send_template(*args, **kwargs)

    report = remind(db, policy, gateway=sms, wechat_double=wechat_double, wechat_client=RepliedTdMeanwhile)
    assert [o.error for o in report.failures] == ["WeChat errcode 43004; no SMS: opted_out"]
    assert sms.requests == 0 and the_record(db, "WX")[0] == "wechat"


@pytest.mark.slow  # waits out real retries
def test_no_sms_after_the_contact_hours_end_while_wechat_answers(db, policy, sms, wechat, wechat_double):
    add_borrower(db, "WX", "13800000001", overdue_days=3)
    wechat.refuse(bind_wechat(db, "WX"), 43004)

    class Slow(WeChatApi):
        async def send_template(self, *args, **kwargs):
            await asyncio.sleep(1.2)  # the run began at 20:59:59; WeChat refuses after 21:00
            await super().send_template(*args, **kwargs)

    just_in = dt.datetime.combine(TODAY, dt.time(20, 59, 59), clock.BEIJING)
    report = remind(db, policy, just_in, sms, wechat_double, wechat_client=Slow)
    assert [o.error for o in report.failures] == ["WeChat errcode 43004; no SMS: outside_hours"]
    assert sms.requests == 0


def test_an_sms_fallback_the_gateway_fails_is_reported_and_not_retried(db, policy, sms, wechat, wechat_double):
    add_borrower(db, "WX", "13800000001", overdue_days=3)
    wechat.refuse(bind_wechat(db, "WX"), 43004)
    sms.fail_next("http500", "http500", "http500")
    report = remind(db, policy, gateway=sms, wechat_double=wechat_double)
    error = "WeChat errcode 43004; SMS: gateway error HTTP 500"
    assert [(o.plan.channel, o.error) for o in report.failures] == [("sms", error)] and sms.requests == 3
    assert the_record(db, "WX") == ("sms", "138****0001", "failed", 4, error)  # 1 WeChat + 3 SMS tries
    again = remind(db, policy, at(15), sms, wechat_double)
    assert {o.plan.skip for o in again.outcomes} == {"reminded_today"} and sms.requests == 3


# the SMS confirming an opt-out (web/sms.py), over HTTP ------------------------------------------

@pytest.fixture
def sms_inbound(db, sms, monkeypatch):
    """The web app's /sms/inbound on a free port, on this database, with the SMS gateway double."""
    for name, value in {**sms.env(), "KUANXIN_DATABASE_URL": db.url}.items():
        monkeypatch.setenv(name, value)
    database.cache_clear()  # the app's database() is made once per process: this test's, not an earlier one's
    app = FastAPI()
    app.include_router(web_sms.router)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", ws="none"))  # as kuanxin serve
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    until(lambda: server.started)
    yield f"http://127.0.0.1:{listening.getsockname()[1]}/sms/inbound"
    server.should_exit = True
    thread.join(10)
    database.cache_clear()


def until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def reply(url: str, gateway, phone: str, text: str) -> dict:
    answer = requests.post(url, json={"from": phone, "text": text},
                           headers={"Authorization": f"Bearer {gateway.key}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_sms_opt_out_is_confirmed_once(db, sms, sms_inbound):
    add_borrower(db, "B1", "13800000001", overdue_days=5)
    assert reply(sms_inbound, sms, "+8613800000001", "退订") == {"opted_out": True}
    until(lambda: sms.requests == 1)
    assert [(m["to"], m["text"]) for m in sms.sent] == [("13800000001", "【宽心消费金融(演示)】退订成功,"
                                                         "今后不会再通过短信或微信给您发送还款提醒。如有疑问请致电400-800-0000。")]
    assert reply(sms_inbound, sms, "13800000001", "TD") == {"opted_out": True}  # again: no second SMS
    assert reply(sms_inbound, sms, "13900000000", "退订") == {"opted_out": True}  # nobody's phone: none
    time.sleep(0.3)  # what a wrongly scheduled confirmation would need to arrive
    assert sms.requests == 1
    with db.session() as session:
        assert [(o.borrower_id, o.channel) for o in session.execute(select(ReminderOptOut)).scalars()] == [
            ("B1", "sms")]


def test_a_gateway_failing_on_the_confirmation_loses_no_opt_out(db, policy, sms, sms_inbound):
    add_borrower(db, "B1", "13800000001", overdue_days=5)
    sms.fail_next("http500")
    assert reply(sms_inbound, sms, "13800000001", "取消提醒") == {"opted_out": True}
    until(lambda: sms.requests == 1)
    assert sms.sent == []
    sms.reset()
    report = remind(db, policy, gateway=sms)  # the opt-out holds for the next run
    assert [o.plan.skip for o in report.outcomes] == ["opted_out"] and sms.requests == 0


# promises ----------------------------------------------------------------------------------

def add_promise(db, borrower_id: str, made: dt.date, promised: dt.date, amount: str) -> None:
    with db.session() as session:
        session.add(PaymentPromise(borrower_id=borrower_id, promised_date=promised, amount=Decimal(amount),
                                   status="open", open_key=f"{borrower_id}:{promised}",
                                   created_at=dt.datetime.combine(made, dt.time(3))))


def promise_states(db) -> dict:
    with db.session() as session:
        return {p.borrower_id: (p.status, p.followed_up_on, p.open_key)
                for p in session.execute(select(PaymentPromise)).scalars()}


def test_promises_kept_and_broken_from_account_data(db, policy, sms):
    yesterday, made = TODAY - dt.timedelta(days=1), TODAY - dt.timedelta(days=5)
    add_borrower(db, "KEPT", "13800000001", overdue_days=20, paid="1000.00", paid_on=yesterday)
    add_borrower(db, "LATE_PAY", "13800000002", overdue_days=20, paid="1000.00", paid_on=TODAY)
    add_borrower(db, "BROKEN", "13800000003", overdue_days=40, principal="6000.00")  # middle large: collection
    add_borrower(db, "NOT_YET", "13800000004", overdue_days=20)
    add_promise(db, "KEPT", made, yesterday, "1000.00")
    add_promise(db, "LATE_PAY", made, yesterday, "1000.00")
    add_promise(db, "BROKEN", made, yesterday, "6000.00")
    add_promise(db, "NOT_YET", made, TODAY, "1000.00")
    report = remind(db, policy, gateway=sms)
    assert sorted((p.borrower_id, p.kept) for p in report.promises) == [
        ("BROKEN", False), ("KEPT", True), ("LATE_PAY", False)]
    assert promise_states(db) == {"KEPT": ("kept", TODAY, None), "LATE_PAY": ("broken", TODAY, None),
                                  "BROKEN": ("broken", TODAY, None),
                                  "NOT_YET": ("open", None, f"NOT_YET:{TODAY}")}
    # the broken promise brings a reminder even in a class staff otherwise handle
    kinds = {r.borrower_id: r.kind for r in reminders(db)}
    assert kinds == {"BROKEN": "broken_promise"}  # LATE_PAY paid today: nothing owed; NOT_YET: promise open
    assert sms_phones(sms) == ["13800000003"]


def test_a_broken_promise_found_outside_hours_is_reminded_later_that_day(db, policy, sms):
    add_borrower(db, "BROKEN", "13800000003", overdue_days=40, principal="6000.00")
    add_promise(db, "BROKEN", TODAY - dt.timedelta(days=3), TODAY - dt.timedelta(days=1), "500.00")
    early = remind(db, policy, at(6), sms)
    assert not early.in_hours and [p.kept for p in early.promises] == [False] and sms.sent == []
    later = remind(db, policy, at(9), sms)
    assert later.promises == [] and later.count("sent") == 1


# the command ---------------------------------------------------------------------------------

def kuanxin(args, env, **kw):
    return subprocess.run([sys.executable, "-m", "kuanxin.ops.cli", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120, **kw)


@pytest.mark.slow
def test_the_command(tmp_path, sms):
    env = {"KUANXIN_DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}", "KUANXIN_VAR_DIR": str(tmp_path),
           "KUANXIN_TODAY": TODAY.isoformat(), "KUANXIN_TIME": "07:59", **sms.env()}
    for name in ("KUANXIN_WECHAT_TOKEN", "KUANXIN_WECHAT_APP_ID", "KUANXIN_WECHAT_APP_SECRET",
                 "KUANXIN_WECHAT_ENCODING_AES_KEY"):
        env[name] = ""
    assert kuanxin(["db", "demo"], env).returncode == 0
    outside = kuanxin(["reminders", "run"], env)
    assert outside.returncode == 0 and "outside contact hours (08:00-21:00)" in outside.stdout
    env["KUANXIN_TIME"] = "08:00"
    dry = kuanxin(["reminders", "run", "--dry-run"], env)
    assert dry.returncode == 0 and "dry run" in dry.stdout and sms.requests == 0
    would = dry.stdout.count("would_send")
    real = kuanxin(["reminders", "run"], env)
    assert real.returncode == 0, real.stderr
    assert f"sent {would}, failed 0" in real.stdout and len(sms.sent) == would >= 1
    assert "13812345678" not in real.stdout + real.stderr  # phones masked
    again = kuanxin(["reminders", "run"], env)
    assert "sent 0, failed 0" in again.stdout and len(sms.sent) == would
    bad = kuanxin(["reminders", "run"], {**env, "KUANXIN_SMS_KEY": "short"})
    assert bad.returncode == 2 and "KUANXIN_SMS_KEY" in bad.stderr and "Traceback" not in bad.stderr


# plans agreed in writing -----------------------------------------------------------------------

def test_a_plan_being_kept_stops_overdue_reminders_and_one_missed_beyond_grace_is_found_broken(db, policy, sms):
    from kuanxin.store.models import RepaymentPlan
    add_borrower(db, "KEPT", "13800000011", overdue_days=5)
    add_borrower(db, "MISSED", "13800000012", overdue_days=40)
    with db.session() as session:
        session.add_all([
            RepaymentPlan(agreement_number="XY20261120-0001", borrower_id="KEPT", loan_id="L-KEPT", kind="installment",
                          starts_on=dt.date(2026, 11, 20), status="in_force", open_key="L-KEPT",
                          payments='[{"n": 1, "due": "2026-12-20", "amount": "1000.00"}]'),
            RepaymentPlan(agreement_number="XY20261001-0001", borrower_id="MISSED", loan_id="L-MISSED",
                          kind="installment", starts_on=dt.date(2026, 10, 1), status="in_force", open_key="L-MISSED",
                          payments='[{"n": 1, "due": "2026-11-01", "amount": "1000.00"}]'),
        ])
    report = remind(db, policy, gateway=sms)
    assert report.plans_ended == [("XY20261001-0001", "broken")]
    skipped = {o.plan.candidate.borrower_id: o.plan.skip for o in report.outcomes if o.status == "skipped"}
    assert skipped == {"KEPT": "plan_in_force"}
    assert sms_phones(sms) == ["13800000012"]  # broken: the account is back to its class and its reminders
    with db.session() as session:
        statuses = dict(session.execute(select(RepaymentPlan.agreement_number, RepaymentPlan.status)).all())
    assert statuses == {"XY20261120-0001": "in_force", "XY20261001-0001": "broken"}
