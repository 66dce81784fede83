"""A local SMS gateway speaking kuanxin's SMS interface, as a provider's adapter would.

It checks what a real gateway checks (the key, UTF-8 JSON, a mainland mobile number, a non-empty text
of at most 500 characters), drops a retried reference it already accepted, records what it accepted,
and can be told to fail: "http500", "http400", ("sleep", seconds).
"""
from __future__ import annotations

import json
import re
import threading
import time
from http.server import ThreadingHTTPServer

from testkit.http import QuietHandler

KEY = "sms-test-key-0123456789abcdef"
PHONE = re.compile(r"1[3-9]\d{9}")


class SmsGatewayDouble:
    def __init__(self, key: str = KEY):
        self.key = key
        self.lock = threading.Lock()
        self.reset()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/send"

    def env(self) -> dict[str, str]:
        return {"KUANXIN_SMS_URL": self.url, "KUANXIN_SMS_KEY": self.key, "KUANXIN_SMS_TIMEOUT": "2"}

    def reset(self) -> None:
        with self.lock:
            self.sent: list[dict] = []  # accepted messages, in order
            self.ids: dict[str, str] = {}  # reference → the id it was accepted under
            self.requests = 0
            self.faults: list = []

    def fail_next(self, *faults) -> None:
        with self.lock:
            self.faults.extend(faults)

    def _answer(self, authorization: str, raw: bytes) -> tuple[int, dict]:
        with self.lock:
            self.requests += 1
            fault = self.faults.pop(0) if self.faults else None
        if isinstance(fault, tuple) and fault[0] == "sleep":
            time.sleep(fault[1])
        elif fault == "http500":
            return 500, {"error": "internal"}
        elif fault == "http400":
            return 400, {"error": "rejected by carrier"}
        if authorization != f"Bearer {self.key}":
            return 401, {"error": "bad key"}
        try:
            message = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return 400, {"error": "not UTF-8 JSON"}
        text = message.get("text")
        if not PHONE.fullmatch(str(message.get("to", ""))) or not isinstance(text, str) or not 0 < len(text) <= 500:
            return 400, {"error": "bad message"}
        reference = message.get("reference")
        with self.lock:
            if reference and reference in self.ids:
                return 200, {"id": self.ids[reference]}
            self.sent.append(message)
            answer_id = f"m{len(self.sent)}"
            if reference:
                self.ids[reference] = answer_id
            return 200, {"id": answer_id}

    def _handler(self):
        double = self

        class Handler(QuietHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.answer_json(*double._answer(self.headers.get("Authorization", ""), raw))

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
