"""A local double of WeChat: the platform that pushes borrowers' messages, and the API the channel calls.

Written from WeChat's published protocol, independently of the channel's code (it uses neither
wechatpy nor kuanxin.wechat): its own SHA-1 signatures and AES-256-CBC safe-mode envelopes, WeChat's
5-second timeout with up to three tries per push, and a token / customer-service / template API with
injectable errors, delays and quotas.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import string
import struct
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer

import requests
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from testkit.http import QuietHandler

ALNUM = string.ascii_letters + string.digits
PUSH_TIMEOUT = 5.0  # WeChat waits this long for an answer, then pushes again
PUSH_TRIES = 3


def random_alnum(length: int) -> str:
    return "".join(secrets.choice(ALNUM) for _ in range(length))


@dataclass
class Account:
    """One service account's developer settings, as the WeChat admin console shows them."""

    token: str = field(default_factory=lambda: random_alnum(16))
    app_id: str = field(default_factory=lambda: "wx" + secrets.token_hex(8))
    app_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    aes_key: str = field(default_factory=lambda: random_alnum(43))

    def env(self, api_base: str, encryption: str = "safe") -> dict[str, str]:
        return {"KUANXIN_WECHAT_TOKEN": self.token, "KUANXIN_WECHAT_APP_ID": self.app_id,
                "KUANXIN_WECHAT_APP_SECRET": self.app_secret, "KUANXIN_WECHAT_ENCODING_AES_KEY": self.aes_key,
                "KUANXIN_WECHAT_ENCRYPTION": encryption, "KUANXIN_WECHAT_API_BASE": api_base,
                "KUANXIN_WECHAT_API_TIMEOUT": "3"}


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def encrypt(plain_xml: str, aes_key: str, app_id: str) -> str:
    """WeChat's safe-mode envelope: AES-256-CBC(random16 + length + xml + appid), PKCS#7 to 32 bytes."""
    key = base64.b64decode(aes_key + "=")
    xml = plain_xml.encode("utf-8")
    data = os.urandom(16) + struct.pack(">I", len(xml)) + xml + app_id.encode("ascii")
    pad = 32 - len(data) % 32
    data += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode("ascii")


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_xml(openid: str, content: str, msg_id: int, created: int | None = None) -> str:
    return (f"<xml><ToUserName>{cdata('gh_kuanxin')}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
            f"<CreateTime>{created or int(time.time())}</CreateTime><MsgType>{cdata('text')}</MsgType>"
            f"<Content>{cdata(content)}</Content><MsgId>{msg_id}</MsgId></xml>")


def voice_xml(openid: str, recognition: str, msg_id: int) -> str:
    return (f"<xml><ToUserName>{cdata('gh_kuanxin')}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType>{cdata('voice')}</MsgType>"
            f"<MediaId>{cdata('media-1')}</MediaId><Format>{cdata('amr')}</Format>"
            f"<Recognition>{cdata(recognition)}</Recognition><MsgId>{msg_id}</MsgId></xml>")


def image_xml(openid: str, media_id: str, msg_id: int) -> str:
    return (f"<xml><ToUserName>{cdata('gh_kuanxin')}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType>{cdata('image')}</MsgType>"
            f"<PicUrl>{cdata('http://mmbiz.qpic.cn/placeholder')}</PicUrl><MediaId>{cdata(media_id)}</MediaId>"
            f"<MsgId>{msg_id}</MsgId></xml>")


def file_xml(openid: str, media_id: str, title: str, msg_id: int) -> str:
    return (f"<xml><ToUserName>{cdata('gh_kuanxin')}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType>{cdata('file')}</MsgType>"
            f"<Title>{cdata(title)}</Title><Description>{cdata(title)}</Description>"
            f"<MediaId>{cdata(media_id)}</MediaId><MsgId>{msg_id}</MsgId></xml>")


def event_xml(openid: str, event: str, key: str = "", created: int | None = None) -> str:
    return (f"<xml><ToUserName>{cdata('gh_kuanxin')}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
            f"<CreateTime>{created or int(time.time())}</CreateTime><MsgType>{cdata('event')}</MsgType>"
            f"<Event>{cdata(event)}</Event><EventKey>{cdata(key)}</EventKey></xml>")


def new_openid() -> str:
    return "o" + random_alnum(27)


@dataclass
class Delivery:
    status: int
    body: str
    seconds: float


class Platform:
    """Pushes to the channel's URL the way WeChat does: signed, encrypted in safe mode, retried on timeout."""

    def __init__(self, account: Account, url: str):
        self.account, self.url = account, url

    def query(self, *, body: str | None = None, encrypted: bool = True, timestamp: int | None = None,
              token: str | None = None) -> dict[str, str]:
        stamp, nonce = str(timestamp or int(time.time())), str(secrets.randbelow(10**9))
        query = {"signature": sha1_signature(token or self.account.token, stamp, nonce),
                 "timestamp": stamp, "nonce": nonce}
        if encrypted and body is not None:
            # msg_signature covers the ciphertext inside <Encrypt>, not the whole body
            ciphertext = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", body)
            signed = ciphertext.group(1) if ciphertext else body
            query.update(encrypt_type="aes", msg_signature=sha1_signature(self.account.token, stamp, nonce, signed))
        return query

    def envelope(self, plain_xml: str, *, aes_key: str | None = None, app_id: str | None = None) -> str:
        encrypted = encrypt(plain_xml, aes_key or self.account.aes_key, app_id or self.account.app_id)
        return f"<xml><ToUserName>{cdata('gh_kuanxin')}</ToUserName><Encrypt>{cdata(encrypted)}</Encrypt></xml>"

    def push(self, plain_xml: str, *, tries: int = PUSH_TRIES) -> list[Delivery]:
        """One message, encrypted; pushed again (same body, fresh signature) after each timeout, as WeChat does."""
        body = self.envelope(plain_xml)
        deliveries = []
        for _ in range(tries):
            delivery = self.post(body, self.query(body=body))
            deliveries.append(delivery)
            if delivery.status != 0:
                break
        return deliveries

    def post(self, body: str | bytes, query: dict[str, str], timeout: float = PUSH_TIMEOUT) -> Delivery:
        started = time.monotonic()
        try:
            response = requests.post(f"{self.url}?{urllib.parse.urlencode(query)}", data=body,
                                     headers={"Content-Type": "text/xml"}, timeout=timeout)
        except requests.Timeout:
            return Delivery(0, "", time.monotonic() - started)
        return Delivery(response.status_code, response.text, time.monotonic() - started)

    def verify_url(self, echostr: str, **overrides) -> requests.Response:
        query = {**self.query(), "echostr": echostr, **overrides}
        return requests.get(self.url, params=query, timeout=PUSH_TIMEOUT)


class Api:
    """WeChat's token, customer-service, template and media-download APIs on a local port, recording what they
    were sent."""

    def __init__(self, account: Account, token_seconds: int = 7200):
        self.account, self.token_seconds = account, token_seconds
        self.lock = threading.Condition()
        self.token = None
        self.reset()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def reset(self, keep_token: bool = False) -> None:
        """Forgets what was sent and every injected fault; the issued token too unless `keep_token`."""
        with self.lock:
            self.token: str | None = self.token if keep_token else None
            self.token_requests: list[dict] = []
            self.sent: list[dict] = []  # accepted customer-service and template messages, in order
            self.refused: list[tuple[str, int]] = []
            self.faults: dict[str, list] = {}  # path -> what to answer next: errcode int, "http500", ("sleep", s)
            self.quota: int | None = None  # customer-service messages per OpenID before 45047
            self.templates = {"kx-repayment-reminder"}  # approved template ids
            self.refusing: dict[str, int] = {}  # OpenID -> the errcode its template messages get (see refuse)
            self.media: dict[str, tuple[bytes, str]] = {}  # media id -> (content, content type): what users sent
            self.media_requests: list[str] = []  # media ids downloaded, in order

    def fail_next(self, path: str, *faults) -> None:
        with self.lock:
            self.faults.setdefault(path, []).extend(faults)

    def refuse(self, openid: str, errcode: int) -> None:
        """From now on, template messages to `openid` are refused with `errcode`, as WeChat does for a user who
        unfollowed the account (43004) or turned the template off (43101)."""
        with self.lock:
            self.refusing[openid] = errcode

    def add_media(self, content: bytes, content_type: str) -> str:
        """What a user's image or file message carries: kept by WeChat for 3 days under a media id."""
        media_id = "media-" + secrets.token_hex(12)
        with self.lock:
            self.media[media_id] = (content, content_type)
        return media_id

    def _media(self, query: dict) -> tuple[int, bytes, str]:
        """GET /cgi-bin/media/get: the bytes with their content type, or WeChat's JSON error."""
        with self.lock:
            if query.get("access_token") != self.token:
                self.refused.append(("/cgi-bin/media/get", 40001))
                return 200, json.dumps({"errcode": 40001, "errmsg": "invalid credential"}).encode(), "text/plain"
            found = self.media.get(query.get("media_id", ""))
            if found is None:
                return 200, json.dumps({"errcode": 40007, "errmsg": "invalid media_id"}).encode(), "text/plain"
            self.media_requests.append(query["media_id"])
        return 200, found[0], found[1]

    def invalidate_token(self) -> None:
        """As when another server of the account forced a new token: the old one answers 40001."""
        with self.lock:
            self.token = "revoked-" + secrets.token_hex(4)

    def texts(self, openid: str) -> list[str]:
        with self.lock:
            return [m["text"]["content"] for m in self.sent if m.get("touser") == openid and m.get("msgtype") == "text"]

    def wait_for_texts(self, openid: str, count: int, timeout: float = 30) -> list[str]:
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.texts(openid)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} messages to {openid}, got {self.texts(openid)}")
                self.lock.wait(left)
            return self.texts(openid)

    def _answer(self, path: str, query: dict, payload: dict) -> tuple[int, dict]:
        with self.lock:
            fault = self.faults.get(path, []).pop(0) if self.faults.get(path) else None
        if isinstance(fault, tuple) and fault[0] == "sleep":  # too slow: the caller has given up; not delivered
            time.sleep(fault[1])
            return 200, {"errcode": -1, "errmsg": "system busy"}
        if fault == "http500":
            return 500, {"errcode": -1, "errmsg": "internal"}
        if isinstance(fault, int):
            with self.lock:
                self.refused.append((path, fault))
            return 200, {"errcode": fault, "errmsg": "injected"}
        if path == "/cgi-bin/stable_token":
            return 200, self._stable_token(payload)
        with self.lock:
            if query.get("access_token") != self.token:
                self.refused.append((path, 40001))
                return 200, {"errcode": 40001, "errmsg": "invalid credential"}
            if path == "/cgi-bin/message/custom/send" and self.quota is not None and \
                    sum(1 for m in self.sent if m.get("touser") == payload.get("touser")) >= self.quota:
                self.refused.append((path, 45047))
                return 200, {"errcode": 45047, "errmsg": "out of response count limit"}
            if path not in ("/cgi-bin/message/custom/send", "/cgi-bin/message/template/send"):
                return 404, {"errcode": 404, "errmsg": "no such api"}
            if path == "/cgi-bin/message/template/send":
                refusal = self._template_refusal(payload)
                if refusal:
                    self.refused.append((path, refusal))
                    return 200, {"errcode": refusal, "errmsg": "invalid template message"}
            self.sent.append(payload)
            self.lock.notify_all()
        return 200, {"errcode": 0, "errmsg": "ok"}

    def _template_refusal(self, payload: dict) -> int | None:
        """WeChat's checks on a template message: a recipient who accepts it, a known template, and every value at
        most 20 characters."""
        if payload.get("touser") in self.refusing:
            return self.refusing[payload["touser"]]
        if payload.get("template_id") not in self.templates:
            return 40037  # invalid template_id
        data = payload.get("data")
        if not isinstance(data, dict) or not all(isinstance(v, dict) and isinstance(v.get("value"), str)
                                                 and len(v["value"]) <= 20 for v in data.values()):
            return 47003  # argument invalid (a value over the limit)
        return None

    def _stable_token(self, payload: dict) -> dict:
        with self.lock:
            self.token_requests.append(payload)
            if (payload.get("appid"), payload.get("secret")) != (self.account.app_id, self.account.app_secret):
                return {"errcode": 40125, "errmsg": "invalid appsecret"}
            if self.token is None or payload.get("force_refresh") or self.token.startswith("revoked-"):
                self.token = "token-" + secrets.token_hex(8)
            return {"access_token": self.token, "expires_in": self.token_seconds}

    def _handler(self):
        api = self

        class Handler(QuietHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                parsed = urllib.parse.urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    payload = json.loads(raw.decode("utf-8"))  # WeChat wants UTF-8 JSON
                except (UnicodeDecodeError, json.JSONDecodeError):
                    status, answer = 200, {"errcode": 47001, "errmsg": "data format error"}
                else:
                    status, answer = api._answer(parsed.path, dict(urllib.parse.parse_qsl(parsed.query)), payload)
                self.answer_json(status, answer)

            def do_GET(self):  # noqa: N802 - http.server's naming
                parsed = urllib.parse.urlsplit(self.path)
                if parsed.path != "/cgi-bin/media/get":
                    self.answer_json(404, {"errcode": 404, "errmsg": "no such api"})
                    return
                self.answer(*api._media(dict(urllib.parse.parse_qsl(parsed.query))))

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
