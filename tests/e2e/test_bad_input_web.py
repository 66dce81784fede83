"""Hostile input against the web app over HTTP: every answer is a 4xx (or a normal page), never a 5xx.

A sweep over the console login, the console's forms with a valid session, the SMS gateway's
/sms/inbound, and the app's queries and paths: empty and garbage bodies, JSON of every shape, huge
bodies and values, broken multipart, wrong content types, NUL and every other control character,
lone surrogates (raw and as JSON escapes), SQL and HTML/XML-entity payloads. Then the console with
its database unreachable: a Chinese "try again later" page with 503 and Retry-After, and /ready.
"""
from __future__ import annotations

import datetime as dt
import http.client
import itertools
import json
import os
import random
import re
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
import requests

from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.ops.serve import free_port, web_command
from kuanxin.store.accounts import Accounts
from kuanxin.store.demo import demo_document
from testkit.servers import TODAY, run_async
from tests.e2e.console_client import ConsoleClient, new_staff

CONTROL_CHARACTERS = [chr(code) for code in range(32)] + ["\x7f"]
VALUES = [
    "", " ", *(f"a{c}b" for c in CONTROL_CHARACTERS), "\x00",
    "\ud800", "\udfff", "a\ud800b", "\udc00\ud800", "\udbff",
    "' OR '1'='1", "'; DROP TABLE staff;--", "1; SELECT pg_sleep(5)", "admin'--", '" OR ""="',
    "<script>alert(1)</script>", '<img src=x onerror="alert(1)">', "&lt;b&gt;", "&#0;", "&#xD800;", "&amp;&quot;",
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "]]>",
    "${jndi:ldap://x/a}", "{{7*7}}", "%00", "%ud800", "\\ud800", "\\u0000", "\u202e\u200b\ufeff",
    "𠀀" * 3000, "x" * 100_000, "9" * 5000, "-1", "0", "99999999999999999999", "1e309", "NaN", "null", "[]", "{}",
]
MULTIPART = [
    b"--xx\r\n", b"--xx\r\nGarbage\r\n\r\nv\r\n--xx--\r\n",
    b'--xx\r\nContent-Disposition: form-data; name="csrf_token"; filename="a.txt"\r\n\r\nv\r\n--xx--\r\n',
    b'--xx\r\nContent-Disposition: form-data; name="\xff\xfe"\r\n\r\n\xff\xfe\r\n--xx--\r\n',
    b"--xx\r\nContent-Disposition: form-data\r\n\r\nv\r\n--xx--\r\n",
    b'--xx\r\nContent-Disposition: form-data; name="text"\r\nContent-Type: text/plain; charset=zz\r\n\r\n\xed\xa0\x80'
    b"\r\n--xx--\r\n",
    b'--xx\r\nContent-Disposition: form-data; name="a"\r\n\r\n' + b"v" * 200_000 + b"\r\n--xx--\r\n",
    b"".join(b'--xx\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nv\r\n' % i for i in range(100))
    + b"--xx--\r\n",
]
BODIES = [
    b"", b"garbage", b"{", b"[]", b"[1, 2]", b"1", b"-1e999", b'"text"', b"null", b"true",
    b'{"from": "\\ud800", "text": "TD"}', b'{"from": "13812345678", "text": "\\udfff"}',
    b'{"from": "138\\u0000", "text": "TD"}', b'{"from": "13812345678", "text": "TD\\u0000"}',
    b'{"from": "\xed\xa0\x80", "text": "TD"}', b'{"from": ["13812345678"], "text": {"a": 1}}',
    b"\x00" * 100, random.Random(21).randbytes(3000), b"[" * 2000 + b"]" * 2000, b"{\"a\":" * 1000,
    b"x" * 70_000, b"x" * 2_000_000, "退订".encode("gbk"), '{"from": "1", "text": "TD"}'.encode("utf-16"),
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><x>&b;</x>',
    b"username=%00&password=%ED%A0%80&csrf_token=%FF", *MULTIPART,
]
CONTENT_TYPES = [
    None, "application/json", "application/x-www-form-urlencoded", "multipart/form-data",
    "multipart/form-data; boundary=", "multipart/form-data; boundary=xx", 'multipart/form-data; boundary="xx',
    "multipart/form-data; boundary=" + "b" * 300, "text/plain", "text/xml", "application/octet-stream",
    "application/json; charset=utf-16", "image/png", "multipart/form-data; boundary=\xe9",
]
INTERNALS = ("Traceback", 'File "/', "sqlalchemy", "sqlite3", "psycopg", "python_multipart", "OperationalError",
             "UnicodeEncodeError", "Internal Server Error")
CJK = re.compile(r"[\u4e00-\u9fff]")


def encoded(value: str) -> str:
    """Percent-encoding of any string, lone surrogates included (as the bytes a careless client sends)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def urlencoded(fields: dict[str, str]) -> bytes:
    return "&".join(f"{encoded(k)}={encoded(v)}" for k, v in fields.items()).encode()


def multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode()
             + v.encode("utf-8", "surrogatepass") + b"\r\n" for k, v in fields.items()]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@dataclass
class Sweep:
    """Sends requests and keeps the ones answered badly: 5xx, a traceback or an internal name, a console
    refusal without Chinese, an SMS refusal without JSON."""
    base: str
    http: requests.Session = field(default_factory=requests.Session)
    sent: int = 0
    server_errors: list = field(default_factory=list)  # 5xx, or the connection dropped without an answer
    leaks: list = field(default_factory=list)

    def send(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None,
             headers: dict | None = None, cookies: dict | None = None) -> requests.Response | None:
        headers = dict(headers or {})
        if content_type is not None:
            headers["Content-Type"] = content_type.encode("latin-1")
        self.sent += 1
        what = (method, path[:80], (body or b"")[:60], content_type)
        try:
            response = self.http.request(method, self.base + path, data=body, headers=headers, cookies=cookies,
                                         allow_redirects=False, timeout=60)
        except requests.ConnectionError as exc:  # no answer at all is no clear refusal either
            self.server_errors.append((type(exc).__name__, *what))
            return None
        if response.status_code >= 500:
            self.server_errors.append((response.status_code, *what))
        text = response.text
        if any(marker in text for marker in INTERNALS):
            self.leaks.append(("internal name", *what))
        if 400 <= response.status_code < 500:
            kind = response.headers.get("content-type", "")
            if path.startswith("/console") and "html" in kind and not CJK.search(text):
                self.leaks.append(("console refusal without Chinese", response.status_code, *what))
            if path.startswith("/sms") and "json" not in kind:
                self.leaks.append(("SMS refusal without JSON", response.status_code, *what))
        return response

    def raw(self, method: str, path: str, headers: dict[str, str]) -> None:
        """Through http.client, for headers requests would choke on itself (a Host of "[x")."""
        host, port = self.base.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():
                connection.putheader(name, value.encode("latin-1"))
            connection.endheaders()
            response = connection.getresponse()
            status, text = response.status, response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        self.sent += 1
        if status >= 500:
            self.server_errors.append((status, method, path, headers))
        if any(marker in text for marker in INTERNALS):
            self.leaks.append(("internal name", method, path, headers))

    def form(self, path: str, fields: dict[str, str], **kwargs) -> None:
        """The same fields sent url-encoded and as multipart."""
        self.send("POST", path, urlencoded(fields), "application/x-www-form-urlencoded", **kwargs)
        body, content_type = multipart(fields)
        self.send("POST", path, body, content_type, **kwargs)

    def report(self, name: str) -> None:
        print(f"\n{name}: {self.sent} requests, {len(self.server_errors)} answered with 5xx, "
              f"{len(self.leaks)} with an internal name or the wrong kind of refusal")
        assert self.server_errors == [], self.server_errors[:10]
        assert self.leaks == [], self.leaks[:10]


ADDRESSES = itertools.count(1)


def forwarded_for() -> dict:
    """A different client address per failed login, so the per-address limit never locks out 127.0.0.1
    (uvicorn trusts X-Forwarded-For from 127.0.0.1) and every field reaches the password check."""
    n = next(ADDRESSES)
    return {"X-Forwarded-For": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}


@pytest.fixture
def escalation_id(db) -> int:
    now = dt.datetime.fromisoformat(f"{TODAY}T12:00:00+08:00")
    escalation, _ = Accounts(db).open_escalation(
        conversation_id="e2e-hostile-" + uuid.uuid4().hex[:8], borrower_id="B1001", reason="human",
        priority="normal", channel="rest", summary="借款人要求转人工", today=now.date(), now=now)
    return escalation.id


def test_hostile_input_never_gets_a_server_error(servers, db, sms_gateway, escalation_id):
    sweep = Sweep(servers.web_url)
    login_token = "t" * 43

    # 1. the console login, anonymous: every field, with and without a matching CSRF cookie
    for value in VALUES:
        for name in ("username", "password", "csrf_token"):
            fields = {"username": "nobody-" + uuid.uuid4().hex[:6], "password": "wrong-password",
                      "csrf_token": login_token, name: value}
            sweep.form("/console/login", fields, cookies={"kx_login": login_token}, headers=forwarded_for())
        sweep.form("/console/login", {"username": value, "password": value, "csrf_token": value},
                   headers=forwarded_for())
    for cookie in ("%00", "\\ud800", "x" * 4000, '"', "a=b; c", "\xff\xfe"):
        sweep.send("GET", "/console/login", cookies={"kx_login": cookie, "kx_staff": cookie})
        sweep.send("GET", "/console", cookies={"kx_staff": cookie})

    # 2. the console's forms with a valid session and its CSRF token
    console = ConsoleClient(servers.web_url)
    console.log_in(new_staff(db, "supervisor"))
    console.get(f"/console/escalations/{escalation_id}")
    sweep.http = console.http
    reference = next(r.reference for b in demo_document()["borrowers"] for r in Accounts(db).requests_of(b["id"])
                     if r.status == "pending")
    decide = f"/console/requests/{reference}/decide"
    for value in VALUES:
        sweep.form(f"/console/escalations/{escalation_id}/note", {"text": value, "csrf_token": console.csrf})
        sweep.form(f"/console/escalations/{escalation_id}/note", {"text": "备注", "csrf_token": value})
        sweep.form(f"/console/escalations/{escalation_id}/resolve", {"outcome": value, "csrf_token": console.csrf})
        for name in ("decision", "reason", "escalation_id"):
            fields = {"decision": "reject", "reason": "材料不全", "escalation_id": str(escalation_id),
                      "csrf_token": console.csrf, name: value}
            sweep.form(decide, fields)
        sweep.form("/console/logout", {"csrf_token": value + "-not-the-token"})

    # 3. raw bodies of every kind and content type: the login, a console form, the SMS endpoint
    sms_key = {"Authorization": f"Bearer {sms_gateway.key}"}
    for body in BODIES:
        for content_type in CONTENT_TYPES:
            sweep.send("POST", "/console/login", body, content_type, cookies={"kx_login": login_token},
                       headers=forwarded_for())
            sweep.send("POST", f"/console/escalations/{escalation_id}/note", body, content_type)
            sweep.send("POST", "/sms/inbound", body, content_type, headers=sms_key)
        sweep.send("POST", "/sms/inbound", body, "application/json",
                   headers={"Authorization": "Bearer not-the-key-\xff"})

    # 4. the SMS endpoint's fields, as JSON (lone surrogates as \\u escapes, as a JSON encoder writes them)
    for value in VALUES:
        for name in ("from", "text"):
            reply = {"from": "13900009999", "text": "TD", name: value}
            sweep.send("POST", "/sms/inbound", json.dumps(reply).encode(), "application/json", headers=sms_key)
        sweep.send("POST", "/sms/inbound", json.dumps({"from": value, "text": value}, ensure_ascii=False)
                   .encode("utf-8", "surrogatepass"), "application/json", headers=sms_key)

    # 5. queries and paths, signed in
    for value in VALUES:
        q = encoded(value)
        for path in (f"/console?status={q}", f"/console?reason={q}&priority={q}", f"/console?channel={q}",
                     f"/console?day={q}", f"/console?status=all&{q}={q}", f"/console/report?start={q}&end={q}",
                     f"/console/report.csv?start={q}", f"/console/report/print?end={q}",
                     f"/console/escalations/{q}", f"/console/segments/{q}/small", f"/console/segments/middle/{q}",
                     f"/console/{q}", f"/widget/{q}", f"/signed-in?borrower={q}", f"/ready?{q}", f"/{q}",
                     f"/health?x={q}"):
            sweep.send("GET", path)
        sweep.form(f"/console/requests/{q}/decide", {"decision": "approve", "reason": "同意",
                                                     "csrf_token": console.csrf})
        sweep.form(f"/console/escalations/{escalation_id}/{q}", {"text": "x", "csrf_token": console.csrf})
    for host in ("[x", "a b", "evil.example:99999999", "\xe4\xbe\x8b.com", "", "x" * 300, "127.0.0.1:1/../"):
        for path in ("/", "/signed-in", "/console/login", "/health"):
            sweep.raw("GET", path, {"Host": host})
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
        for path in ("/console/login", "/console", "/sms/inbound", "/ready"):
            sweep.send(method, path, b"x")

    assert console.get("/console").status_code == 200  # the session survived it all
    sweep.report("hostile input sweep")


# the database unreachable

@pytest.fixture(scope="module")
def web_without_database(tmp_path_factory, sms_gateway):
    """The web app alone, on an account database that cannot be opened and a Redis nobody listens on."""
    workdir = tmp_path_factory.mktemp("no-database")
    port, dead_port = free_port(), free_port()
    env = {**os.environ, "KUANXIN_DATABASE_URL": f"sqlite:///{workdir}/missing-folder/accounts.db",
           "KUANXIN_REDIS_URL": f"redis://127.0.0.1:{dead_port}/0", "KUANXIN_TODAY": TODAY,
           "KUANXIN_VAR_DIR": str(workdir), **sms_gateway.env()}
    log = open(workdir / "web.log", "w")
    process = subprocess.Popen(web_command(port), cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if requests.get(url + "/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            pytest.fail(f"the web app did not start: {(workdir / 'web.log').read_text()[-2000:]}")
        yield url, workdir
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_the_console_says_try_again_later_when_its_database_is_down(web_without_database, sms_gateway):
    url, workdir = web_without_database
    login_token = "t" * 43
    answers = [
        requests.get(url + "/console", timeout=30, allow_redirects=False),
        requests.get(url + "/console/login", timeout=30),
        requests.get(url + "/console/segments", cookies={"kx_staff": "x" * 43}, timeout=30, allow_redirects=False),
        requests.post(url + "/console/login", cookies={"kx_login": login_token}, timeout=30,
                      data={"username": "wang", "password": "x" * 12, "csrf_token": login_token}),
    ]
    for response in answers:
        assert response.status_code == 503, (response.request.url, response.status_code)
        assert "服务暂时不可用,请稍后再试" in response.text
        assert response.headers["Retry-After"].isdigit()
        assert not any(marker in response.text for marker in INTERNALS)
    sms = requests.post(url + "/sms/inbound", json={"from": "13812345678", "text": "TD"}, timeout=30,
                        headers={"Authorization": f"Bearer {sms_gateway.key}"})
    assert sms.status_code == 503 and sms.json()["error"] == "service unavailable" and "Retry-After" in sms.headers
    assert requests.get(url + "/health", timeout=30).json() == {"status": "ok"}  # alive, not ready

    started = time.monotonic()
    ready = requests.get(url + "/ready", timeout=30)
    assert time.monotonic() - started < 3
    assert ready.status_code == 503 and ready.json() == {"ready": False, "failing": ["database", "redis"]}
    log = (workdir / "web.log").read_text()
    assert "unreachable" in log and "wang" not in log


def test_ready_says_yes_when_the_database_answers(servers):
    for _ in range(5):  # polled often: answers every time, quickly
        started = time.monotonic()
        response = requests.get(servers.web_url + "/ready", timeout=30)
        assert response.status_code == 200 and response.json() == {"ready": True}
        assert time.monotonic() - started < 1


# an unexpected fault inside the app (driven in-process: nothing outside can make a route fail on purpose)

def asgi_get(app, path: str) -> tuple[int, dict[str, str], str]:
    """One GET through the whole ASGI stack (middleware, exception handlers), as uvicorn would send it."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    answer: dict = {"headers": {}, "body": b""}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.decode(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    async def call():
        try:
            await app(scope, receive, send)
        except Exception:  # noqa: BLE001 - Starlette re-raises after answering, for the server's log
            pass
    run_async(call())
    return answer["status"], answer["headers"], answer["body"].decode()


def test_an_unexpected_fault_shows_a_chinese_page_and_an_outage_a_503():
    from sqlalchemy.exc import OperationalError

    from web.app import create_app
    app = create_app()

    @app.get("/console/fault")
    def fault():
        raise RuntimeError("secret internal detail")

    @app.get("/console/outage")
    def outage():
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    @app.get("/api-fault")
    def api_fault():
        raise KeyError("secret internal detail")

    status, _, body = asgi_get(app, "/console/fault")
    assert status == 500 and "系统出了点问题" in body and "secret" not in body and "RuntimeError" not in body
    status, headers, body = asgi_get(app, "/console/outage")
    assert status == 503 and "服务暂时不可用,请稍后再试" in body and headers["retry-after"].isdigit()
    assert "SELECT" not in body and "refused" not in body
    status, _, body = asgi_get(app, "/api-fault")
    assert status == 500 and json.loads(body) == {"error": "internal error"}
