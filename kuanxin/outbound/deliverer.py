"""The deliverer: sends the outbox's events to the lender's endpoints until each answers 2xx.

Each round it turns queued events into deliveries (one per configured endpoint), claims the due ones for a
lease (kuanxin/store/outbox.py: never one another deliverer holds, and only a borrower's earliest waiting
one per endpoint) and sends them side by side, each signed with its event id as webhook-id
(kuanxin/core/webhooks.py). A 2xx is delivered. Anything else is tried again after a back-off of 1 s doubling
to 10 minutes (a Retry-After the receiver gives is honoured), for ever: a delivery is never dropped. A 4xx
other than 408 and 429 means the receiver refuses the event: it is logged as such, and still tried again,
since the fix is on the receiver's side and the event must not be lost meanwhile. Timeouts are short (5 s).

`kuanxin events deliver [--once]` runs it; `kuanxin serve` and `kuanxin cluster` supervise one when
KUANXIN_LENDER_WEBHOOK_URLS is set. Several may run at once (two instances): claims keep them apart, and
one killed mid-send loses its lease, after which another sends the event again (the lender de-duplicates
on the event id).
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import random
import signal
import socket
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from kuanxin.core import clock, webhooks
from kuanxin.core.vocab import DeliveryStatus
from kuanxin.outbound.target import WebhookTarget, endpoint_label, webhook_target
from kuanxin.store import outbox
from kuanxin.store.db import Database, database
from kuanxin.store.models import OutboxDelivery

logger = logging.getLogger("kuanxin.outbound")
FIRST_DELAY = 1.0  # seconds before the second attempt
MAX_DELAY = 600.0  # the back-off stops doubling at 10 minutes
TIMEOUT = 5.0  # seconds to connect, and to wait for the answer
LEASE = 4 * TIMEOUT  # a claim outlives the slowest send (connect + answer) twice over
WORKERS = 8  # deliveries sent side by side (each a different borrower's)
IDLE_WAIT = 0.5  # seconds between looks at the outbox while nothing is due
STORE_WAIT = 5.0  # seconds before trying again when the database does not answer
RETRIED_STATUSES = (408, 429)  # a 4xx that means "not now" rather than "never"


def backoff_seconds(attempt: int, rng: random.Random | None = None) -> float:
    """The wait after failed attempt number `attempt`: 1 s, 2 s, 4 s … up to 10 minutes, each up to a
    quarter shorter at random, so deliveries that failed together do not all come back together."""
    base = min(FIRST_DELAY * 2 ** max(attempt - 1, 0), MAX_DELAY)
    return base * (1 - 0.25 * (rng or random).random())


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status: int | None = None  # the receiver's HTTP status; None when it did not answer
    error: str | None = None  # failure kind, colon, detail: timeout, unreachable, refused, throttled, …
    retry_after: float | None = None

    @property
    def refused(self) -> bool:
        return (self.error or "").startswith("refused")


def outcome_of(status: int, retry_after: str | None = None) -> Outcome:
    """What an answer means for a delivery."""
    wait = float(retry_after) if retry_after and retry_after.strip().isdigit() else None
    if 200 <= status < 300:
        return Outcome(True, status)
    if status in RETRIED_STATUSES:
        return Outcome(False, status, f"throttled: HTTP {status}", wait)
    if status >= 500:
        return Outcome(False, status, f"server_error: HTTP {status}", wait)
    if 300 <= status < 400:
        return Outcome(False, status, f"redirected: HTTP {status}")  # an endpoint is configured as it is
    return Outcome(False, status, f"refused: HTTP {status}")


def send(http: requests.Session, claimed: outbox.Claimed, secret: str, timeout: float = TIMEOUT) -> Outcome:
    """One signed POST of one event; never raises for what the network or the receiver does."""
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "kuanxin-events/1",
               **webhooks.signed_headers(secret, claimed.event_id, claimed.body)}
    try:  # the status and headers say it all: the answer's body is never read
        with http.post(claimed.endpoint, data=claimed.body, headers=headers, timeout=timeout,
                       allow_redirects=False, stream=True) as response:
            return outcome_of(response.status_code, response.headers.get("Retry-After"))
    except requests.Timeout:
        return Outcome(False, None, f"timeout: no answer within {timeout:g} s")
    except requests.RequestException as exc:
        return Outcome(False, None, f"unreachable: {type(exc).__name__}")


@dataclass(frozen=True)
class Round:
    claimed: int = 0
    delivered: int = 0


class Deliverer:
    """Delivers in rounds (deliver_round) until stopped (run)."""

    def __init__(self, db: Database, target: WebhookTarget, *, workers: int = WORKERS, timeout: float = TIMEOUT,
                 lease: float = LEASE, idle_wait: float = IDLE_WAIT, rng: random.Random | None = None):
        self.db, self.target = db, target
        self.workers, self.timeout, self.idle_wait = workers, timeout, idle_wait
        self.lease = dt.timedelta(seconds=lease)
        self.rng = rng or random.Random()
        self.name = f"{socket.gethostname()}:{os.getpid()}"[:40]
        self.delivered = 0  # since it started
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kuanxin-deliver")
        self._local = threading.local()

    def deliver_round(self) -> Round:
        """Fans out what is queued, claims what is due and sends it; returns how many were claimed, delivered."""
        now = clock.real_utc()
        while outbox.fan_out(self.db, self.target.urls, now) == outbox.FAN_OUT_BATCH:
            pass
        token = f"{self.name}:{uuid.uuid4().hex[:16]}"
        claimed = outbox.claim_due(self.db, self.target.urls, now, self.lease, token, self.workers)
        done = list(self._pool.map(lambda item: self._deliver(item, token), claimed))
        return Round(len(claimed), sum(done))

    def run(self, stop: threading.Event, once: bool = False) -> None:
        """Rounds until `stop` is set; `once`: until nothing more is due now."""
        while not stop.is_set():
            try:
                done = self.deliver_round()
            except DBAPIError as exc:
                logger.warning("the account database does not answer (%s); trying again in %g s",
                               type(exc.orig or exc).__name__, STORE_WAIT)
                stop.wait(STORE_WAIT)
                continue
            self.delivered += done.delivered
            claimed = done.claimed
            if once and not claimed:
                return
            if not claimed:
                stop.wait(self.idle_wait)

    def waiting(self) -> int:
        """Deliveries to the configured endpoints not yet delivered."""
        with self.db.session() as session:
            return session.execute(select(func.count()).select_from(OutboxDelivery).where(
                OutboxDelivery.status == DeliveryStatus.PENDING.value,
                OutboxDelivery.endpoint.in_(self.target.urls))).scalar_one()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _deliver(self, claimed: outbox.Claimed, token: str) -> bool:
        outcome = send(self._http(), claimed, self.target.secret, self.timeout)
        now = clock.real_utc()
        if outcome.delivered:
            outbox.mark_delivered(self.db, claimed.delivery_id, outcome.status or 200, now)
            if claimed.attempt > 1:
                logger.info("event %s (%s) delivered to %s at attempt %d", claimed.event_id, claimed.kind,
                            endpoint_label(claimed.endpoint), claimed.attempt)
            return True
        wait = max(backoff_seconds(claimed.attempt, self.rng), min(outcome.retry_after or 0, MAX_DELAY))
        outbox.mark_failed(self.db, claimed.delivery_id, token, outcome.status, outcome.error or "failed",
                           now + dt.timedelta(seconds=wait))
        self._log_failure(claimed, outcome, wait)
        return False

    def _log_failure(self, claimed: outbox.Claimed, outcome: Outcome, wait: float) -> None:
        where = f"event {claimed.event_id} ({claimed.kind}) to {endpoint_label(claimed.endpoint)}"
        if outcome.refused:
            logger.warning("%s: the receiver refuses it (HTTP %s); tried again in %.0f s, for as long as it "
                           "refuses: the receiver must accept it", where, outcome.status, wait)
        else:
            logger.warning("%s: %s, attempt %d; tried again in %.0f s", where, outcome.error, claimed.attempt, wait)

    def _http(self) -> requests.Session:
        """One HTTP session per sending thread (a requests.Session is not shared between threads)."""
        http = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = requests.Session()
        return http


def run_deliverer(once: bool = False) -> int:
    """`kuanxin events deliver`: 0 when stopped (or, with --once, when everything is delivered); 1 when
    --once leaves deliveries waiting for a retry; 2 when nothing can be sent (settings)."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s kuanxin events: %(levelname)s %(message)s")
    try:
        target = webhook_target()
    except ValueError as exc:
        print(f"kuanxin: {exc}", file=sys.stderr)
        return 2
    if target is None:
        print("kuanxin: KUANXIN_LENDER_WEBHOOK_URLS is not set: there is nowhere to send events", file=sys.stderr)
        return 2
    stop = threading.Event()
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda *_: stop.set())
    deliverer = Deliverer(database(), target)
    logger.info("delivering events to %s", ", ".join(endpoint_label(url) for url in target.urls))
    started = time.monotonic()
    try:
        deliverer.run(stop, once)
        left = deliverer.waiting() if once else 0
    finally:
        deliverer.close()
    logger.info("stopped after %.1f s: %d delivered%s", time.monotonic() - started, deliverer.delivered,
                f", {left} deliveries waiting for a retry" if once else "")
    return 1 if left else 0
