"""The live queue's stream (server-sent events): a signed-in page hears `queue` whenever the queue changed and asks
for it again. The signals come from kuanxin/console/live.py (Redis pub/sub across instances, or this process, and
the database's high-water mark)."""
from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from kuanxin.console.live import live
from web.console.auth import require_watching

router = APIRouter(prefix="/console")
KEEP_ALIVE_SECONDS = 15  # a comment line, so proxies keep an idle stream open


@router.get("/live")
async def live_queue(request: Request, _session=Depends(require_watching)) -> StreamingResponse:
    """Watching is no activity: an open stream does not keep an unattended session alive."""
    async def stream():
        async with live().page() as signals:
            yield "retry: 3000\n\n"
            while not await request.is_disconnected():
                try:
                    message = await asyncio.wait_for(signals.get(), KEEP_ALIVE_SECONDS)
                except asyncio.TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield f"event: queue\ndata: {json.dumps(message)}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
