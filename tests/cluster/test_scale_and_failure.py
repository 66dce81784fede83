"""Many borrowers over both instances, a confirmation sent twice at once, and an instance killed mid-conversation.

Runs after the foundation's tests on the same cluster (pytest keeps file order); the kill comes last.
"""
from __future__ import annotations

import copy
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, func, select, text

from kuanxin.db import Database
from kuanxin.demo import demo_document
from kuanxin.importer import load_document
from kuanxin.models import ServiceRequest
from tests.e2e.harness import Borrower

BORROWERS, TURNS = 200, 10
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
    load_document(database, synthetic_document(BORROWERS + 40))
    return database


def script(i: int) -> list[str]:
    return ["你好", "我逾期了多少钱", phone_of(i), "123X", "逾期会有什么后果", "怎么还款",
            "延期三个月,因为我失业了", "/affirm", "我的申请审核到哪一步了", "谢谢"]


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


def test_200_borrowers_times_10_turns_over_both_instances_lose_and_double_nothing(cluster, accounts):
    borrowers = [Borrower(cluster) for _ in range(BORROWERS)]
    failures = []

    def converse(i: int) -> None:
        try:
            for turn in script(i):
                assert borrowers[i].say(turn).strip(), turn
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            failures.append((i, repr(exc)))

    with ThreadPoolExecutor(max_workers=40) as pool:
        list(pool.map(converse, range(BORROWERS)))
    assert failures == []
    for i, borrower in enumerate(borrowers):
        rows = tracker_rows(cluster, borrower.sender)
        assert [t for kind, t in rows if kind == "user"] == script(i)
        answered = [kind for kind, _ in rows if kind in ("user", "bot")]
        assert all(answered[k + 1] == "bot" for k, kind in enumerate(answered) if kind == "user"), i
    with accounts.session() as session:
        assert session.execute(select(func.count()).select_from(ServiceRequest)
                               .where(ServiceRequest.borrower_id.like("S%"))).scalar_one() == BORROWERS
    used = {line.split()[0] for line in (Path(cluster.workdir) / "nginx-access.log").read_text().splitlines()}
    assert {f"127.0.0.1:{i.rasa_port}" for i in cluster.instances} <= used


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


def test_killing_an_instance_mid_conversation_loses_nothing(cluster, accounts):
    """Runs last: one Rasa instance stays dead afterwards."""
    first = BORROWERS + 1
    borrowers = [Borrower(cluster) for _ in range(30)]
    for n, borrower in enumerate(borrowers):
        borrower.verify(phone_of(first + n), "123X")
        borrower.say("延期三个月,因为我失业了")
        assert borrower.buttons() == ["确认提交", "取消"]
    confirmed = {}
    for borrower in borrowers[:10]:  # confirmed before the crash
        confirmed[borrower.sender] = REFERENCE.search(borrower.say("/affirm")).group(0)
    cluster.kill_rasa(0)
    for borrower in borrowers[10:]:  # mid-form: the confirmation step must still be where they left it
        assert REFERENCE.search(borrower.say("/affirm")), borrower.replies
    for borrower in borrowers[:10]:  # still verified: no identity question
        assert "手机号" not in borrower.say("我逾期了多少钱") and "逾期" in borrower.replies[0]["text"]
    with accounts.session() as session:
        recorded = dict(session.execute(select(ServiceRequest.conversation_id, ServiceRequest.reference).where(
            ServiceRequest.conversation_id.in_([b.sender for b in borrowers]))).all())
    assert len(recorded) == 30 and all(recorded[s] == r for s, r in confirmed.items())
