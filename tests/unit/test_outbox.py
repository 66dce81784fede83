"""Events out, the writing side: every fact the lender must act on becomes exactly one event, in the transaction
of the fact itself (a fact rolled back leaves no event), with a payload that holds no full number and no
words the borrower typed. On SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import json
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from kuanxin.console import casework as casework_module
from kuanxin.console.casework import CaseError, Casework
from kuanxin.console.staff import StaffDirectory
from kuanxin.core.vocab import EventKind
from kuanxin.lending import plans
from kuanxin.reminders.optout import opt_out
from kuanxin.reminders.promises import due_for_follow_up, record_outcomes
from kuanxin.store import outbox
from kuanxin.store.models import (
    AuditEntry,
    OutboxEvent,
    OutboxQueued,
    OutboxStream,
    PaymentPromise,
    ServiceRequest,
)
from tests.unit.test_records import NOW, TODAY, at_once, demo_accounts
from tests.unit.test_reminders import add_borrower, add_promise

PHONE, ID_NUMBER = "13812345678", "11010119900307123X"  # demo borrower B1001's


def events(db, kind: EventKind | None = None) -> list[OutboxEvent]:
    query = select(OutboxEvent).order_by(OutboxEvent.seq)
    with db.session() as session:
        return list(session.execute(query.where(OutboxEvent.kind == kind.value) if kind else query).scalars())


def data(event: OutboxEvent) -> dict:
    return json.loads(event.payload)


def the_only(db, kind: EventKind) -> OutboxEvent:
    found = events(db, kind)
    assert len(found) == 1, f"{kind}: {len(found)} events"
    return found[0]


def queued(db) -> int:
    with db.session() as session:
        return session.execute(select(func.count()).select_from(OutboxQueued)).scalar_one()


@pytest.fixture
def supervisor(db):
    return StaffDirectory(db).add("wang", "correct horse battery", "supervisor", "王小明", NOW)


def test_a_request_confirmed_at_once_is_one_event_with_its_terms(db, policy):
    accounts = demo_accounts(db)
    borrower = accounts.borrower_profile("B1001")
    loan = plans.find_loan(borrower, "L1001")
    results = at_once(4, lambda: plans.submit_installment(accounts, borrower, loan, 6, "c1", TODAY, NOW, policy))
    request = next(r.request for r in results if r.created)
    event = the_only(db, EventKind.REQUEST_CREATED)
    assert (event.borrower_id, event.sequence) == ("B1001", 1)
    assert data(event)["reference"] == request.reference and data(event)["type"] == "installment"
    assert data(event)["loan_id"] == "L1001" and data(event)["periods"] == 6
    assert data(event)["terms"]["total"] == "3084.60"
    assert data(event)["terms"]["plan"][0] == {"n": 1, "due": "2026-12-22", "amount": "514.10"}
    assert queued(db) == 1  # waiting for the deliverer


def test_a_deferral_event_leaves_out_the_reason_the_borrower_typed(db, policy):
    accounts = demo_accounts(db)
    borrower = accounts.borrower_profile("B1001")
    plans.submit_deferral(accounts, borrower, plans.find_loan(borrower, "L1001"), 3,
                          f"我失业了,联系我{PHONE}", "c1", TODAY, NOW, policy)
    event = the_only(db, EventKind.REQUEST_CREATED)
    assert data(event)["months"] == 3 and data(event)["terms"]["new_due_date"] == "2026-12-15"
    assert "失业" not in event.payload and PHONE not in event.payload


def test_a_changed_request_is_one_event_and_asking_the_same_again_none(db, policy):
    accounts = demo_accounts(db)
    loan = plans.find_loan(accounts.borrower_profile("B1001"), "L1001")
    for periods in (6, 6, 12, 12):
        plans.submit_installment(accounts, accounts.borrower_profile("B1001"), loan, periods, "c1", TODAY, NOW,
                                 policy)
    changed = the_only(db, EventKind.REQUEST_CHANGED)
    assert data(changed)["periods"] == 12 and data(changed)["previous"] == {"months": None, "periods": 6}
    assert [e.sequence for e in events(db)] == [1, 2]


def test_a_decision_is_one_event_and_a_second_click_none(db, policy, supervisor):
    accounts = demo_accounts(db)
    borrower = accounts.borrower_profile("B1001")
    filed = plans.submit_waiver(accounts, borrower, plans.find_loan(borrower, "L1001"), None, "c1", TODAY, NOW)
    Casework(db).decide_request(filed.request.reference, supervisor, "approve", "同意减免", NOW)
    with pytest.raises(CaseError):
        Casework(db).decide_request(filed.request.reference, supervisor, "reject", "不同意", NOW)
    event = the_only(db, EventKind.REQUEST_DECIDED)
    assert data(event)["decision"] == "approved" and data(event)["decided_by"] == "wang"
    assert data(event)["decided_at"] == "2026-11-22T10:00:00+08:00"
    assert "同意减免" not in event.payload


def test_a_promise_is_one_event_however_often_confirmed(db):
    accounts = demo_accounts(db)
    at_once(3, lambda: accounts.record_promise(borrower_id="B1001", promised_date=dt.date(2026, 12, 3),
                                               amount=Decimal("1000.00"), conversation_id="c1", today=TODAY, now=NOW))
    event = the_only(db, EventKind.PROMISE_MADE)
    assert data(event) == {"reference": "CN20261122-0001", "promised_date": "2026-12-03", "amount": "1000.00",
                           "status": "open"}
    assert event.created_at == NOW


def test_kept_and_broken_promises_are_one_event_each(db):
    yesterday, made = TODAY - dt.timedelta(days=1), TODAY - dt.timedelta(days=5)
    add_borrower(db, "KEPT", "13800000001", overdue_days=20, paid="1000.00", paid_on=yesterday)
    add_borrower(db, "BROKEN", "13800000003", overdue_days=40, principal="6000.00")
    add_promise(db, "KEPT", made, yesterday, "1000.00")
    add_promise(db, "BROKEN", made, yesterday, "6000.00")
    outcomes = due_for_follow_up(db, TODAY)
    assert len(record_outcomes(db, outcomes, TODAY)) == 2
    assert record_outcomes(db, outcomes, TODAY) == []  # a second run records nothing, and tells nobody
    kept, broken = the_only(db, EventKind.PROMISE_KEPT), the_only(db, EventKind.PROMISE_BROKEN)
    assert (kept.borrower_id, data(kept)["paid"], data(kept)["status"]) == ("KEPT", "1000.00", "kept")
    assert (broken.borrower_id, data(broken)["paid"], data(broken)["followed_up_on"]) == (
        "BROKEN", "0.00", TODAY.isoformat())


@pytest.mark.parametrize("reason, kind", [("dispute", EventKind.DISPUTE_FILED),
                                          ("collection_abuse", EventKind.COMPLAINT_FILED)])
def test_a_dispute_or_complaint_is_one_event_without_what_was_said(db, reason, kind):
    accounts = demo_accounts(db)
    said = f"催收天天打电话骂我,我的身份证是{ID_NUMBER}"
    for _ in range(2):
        accounts.open_escalation(conversation_id="c1", borrower_id=None, reason=reason, priority="high",
                                 channel="wechat", summary=said, today=TODAY, now=NOW)
    event = the_only(db, kind)
    assert event.borrower_id is None and event.sequence is None  # nobody verified: no order to keep
    assert data(event)["reason"] == reason and data(event)["channel"] == "wechat"
    assert data(event)["reference"].startswith("RG20261122-")
    assert "催收" not in event.payload and ID_NUMBER[-8:] not in event.payload and "c1" not in event.payload


def test_a_safety_escalation_is_one_event_and_a_request_for_a_person_none(db):
    accounts = demo_accounts(db)
    for _ in range(2):
        accounts.raise_safety_flag(conversation_id="c1", borrower_id="B1001", channel="webchat",
                                   summary="不想活了", today=TODAY, now=NOW)
    accounts.open_escalation(conversation_id="c2", borrower_id="B1001", reason="human", priority="normal",
                             channel="rest", summary="转人工", today=TODAY, now=NOW)
    event = the_only(db, EventKind.SAFETY_ESCALATED)
    assert (event.borrower_id, data(event)["priority"]) == ("B1001", "high") and "不想活" not in event.payload
    assert len(events(db)) == 1


def test_an_opt_out_is_one_event(db):
    demo_accounts(db)
    assert opt_out(db, "B1001", "sms", NOW) and not opt_out(db, "B1001", "webchat", NOW)
    event = the_only(db, EventKind.REMINDERS_OPTED_OUT)
    assert data(event) == {"channel": "sms", "opted_out_at": "2026-11-22T10:00:00+08:00"}


def test_an_identity_lockout_is_one_event_naming_the_borrower_but_not_the_number(db, policy):
    accounts = demo_accounts(db)
    tries = [accounts.verify_identity(PHONE, tail, "c1", NOW, policy.identity).status
             for tail in ("0001", "0002", "0003", "123X")]
    assert tries == ["mismatch", "mismatch", "locked", "locked"]
    event = the_only(db, EventKind.IDENTITY_LOCKED)  # the lock, not every refusal while it holds
    assert event.borrower_id == "B1001" and PHONE not in event.payload
    assert data(event) == {"phone": "138****5678", "locked_until": "2026-11-22T10:30:00+08:00",
                           "lockout_minutes": 30}


def test_a_lockout_of_a_number_nobody_holds_is_an_event_without_a_borrower(db, policy):
    accounts = demo_accounts(db)
    for tail in ("0001", "0002", "0003"):
        accounts.verify_identity("13999999999", tail, "c1", NOW, policy.identity)
    assert the_only(db, EventKind.IDENTITY_LOCKED).borrower_id is None


def test_a_fact_that_fails_after_its_event_was_written_leaves_neither(db, monkeypatch, supervisor):
    accounts = demo_accounts(db)
    borrower = accounts.borrower_profile("B1001")
    filed = plans.submit_waiver(accounts, borrower, plans.find_loan(borrower, "L1001"), None, "c1", TODAY, NOW)
    written, record_event = [], outbox.record_event

    def written_then_failing(session, *args, **kwargs):
        written.append(record_event(session, *args, **kwargs).id)
        session.flush()
        raise RuntimeError("the transaction fails after the event was written")

    monkeypatch.setattr(outbox, "record_event", written_then_failing)  # what the repository calls
    monkeypatch.setattr(casework_module, "record_event", written_then_failing)
    with pytest.raises(RuntimeError, match="after the event was written"):
        accounts.record_promise(borrower_id="B1001", promised_date=dt.date(2026, 12, 3), amount=Decimal("100.00"),
                                conversation_id="c1", today=TODAY, now=NOW)
    with pytest.raises(RuntimeError, match="after the event was written"):
        Casework(db).decide_request(filed.request.reference, supervisor, "approve", "同意", NOW)
    assert len(written) == 2
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(PaymentPromise)).scalar_one() == 0
        assert session.get(ServiceRequest, filed.request.id).status == "pending"
        assert session.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == 0
        # the request's own event stays: only the two rolled back are gone
        assert [e.kind for e in session.execute(select(OutboxEvent)).scalars()] == ["request.created"]
        assert session.get(OutboxStream, "B1001").last_sequence == 1
    assert queued(db) == 1


def test_no_payload_holds_a_full_number_and_the_envelope_is_what_the_lender_reads(db, policy, supervisor):
    accounts = demo_accounts(db)
    borrower = accounts.borrower_profile("B1001")
    plans.submit_deferral(accounts, borrower, plans.find_loan(borrower, "L1001"), 3, f"电话{PHONE} 身份证{ID_NUMBER}",
                          "c1", TODAY, NOW, policy)
    accounts.open_escalation(conversation_id="c1", borrower_id="B1001", reason="dispute", priority="high",
                             channel="rest", summary=f"{PHONE} {ID_NUMBER}", today=TODAY, now=NOW)
    for tail in ("0001", "0002", "0003"):
        accounts.verify_identity(PHONE, tail, "c2", NOW, policy.identity)
    opt_out(db, "B1001", "webchat", NOW)
    found = events(db)
    assert [e.sequence for e in found] == [1, 2, 3, 4]
    for event in found:
        body = outbox.envelope(event).decode("utf-8")
        assert PHONE not in body and ID_NUMBER not in body and ID_NUMBER[:6] not in body
    first = json.loads(outbox.envelope(found[0]))
    assert set(first) == {"id", "type", "timestamp", "borrower_id", "sequence", "data"}
    assert (first["id"], first["type"], first["borrower_id"], first["sequence"]) == (
        found[0].id, "request.created", "B1001", 1)
    assert first["timestamp"] == "2026-11-22T10:00:00+08:00"
    assert outbox.envelope(found[0]) == outbox.envelope(found[0])  # the same bytes on every attempt


def test_a_payload_refuses_what_is_not_an_id_amount_date_or_code(db):
    with pytest.raises(TypeError):
        outbox.plain({"amount": 1.5})
    assert outbox.plain({"text": f"call {PHONE}", "amount": Decimal("1.50"), "day": dt.date(2026, 1, 2)}) == {
        "text": "call 138****5678", "amount": "1.50", "day": "2026-01-02"}


def test_plan_events_are_in_the_vocabulary_for_the_plans_work():
    assert {"plan.accepted", "plan.broken", "plan.completed"} <= set(EventKind.values())


def test_a_borrowers_events_written_at_once_are_numbered_in_the_order_they_commit(db):
    accounts = demo_accounts(db)
    days, lock = iter(range(1, 9)), threading.Lock()

    def promise():
        with lock:
            day = next(days)
        return accounts.record_promise(borrower_id="B1001", promised_date=TODAY + dt.timedelta(days=day),
                                       amount=Decimal("10.00"), conversation_id="c1", today=TODAY, now=NOW)
    at_once(8, promise)
    found = events(db, EventKind.PROMISE_MADE)
    assert [e.sequence for e in found] == list(range(1, 9))  # in seq order: one number each, none skipped
