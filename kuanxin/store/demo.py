"""The shipped demo accounts, moved forward in time so the demo tells the same story on any day.

demo.json is written as of its "as_of" date; loading it on a later day shifts every date by
whole calendar months, so the borrowers stay at the same stage of arrears.
"""
from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from typing import Any

from dateutil.relativedelta import relativedelta

DATE_FIELDS = ("start_date", "due_date", "paid_on", "created_on")


def demo_document() -> dict:
    return json.loads(resources.files("kuanxin.store").joinpath("demo.json").read_text(encoding="utf-8"))


def months_between(earlier: dt.date, later: dt.date) -> int:
    delta = relativedelta(later, earlier)
    return delta.years * 12 + delta.months


def rebased(document: dict, today: dt.date) -> dict:
    months = months_between(dt.date.fromisoformat(document["as_of"]), today)
    return _shift(document, months) if months else document


def _shift(node: Any, months: int) -> Any:
    if isinstance(node, dict):
        return {key: (_shift_date(value, months) if key in DATE_FIELDS else _shift(value, months))
                for key, value in node.items()}
    if isinstance(node, list):
        return [_shift(item, months) for item in node]
    return node


def _shift_date(value: str | None, months: int) -> str | None:
    return None if value is None else (dt.date.fromisoformat(value) + relativedelta(months=months)).isoformat()
