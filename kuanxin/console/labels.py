"""Staff wording of every code the console shows (statuses, reasons, kinds, actions, channels, slots, intents),
from the text catalogue (texts/zh.yml `console.*`), so no raw field name or English code reaches a page.

A Labels table reads like a dict of code -> words; it reads the catalogue only when first asked (importing does
no work). A code it does not know is shown in its group's words for "other", never as the code itself.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal

from kuanxin.core import formats, texts
from kuanxin.lending.identity import mask_text


def words(key: str, **values: object) -> str:
    """One console text (texts/zh.yml `console.<key>`), its placeholders filled."""
    return texts.text(f"console.{key}", texts.DEFAULT_LANGUAGE, None, **values)


class Labels(Mapping[str, str]):
    """code -> staff words for one closed set, in the order given."""

    def __init__(self, group: str, codes: Iterable[str] = ()):
        self.group, self._codes = group, tuple(codes)

    def known(self) -> tuple[str, ...]:
        return self._codes

    def __getitem__(self, code: str) -> str:
        if code not in self.known():
            raise KeyError(code)
        return words(f"{self.group}.{code}")

    def __iter__(self) -> Iterator[str]:
        return iter(self.known())

    def __len__(self) -> int:
        return len(self.known())

    def of(self, code: object) -> str:
        """The words for `code`, or the group's words for anything else (never the code itself)."""
        return self[str(code)] if code is not None and str(code) in self.known() else words(f"{self.group}.other")


class OpenLabels(Labels):
    """Labels of an open set (channels, slots, intents): the codes the catalogue names."""

    def known(self) -> tuple[str, ...]:
        prefix = f"console.{self.group}."
        return tuple(key[len(prefix):] for key in texts.catalogue() if key.startswith(prefix)
                     and key != f"{prefix}other")


CHANNELS = OpenLabels("channel")
SLOTS = OpenLabels("slot")
INTENTS = OpenLabels("intent")
LANGUAGES = OpenLabels("language")
MONEY_SLOTS = {"promise_amount"}


def slot_value(name: str, value: object) -> str:
    """A slot's value as staff read it: yes/no, an intent or language in words, money as the borrower sees it, whole
    numbers without decimals; phone and ID numbers masked."""
    if isinstance(value, bool):
        return words("value.yes" if value else "value.no")
    if name == "pending_intent":
        return INTENTS.of(value)
    if name == "language":
        return LANGUAGES.of(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if name in MONEY_SLOTS:
        try:
            return formats.money(Decimal(str(value)))
        except (ValueError, ArithmeticError):
            pass
    return mask_text(str(value))


def slot_lines(slots: dict) -> list[tuple[str, str]]:
    """(staff words for the slot, its value) for each filled slot, in the catalogue's order."""
    order = {name: index for index, name in enumerate(SLOTS)}
    return [(SLOTS.of(name), slot_value(name, value))
            for name, value in sorted(slots.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))]


DECISION_OUTCOMES = OpenLabels("decision_outcome")
REQUEST_KIND_WORDS = OpenLabels("request_kind")


# how a borrower's change to a pending request is recorded (kuanxin/store/accounts.py, agreements.py)
REQUEST_CHANGE = re.compile(r"months (\S+) -> (\S+), periods (\S+) -> (\S+)")


def audit_detail(detail: str | None) -> str:
    """An audit entry's detail as staff read it: free text as written; a machine record (JSON, such as the
    assistant's automated decisions) in words, by what it is about and how it came out, never as its codes; a
    change to a request as what changed, in words."""
    change = REQUEST_CHANGE.fullmatch(detail.strip()) if detail else None
    if change:
        return request_change(*change.groups())
    if not detail or not detail.lstrip().startswith("{"):
        return detail or ""
    try:
        record = json.loads(detail)
    except ValueError:
        return detail
    if not isinstance(record, dict):
        return words("audit.record")
    said = [REQUEST_KIND_WORDS.of(record["kind"]) if "kind" in record else "",
            DECISION_OUTCOMES.of(record["outcome"]) if "outcome" in record else ""]
    return " · ".join(part for part in said if part) or words("audit.record")


def request_change(months_before: str, months_after: str, periods_before: str, periods_after: str) -> str:
    """"months 3 -> 6, periods None -> None" as staff read it: only what changed (both, should both have)."""
    def shown(value: str) -> str:
        return words("audit.not_set") if value == "None" else value
    said = [words(f"audit.changed_{what}", before=shown(before), after=shown(after))
            for what, before, after in (("months", months_before, months_after),
                                        ("periods", periods_before, periods_after)) if before != after]
    return ";".join(said) or words("audit.record")
