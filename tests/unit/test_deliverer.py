"""Events out, the sending side: the deliverer against a receiver double that checks signatures and de-duplicates
(testkit/lender_receiver.py), on SQLite and PostgreSQL. Each event arrives signed; a failure is retried with
back-off and never dropped; a borrower's events arrive in order; a receiver away for a while, a deliverer
killed mid-delivery or two deliverers at once lose nothing and send nothing twice at the same moment."""
from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from kuanxin.console.casework import CaseError, Casework, Forbidden
from kuanxin.console.staff import StaffDirectory
from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.ops import config
from kuanxin.ops.cluster import Cluster
from kuanxin.ops.serve import Servers
from kuanxin.outbound import deliverer as deliverer_module
from kuanxin.outbound.deliverer import Deliverer, backoff_seconds, outcome_of
from kuanxin.outbound.target import WebhookTarget, webhook_target
from kuanxin.store.accounts import Accounts
from kuanxin.store.db import Database
from kuanxin.store.models import AuditEntry, OutboxDelivery, OutboxEvent
from testkit.lender_receiver import LenderReceiver
from tests.unit.test_records import NOW, TODAY, demo_accounts

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(bytes(range(1, 33))).decode()


@pytest.fixture
def receiver():
    double = LenderReceiver(SECRET)
    yield double
    double.close()


def deliverer_for(db: Database, receiver: LenderReceiver, secret: str = SECRET, **options) -> Deliverer:
    return Deliverer(db, WebhookTarget((receiver.url,), secret), idle_wait=0.05, **options)


def promises(db: Database, borrowers=("B1001", "B1002", "B1003"), each: int = 2, first_day: int = 1) -> list[str]:
    """Real facts: one promise per borrower and day, recorded in turns; every event id in recording order."""
    accounts = demo_accounts(db) if db.is_empty() else Accounts(db)
    for day in range(first_day, first_day + each):
        for borrower in borrowers:
            accounts.record_promise(borrower_id=borrower, promised_date=TODAY + dt.timedelta(days=day),
                                    amount=Decimal("100.00"), conversation_id=f"c-{borrower}", today=TODAY, now=NOW)
    return event_ids(db)


def event_ids(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.execute(select(OutboxEvent.id).order_by(OutboxEvent.seq)).scalars())


def deliveries(db: Database) -> list[OutboxDelivery]:
    with db.session() as session:
        return list(session.execute(select(OutboxDelivery).order_by(OutboxDelivery.event_seq)).scalars())


def in_order_per_borrower(receiver: LenderReceiver, borrowers) -> bool:
    """Each borrower's events arrived (first copies) in the order of their sequence numbers."""
    for borrower in borrowers:
        sequences = [event["sequence"] for event in receiver.events_of(borrower)]
        if sequences != sorted(sequences) or len(set(sequences)) != len(sequences):
            return False
    return True


class Running:
    """A deliverer's run loop in a thread, as `kuanxin events deliver` runs it."""

    def __init__(self, deliverer: Deliverer):
        self.deliverer, self.stop = deliverer, threading.Event()
        self.thread = threading.Thread(target=deliverer.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def end(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        self.deliverer.close()


# the rules --------------------------------------------------------------------------------------------------------

def test_the_back_off_doubles_from_a_second_to_ten_minutes_with_jitter():
    rng = random.Random(7)
    for attempt, base in ((1, 1), (2, 2), (3, 4), (10, 512), (11, 600), (40, 600)):
        waits = [backoff_seconds(attempt, rng) for _ in range(50)]
        assert all(0.75 * base <= wait <= base for wait in waits), attempt
        assert len(set(waits)) > 1  # jitter: failures together do not come back together


@pytest.mark.parametrize("status, delivered, kind", [
    (200, True, None), (204, True, None), (500, False, "server_error"), (503, False, "server_error"),
    (408, False, "throttled"), (429, False, "throttled"), (400, False, "refused"), (401, False, "refused"),
    (410, False, "refused"), (301, False, "redirected")])
def test_what_an_answer_means(status, delivered, kind):
    outcome = outcome_of(status, "30")
    assert outcome.delivered is delivered and outcome.status == status
    assert (outcome.error or "").split(":")[0] == (kind or "")
    assert outcome.refused is (kind == "refused")


# delivering ---------------------------------------------------------------------------------------------------

def test_each_event_is_delivered_once_signed_and_recorded_as_delivered(db, receiver):
    promises(db)
    # a dispute without a verified borrower: no order to keep, sent beside the others
    Accounts(db).open_escalation(conversation_id="c9", borrower_id=None, reason="dispute", priority="high",
                                 channel="rest", summary="这笔钱我没借过", today=TODAY, now=NOW)
    ids = event_ids(db)
    deliverer = deliverer_for(db, receiver)
    deliverer.run(threading.Event(), once=True)
    assert sorted(receiver.ids) == sorted(ids) and len(receiver.requests) == len(ids) == 7
    assert receiver.refused_signatures == 0 and receiver.answered == {200: 7}
    assert in_order_per_borrower(receiver, ("B1001", "B1002", "B1003"))
    first = receiver.events[ids[0]]
    assert (first["type"], first["borrower_id"], first["sequence"]) == ("promise.made", "B1001", 1)
    assert first["data"]["amount"] == "100.00" and first["timestamp"] == "2026-11-22T10:00:00+08:00"
    assert all(d.status == "delivered" and d.attempts == 1 and d.delivered_at and d.claim is None
               for d in deliveries(db))
    assert deliverer.waiting() == 0
    deliverer.run(threading.Event(), once=True)  # nothing is sent again
    assert len(receiver.requests) == 7
    deliverer.close()


def test_a_refused_delivery_is_logged_as_refused_kept_and_sent_once_the_receiver_accepts(db, receiver, caplog,
                                                                                         monkeypatch):
    monkeypatch.setattr(deliverer_module, "FIRST_DELAY", 0.0)  # retries due at once: no waiting in this test
    [event_id] = promises(db, ("B1001",), each=1)
    wrong = deliverer_for(db, receiver, secret=OTHER_SECRET)  # the receiver answers 401 to its signature
    with caplog.at_level(logging.WARNING, logger="kuanxin.outbound"):
        for _ in range(3):
            wrong.deliver_round()
    [delivery] = deliveries(db)
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("pending", 3, 401)
    assert delivery.last_error.startswith("refused") and receiver.ids == [] and receiver.refused_signatures == 3
    assert "the receiver refuses it (HTTP 401)" in caplog.text
    right = deliverer_for(db, receiver)
    right.deliver_round()
    assert receiver.ids == [event_id] and deliveries(db)[0].status == "delivered"
    wrong.close()
    right.close()


def test_a_borrowers_later_event_waits_until_the_earlier_one_is_delivered(db, receiver, monkeypatch):
    monkeypatch.setattr(deliverer_module, "FIRST_DELAY", 0.0)
    a1, b1, a2 = promises(db, ("B1001", "B1002"), each=2)[:3]  # recorded a1, b1, a2, b2
    b2 = event_ids(db)[3]
    receiver.fail(a1, 500, times=2)
    deliverer = deliverer_for(db, receiver)
    rounds = []
    for _ in range(5):
        deliverer.deliver_round()
        rounds.append(list(receiver.ids))
    # B1002 goes on while B1001's first event fails twice; B1001's second waits for its first
    assert rounds == [[b1], [b1, b2], [b1, b2, a1], [b1, b2, a1, a2], [b1, b2, a1, a2]]
    attempts = {d.event_seq: d.attempts for d in deliveries(db)}
    assert list(attempts.values()) == [3, 1, 1, 1]
    deliverer.close()


@pytest.mark.slow
def test_the_receiver_away_for_a_while_loses_nothing_and_each_borrowers_order_holds(db, receiver):
    borrowers = ("B1001", "B1002", "B1003")
    promises(db, borrowers, each=3)
    receiver.go_down()  # connections refused
    running = Running(deliverer_for(db, receiver))
    time.sleep(1.5)
    promises(db, borrowers, each=2, first_day=10)  # facts keep coming during the outage
    receiver.come_back()
    receiver.answer_with(503)  # up, but failing
    time.sleep(1.5)
    receiver.answer_with(None)
    try:
        assert receiver.wait_for(15, timeout=60), f"{len(receiver.ids)} of 15 arrived"
    finally:
        running.end()
    assert sorted(receiver.ids) == sorted(event_ids(db))  # de-duplicated by id: every event, once
    assert in_order_per_borrower(receiver, borrowers)
    found = deliveries(db)
    assert all(d.status == "delivered" for d in found) and max(d.attempts for d in found) >= 3
    assert receiver.answered[503] >= 1


def test_two_deliverers_at_once_never_send_one_delivery_twice_at_the_same_moment(db, receiver):
    borrowers = ("B1001", "B1002", "B1003", "B1004", "B1005", "B1006")
    ids = promises(db, borrowers, each=3)
    receiver.hang(0.2)  # every request takes a while: time for the other deliverer to try the same one
    engines = [Database(db.url), Database(db.url)]  # as two processes have
    running = [Running(deliverer_for(engine, receiver, workers=4)) for engine in engines]
    try:
        assert receiver.wait_for(len(ids), timeout=60)
    finally:
        for each in running:
            each.end()
        for engine in engines:
            engine.engine.dispose()
    assert all(each.deliverer.delivered for each in running)  # both had a share
    assert max(receiver.most_at_once.values()) == 1
    assert len(receiver.requests) == len(ids) == 18  # and no lease ran out: each sent exactly once
    assert in_order_per_borrower(receiver, borrowers)
    assert all(d.attempts == 1 for d in deliveries(db))


# the command ------------------------------------------------------------------------------------------------

def command_env(db: Database, receiver: LenderReceiver, tmp_path: Path, **more) -> dict[str, str]:
    return {**os.environ, "KUANXIN_DATABASE_URL": db.url, "KUANXIN_VAR_DIR": str(tmp_path),
            "KUANXIN_LENDER_WEBHOOK_URLS": receiver.url, "KUANXIN_LENDER_WEBHOOK_SECRET": SECRET, **more}


def kuanxin_events(env: dict[str, str], *options: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kuanxin.ops.cli", "events", "deliver", *options], env=env,
                            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_a_deliverer_killed_mid_delivery_loses_nothing_and_the_next_one_delivers_everything(db, receiver, tmp_path):
    borrowers = ("B1001", "B1002")
    ids = promises(db, borrowers, each=3)
    receiver.hang(60)
    first = kuanxin_events(command_env(db, receiver, tmp_path))
    assert receiver.wait_until(lambda: sum(receiver.in_flight.values()) == 2, timeout=30)  # both borrowers' first
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    receiver.hang(0)  # the receiver had the two events in hand: it keeps them (the sender never heard)
    assert receiver.wait_for(2, timeout=5)
    leased = [d for d in deliveries(db) if d.claim]
    assert len(leased) == 2 and all(d.status == "pending" for d in leased)
    second = kuanxin_events(command_env(db, receiver, tmp_path))
    try:  # once the dead one's leases run out (20 s), the two are sent again and the rest follow
        assert receiver.wait_for(len(ids), timeout=60), f"{len(receiver.ids)} of {len(ids)} arrived"
        assert receiver.wait_until(lambda: len(receiver.requests) == len(ids) + 2, timeout=10)
    finally:
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=30)
    assert second.returncode == 0, err
    assert sorted(receiver.ids) == sorted(ids) and in_order_per_borrower(receiver, borrowers)
    duplicates = [d.event_seq for d in deliveries(db) if d.attempts == 2]
    assert len(duplicates) == 2  # the two the dead deliverer held: at least once, de-duplicated by id
    assert all(d.status == "delivered" and d.claim is None for d in deliveries(db))


@pytest.mark.slow
def test_the_command_once_says_whether_everything_was_delivered(db, receiver, tmp_path):
    promises(db, ("B1001",), each=2)
    done = subprocess.run([sys.executable, "-m", "kuanxin.ops.cli", "events", "deliver", "--once"],
                          env=command_env(db, receiver, tmp_path), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and len(receiver.ids) == 2, done.stderr
    promises(db, ("B1002",), each=1, first_day=5)
    receiver.answer_with(500)
    failing = subprocess.run([sys.executable, "-m", "kuanxin.ops.cli", "events", "deliver", "--once"],
                             env=command_env(db, receiver, tmp_path), capture_output=True, text=True, timeout=60)
    assert failing.returncode == 1 and "0 delivered, 1 deliveries waiting for a retry" in failing.stderr
    assert "server_error: HTTP 500" in failing.stderr and SECRET not in failing.stderr
    unset = subprocess.run([sys.executable, "-m", "kuanxin.ops.cli", "events", "deliver", "--once"],
                           env=command_env(db, receiver, tmp_path, KUANXIN_LENDER_WEBHOOK_URLS=""),
                           capture_output=True, text=True, timeout=60)
    assert unset.returncode == 2 and "KUANXIN_LENDER_WEBHOOK_URLS is not set" in unset.stderr


# settings and supervision -----------------------------------------------------------------------------------

def test_the_settings_are_checked_and_the_secret_never_shown():
    env = {"KUANXIN_LENDER_WEBHOOK_URLS": "https://hooks.lender.example/kuanxin, https://ops:pw123@backup.example/e",
           "KUANXIN_LENDER_WEBHOOK_SECRET": SECRET}
    target = webhook_target(env)
    assert target.urls == ("https://hooks.lender.example/kuanxin", "https://ops:pw123@backup.example/e")
    assert SECRET not in repr(target) and "pw123" not in repr(target)
    printed, sound = config.report(env)
    assert sound, printed
    assert SECRET not in printed and SECRET[6:20] not in printed and "pw123" not in printed
    assert "https://ops:••••@backup.example/e" in printed
    assert webhook_target({}) is None
    for bad, named in (({**env, "KUANXIN_LENDER_WEBHOOK_SECRET": ""}, "needs KUANXIN_LENDER_WEBHOOK_SECRET"),
                       ({**env, "KUANXIN_LENDER_WEBHOOK_SECRET": "whsec_%%%"}, "whsec_ followed by base64"),
                       ({**env, "KUANXIN_LENDER_WEBHOOK_SECRET": "whsec_c2hvcnQ="}, "at least 24 bytes"),
                       ({**env, "KUANXIN_LENDER_WEBHOOK_URLS": "ftp://lender.example/x"},
                        "KUANXIN_LENDER_WEBHOOK_URLS must be http(s) URLs")):
        problems = config.check(bad)
        assert any(named in problem for problem in problems), problems
        assert len([p for p in problems if "WEBHOOK" in p]) == 1


def test_kuanxin_serve_supervises_a_deliverer_only_when_a_webhook_is_set(tmp_path):
    def servers(env):
        return Servers(5005, 5055, "t", tmp_path / "model.tar.gz", env, web_port=8000)
    plain = servers({"PATH": "/usr/bin"})
    assert plain.names() == ["rasa", "web"]  # the actions in Rasa's process, the default
    assert servers({"PATH": "/usr/bin", "KUANXIN_ACTIONS": "server"}).names() == ["actions", "rasa", "web"]
    webhook = {"KUANXIN_LENDER_WEBHOOK_URLS": "https://lender.example/e", "KUANXIN_LENDER_WEBHOOK_SECRET": SECRET}
    sending = servers({"PATH": "/usr/bin", **webhook})
    assert sending.names() == ["rasa", "web", "events"]
    assert sending.commands()[-1][1:] == ["-m", "kuanxin.ops.cli", "events", "deliver"]
    # a cluster's instances (no web app) run none: the cluster runs one beside the web app
    assert Servers(5005, 5055, "t", tmp_path / "m", sending.env).names() == ["rasa"]
    stores = {"KUANXIN_TRACKER_STORE_URL": "postgresql://u@127.0.0.1:5432/c", "KUANXIN_REDIS_URL": "redis://h:6379/0"}
    for env, shared in ((stores, ["web"]), ({**stores, **webhook}, ["web", "events"])):
        cluster = Cluster(2, 8080, env, tmp_path, "t" * 16, tmp_path / "model.tar.gz")
        assert [name for name, _command in cluster.shared_commands()] == shared



def test_each_endpoint_gets_every_event_on_its_own_and_an_unlisted_one_nothing(db, receiver):
    backup = LenderReceiver(SECRET)
    try:
        ids = promises(db, ("B1001",), each=2)
        backup.go_down()
        both = Deliverer(db, WebhookTarget((receiver.url, backup.url), SECRET), idle_wait=0.05)
        both.run(threading.Event(), once=True)
        assert receiver.ids == ids and backup.ids == []  # one endpoint away does not hold the other up
        backup.come_back()
        only_first = deliverer_for(db, receiver)  # the backup is no longer configured: nothing goes there
        promises(db, ("B1001",), each=1, first_day=9)
        only_first.run(threading.Event(), once=True)
        assert backup.ids == [] and len(receiver.ids) == 3
        waiting = [d for d in deliveries(db) if d.status == "pending"]
        assert len(waiting) == 2 and {d.endpoint for d in waiting} == {backup.url}
        both.close()
        only_first.close()
    finally:
        backup.close()


def test_a_replayed_event_is_sent_again_by_a_supervisor_only_and_audited(db, receiver):
    directory = StaffDirectory(db)
    boss = directory.add("wang", "correct horse battery", "supervisor", "王小明", NOW)
    agent = directory.add("li", "correct horse battery", "agent", "李娜", NOW)
    [event_id] = promises(db, ("B1001",), each=1)
    deliverer = deliverer_for(db, receiver)
    deliverer.run(threading.Event(), once=True)
    with pytest.raises(Forbidden):
        Casework(db).replay_event(event_id, agent, NOW)
    with pytest.raises(CaseError):
        Casework(db).replay_event("00000000-0000-4000-8000-000000000000", boss, NOW)
    Casework(db).replay_event(event_id, boss, NOW)
    [delivery] = deliveries(db)
    assert (delivery.status, delivery.attempts, delivery.delivered_at) == ("pending", 0, None)
    deliverer.run(threading.Event(), once=True)
    assert [e["id"] for e in receiver.requests] == [event_id, event_id] and receiver.ids == [event_id]
    with db.session() as session:
        [audit] = session.execute(select(AuditEntry)).scalars()
    assert (audit.staff, audit.action, audit.target) == ("wang", "replay_event", event_id)
    assert audit.detail == "还款承诺 CN20261122-0001"
    deliverer.close()
