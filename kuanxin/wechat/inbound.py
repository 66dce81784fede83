"""What WeChat pushes to us: URL verification and messages, checked before anything reads them.

Every push is refused (`Refused`, with an HTTP status and a reason for our log, never for the
sender) unless its signature is right, its timestamp fresh, its body small and free of DOCTYPE or
entity declarations, and, in safe mode, encrypted for our AppID with our key.
"""
from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from kuanxin.wechat.config import WeChatSettings

MAX_BODY_BYTES = 64 * 1024  # WeChat's pushes are a few hundred bytes; anything large is not WeChat
MAX_CLOCK_SKEW = 300  # seconds: older (or future) timestamps are replays
OPENID = re.compile(r"[A-Za-z0-9_-]{6,64}")
MEDIA_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
DECLARATION = re.compile(rb"<!(?!\[CDATA\[)")  # <!DOCTYPE, <!ENTITY ...: never in a genuine push

# menu CLICK keys (set in the WeChat admin console) and the intent each one asks for
MENU_INTENTS = {"查询欠款": "check_overdue", "申请分期": "request_installment", "人工客服": "request_human",
                "申请延期": "request_deferral", "还款方式": "ask_repayment_methods"}
WELCOME_INTENT = "greet"


class Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Incoming:
    """One push worth a turn: who sent it, what the assistant should read, and the key WeChat retries share."""

    openid: str
    text: str
    dedup_key: str
    kind: str  # text, voice, menu, subscribe, unsubscribe, image, file, unsupported
    media_id: str = ""  # an image or file message: where WeChat keeps its content (the media API)
    name: str = ""  # a file message's title; an image has none


class Inbound:
    def __init__(self, settings: WeChatSettings, wall_clock=time.time):
        self.settings = settings
        self._time = wall_clock  # protocol freshness is real time, never the pinned business date
        self._crypto = (WeChatCrypto(settings.token, settings.encoding_aes_key, settings.app_id)
                        if settings.encoding_aes_key else None)

    def verify_url(self, query: Mapping[str, str]) -> str:
        """The echostr to send back when WeChat checks that this URL is ours."""
        self._check_signature(query)
        echostr = query.get("echostr", "")
        if not echostr or len(echostr) > 128:
            raise Refused(400, "no echostr")
        return echostr

    def read(self, query: Mapping[str, str], body: bytes) -> Incoming | None:
        """The push as an `Incoming`, or None for an event the assistant has no use for."""
        self._check_signature(query)
        if len(body) > MAX_BODY_BYTES:
            raise Refused(413, "body too large")
        xml = self._plaintext(query, body)
        if DECLARATION.search(xml):
            raise Refused(400, "XML declarations are not allowed")
        try:
            message = parse_message(xml.decode("utf-8"))
        except Exception as exc:  # noqa: BLE001 - any parser failure means a malformed push
            raise Refused(400, f"unreadable XML ({type(exc).__name__})") from None
        if message is None or not OPENID.fullmatch(str(message.source or "")):
            raise Refused(400, "no sender")
        return incoming_of(message)

    def _check_signature(self, query: Mapping[str, str]) -> None:
        timestamp, nonce, signature = (query.get(k, "") for k in ("timestamp", "nonce", "signature"))
        if not (timestamp.isdigit() and nonce and signature):
            raise Refused(403, "missing signature parameters")
        try:
            check_signature(self.settings.token, signature, timestamp, nonce)
        except InvalidSignatureException:
            raise Refused(403, "bad signature") from None
        if abs(self._time() - int(timestamp)) > MAX_CLOCK_SKEW:
            raise Refused(403, "stale timestamp")

    def _plaintext(self, query: Mapping[str, str], body: bytes) -> bytes:
        if DECLARATION.search(body):
            raise Refused(400, "XML declarations are not allowed")
        if query.get("encrypt_type", "raw") != "aes":
            if self.settings.encrypted_required:
                raise Refused(403, "plaintext refused in safe mode")
            return body
        if self._crypto is None:
            raise Refused(400, "encrypted push but no EncodingAESKey configured")
        try:
            return self._crypto.decrypt_message(body.decode("utf-8"), query.get("msg_signature", ""),
                                                query["timestamp"], query["nonce"]).encode("utf-8")
        except InvalidSignatureException:
            raise Refused(403, "bad message signature") from None
        except Exception as exc:  # noqa: BLE001 - wrong key, wrong AppID, bad padding or XML: all refused alike
            raise Refused(400, f"cannot decrypt ({type(exc).__name__})") from None


def incoming_of(message) -> Incoming | None:
    """What the assistant should read for a parsed wechatpy message (None: drop it quietly)."""
    openid = str(message.source)
    if message.type != "event":
        key = f"msg:{message.id}"
        if message.type == "text":
            return Incoming(openid, str(message.content or ""), key, "text")
        if message.type == "voice":
            return Incoming(openid, str(getattr(message, "recognition", "") or ""), key, "voice")
        if message.type == "image" and MEDIA_ID.fullmatch(str(message.media_id or "")):
            return Incoming(openid, "", key, "image", media_id=str(message.media_id))
        raw = getattr(message, "_data", {})  # wechatpy has no class for file messages
        if raw.get("MsgType") == "file" and MEDIA_ID.fullmatch(str(raw.get("MediaId") or "")):
            title = str(raw.get("Title") or "")[:80]
            return Incoming(openid, "", key, "file", media_id=str(raw["MediaId"]), name=title)
        return Incoming(openid, "", key, "unsupported")
    key = f"event:{openid}:{int(message.create_time.timestamp())}:{message.event}"
    if message.event == "subscribe":
        return Incoming(openid, f"/{WELCOME_INTENT}", key, "subscribe")
    if message.event == "unsubscribe":
        return Incoming(openid, "", key, "unsubscribe")
    if message.event == "click" and str(message.key) in MENU_INTENTS:
        return Incoming(openid, f"/{MENU_INTENTS[str(message.key)]}", key, "menu")
    return None
