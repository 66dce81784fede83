"""The one clock of kuanxin.

Every "today" and "now" in the product comes from here, so that tests and demos can
pin the date with ``KUANXIN_TODAY`` (ISO date) and every computation agrees on it;
``KUANXIN_TIME`` (HH:MM) also pins the time of day, for what depends on it (contact hours).
Business dates are Beijing dates, whatever the server's time zone is.
"""
from __future__ import annotations

import datetime as dt
import os

from dateutil import tz

BEIJING = tz.gettz("Asia/Shanghai")


def _pinned_date() -> dt.date | None:
    raw = os.environ.get("KUANXIN_TODAY", "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(f"KUANXIN_TODAY must be an ISO date (YYYY-MM-DD), got {raw!r}") from exc


def _pinned_time() -> dt.time | None:
    raw = os.environ.get("KUANXIN_TIME", "").strip()
    if not raw:
        return None
    try:
        return dt.time.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(f"KUANXIN_TIME must be a time of day (HH:MM), got {raw!r}") from exc


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
