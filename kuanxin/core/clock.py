"""The one clock of kuanxin.

Every "today" and "now" in the product comes from here, so that tests and demos can
pin the date with ``KUANXIN_TODAY`` (ISO date) and every computation agrees on it;
``KUANXIN_TIME`` (HH:MM) also pins the time of day, for what depends on it (contact hours).
Business dates are Beijing dates, whatever the server's time zone is.
"""
from __future__ import annotations

import datetime as dt

from dateutil import tz

from kuanxin.core import settings

BEIJING = tz.gettz("Asia/Shanghai")


def _pinned_date() -> dt.date | None:
    pinned: dt.date | None = settings.current().value("KUANXIN_TODAY")
    return pinned


def _pinned_time() -> dt.time | None:
    pinned: dt.time | None = settings.current().value("KUANXIN_TIME")
    return pinned


def now() -> dt.datetime:
    """Current time in Beijing, with the pinned date and time of day where they are pinned."""
    real = dt.datetime.now(BEIJING)
    pinned, at = _pinned_date(), _pinned_time()
    if pinned is not None:
        real = real.replace(year=pinned.year, month=pinned.month, day=pinned.day)
    if at is not None:
        real = real.replace(hour=at.hour, minute=at.minute, second=at.second, microsecond=0)
    return real


def today() -> dt.date:
    return _pinned_date() or dt.datetime.now(BEIJING).date()


def beijing_date(naive_utc: dt.datetime) -> dt.date:
    """The Beijing date of a moment stored as naive UTC (how the database keeps times)."""
    return naive_utc.replace(tzinfo=dt.timezone.utc).astimezone(BEIJING).date()


def real_utc() -> dt.datetime:
    """The machine's own time as naive UTC (how the database keeps times), never pinned: for timers that must
    keep running while a test or demo pins the date or the time of day (delivery leases and back-off)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def beijing_time(naive_utc: dt.datetime) -> dt.datetime:
    """A moment stored as naive UTC, in Beijing time."""
    return naive_utc.replace(tzinfo=dt.timezone.utc).astimezone(BEIJING)
