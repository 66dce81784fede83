"""Chinese display forms shared by the assistant's replies and the outbound reminders."""
from __future__ import annotations

import datetime as dt


def short_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"
