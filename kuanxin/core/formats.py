"""How values look inside a text, per language: money, days, lists.

Code passes a value wrapped in what it is (Money, Day, LongDay, Items, Clauses) as a placeholder
value, and kuanxin.core.texts renders it in the language of the text it fills, so one computed value
reads "3,084.60元" in a Chinese reply and "3,084.60 yuan" in an English one, and nothing is
formatted in one language and sent in the other. Each wrapper's str() is the Chinese form, for
code that formats it outside a text (Chinese-only messages such as SMS reminders).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from kuanxin.core.money import to_money

DEFAULT_LANGUAGE = "zh"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAYS_ZH = "一二三四五六日"


def money(amount: Decimal | str | int, language: str = DEFAULT_LANGUAGE) -> str:
    """12,345.60元 / 12,345.60 yuan"""
    shown = f"{to_money(amount):,.2f}"
    return f"{shown} yuan" if language == "en" else f"{shown}元"


def short_date(day: dt.date, language: str = DEFAULT_LANGUAGE) -> str:
    """2026年12月22日 / 22 December 2026"""
    if language == "en":
        return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
    return f"{day.year}年{day.month}月{day.day}日"


def long_date(day: dt.date, language: str = DEFAULT_LANGUAGE) -> str:
    """2026年12月22日(星期二) / 22 December 2026 (Tuesday)"""
    if language == "en":
        return f"{short_date(day, language)} ({WEEKDAYS_EN[day.weekday()]})"
    return f"{short_date(day, language)}(星期{WEEKDAYS_ZH[day.weekday()]})"


def items(values: Iterable[object], language: str = DEFAULT_LANGUAGE) -> str:
    """3、6、12 / 3, 6, 12 (a list of choices or names)"""
    return (", " if language == "en" else "、").join(str(shown(v, language)) for v in values)


def clauses(values: Iterable[object], language: str = DEFAULT_LANGUAGE) -> str:
    """Reasons one after the other: …;… / …; …"""
    return ("; " if language == "en" else ";").join(str(shown(v, language)) for v in values)


class Shown:
    """A value that a text renders in its own language."""

    def show(self, language: str) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.show(DEFAULT_LANGUAGE)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


@dataclass(frozen=True)
class Money(Shown):
    amount: Decimal

    def show(self, language: str) -> str:
        return money(self.amount, language)


@dataclass(frozen=True)
class Day(Shown):
    day: dt.date

    def show(self, language: str) -> str:
        return short_date(self.day, language)


@dataclass(frozen=True)
class LongDay(Shown):
    day: dt.date

    def show(self, language: str) -> str:
        return long_date(self.day, language)


@dataclass(frozen=True)
class Items(Shown):
    values: tuple

    def __init__(self, values: Iterable[object]):
        object.__setattr__(self, "values", tuple(values))

    def show(self, language: str) -> str:
        return items(self.values, language)


@dataclass(frozen=True)
class Clauses(Items):
    def show(self, language: str) -> str:
        return clauses(self.values, language)


def shown(value: object, language: str) -> object:
    """The value as a text in `language` shows it (values that are not Shown stay as they are)."""
    return value.show(language) if isinstance(value, Shown) else value
