"""Events out, whole: a borrower's promise and complaint over REST reach the lender's receiver double signed and in
order, sent by the deliverer `kuanxin serve` supervises; supervisors see the deliveries in the console and
replay one (audited); agents cannot."""
from __future__ import annotations

import datetime as dt
import re
import time
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from kuanxin.store.accounts import Accounts
from kuanxin.store.models import AuditEntry, Escalation, OutboxDelivery, OutboxEvent, PaymentPromise
from tests.e2e.console_client import ConsoleClient, new_staff


def last_seq(db) -> int:
    with db.session() as session:
        return session.execute(select(func.coalesce(func.max(OutboxEvent.seq), 0))).scalar_one()


def events_since(db, seq: int) -> list[OutboxEvent]:
    with db.session() as session:
        return list(session.execute(select(OutboxEvent).where(OutboxEvent.seq > seq)
                                    .order_by(OutboxEvent.seq)).scalars())


def visible(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def until(condition, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_the_server_runs_a_deliverer(servers):
    assert "events" in servers.names() and servers.supervisor.children[-1].running


def test_a_promise_and_a_complaint_reach_the_lender_signed_and_in_order(borrower, db, lender_receiver):
    start = last_seq(db)
    borrower.verify("13900001111", "4567")
    assert "2026年11月27日(星期五)" in borrower.say("那我下个星期五把钱还上吧")
    assert "已为您登记" in borrower.say("对的")
    assert "高优先级" in borrower.say("你们催收的天天打电话骂我,还打给我同事说我欠钱")
    with db.session() as session:
        promise = session.execute(select(PaymentPromise).where(
            PaymentPromise.conversation_id == borrower.sender)).scalar_one()
        complaint = session.execute(select(Escalation).where(
            Escalation.conversation_id == borrower.sender)).scalar_one()
    recorded = [e for e in events_since(db, start) if e.borrower_id == "B1002"]
    assert [e.kind for e in recorded] == ["promise.made", "complaint.filed"]
    ids = [e.id for e in recorded]
    assert until(lambda: set(ids) <= set(lender_receiver.ids)), "the receiver did not get both events"
    arrived = [e for e in lender_receiver.events_of("B1002") if e["id"] in ids]
    assert [e["type"] for e in arrived] == ["promise.made", "complaint.filed"]  # in the order they happened
    made, filed = arrived
    assert filed["sequence"] == made["sequence"] + 1
    assert made["data"] == {"reference": promise.reference, "promised_date": "2026-11-27", "amount": "446.40",
                            "status": "open"}
    assert (filed["data"]["reference"], filed["data"]["reason"]) == (complaint.reference, "collection_abuse")
    assert "13900001111" not in str(arrived) and "催收的" not in str(arrived)  # no number, nothing typed
    assert lender_receiver.refused_signatures == 0


@pytest.fixture
def delivered_event(db, lender_receiver) -> OutboxEvent:
    start = last_seq(db)
    Accounts(db).record_promise(borrower_id="B1003", promised_date=dt.date(2026, 12, 1), amount=Decimal("800.00"),
                                conversation_id="console-test", today=dt.date(2026, 11, 22),
                                now=dt.datetime(2026, 11, 22, 2))
    [event] = events_since(db, start)
    assert until(lambda: event.id in lender_receiver.ids)
    return event


def test_supervisors_see_the_deliveries_in_chinese_and_replay_one(servers, db, lender_receiver, delivered_event):
    console = ConsoleClient(servers.web_url)
    console.log_in(new_staff(db, "supervisor"))
    page = console.get("/console/events")
    assert page.status_code == 200 and 'href="/console/events"' in page.text
    row = page.text[page.text.index(f'data-event="{delivered_event.id}"'):]
    row = row[:row.index("</tr>")]
    assert "还款承诺" in row and "B1003" in row and "已送达" in row and "送达于 2026-" in row
    shown = visible(page.text)  # what staff read: no code of the outbox or the network
    assert not any(code in shown for code in ("promise.made", "delivered", "pending", "B1003:", "HTTP 200"))
    before = sum(1 for e in lender_receiver.requests if e["id"] == delivered_event.id)
    assert console.post(f"/console/events/{delivered_event.id}/replay", csrf=False).status_code == 403
    replayed = console.post(f"/console/events/{delivered_event.id}/replay")
    assert replayed.status_code == 200 and "已重新排队" in replayed.text
    # the same event id again: the lender de-duplicates on it
    assert until(lambda: sum(1 for e in lender_receiver.requests if e["id"] == delivered_event.id) == before + 1)
    with db.session() as session:
        audit = session.execute(select(AuditEntry).where(AuditEntry.target == delivered_event.id)).scalar_one()
        assert audit.action == "replay_event" and "还款承诺" in audit.detail
        assert session.execute(select(OutboxDelivery.status).where(
            OutboxDelivery.event_seq == delivered_event.seq)).scalar_one() == "delivered"


def test_a_failing_delivery_shows_its_last_error_then_goes_through(servers, db, lender_receiver):
    console = ConsoleClient(servers.web_url)
    console.log_in(new_staff(db, "supervisor"))
    lender_receiver.answer_with(500)
    try:
        start = last_seq(db)
        Accounts(db).open_escalation(conversation_id="console-fail", borrower_id=None, reason="dispute",
                                     priority="high", channel="rest", summary="不是我借的",
                                     today=dt.date(2026, 11, 22), now=dt.datetime(2026, 11, 22, 2))
        [event] = events_since(db, start)
        assert until(lambda: 'data-state="重试中"' in console.get("/console/events?failing=1").text)
        page = console.page
        assert event.id in page and "债务异议" in page and "未核实身份" in page
        assert "接收方系统出错(HTTP 500)" in page and "下次重试" in page and "server_error" not in visible(page)
    finally:
        lender_receiver.answer_with(None)
    assert until(lambda: event.id in lender_receiver.ids, timeout=30)


def test_agents_can_neither_see_nor_replay_events(servers, db, delivered_event):
    console = ConsoleClient(servers.web_url)
    console.log_in(new_staff(db, "agent"))
    assert 'href="/console/events"' not in console.get("/console").text
    page = console.get("/console/events")
    assert page.status_code == 403 and "只有主管" in page.text
    assert console.post(f"/console/events/{delivered_event.id}/replay").status_code == 403
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.target == delivered_event.id)).scalar_one() == 0
