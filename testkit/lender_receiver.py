"""A local stand-in for the lender's webhook receiver: what kuanxin's deliverer sends its events to.

It does what a careful receiver does: checks the Standard Webhooks signature with the shared secret (its own
HMAC code, not kuanxin's, so a mistake there is not hidden) and the timestamp's 5-minute window, and
de-duplicates by the event id (webhook-id). It records every request it accepted (`requests`), the distinct
event ids in the order they first arrived (`ids`, with `events` by id), and how many requests for one event
were ever in flight at the same moment. It can be told to misbehave: answer a status to everything
(`answer_with(500)`), to one event for a number of times (`fail(event_id, 500, times=2)`), hang before
answering (`hang(30)`), or go away altogether (`go_down()`: connections refused, until `come_back()`).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter, defaultdict
from http.server import ThreadingHTTPServer

from testkit.http import QuietHandler

PATH = "/kuanxin/events"
TOLERANCE = 300


def signature_ok(secret: str, webhook_id: str, timestamp: str, body: bytes, given: str) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body,
                                         hashlib.sha256).digest()).decode()
    return any(part.startswith("v1,") and hmac.compare_digest(part[3:], expected) for part in given.split())


class LenderReceiver:
    def __init__(self, secret: str):
        self.secret = secret
        self.lock = threading.Lock()
        self.reset()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.come_back()

    # --- what it saw ---------------------------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.requests: list[dict] = []  # every accepted request's event, duplicates included, in order
            self.ids: list[str] = []  # distinct event ids, first arrival order
            self.events: dict[str, dict] = {}
            self.refused_signatures = 0
            self.answered: Counter = Counter()  # HTTP status -> how many times it was answered
            self.in_flight: Counter = Counter()  # event id -> requests being handled now
            self.most_at_once: dict[str, int] = defaultdict(int)  # event id -> most requests at one moment
            self._status: int | None = None
            self._failing: dict[str, list] = {}
            self._hang = 0.0
            self._wake = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def events_of(self, borrower_id: str) -> list[dict]:
        """A borrower's distinct events in the order they first arrived."""
        with self.lock:
            return [self.events[i] for i in self.ids if self.events[i]["borrower_id"] == borrower_id]

    def wait_for(self, count: int, timeout: float = 30) -> bool:
        """Waits until `count` distinct events have arrived."""
        return self.wait_until(lambda: len(self.ids) >= count, timeout)

    def wait_until(self, condition, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if condition():
                    return True
            time.sleep(0.05)
        return False

    # --- misbehaving ---------------------------------------------------------------------------------------
    def answer_with(self, status: int | None) -> None:
        """Answers this status to every request from now on (None: back to normal)."""
        with self.lock:
            self._status = status

    def fail(self, event_id: str, status: int = 500, times: int = 1) -> None:
        with self.lock:
            self._failing[event_id] = [status, times]

    def hang(self, seconds: float) -> None:
        """Holds every request this long before answering (0: answers at once, and lets the held ones go)."""
        with self.lock:
            self._hang = seconds
            if not seconds:
                self._wake.set()
                self._wake = threading.Event()

    def go_down(self) -> None:
        """Stops listening: connections are refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def come_back(self) -> None:
        """Listens again, on the same port."""
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        server.daemon_threads = True
        self._server, self.port = server, server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.hang(0)
        self.go_down()

    # --- answering -----------------------------------------------------------------------------------------
    def _verified(self, headers, body: bytes) -> str | None:
        webhook_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
        given = headers.get("webhook-signature", "")
        if not webhook_id or not stamp.isdigit() or abs(time.time() - int(stamp)) > TOLERANCE:
            return None
        return webhook_id if signature_ok(self.secret, webhook_id, stamp, body, given) else None

    def _answer(self, headers, body: bytes) -> int:
        webhook_id = self._verified(headers, body)
        if webhook_id is None:
            with self.lock:
                self.refused_signatures += 1
            return 401
        with self.lock:
            self.in_flight[webhook_id] += 1
            self.most_at_once[webhook_id] = max(self.most_at_once[webhook_id], self.in_flight[webhook_id])
            hang, wake = self._hang, self._wake
        try:
            if hang:
                wake.wait(hang)
            return self._decide(webhook_id, body)
        finally:
            with self.lock:
                self.in_flight[webhook_id] -= 1

    def _decide(self, webhook_id: str, body: bytes) -> int:
        with self.lock:
            failing = self._failing.get(webhook_id)
            if failing and failing[1] > 0:
                failing[1] -= 1
                return failing[0]
            if self._status is not None:
                return self._status
            event = json.loads(body)
            assert event["id"] == webhook_id, "the webhook-id is the event id"
            self.requests.append(event)
            if webhook_id not in self.events:  # de-duplicated by id
                self.ids.append(webhook_id)
                self.events[webhook_id] = event
            return 200

    def _handler(self):
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver._answer(self.headers, body) if self.path == PATH else 404
                with receiver.lock:
                    receiver.answered[status] += 1
                try:
                    self.answer(status, content_type=None)
                except OSError:  # the sender went away (killed mid-delivery)
                    pass

        return Handler
