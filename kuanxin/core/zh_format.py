"""Chinese display forms shared by the assistant's replies and the outbound reminders (kuanxin.core.formats)."""
from __future__ import annotations

import datetime as dt

from kuanxin.core import formats


def short_date(day: dt.date) -> str:
    return formats.short_date(day, "zh")
