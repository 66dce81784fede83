"""The WeChat channel against the WeChat double: verification, safe mode, retries, order, the API, binding."""
from __future__ import annotations

import threading
import time

import pytest
import requests
from sqlalchemy import select

from kuanxin.store.models import SenderBinding, ServiceRequest
from testkit.servers import TOKEN
from testkit.wechat import cdata, event_xml, new_openid, text_xml, voice_xml

QUIET = 1.5  # seconds to wait before concluding that nothing more is sent


def msg_id() -> int:
    return time.time_ns() // 1000


def say(platform, wechat_api, openid: str, text: str, expect: int = 1) -> str:
    """Pushes one text message and returns the answer texts that arrive for it."""
    before = len(wechat_api.texts(openid))
    deliveries = platform.push(text_xml(openid, text, msg_id()))
    assert [(d.status, d.body) for d in deliveries] == [(200, "success")]
    return "\n".join(wechat_api.wait_for_texts(openid, before + expect)[before:])


def test_url_verification_echoes_only_for_a_genuine_check(platform):
    assert platform.verify_url("echo-123").text == "echo-123"
    assert platform.verify_url("echo-123", signature="0" * 40).status_code == 403
    stale = platform.query(timestamp=int(time.time()) - 3600)
    assert requests.get(platform.url, params={**stale, "echostr": "x"}, timeout=5).status_code == 403


def test_encrypted_round_trip_with_chinese_and_a_numbered_menu(platform, wechat_api, openid, tracker):
    answer = say(platform, wechat_api, openid, "你好")
    assert "宽心" in answer and "回复数字即可选择:\n1. 查询欠款" in answer
    assert tracker.user_texts(openid) == ["你好"]
    assert wechat_api.sent[-1]["touser"] == openid


def test_cdata_terminator_and_markup_in_text_arrive_as_typed(platform, wechat_api, openid, tracker):
    typed = "a]]>b <b>&amp; 我想问下欠款"
    say(platform, wechat_api, openid, typed)
    assert tracker.user_texts(openid) == [typed]


def hostile_pushes(platform, openid):
    genuine = text_xml(openid, "你好", 42)
    envelope = platform.envelope(genuine)
    entity = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY boom "boom">]>'
              f"<xml><ToUserName>{cdata('gh')}</ToUserName><Encrypt>&boom;</Encrypt></xml>")
    inner_entity = platform.envelope('<!DOCTYPE xml [<!ENTITY a "x">]>' + genuine.replace("你好", "&a;"))
    wrong_app = platform.envelope(genuine, app_id="wx" + "0" * 16)
    wrong_key = platform.envelope(genuine, aes_key="B" * 43)
    return {
        "bad signature": (envelope, {**platform.query(body=envelope), "signature": "0" * 40}),
        "bad message signature": (envelope, {**platform.query(body=envelope), "msg_signature": "0" * 40}),
        "stale timestamp": (envelope, platform.query(body=envelope, timestamp=int(time.time()) - 3600)),
        "plaintext in safe mode": (genuine, platform.query(body=genuine, encrypted=False)),
        "wrong AppID": (wrong_app, platform.query(body=wrong_app)),
        "wrong key": (wrong_key, platform.query(body=wrong_key)),
        "entity declaration": (entity, platform.query(body=entity)),
        "entity inside the encrypted body": (inner_entity, platform.query(body=inner_entity)),
        "not XML": ("{'sql': \"1; DROP TABLE borrowers;--\"}", platform.query(body="x")),
        "empty body": ("", platform.query(body="")),
        "huge body": ("<xml>" + "a" * 200_000 + "</xml>", platform.query(body="y")),
        "no parameters": (envelope, {}),
    }


def test_every_hostile_or_broken_push_is_refused_cleanly(platform, wechat_api, openid, tracker):
    for name, (body, query) in hostile_pushes(platform, openid).items():
        delivery = platform.post(body, query)
        assert 400 <= delivery.status < 500, (name, delivery)
    time.sleep(QUIET)
    assert wechat_api.sent == [] and tracker.user_texts(openid) == []
    assert "宽心" in say(platform, wechat_api, openid, "你好")  # the channel still answers afterwards


def test_one_message_pushed_three_times_in_a_row_makes_one_turn(platform, wechat_api, openid, tracker):
    xml = text_xml(openid, "怎么还款", msg_id())
    body = platform.envelope(xml)
    for _ in range(3):
        assert platform.post(body, platform.query(body=body)).body == "success"
    wechat_api.wait_for_texts(openid, 1)
    time.sleep(QUIET)
    assert tracker.user_texts(openid) == ["怎么还款"]
    assert len(wechat_api.texts(openid)) == 1


def test_one_message_pushed_three_times_at_once_makes_one_turn(platform, wechat_api, openid, tracker):
    body = platform.envelope(text_xml(openid, "怎么还款", msg_id()))
    deliveries = []
    threads = [threading.Thread(target=lambda: deliveries.append(platform.post(body, platform.query(body=body))))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [d.body for d in deliveries] == ["success"] * 3
    wechat_api.wait_for_texts(openid, 1)
    time.sleep(QUIET)
    assert tracker.user_texts(openid) == ["怎么还款"] and len(wechat_api.texts(openid)) == 1


def test_repeated_events_make_one_turn(platform, wechat_api, openid):
    xml = event_xml(openid, "subscribe", created=int(time.time()))
    platform.push(xml)
    platform.push(xml)
    wechat_api.wait_for_texts(openid, 1)
    time.sleep(QUIET)
    assert len(wechat_api.texts(openid)) == 1


def test_a_six_second_action_is_acknowledged_at_once_and_answered_later(platform, wechat_api, action_proxy,
                                                                         openid):
    action_proxy.delays["action_greet"] = 6
    deliveries = platform.push(text_xml(openid, "你好", msg_id()))
    assert len(deliveries) == 1 and deliveries[0].body == "success" and deliveries[0].seconds < 1
    assert wechat_api.texts(openid) == []
    answer = wechat_api.wait_for_texts(openid, 1, timeout=30)
    assert "宽心" in answer[0]


def test_each_borrowers_messages_are_answered_in_the_order_sent(platform, wechat_api, action_proxy, openid,
                                                                 tracker):
    action_proxy.delays["action_greet"] = 2  # the first turn is slow; the next two must still wait for it
    for text in ("你好", "还款渠道有哪些", "谢谢"):
        assert platform.push(text_xml(openid, text, msg_id()))[0].body == "success"
    answers = wechat_api.wait_for_texts(openid, 3, timeout=30)
    assert tracker.user_texts(openid) == ["你好", "还款渠道有哪些", "谢谢"]
    assert "宽心" in answers[0] and "还款" in answers[1] and "不客气" in answers[2]


def test_the_access_token_is_cached_and_refreshed_once_when_revoked(platform, wechat_api, openid):
    say(platform, wechat_api, openid, "你好")
    fetched = len(wechat_api.token_requests)
    say(platform, wechat_api, openid, "谢谢")
    assert len(wechat_api.token_requests) == fetched  # cached
    wechat_api.invalidate_token()
    assert "不客气" in say(platform, wechat_api, openid, "谢谢")
    assert len(wechat_api.token_requests) == fetched + 1 and wechat_api.token_requests[-1]["force_refresh"] is True
    assert wechat_api.refused == [("/cgi-bin/message/custom/send", 40001)]


def test_system_busy_and_server_errors_are_retried(platform, wechat_api, openid):
    wechat_api.fail_next("/cgi-bin/message/custom/send", -1, "http500")
    assert "不客气" in say(platform, wechat_api, openid, "谢谢")


def test_outside_the_service_window_is_given_up_without_retrying(platform, wechat_api, openid):
    wechat_api.fail_next("/cgi-bin/message/custom/send", 45015)
    platform.push(text_xml(openid, "谢谢", msg_id()))
    time.sleep(QUIET * 2)
    assert wechat_api.refused == [("/cgi-bin/message/custom/send", 45015)] and wechat_api.texts(openid) == []
    assert "不客气" in say(platform, wechat_api, openid, "谢谢")


def test_menu_clicks_subscribe_voice_and_other_messages(platform, wechat_api, openid, tracker):
    platform.push(event_xml(openid, "subscribe"))
    assert "宽心" in wechat_api.wait_for_texts(openid, 1)[0]
    platform.push(event_xml(openid, "CLICK", "查询欠款", created=int(time.time()) + 1))
    assert "手机号" in wechat_api.wait_for_texts(openid, 2)[1]
    platform.push(event_xml(openid, "VIEW", "https://lender.example", created=int(time.time()) + 2))
    platform.push(event_xml(openid, "LOCATION", created=int(time.time()) + 3))
    platform.push(voice_xml(openid, "", msg_id()))
    assert "没有听清" in wechat_api.wait_for_texts(openid, 3)[2]
    image = text_xml(openid, "", msg_id()).replace("<MsgType><![CDATA[text]]></MsgType>",
                                                   "<MsgType><![CDATA[image]]></MsgType>")
    platform.push(image)
    assert "文字和语音" in wechat_api.wait_for_texts(openid, 4)[3]
    time.sleep(QUIET)
    assert len(wechat_api.texts(openid)) == 4  # VIEW and LOCATION were dropped quietly
    assert tracker.user_texts(openid)[:2] == ["/greet", "/check_overdue"]


def test_identity_balance_and_an_installment_request_answered_by_digits(platform, wechat_api, openid, db):
    ask = say(platform, wechat_api, openid, "我逾期了多少钱")
    assert "手机号" in ask
    assert "身份证" in say(platform, wechat_api, openid, "13700002222")
    answers = [say(platform, wechat_api, openid, "0019")]
    assert "身份核实成功(137****2222)" in answers[0] and "本微信已绑定您的账户" in answers[0]
    assert "10,247.52" in answers[0]
    periods = say(platform, wechat_api, openid, "我想分期还")
    assert "请直接回复:3期、6期、12期、24期、36期" in periods
    plan = say(platform, wechat_api, openid, "6")  # means 6 periods, not the 6th choice
    assert "分6期" in plan and "回复数字即可选择:\n1. 确认提交\n2. 取消" in plan
    done = say(platform, wechat_api, openid, "1")
    assert "FQ20261122-" in done
    with db.session() as session:
        request = session.execute(select(ServiceRequest).where(ServiceRequest.conversation_id == openid)).scalar_one()
    assert (request.type, request.periods, request.status) == ("installment", 6, "pending")


def test_binding_skips_identity_next_time_until_unbound(platform, wechat_api, openid, tracker, db):
    say(platform, wechat_api, openid, "查一下我的欠款")
    say(platform, wechat_api, openid, "13812345678")
    say(platform, wechat_api, openid, "123X")
    tracker.forget(openid)  # a later conversation
    assert "3,084.60" in say(platform, wechat_api, openid, "我现在欠多少钱")
    assert "已为您解除绑定" in say(platform, wechat_api, openid, "解除绑定")
    with db.session() as session:
        assert session.get(SenderBinding, openid) is None
    assert "手机号" in say(platform, wechat_api, openid, "我现在欠多少钱")
    tracker.forget(openid)
    assert "手机号" in say(platform, wechat_api, openid, "我现在欠多少钱")


def test_unsubscribing_forgets_the_binding(platform, wechat_api, openid, db):
    say(platform, wechat_api, openid, "查欠款")
    say(platform, wechat_api, openid, "13812345678 123X")
    with db.session() as session:
        assert session.get(SenderBinding, openid).borrower_id == "B1001"
    platform.push(event_xml(openid, "unsubscribe"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with db.session() as session:
            if session.get(SenderBinding, openid) is None:
                break
        time.sleep(0.2)
    else:
        pytest.fail("the binding outlived the unsubscribe")


def test_a_staff_reply_reaches_wechat_labelled_with_the_name(platform, wechat_api, openid, servers):
    say(platform, wechat_api, openid, "你好")
    requests.post(f"{servers.rasa_url}/conversations/{openid}/tracker/events",
                  params={"token": TOKEN, "output_channel": "latest", "execute_side_effects": "true"},
                  json={"event": "bot", "text": "您好,我是客服,我来帮您看看。",
                        "data": {"custom": {"kuanxin_staff": {"name": "王小明"}}}}, timeout=30).raise_for_status()
    assert wechat_api.wait_for_texts(openid, 2)[1] == "【人工客服 · 王小明】您好,我是客服,我来帮您看看。"


def test_logs_hold_no_secret_and_no_personal_data(platform, wechat_api, wechat_account, servers, openid):
    say(platform, wechat_api, openid, "我的手机号13812345678")
    wechat_api.invalidate_token()
    say(platform, wechat_api, openid, "谢谢")
    log = (servers.logs / "rasa.log").read_text()
    for secret in (wechat_account.app_secret, wechat_account.aes_key, wechat_account.token, wechat_api.token,
                   openid, "13812345678"):
        assert secret not in log


def test_a_second_openid_is_not_verified_by_someone_elses_binding(platform, wechat_api, db):
    first, second = new_openid(), new_openid()
    say(platform, wechat_api, first, "查欠款")
    say(platform, wechat_api, first, "13812345678 123X")
    assert "手机号" in say(platform, wechat_api, second, "我现在欠多少钱")
