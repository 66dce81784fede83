"""Payments pushed into open conversations: the web process looks for untold payments every
policy.yml payments.tell_open_sweep_seconds and tells each to its borrower's open conversation through Rasa's HTTP
API (kuanxin/outbound/payment_news.py decides who is told, and claims each payment once).

Why a sweeper in the web process, and not a call where payments arrive: payments arrive through the push API (this
process) and through `kuanxin sync` (a command run by cron, which must not depend on Rasa being up), so reading the
untold payments finds both and survives restarts (a payment not told before a restart is found again). The web
process rather than the events deliverer because it already speaks to Rasa's API for the console (take-over,
replies) and runs in every deployment, while the deliverer runs only when the lender takes webhooks. Several web
instances may sweep at once: the claim tells each payment once.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging

from kuanxin.core import policy as policies
from kuanxin.core import settings
from kuanxin.outbound.payment_news import OpenConversations
from kuanxin.store.db import database
from web.console import rasa_api

log = logging.getLogger(__name__)


def sweep_once() -> int:
    """One look: the payments told now (counted by borrower)."""
    return len(OpenConversations(database(), rasa_api.news_state, rasa_api.tell).sweep())


async def sweep_forever() -> None:
    while True:
        await asyncio.sleep(policies.current().payments.tell_open_sweep_seconds)
        try:
            await asyncio.to_thread(sweep_once)
        except Exception as exc:  # noqa: BLE001 - a database blip must not end the sweeper; the next look retries
            log.warning("payment news: sweep failed (%s)", type(exc).__name__)


class Sweeper:
    """Started with the app when Rasa's address is set and the policy pushes payments at all."""

    def __init__(self) -> None:
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        if settings.current().given("KUANXIN_RASA_URL") and policies.current().payments.tell_open_minutes:
            self.task = asyncio.create_task(sweep_forever())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
