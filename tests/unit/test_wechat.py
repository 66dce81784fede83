"""kuanxin.wechat: settings, rendering, dedup and order, push checks, and the API client against the double."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis

from kuanxin.wechat import api as wechat_api
from kuanxin.wechat.api import OutsideServiceWindow, WeChatApi, WeChatApiError
from kuanxin.wechat.config import WeChatConfigError, settings_from_env
from kuanxin.wechat.inbound import Inbound, Refused
from kuanxin.wechat.inbox import SeenMessages, SerialQueues, SharedSeenMessages
from kuanxin.wechat.render import MAX_BYTES, choice_payload, render_turn, split_text
from testkit.wechat import Account, Api, Platform, event_xml, text_xml, voice_xml

REDIS = os.environ.get("KUANXIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PERIODS = [{"title": f"{n}期", "payload": f"分{n}期"} for n in (3, 6, 12, 24, 36)]
MENU = [{"title": "查询欠款", "payload": "/check_overdue"}, {"title": "转人工", "payload": "/request_human"}]


# settings ---------------------------------------------------------------------------------------

def test_no_wechat_variable_means_wechat_is_off():
    assert settings_from_env({}) is None


def test_good_settings_load_and_never_print_secrets():
    account = Account()
    settings = settings_from_env(account.env("http://127.0.0.1:9"))
    assert settings.encrypted_required and settings.api_timeout == 3
    assert account.app_secret not in repr(settings) and account.aes_key not in repr(settings)


@pytest.mark.parametrize(("change", "variable"), [
    ({"KUANXIN_WECHAT_APP_ID": "wx123"}, "KUANXIN_WECHAT_APP_ID"),
    ({"KUANXIN_WECHAT_APP_SECRET": ""}, "KUANXIN_WECHAT_APP_SECRET"),
    ({"KUANXIN_WECHAT_ENCODING_AES_KEY": "short"}, "KUANXIN_WECHAT_ENCODING_AES_KEY"),
    ({"KUANXIN_WECHAT_ENCRYPTION": "aes"}, "KUANXIN_WECHAT_ENCRYPTION"),
    ({"KUANXIN_WECHAT_TOKEN": "has space"}, "KUANXIN_WECHAT_TOKEN"),
    ({"KUANXIN_WECHAT_API_TIMEOUT": "soon"}, "KUANXIN_WECHAT_API_TIMEOUT"),
    ({"KUANXIN_WECHAT_API_BASE": "ftp://x"}, "KUANXIN_WECHAT_API_BASE"),
])
def test_bad_settings_fail_naming_the_variable(change, variable):
    with pytest.raises(WeChatConfigError, match=variable):
        settings_from_env({**Account().env("http://127.0.0.1:9"), **change})


def test_plain_mode_needs_no_key_but_safe_mode_does():
    env = {**Account().env("http://127.0.0.1:9", encryption="plain"), "KUANXIN_WECHAT_ENCODING_AES_KEY": ""}
    assert settings_from_env(env).encoding_aes_key is None
    with pytest.raises(WeChatConfigError, match="ENCODING_AES_KEY"):
        settings_from_env({**env, "KUANXIN_WECHAT_ENCRYPTION": "safe"})


# rendering --------------------------------------------------------------------------------------

def test_a_turn_is_merged_into_one_text_with_numbered_choices():
    texts = render_turn([{"text": "身份核实成功。"}, {"text": "请问还有什么可以帮您?", "buttons": MENU}])
    assert texts == ["身份核实成功。\n\n请问还有什么可以帮您?\n回复数字即可选择:\n1. 查询欠款\n2. 转人工"]


def test_choices_that_are_numbers_are_answered_with_the_number():
    assert render_turn([{"text": "分几期?", "buttons": PERIODS}]) == ["分几期?\n请直接回复:3期、6期、12期、24期、36期"]
    assert choice_payload("3", PERIODS) == "分3期"
    assert choice_payload("12", PERIODS) == "分12期"
    assert choice_payload("2", PERIODS) is None  # not a position: the form will say which periods are allowed
    assert choice_payload("６期", PERIODS) == "分6期"  # full-width digits from a Chinese keyboard


def test_choices_by_position_or_title():
    assert choice_payload("1", MENU) == "/check_overdue"
    assert choice_payload(" 2。", MENU) == "/request_human"
    assert choice_payload("3", MENU) is None and choice_payload("0", MENU) is None
    assert choice_payload("转人工", MENU) == "/request_human"
    assert choice_payload("1", []) is None and choice_payload("我要分期", MENU) is None


def test_staff_replies_are_labelled_and_custom_json_is_never_sent():
    staff = {"text": "您好", "custom": {"kuanxin_staff": {"name": "王小明"}}}
    assert render_turn([staff, {"custom": {"anything": 1}}]) == ["【人工客服 · 王小明】您好"]


def test_long_text_is_split_on_lines_within_2048_bytes_without_breaking_characters():
    long = "\n".join(f"第{i}期 2027年1月22日 1,707.92元" for i in range(1, 200))
    pieces = split_text(long, MAX_BYTES)
    assert len(pieces) > 1 and all(len(p.encode()) <= MAX_BYTES for p in pieces)
    assert "\n".join(pieces) == long
    unbroken = "欠" * 2000  # 6,000 bytes, no line breaks
    pieces = split_text(unbroken, MAX_BYTES)
    assert "".join(pieces) == unbroken and all(len(p.encode()) <= MAX_BYTES for p in pieces)


def test_a_turn_never_needs_more_than_five_messages():
    texts = render_turn([{"text": "话" * 3000} for _ in range(5)])
    assert len(texts) == 5 and all(len(t.encode()) <= MAX_BYTES for t in texts)
    assert texts[-1].endswith("由工作人员协助。)")


# dedup and order --------------------------------------------------------------------------------

def test_a_message_key_is_claimed_once_within_the_window():
    now = [0.0]
    seen = SeenMessages(ttl=10, monotonic=lambda: now[0])
    claim = lambda key: asyncio.run(seen.claim(key))
    assert claim("msg:1") and not claim("msg:1") and claim("msg:2")
    now[0] = 11
    assert claim("msg:1")


def test_memory_is_bounded():
    seen = SeenMessages(limit=3)
    for i in range(10):
        assert asyncio.run(seen.claim(f"k{i}"))
    assert len(seen._seen) <= 3


def test_shared_memory_in_redis_lets_one_of_many_concurrent_claims_win():
    prefix = "kxtest" + uuid.uuid4().hex[:8]

    async def scenario():
        instances = [SharedSeenMessages(REDIS, prefix) for _ in range(3)]  # as on three Rasa instances
        try:
            return await asyncio.gather(*(seen.claim("msg:42") for seen in instances for _ in range(5)))
        finally:
            for seen in instances:
                await seen._redis.close()

    try:
        won = asyncio.run(scenario())
    except redis.ConnectionError:
        pytest.skip("Redis not reachable")
    assert won.count(True) == 1
    client = redis.Redis.from_url(REDIS)
    assert 0 < client.ttl(f"{prefix}:wechat-seen:msg:42") <= 300
    client.delete(f"{prefix}:wechat-seen:msg:42")


def test_each_key_runs_in_order_while_keys_run_side_by_side():
    async def scenario():
        queues, done = SerialQueues(), []

        def job(key, name, pause):
            async def run():
                await asyncio.sleep(pause)
                done.append(name)
                if name == "a2":
                    raise RuntimeError("a failed turn must not stop the next")
            return run

        queues.submit("a", job("a", "a1", 0.05))
        queues.submit("a", job("a", "a2", 0))
        queues.submit("a", job("a", "a3", 0))
        queues.submit("b", job("b", "b1", 0.01))
        while queues.busy():
            await asyncio.sleep(0.01)
        return done

    done = asyncio.run(scenario())
    assert [n for n in done if n.startswith("a")] == ["a1", "a2", "a3"]
    assert done.index("b1") < done.index("a1")


# push checks ------------------------------------------------------------------------------------

@pytest.fixture
def account():
    return Account()


def inbound_for(account, encryption="safe"):
    return Inbound(settings_from_env(account.env("http://127.0.0.1:9", encryption=encryption)))


def test_an_encrypted_text_is_read(account):
    platform = Platform(account, "unused")
    body = platform.envelope(text_xml("oUser123456", "我想分期 ]]> 谢谢", 77))
    incoming = inbound_for(account).read(platform.query(body=body), body.encode())
    assert (incoming.openid, incoming.text, incoming.dedup_key, incoming.kind) == (
        "oUser123456", "我想分期 ]]> 谢谢", "msg:77", "text")


def test_compatible_mode_takes_both_and_plain_mode_takes_plaintext(account):
    platform = Platform(account, "unused")
    plain = text_xml("oUser123456", "你好", 1)
    query = platform.query(body=plain, encrypted=False)
    for mode in ("compatible", "plain"):
        assert inbound_for(account, mode).read(query, plain.encode()).text == "你好"
    with pytest.raises(Refused):
        inbound_for(account, "safe").read(platform.query(body=plain, encrypted=False), plain.encode())


def test_events_voice_and_menu(account):
    platform = Platform(account, "unused")
    read = inbound_for(account, "plain").read

    def incoming(xml):
        return read(platform.query(body=xml, encrypted=False), xml.encode())

    assert incoming(voice_xml("oUser123456", "我要转人工", 5)).text == "我要转人工"
    click = incoming(event_xml("oUser123456", "CLICK", "申请分期", created=1_800_000_000))
    assert (click.text, click.dedup_key) == ("/request_installment", "event:oUser123456:1800000000:click")
    assert incoming(event_xml("oUser123456", "subscribe")).text == "/greet"
    assert incoming(event_xml("oUser123456", "CLICK", "unknown key")) is None
    assert incoming(event_xml("oUser123456", "VIEW", "https://x")) is None


def test_stale_and_future_timestamps_are_refused(account):
    platform = Platform(account, "unused")
    body = platform.envelope(text_xml("oUser123456", "你好", 1))
    for skew in (-301, 301):
        with pytest.raises(Refused, match="stale"):
            inbound_for(account).read(platform.query(body=body, timestamp=int(time.time()) + skew), body.encode())


def test_a_sender_that_is_not_an_openid_is_refused(account):
    platform = Platform(account, "unused")
    body = platform.envelope(text_xml("' OR 1=1 --", "你好", 1))
    with pytest.raises(Refused, match="no sender"):
        inbound_for(account).read(platform.query(body=body), body.encode())


# API client against the double ------------------------------------------------------------------

@pytest.fixture
def api_double(account):
    double = Api(account)
    yield double
    double.close()


def client_for(account, double, **kw):
    return WeChatApi(settings_from_env(account.env(double.url)), **kw)


def run(coroutine):
    return asyncio.run(coroutine)


async def closing(client, coroutine):
    try:
        return await coroutine
    finally:
        await client.close()


@pytest.mark.slow
def test_concurrent_senders_fetch_the_token_once_and_chinese_arrives_intact(account, api_double):
    client = client_for(account, api_double)

    async def send_many():
        await asyncio.gather(*(client.send_text("oUser123456", f"第{i}条:您好,欠款3,084.60元") for i in range(10)))

    run(closing(client, send_many()))
    assert len(api_double.token_requests) == 1
    assert sorted(api_double.texts("oUser123456")) == sorted(f"第{i}条:您好,欠款3,084.60元" for i in range(10))


def test_the_token_is_renewed_before_it_expires(account, api_double):
    now = [1000.0]
    client = client_for(account, api_double, monotonic=lambda: now[0])

    async def scenario():
        await client.send_text("oUser123456", "一")
        now[0] += 7200 - 301  # still valid for 301 s: cached
        await client.send_text("oUser123456", "二")
        now[0] += 2  # inside the last five minutes: renewed
        await client.send_text("oUser123456", "三")

    run(closing(client, scenario()))
    assert len(api_double.token_requests) == 2 and api_double.refused == []


def test_a_revoked_token_is_refreshed_once_not_forever(account, api_double):
    client = client_for(account, api_double)
    run(closing(client, client.send_text("oUser123456", "一")))
    api_double.invalidate_token()
    run(closing(client, client.send_text("oUser123456", "二")))
    assert api_double.texts("oUser123456") == ["一", "二"]
    api_double.fail_next("/cgi-bin/message/custom/send", 40001, 40001, 40001)
    with pytest.raises(WeChatApiError) as error:
        run(closing(client, client.send_text("oUser123456", "三")))
    assert error.value.errcode == 40001
    assert len(api_double.token_requests) == 3  # first, after the revocation, once more for the last message


@pytest.mark.slow
def test_busy_errors_and_timeouts_are_retried_a_bounded_number_of_times(account, api_double, monkeypatch):
    monkeypatch.setattr(wechat_api, "BACKOFF", (0, 0))
    client = client_for(account, api_double)
    api_double.fail_next("/cgi-bin/message/custom/send", -1, "http500")
    run(closing(client, client.send_text("oUser123456", "一")))
    assert api_double.texts("oUser123456") == ["一"]
    api_double.fail_next("/cgi-bin/message/custom/send", -1, -1, -1, -1)
    with pytest.raises(WeChatApiError):
        run(closing(client, client.send_text("oUser123456", "二")))
    assert api_double.faults["/cgi-bin/message/custom/send"] == [-1]  # three attempts, the fourth fault unused
    api_double.reset(keep_token=True)
    api_double.fail_next("/cgi-bin/message/custom/send", ("sleep", 3.5))  # longer than the 3 s timeout
    run(closing(client, client.send_text("oUser123456", "三")))
    assert api_double.texts("oUser123456") == ["三"]


def test_outside_the_window_and_over_quota_are_given_up(account, api_double):
    client = client_for(account, api_double)
    api_double.fail_next("/cgi-bin/message/custom/send", 45015)
    with pytest.raises(OutsideServiceWindow):
        run(closing(client, client.send_text("oUser123456", "一")))
    api_double.quota = 1
    run(closing(client, client.send_text("oUser123456", "二")))
    with pytest.raises(OutsideServiceWindow):
        run(closing(client, client.send_text("oUser123456", "三")))
    assert api_double.texts("oUser123456") == ["二"]


def test_template_messages_carry_their_fields(account, api_double):
    api_double.templates.add("TPL1")
    client = client_for(account, api_double)
    run(closing(client, client.send_template("oUser123456", "TPL1", {"amount": "3,084.60元"}, url="https://x/y")))
    assert api_double.sent == [{"touser": "oUser123456", "template_id": "TPL1", "url": "https://x/y",
                                "data": {"amount": {"value": "3,084.60元"}}}]
    for template, value in (("TPL1", "超" * 21), ("unknown", "1")):  # WeChat refuses both; nothing is resent
        with pytest.raises(WeChatApiError) as refused:
            run(closing(client := client_for(account, api_double), client.send_template("oUser123456", template,
                                                                                        {"thing1": value})))
        assert refused.value.errcode in (47003, 40037)
    assert len(api_double.sent) == 1


def test_a_wrong_secret_is_an_error_not_a_loop(account, api_double):
    wrong = Account(app_id=account.app_id, token=account.token, aes_key=account.aes_key)
    client = client_for(wrong, api_double)
    with pytest.raises(WeChatApiError) as error:
        run(closing(client, client.send_text("oUser123456", "一")))
    assert error.value.errcode == 40125 and len(api_double.token_requests) == 1


def test_kuanxin_serve_refuses_to_start_with_bad_wechat_settings(tmp_path):
    env = {**os.environ, **Account().env("http://127.0.0.1:9"), "KUANXIN_WECHAT_APP_SECRET": "oops",
           "KUANXIN_VAR_DIR": str(tmp_path)}
    kuanxin = Path(sys.executable).parent / "kuanxin"
    done = subprocess.run([str(kuanxin), "serve"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "KUANXIN_WECHAT_APP_SECRET must be the 32-character AppSecret" in done.stderr
    assert "Traceback" not in done.stderr and "oops" not in done.stderr
