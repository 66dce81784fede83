"""The conversation store tells the truth about failures.

Rasa 3.6 wraps every tracker store in a FailSafeTrackerStore: when PostgreSQL is down, a turn is
run on a blank tracker (so 「确认」 gets 「请问还有什么可以帮您?」) and saved only in memory. And
SQLTrackerStore.session_scope treats any ValueError (psycopg2 raises one for a NUL character) as a
missing schema and exits the process. Here a store failure raises StoreUnavailable, which the
channels answer as "try again in a moment", and nothing a request carries can end the process.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import rasa.core.tracker_store as rasa_stores
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore, ensure_schema_exists
from rasa.shared.exceptions import RasaException

logger = logging.getLogger(__name__)


class StoreUnavailable(RasaException):
    """The conversation store could not be read or written; the turn was not handled."""


def _failed(operation: str, error: Exception) -> StoreUnavailable:
    logger.error("tracker store %s failed: %s", operation, error.__class__.__name__)
    return StoreUnavailable(f"tracker store {operation} failed")


async def _retrieve(self: FailSafeTrackerStore, sender_id: str) -> Any:
    try:
        return await self._tracker_store.retrieve(sender_id)
    except Exception as error:  # noqa: BLE001 - any store fault is an outage for the borrower
        raise _failed("retrieve", error) from error


async def _retrieve_full(self: FailSafeTrackerStore, sender_id: str) -> Any:
    try:
        return await self._tracker_store.retrieve_full_tracker(sender_id)
    except Exception as error:  # noqa: BLE001
        raise _failed("retrieve", error) from error


async def _save(self: FailSafeTrackerStore, tracker: Any) -> None:
    try:
        await self._tracker_store.save(tracker)
    except Exception as error:  # noqa: BLE001
        raise _failed("save", error) from error


@contextlib.contextmanager
def _session_scope(self: SQLTrackerStore) -> Iterator[Any]:
    session = self.sessionmaker()
    try:
        try:
            ensure_schema_exists(session)
        except ValueError as missing:  # the one case Rasa's version meant: a configured schema is absent
            raise StoreUnavailable(f"PostgreSQL schema {missing} not found") from None
        yield session
    finally:
        session.close()


_engine_kwargs = rasa_stores.create_engine_kwargs
CONNECT_TIMEOUT_SECONDS = 3


def _engine_kwargs_that_recover(url: Any) -> dict[str, Any]:
    """Rasa's engine settings, plus: test a pooled connection before use (a restarted PostgreSQL leaves
    them all dead) and give up connecting after a few seconds instead of holding the event loop."""
    kwargs = _engine_kwargs(url)
    if kwargs:  # PostgreSQL
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {**kwargs.get("connect_args", {}), "connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return kwargs


def install() -> None:
    rasa_stores.create_engine_kwargs = _engine_kwargs_that_recover
    FailSafeTrackerStore.retrieve = _retrieve
    FailSafeTrackerStore.retrieve_full_tracker = _retrieve_full
    FailSafeTrackerStore.save = _save
    SQLTrackerStore.session_scope = _session_scope
