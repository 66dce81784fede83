"""The lender's push API: its systems send accounts, loans, schedules and payments as they change.

POST /lender/v1/records, a JSON body {"records": [...]} of the records `kuanxin sync` reads (kuanxin/store/sync.py:
each with its `type`), at most MAX_RECORDS, signed the Standard Webhooks way with KUANXIN_LENDER_API_SECRET
(kuanxin/core/webhooks.py: webhook-id, webhook-timestamp within 5 minutes, webhook-signature). The webhook id is
the idempotency key: the same batch sent again gets the first answer back (header Idempotent-Replayed: true)
and changes nothing; the same id with another body is refused (409). The answer names every record's outcome
and, for a rejected one, why, by its index in `records`. Records are applied in one transaction.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from kuanxin.core import clock, policy, settings, webhooks
from kuanxin.reminders.promises import keep_covered_promises
from kuanxin.store.db import database
from kuanxin.store.models import InboundBatch
from kuanxin.store.sync import Sync

logger = logging.getLogger(__name__)
router = APIRouter()
MAX_RECORDS = 5000
MAX_BODY = 8 * 1024 * 1024  # 5,000 records of well under 1 KB each (web/guard.py holds the same limit)


def problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


@router.post("/lender/v1/records", include_in_schema=False)
async def push_records(request: Request) -> JSONResponse:
    secret = settings.current().given("KUANXIN_LENDER_API_SECRET")
    if not secret:
        return problem(404, "the lender API is not configured")
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return problem(415, "expected Content-Type application/json")
    body = await request.body()
    if len(body) > MAX_BODY:
        return problem(413, f"at most {MAX_BODY // (1024 * 1024)} MB per request")
    try:
        batch_id = webhooks.verify(secret, request.headers, body)
    except webhooks.WebhookError as why:
        return problem(401, str(why))
    if len(batch_id) > 128:
        return problem(400, "webhook-id: at most 128 characters")
    return await run_in_threadpool(answer_batch, batch_id, body)


def answer_batch(batch_id: str, body: bytes) -> JSONResponse:
    digest = hashlib.sha256(body).hexdigest()
    earlier = known_batch(batch_id)
    if earlier is not None:
        return replayed(earlier, digest)
    records, error = records_of(body)
    status, answer = (400, {"error": error}) if error else (200, apply(records))
    try:
        with database().session() as session:
            session.add(InboundBatch(id=batch_id, body_sha256=digest, received_at=dt.datetime.utcnow(),
                                     status=status, answer=json.dumps(answer, ensure_ascii=False)))
    except IntegrityError:  # the same batch, sent twice at once: both applied the same upserts; one answer
        earlier = known_batch(batch_id)
        if earlier is not None:
            return replayed(earlier, digest)
        raise
    return JSONResponse(answer, status_code=status)


def known_batch(batch_id: str) -> InboundBatch | None:
    with database().session() as session:
        return session.get(InboundBatch, batch_id)


def replayed(batch: InboundBatch, digest: str) -> JSONResponse:
    if batch.body_sha256 != digest:
        return problem(409, "this webhook-id was already used for another body")
    return JSONResponse(json.loads(batch.answer), status_code=batch.status, headers={"Idempotent-Replayed": "true"})


def records_of(body: bytes) -> tuple[list[Any], str | None]:
    """The batch's records, or why the body is not a batch (the envelope's schema)."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return [], "the body is not JSON (UTF-8)"
    if not isinstance(document, dict) or not isinstance(document.get("records"), list):
        return [], "expected {\"records\": [...]}"
    extra = set(document) - {"records"}
    if extra:
        return [], f"unknown fields: {', '.join(sorted(extra))}"
    if not 1 <= len(document["records"]) <= MAX_RECORDS:
        return [], f"records: from 1 to {MAX_RECORDS} per request"
    return document["records"], None


def apply(records: list[Any]) -> dict[str, Any]:
    sync = Sync(database(), policy.current().payments, source="api")
    summary, results = sync.apply([(f"records[{index}]", record) for index, record in enumerate(records)])
    keep_covered_promises(database(), sync.changed_loans, clock.today())
    return {"counts": summary.as_dict()["counts"],
            "results": [{"index": index, "type": kind, "outcome": outcome, **({"reason": why} if why else {})}
                        for index, (kind, outcome, why) in enumerate(results)]}
