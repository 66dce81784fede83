"""The live queue's stream (server-sent events): a signed-in page hears `queue` whenever the queue changed and asks
for it again. The signals come from kuanxin/console/live.py (Redis pub/sub across instances, or this process, and
the database's high-water mark).

A conversation page opens the stream with its escalation (`?escalation=ID&seen=<newest event time shown>`) and also
hears `transcript` when its conversation moved on (it redraws the transcript, never the reply being typed) and
`typing` while the borrower types in the web chat."""
from __future__ import annotations

import asyncio
import functools
import json
import math

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from kuanxin.console.casework import Casework
from kuanxin.console.live import LiveQueue, live
from kuanxin.core import settings
from kuanxin.store.transcripts import Transcripts
from web.console import rasa_api
from web.console.auth import require_watching

router = APIRouter(prefix="/console")
KEEP_ALIVE_SECONDS = 15  # a comment line, so proxies keep an idle stream open
ROW_ID = 2**31 - 1
EVENTS = {"transcript": "transcript", "typing": "typing"}  # anything else: the queue changed


@functools.lru_cache(maxsize=1)
def _conversation_store() -> Transcripts | None:
    url = settings.current().given("KUANXIN_TRACKER_STORE_URL")
    return Transcripts(url) if url else None


def latest_event_times(conversation_ids) -> dict[str, float]:
    """From the conversation store's table when there is one (every instance, one query), else from Rasa."""
    store = _conversation_store()
    return store.latest_event_times(conversation_ids) if store else rasa_api.latest_event_times(conversation_ids)


def watched(queue: LiveQueue) -> LiveQueue:
    """This process's live queue, told where to look for conversations that move on and borrowers who type."""
    if queue.conversation_marks is None:
        queue.conversation_marks, queue.typing_now = latest_event_times, rasa_api.typing_now
    return queue


def _seen(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@router.get("/live")
async def live_queue(request: Request, escalation: int = Query(0, ge=0, le=ROW_ID),
                     seen: str = Query("", max_length=40), _session=Depends(require_watching)) -> StreamingResponse:
    """Watching is no activity: an open stream does not keep an unattended session alive."""
    shown = await run_in_threadpool(Casework().escalation, escalation) if escalation else None
    conversation = shown.conversation_id if shown else None

    async def stream():
        async with watched(live()).page(conversation, _seen(seen)) as signals:
            yield "retry: 3000\n\n"
            while not await request.is_disconnected():
                try:
                    message = await asyncio.wait_for(signals.get(), KEEP_ALIVE_SECONDS)
                except asyncio.TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                event = EVENTS.get(message.get("what"), "queue")
                yield f"event: {event}\ndata: {json.dumps(message if event == 'queue' else {'what': event})}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
