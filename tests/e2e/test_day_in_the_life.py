"""A day in the life of a lender's book: the morning's push, borrowers' conversations, the evening's files and a
late push batch. Afterwards every conversation-side record is as the borrowers and staff left it, every balance is
right to the cent, and every event reached the lender once, signed."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from kuanxin.store.models import AuditEntry, Escalation, Payment, PaymentPromise, ServiceRequest
from testkit.servers import Borrower
from tests.e2e.test_events_out import events_since, last_seq, until
from tests.e2e.test_lender_api import BOOK, push

PEOPLE = ("B1001", "B1002", "B9001")


def conversation_side(db) -> dict[str, list[tuple]]:
    """What borrowers said and staff decided, as plain rows: a sync must leave all of it as it was."""
    with db.session() as session:
        def rows(model, *columns):
            return sorted(tuple(row) for row in session.execute(
                select(*columns).where(model.borrower_id.in_(PEOPLE))).all())
        return {
            "promises": rows(PaymentPromise, PaymentPromise.id, PaymentPromise.promised_date,
                             PaymentPromise.amount, PaymentPromise.status),
            "requests": rows(ServiceRequest, ServiceRequest.reference, ServiceRequest.type,
                             ServiceRequest.status, ServiceRequest.loan_id),
            "escalations": rows(Escalation, Escalation.reference, Escalation.reason, Escalation.status),
            "audit": [tuple(r) for r in session.execute(select(AuditEntry.id).order_by(AuditEntry.id)).all()],
        }


def kuanxin_sync(servers, path: Path, *options: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **servers.env}
    command = [str(Path(sys.executable).parent / "kuanxin"), "sync", str(path), "--quiet", *options]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_a_day_of_pushes_conversations_and_syncs_loses_nothing_and_counts_every_cent(
        servers, db, lender_receiver, tmp_path):
    start = last_seq(db)
    book, payment = BOOK[:-1], BOOK[-1]
    # Morning: a new borrower arrives through the push API.
    assert push(servers, book).status_code == 200

    # Daytime: a promise with an amount, a complaint about collectors, a waiver request.
    zhang, li, zhou = Borrower(servers), Borrower(servers), Borrower(servers)
    zhang.verify("13812345678", "123X")
    assert "1,000.00" in zhang.say("我30号还1000")
    assert "已为您登记" in zhang.say("确认")
    li.verify("13900001111", "4567")
    assert "高优先级" in li.say("你们催收的天天打电话骂我,还打给我同事说我欠钱")
    zhou.verify("139 0000 9999", "123x")
    assert "本金不能减免" in zhou.say("罚息和违约金能免掉吗 实在太多了")
    assert "已为您登记减免申请" in zhou.say("确认")
    before = conversation_side(db)
    assert len(before["promises"]) == 1 and len(before["escalations"]) == 1 and len(before["requests"]) == 1

    # Evening: the whole book again as a file, one borrower renamed and a loan restated; then the day's payments.
    restated = [{**book[0], "name": "周敏敏"}, *book[1:]]
    first = kuanxin_sync(servers, jsonl(tmp_path / "book.jsonl", restated))
    assert first.returncode == 0, first.stderr
    payments = tmp_path / "payments.csv"
    payments.write_text("id,loan_id,amount,paid_at,channel\n"
                        f"{payment['id']},{payment['loan_id']},{payment['amount']},{payment['paid_at']},bank_card\n",
                        encoding="utf-8")
    for _ in range(2):  # the same file twice: the payment counts once
        done = kuanxin_sync(servers, payments, "--type", "payment")
        assert done.returncode == 0, done.stderr
    # Late: the core system pushes a payment for the borrower who promised.
    late = {"type": "payment", "id": "P-L1001-1", "loan_id": "L1001", "amount": "100.00",
            "paid_at": "2026-11-21T09:00:00+08:00", "channel": "wechat_pay"}
    assert push(servers, [late]).json()["results"][0]["outcome"] == "inserted"

    after = conversation_side(db)
    for kind in ("promises", "requests", "escalations"):
        assert after[kind] == before[kind], kind
    assert after["audit"][:len(before["audit"])] == before["audit"]  # appended to, never rewritten
    with db.session() as session:
        assert session.execute(select(Payment.id).order_by(Payment.id)).scalars().all() == ["P-L1001-1", "P1"]

    # The renamed borrower's balance, with the evening's payment applied, to the cent (worked in test_lender_api).
    again = Borrower(servers)
    reply = again.verify("13900009999", "123X") + again.say("我逾期了多少钱")
    assert "1,882.20" in reply, reply

    # Every event of the day reached the lender once, signed, in the order it happened per borrower.
    recorded = [e for e in events_since(db, start) if e.borrower_id in PEOPLE]
    assert {e.kind for e in recorded} >= {"promise.made", "complaint.filed", "request.created"}
    assert until(lambda: {e.id for e in recorded} <= set(lender_receiver.ids)), "an event did not arrive"
    arrivals = Counter(r["id"] for r in lender_receiver.requests if r["id"] in {e.id for e in recorded})
    assert set(arrivals.values()) == {1}
    assert lender_receiver.refused_signatures == 0
    for person in PEOPLE:
        mine = [e.id for e in recorded if e.borrower_id == person]
        assert [e["id"] for e in lender_receiver.events_of(person) if e["id"] in mine] == mine
