"""The one clock of kuanxin.

Every "today" and "now" in the product comes from here, so that tests and demos can
pin the date with ``KUANXIN_TODAY`` (ISO date) and every computation agrees on it.
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


def now() -> dt.datetime:
    """Current time in Beijing; when the date is pinned, the pinned day at the real time of day."""
    real = dt.datetime.now(BEIJING)
    pinned = _pinned_date()
    if pinned is None:
        return real
    return real.replace(year=pinned.year, month=pinned.month, day=pinned.day)


def today() -> dt.date:
    return _pinned_date() or dt.datetime.now(BEIJING).date()
