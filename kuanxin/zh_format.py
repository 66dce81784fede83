"""Chinese display forms shared by the assistant's replies and the outbound reminders (kuanxin.formats)."""
from __future__ import annotations

import datetime as dt

from kuanxin import formats


def short_date(day: dt.date) -> str:
    return formats.short_date(day, "zh")
