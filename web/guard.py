"""What the web app refuses before any handler reads it, and how a handler reads a form safely.

`RequestGuard` (ASGI middleware) answers 4xx to: a Host header that is not a host name, an over-long
path or query, a path with percent-escapes that are not UTF-8 (lone surrogates among them) or with
control characters, and bodies over the route's limit. A query parameter with such characters is
dropped, so the page treats it as not given (a filter left out, a period not chosen).

`read_form` parses a console form and answers 4xx to anything a browser's form could not have sent:
another content type, broken multipart, files, too many or too long fields, control characters, lone
surrogates. The answer is a Chinese page under /console and JSON elsewhere; it never names what
failed inside.
"""
from __future__ import annotations

import json
import re
from urllib.parse import unquote_to_bytes

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_PATH = 2048
MAX_QUERY = 4096
MAX_FORM_FIELDS = 20
MAX_FIELD_CHARS = 10_000
# bodies: a console form holds at most a few thousand characters; an SMS reply a few hundred
BODY_LIMITS = (("/sms/", 64 * 1024), ("/console", 64 * 1024),
               ("/lender/", 8 * 1024 * 1024),  # a batch of the lender's records (web/lender_api.py)
               # a borrower's document: the route refuses more than policy.yml documents.max_bytes from the
               # Content-Length before reading (web/documents.py); this is the ceiling of any policy
               ("/documents/", 51 * 1024 * 1024))
DEFAULT_BODY_LIMIT = 64 * 1024
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
HOST = re.compile(r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?")
# control characters (C0, DEL, C1); tab, line feed and carriage return (a textarea's line breaks are
# CR LF) are allowed where text may span lines
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
SURROGATE = re.compile(r"[\ud800-\udfff]")

MESSAGES = {
    400: "请求格式不正确,请返回后重试。",
    403: "没有权限执行这个操作。",
    404: "找不到这个页面。",
    405: "不支持这种请求方式。",
    413: "提交的内容太长了,请删减后再试。",
    414: "网址太长了,请检查后再试。",
    415: "不支持这种提交格式,请通过页面上的表单提交。",
    422: "请求格式不正确,请返回后重试。",
    429: "请求过于频繁,请稍后再试。",
}
BAD_CHARACTERS = "输入内容包含无法识别的字符,请检查后重试。"
UNAVAILABLE = "服务暂时不可用,请稍后再试。"
INTERNAL = "系统出了点问题,请稍后再试。如果问题持续,请联系技术支持。"
ENGLISH = {400: "bad request", 403: "forbidden", 404: "not found", 405: "method not allowed",
           413: "request body too large", 414: "request URI too long", 415: "unsupported media type",
           422: "bad request", 429: "too many requests", 500: "internal error", 503: "service unavailable"}


class BadInput(Exception):
    """A request no page of ours could have sent; answered with `status` and a Chinese message."""

    def __init__(self, status: int = 400, message: str | None = None):
        super().__init__(message or MESSAGES.get(status, MESSAGES[400]))
        self.status, self.message = status, message or MESSAGES.get(status, MESSAGES[400])


class BodyTooLarge(BadInput):
    def __init__(self):
        super().__init__(413)


def is_console(path: str) -> bool:
    return path == "/console" or path.startswith("/console/")


def has_cjk(text: object) -> bool:
    return isinstance(text, str) and any("\u4e00" <= ch <= "\u9fff" for ch in text)


def message_for(status: int, detail: object = None) -> str:
    """Our own Chinese detail when there is one, else a Chinese sentence for the status (never an English one)."""
    if has_cjk(detail):
        return str(detail)
    return MESSAGES.get(status, INTERNAL if status >= 500 else MESSAGES[400])


def clean_text(value: str, multiline: bool = False) -> str:
    """The value, or BadInput when it holds a lone surrogate or a control character."""
    if SURROGATE.search(value) or (CONTROL_IN_TEXT if multiline else CONTROL).search(value):
        raise BadInput(400, BAD_CHARACTERS)
    return value


def scrub(value: object) -> object:
    """For templates: text that cannot be encoded (lone surrogates from elsewhere) becomes U+FFFD."""
    if isinstance(value, str) and SURROGATE.search(value):
        return SURROGATE.sub("\ufffd", value)
    return value


async def read_form(request: Request, multiline: tuple[str, ...] = ("text", "outcome", "reason")) -> dict[str, str]:
    """A console form as plain strings, or BadInput (4xx) for anything a browser's form would not send."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not content_type and not await request.body():
        return {}  # nothing sent: an empty form (its missing CSRF token is refused next)
    if content_type not in FORM_TYPES:
        raise BadInput(415)
    try:
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_CHARS * 4)
    except BodyTooLarge:
        raise
    except Exception:  # noqa: BLE001 - python-multipart raises its own errors on garbage, Starlette only some
        raise BadInput(400) from None
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile) or not isinstance(value, str):
            raise BadInput(400)
        if len(value) > MAX_FIELD_CHARS or len(name) > 100:
            raise BadInput(413)
        fields[clean_text(name)] = clean_text(value, multiline=name in multiline)
    return fields


def body_limit(path: str) -> int:
    return next((limit for prefix, limit in BODY_LIMITS if path.startswith(prefix)), DEFAULT_BODY_LIMIT)


def _decoded(raw: bytes) -> str | None:
    """Percent-decoded UTF-8 text, or None when the escapes are not UTF-8 (lone surrogates included)."""
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except (UnicodeDecodeError, ValueError):
        return None


def refusal(scope: Scope) -> int | None:
    """The 4xx status a request gets before it reaches a route, or None when it may go on."""
    raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")
    query = scope.get("query_string") or b""
    if len(raw_path) > MAX_PATH or len(query) > MAX_QUERY:
        return 414
    path = _decoded(raw_path)
    if path is None or CONTROL.search(path):
        return 400
    for name, value in scope.get("headers") or []:
        if name == b"host" and not HOST.fullmatch(value.decode("latin-1")):
            return 400
        if name == b"content-length" and (not value.strip().isdigit() or len(value) > 12):
            return 400
    return None


def usable_query(query: bytes) -> bytes:
    """The query without the parameters whose name or value is not UTF-8 or holds a control character."""
    kept = []
    for part in query.split(b"&"):
        texts = [_decoded(piece.replace(b"+", b" ")) for piece in part.split(b"=", 1)]
        if part and all(text is not None and not CONTROL.search(text) for text in texts):
            kept.append(part)
    return b"&".join(kept)


def plain_answer(path: str, status: int, message: str | None = None) -> tuple[bytes, bytes]:
    """(body, content type) of an answer given without a template: the guard's and the last resort's."""
    if is_console(path):
        text = message or message_for(status)
        page = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>出错了 · 宽心</title>'
                f'</head><body><main><p role="alert">{text}</p><p><a href="/console">返回待办列表</a></p>'
                f'</main></body></html>')
        return page.encode("utf-8"), b"text/html; charset=utf-8"
    return json.dumps({"error": ENGLISH.get(status, "bad request")}).encode(), b"application/json"


class RequestGuard:
    """ASGI middleware: refuses malformed requests with a 4xx before the app sees them; caps body sizes."""

    def __init__(self, app: ASGIApp, render=plain_answer):
        self.app, self.render = app, render  # render(path, status) -> (body, content type)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        status = refusal(scope)
        limit = body_limit(path)
        length = next((value for name, value in scope.get("headers") or [] if name == b"content-length"), None)
        if status is None and length is not None and int(length) > limit:
            status = 413
        if status is not None:
            await self.answer(scope, send, status)
            return
        query = scope.get("query_string") or b""
        if query:
            scope = {**scope, "query_string": usable_query(query)}
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        await self.app(scope, counted, send)

    async def answer(self, scope: Scope, send: Send, status: int) -> None:
        body, content_type = self.render(scope.get("path", ""), status)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
