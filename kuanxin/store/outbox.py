"""The outbox: every fact the lender must act on, written as an event in the transaction of the fact itself.

`record_event` is the one way an event is written. Its payload holds ids, references, amounts (as strings),
dates (ISO) and the borrower id: never a full phone or ID number (every text in it is masked again here) and
never words a borrower typed (the payload builders below take no free text). An event is queued
(outbox_queue) in the same transaction; the deliverer (kuanxin/outbound) turns each queued event into one
delivery per configured endpoint and sends it, signed, until the endpoint answers 2xx.

Order: a borrower's events are numbered (`sequence`) under a lock on their stream, so they commit in that
order, and a delivery is claimed only when the borrower's earlier deliveries to that endpoint are delivered.
Claims: a deliverer takes a due delivery for a lease (SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL, and
an UPDATE that succeeds only while nobody else holds it, on both databases), so two deliverers never send
the same delivery at once; one that dies loses its lease and another sends it again (at least once).
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from kuanxin.core import clock
from kuanxin.core.vocab import DeliveryStatus, EscalationReason, EventKind
from kuanxin.lending.identity import mask_phone, mask_text
from kuanxin.store.db import Database
from kuanxin.store.models import (
    Escalation,
    OutboxDelivery,
    OutboxEvent,
    OutboxQueued,
    OutboxStream,
    PaymentPromise,
    ServiceRequest,
)

# the escalations the lender must hear of, by reason; a request for a person or a turn not understood is not
EVENT_OF_ESCALATION = {EscalationReason.DISPUTE: EventKind.DISPUTE_FILED,
                       EscalationReason.COLLECTION_ABUSE: EventKind.COMPLAINT_FILED,
                       EscalationReason.SAFETY: EventKind.SAFETY_ESCALATED}
FAN_OUT_BATCH = 500  # queued events turned into deliveries per transaction


# --- writing events ----------------------------------------------------------------------------------------------

def record_event(session: Session, kind: EventKind, borrower_id: str | None, payload: Mapping[str, Any],
                 at: dt.datetime | None = None) -> OutboxEvent:
    """Writes the event and queues it, in the caller's transaction: it commits or rolls back with the fact."""
    from kuanxin.store.accounts import utc_naive  # the repository records its facts through this module
    event = OutboxEvent(id=str(uuid.uuid4()), kind=kind.value, borrower_id=borrower_id,
                        sequence=_next_in_stream(session, borrower_id) if borrower_id else None,
                        payload=json.dumps(plain(payload), ensure_ascii=False, sort_keys=True, separators=(",", ":")),
                        created_at=utc_naive(at or clock.now()))
    session.add(event)
    session.flush()
    session.add(OutboxQueued(event_seq=event.seq))
    return event


def _next_in_stream(session: Session, stream: str) -> int:
    """The borrower's next event number. The UPDATE locks their stream row until this transaction ends, so a
    concurrent event of theirs waits and commits after this one (SQLite has one writer anyway)."""
    insert_ignoring_duplicates(session, OutboxStream.__table__, [{"stream": stream, "last_sequence": 0}])
    session.execute(update(OutboxStream).where(OutboxStream.stream == stream)
                    .values(last_sequence=OutboxStream.last_sequence + 1)
                    .execution_options(synchronize_session=False))
    return int(session.execute(select(OutboxStream.last_sequence).where(OutboxStream.stream == stream)).scalar_one())


def insert_ignoring_duplicates(session: Session, table, rows: list[dict[str, Any]]) -> None:
    """INSERT … ON CONFLICT DO NOTHING: a row whose key is already there (or being written by a concurrent
    transaction, which PostgreSQL waits for) is left as it is."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[no-redef]
    else:
        raise NotImplementedError(f"the outbox runs on PostgreSQL or SQLite, not {dialect}")
    session.execute(insert(table).on_conflict_do_nothing(), rows)


def plain(value: Any) -> Any:
    """A payload as JSON values: money as strings, dates in ISO form (moments in Beijing time), and any phone or
    ID number inside a text masked (the builders put none there; this makes sure)."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return (clock.beijing_time(value) if value.tzinfo is None else value.astimezone(clock.BEIJING)).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return mask_text(value)
    if value is None or isinstance(value, (bool, int)):
        return value
    raise TypeError(f"an event payload holds ids, amounts, dates and codes, not {type(value).__name__}")


# --- what each fact tells the lender (no free text: reasons, summaries and notes stay out) ---------------------

def request_facts(request: ServiceRequest) -> dict[str, Any]:
    return {"reference": request.reference, "type": request.type, "loan_id": request.loan_id,
            "status": request.status, "created_on": request.created_on, "months": request.months,
            "periods": request.periods, "terms": json.loads(request.details) if request.details else {}}


def decision_facts(request: ServiceRequest) -> dict[str, Any]:
    return {**request_facts(request), "decision": request.status, "decided_at": request.decided_at,
            "decided_by": request.decided_by}


def change_facts(request: ServiceRequest, months_before: int | None, periods_before: int | None) -> dict[str, Any]:
    return {**request_facts(request), "previous": {"months": months_before, "periods": periods_before}}


def promise_facts(promise: PaymentPromise) -> dict[str, Any]:
    return {"reference": promise.reference, "promised_date": promise.promised_date, "amount": promise.amount,
            "status": promise.status}


def follow_up_facts(promise: PaymentPromise, paid: Decimal, day: dt.date) -> dict[str, Any]:
    return {**promise_facts(promise), "paid": paid, "followed_up_on": day}


def escalation_facts(escalation: Escalation) -> dict[str, Any]:
    return {"reference": escalation.reference, "reason": escalation.reason, "priority": escalation.priority,
            "channel": escalation.channel, "status": escalation.status, "opened_at": escalation.created_at}


def opt_out_facts(channel: str, at: dt.datetime) -> dict[str, Any]:
    return {"channel": channel, "opted_out_at": at}


def lockout_facts(phone: str, locked_until: dt.datetime, lockout_minutes: int) -> dict[str, Any]:
    return {"phone": mask_phone(phone), "locked_until": locked_until, "lockout_minutes": lockout_minutes}


def record_escalation_event(session: Session, escalation: Escalation, at: dt.datetime) -> OutboxEvent | None:
    """The event of a dispute, a collection complaint or a safety escalation; None for other reasons."""
    kind = EVENT_OF_ESCALATION.get(EscalationReason(escalation.reason))
    if kind is None:
        return None
    return record_event(session, kind, escalation.borrower_id, escalation_facts(escalation), at)


# --- what is sent ------------------------------------------------------------------------------------------------

def envelope(event: OutboxEvent) -> bytes:
    """The body sent for an event: the same bytes on every attempt. `id` is the webhook-id to de-duplicate on;
    `sequence` counts the borrower's events, so the lender can also put them in order itself."""
    document = {"id": event.id, "type": event.kind, "timestamp": clock.beijing_time(event.created_at).isoformat(),
                "borrower_id": event.borrower_id, "sequence": event.sequence, "data": json.loads(event.payload)}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --- the deliverer's bookkeeping ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Claimed:
    """A delivery this deliverer holds a lease on: what to send, where."""
    delivery_id: int
    endpoint: str
    event_id: str
    kind: str
    borrower_id: str | None
    attempt: int  # this attempt's number since the delivery was (re)queued
    body: bytes


def fan_out(db: Database, endpoints: Iterable[str], now: dt.datetime, limit: int = FAN_OUT_BATCH) -> int:
    """Turns queued events, oldest first, into one pending delivery per endpoint; returns how many events.

    The queue rows are locked (PostgreSQL) and taken in order, so a second deliverer waits rather than
    fanning out a borrower's later event before an earlier one.
    """
    endpoints = list(endpoints)
    if not endpoints:
        return 0
    with db.session() as session:
        queued = session.execute(
            select(OutboxQueued.event_seq, OutboxEvent.borrower_id)
            .join(OutboxEvent, OutboxEvent.seq == OutboxQueued.event_seq)
            .order_by(OutboxQueued.event_seq).limit(limit).with_for_update(of=OutboxQueued)).all()
        if not queued:
            return 0
        insert_ignoring_duplicates(session, OutboxDelivery.__table__, [
            {"event_seq": seq, "endpoint": endpoint, "stream": borrower_id, "status": DeliveryStatus.PENDING.value,
             "attempts": 0, "next_attempt_at": now} for seq, borrower_id in queued for endpoint in endpoints])
        session.execute(delete(OutboxQueued).where(OutboxQueued.event_seq.in_([seq for seq, _ in queued])))
    return len(queued)


def _free(now: dt.datetime):
    return or_(OutboxDelivery.lease_until.is_(None), OutboxDelivery.lease_until <= now)


def _behind_an_earlier_one():
    """True for a delivery whose borrower has an earlier delivery to the same endpoint not yet delivered."""
    earlier = aliased(OutboxDelivery)
    return exists().where(and_(earlier.endpoint == OutboxDelivery.endpoint, earlier.stream == OutboxDelivery.stream,
                               earlier.event_seq < OutboxDelivery.event_seq,
                               earlier.status == DeliveryStatus.PENDING.value))


def claim_due(db: Database, endpoints: Iterable[str], now: dt.datetime, lease: dt.timedelta, token: str,
              limit: int) -> list[Claimed]:
    """Takes a lease on up to `limit` due deliveries to these endpoints, each the earliest waiting one of its
    borrower there; counts the attempt. Rows another deliverer is claiming are skipped, not waited for."""
    due = (select(OutboxDelivery.id)
           .where(OutboxDelivery.status == DeliveryStatus.PENDING.value, OutboxDelivery.endpoint.in_(list(endpoints)),
                  OutboxDelivery.next_attempt_at <= now, _free(now), ~_behind_an_earlier_one())
           .order_by(OutboxDelivery.next_attempt_at, OutboxDelivery.event_seq).limit(limit)
           .with_for_update(skip_locked=True, of=OutboxDelivery))
    with db.session() as session:
        ids = list(session.execute(due).scalars())
        if not ids:
            return []
        # only while nobody holds it: on SQLite the select above locks nothing, and this is what decides
        session.execute(update(OutboxDelivery)
                        .where(OutboxDelivery.id.in_(ids), OutboxDelivery.status == DeliveryStatus.PENDING.value,
                               _free(now))
                        .values(claim=token, lease_until=now + lease, attempts=OutboxDelivery.attempts + 1)
                        .execution_options(synchronize_session=False))
        rows = session.execute(select(OutboxDelivery, OutboxEvent)
                               .join(OutboxEvent, OutboxEvent.seq == OutboxDelivery.event_seq)
                               .where(OutboxDelivery.id.in_(ids), OutboxDelivery.claim == token)
                               .order_by(OutboxDelivery.event_seq)).all()
        return [Claimed(delivery.id, delivery.endpoint, event.id, event.kind, event.borrower_id, delivery.attempts,
                        envelope(event)) for delivery, event in rows]


def mark_delivered(db: Database, delivery_id: int, status: int, now: dt.datetime) -> None:
    with db.session() as session:
        session.execute(update(OutboxDelivery)
                        .where(OutboxDelivery.id == delivery_id, OutboxDelivery.status == DeliveryStatus.PENDING.value)
                        .values(status=DeliveryStatus.DELIVERED.value, delivered_at=now, last_status=status,
                                last_error=None, claim=None, lease_until=None)
                        .execution_options(synchronize_session=False))


def mark_failed(db: Database, delivery_id: int, token: str, status: int | None, error: str,
                next_attempt_at: dt.datetime) -> None:
    """Records a failed attempt and when to try again; nothing when the lease was lost meanwhile."""
    with db.session() as session:
        session.execute(update(OutboxDelivery)
                        .where(OutboxDelivery.id == delivery_id, OutboxDelivery.claim == token,
                               OutboxDelivery.status == DeliveryStatus.PENDING.value)
                        .values(last_status=status, last_error=error[:200], next_attempt_at=next_attempt_at,
                                claim=None, lease_until=None)
                        .execution_options(synchronize_session=False))


# --- replay (the console's 重新投递) -----------------------------------------------------------------------------

def requeue(session: Session, event_id: str, now: dt.datetime) -> OutboxEvent | None:
    """Queues an event again: its deliveries wait to be sent at once (attempts counted afresh), and the
    deliverer adds one for any configured endpoint that has none. None when there is no such event.

    A delivery in flight keeps its lease, so it is not sent twice at the same moment.
    """
    event = session.execute(select(OutboxEvent).where(OutboxEvent.id == event_id)).scalar_one_or_none()
    if event is None:
        return None
    session.execute(update(OutboxDelivery).where(OutboxDelivery.event_seq == event.seq)
                    .values(status=DeliveryStatus.PENDING.value, attempts=0, next_attempt_at=now, delivered_at=None)
                    .execution_options(synchronize_session=False))
    insert_ignoring_duplicates(session, OutboxQueued.__table__, [{"event_seq": event.seq}])
    return event


# --- reading (the console) ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EventDeliveries:
    event: OutboxEvent
    deliveries: list[OutboxDelivery]
    queued: bool  # not yet turned into deliveries (no deliverer running, or not yet)

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.event.payload)


def recent_events(db: Database, limit: int = 100, failing_only: bool = False) -> list[EventDeliveries]:
    """The newest events with their deliveries; `failing_only`: those with a delivery whose last try failed."""
    query = select(OutboxEvent).order_by(OutboxEvent.seq.desc()).limit(limit)
    if failing_only:
        query = query.where(exists().where(and_(OutboxDelivery.event_seq == OutboxEvent.seq,
                                                OutboxDelivery.status == DeliveryStatus.PENDING.value,
                                                OutboxDelivery.last_error.isnot(None))))
    with db.session() as session:
        events = list(session.execute(query).scalars())
        seqs = [event.seq for event in events]
        deliveries = list(session.execute(select(OutboxDelivery).where(OutboxDelivery.event_seq.in_(seqs))
                                          .order_by(OutboxDelivery.endpoint)).scalars()) if seqs else []
        queued = set(session.execute(select(OutboxQueued.event_seq).where(OutboxQueued.event_seq.in_(seqs)))
                     .scalars()) if seqs else set()
    by_event: dict[int, list[OutboxDelivery]] = {}
    for delivery in deliveries:
        by_event.setdefault(delivery.event_seq, []).append(delivery)
    return [EventDeliveries(event, by_event.get(event.seq, []), event.seq in queued) for event in events]


def delivery_counts(db: Database) -> dict[str, int]:
    """Deliveries waiting (`pending`), failing (waiting after a failed try), delivered; events not fanned out."""
    with db.session() as session:
        by_status: dict[str, int] = {status: count for status, count in session.execute(
            select(OutboxDelivery.status, func.count()).group_by(OutboxDelivery.status))}
        failing = session.execute(select(func.count()).select_from(OutboxDelivery).where(
            OutboxDelivery.status == DeliveryStatus.PENDING.value, OutboxDelivery.last_error.isnot(None))).scalar_one()
        queued = session.execute(select(func.count()).select_from(OutboxQueued)).scalar_one()
    return {"pending": by_status.get(DeliveryStatus.PENDING.value, 0), "failing": failing,
            "delivered": by_status.get(DeliveryStatus.DELIVERED.value, 0), "queued": queued}
