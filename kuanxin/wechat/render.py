"""Turns one turn's bot messages into WeChat customer-service texts, and a borrower's digit back into a choice.

WeChat allows at most 5 customer-service messages per borrower message and 2,048 bytes per text, and
has no buttons: a turn's messages are merged into as few texts as fit, long texts split on line
breaks, and buttons become choices the borrower answers by digit (or, when the choices are numbers
themselves, such as 3期/6期, by that number). The words around the choices come from the text
catalogue in the conversation's language, like the rest of the reply.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from kuanxin.core import texts
from kuanxin.core.formats import Items
from kuanxin.core.staff_reply import staff_name

MAX_BYTES = 2048
MAX_MESSAGES = 5
SEPARATOR = "\n\n"
LEADING_NUMBER = re.compile(r"^(\d+)\D")


def buttons_of(message: dict[str, Any]) -> list[dict[str, str]]:
    buttons = message.get("buttons") or message.get("quick_replies") or []
    return [b for b in buttons if isinstance(b, dict) and b.get("title")]


def _numbered_by_title(buttons: list[dict[str, str]]) -> bool:
    """Choices such as 3期/6期/12期 are answered with their own number, never with a position."""
    return all(LEADING_NUMBER.match(str(b["title"])) for b in buttons)


def cut_note(language: str = texts.DEFAULT_LANGUAGE) -> str:
    return texts.text("channel.wechat.cut_note", language)


def choices_text(buttons: list[dict[str, str]], language: str = texts.DEFAULT_LANGUAGE) -> str:
    if _numbered_by_title(buttons):
        return texts.text("channel.wechat.choices.by_title", language, choices=Items(str(b["title"]) for b in buttons))
    lines = [f"{i}. {b['title']}" for i, b in enumerate(buttons, 1)]
    return texts.text("channel.wechat.choices.by_number", language) + "\n" + "\n".join(lines)


def message_text(message: dict[str, Any], language: str = texts.DEFAULT_LANGUAGE) -> str:
    """One bot message as WeChat text: staff label, text, then its choices. Custom JSON is never sent."""
    parts = []
    name = staff_name(message)
    text = str(message.get("text") or "").strip()
    if text:
        parts.append(texts.text("channel.wechat.staff_says", language, name=name, text=text) if name else text)
    buttons = buttons_of(message)
    if buttons:
        parts.append(choices_text(buttons, language))
    return "\n".join(parts)


def choice_payload(reply: str, buttons: list[dict[str, str]]) -> str | None:
    """The payload the borrower picked by answering `reply` to these choices, if the reply picks one."""
    answer = unicodedata.normalize("NFKC", reply).strip().rstrip("。.")
    if not buttons or not answer:
        return None
    for button in buttons:
        if answer == str(button["title"]).strip():
            return str(button.get("payload") or button["title"])
    if not answer.isdigit():
        return None
    if _numbered_by_title(buttons):
        picked = [b for b in buttons if (m := LEADING_NUMBER.match(str(b["title"]))) and m.group(1) == answer]
        return str(picked[0].get("payload") or picked[0]["title"]) if picked else None
    index = int(answer)
    if 1 <= index <= len(buttons):
        return str(buttons[index - 1].get("payload") or buttons[index - 1]["title"])
    return None


def render_turn(messages: Iterable[dict[str, Any]], language: str = texts.DEFAULT_LANGUAGE) -> list[str]:
    """At most 5 texts of at most 2,048 UTF-8 bytes each, in order, nothing but the last cut."""
    texts_of = (message_text(message, language) for message in messages)
    pieces = [piece for text in texts_of if text for piece in split_text(text, MAX_BYTES)]
    packed: list[str] = []
    for piece in pieces:
        if packed and _size(packed[-1] + SEPARATOR + piece) <= MAX_BYTES:
            packed[-1] += SEPARATOR + piece
        else:
            packed.append(piece)
    if len(packed) > MAX_MESSAGES:
        packed = packed[:MAX_MESSAGES]
        note = cut_note(language)
        packed[-1] = _cut(packed[-1], MAX_BYTES - _size(note)) + note
    return packed


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` bytes, broken after a line where possible, never inside a character."""
    pieces: list[str] = []
    while _size(text) > limit:
        head = _cut(text, limit)
        line_end = head.rfind("\n")
        if line_end > 0:
            head = head[:line_end]
        pieces.append(head)
        text = text[len(head):].lstrip("\n")
    return pieces + ([text] if text else [])


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut(text: str, limit: int) -> str:
    """The longest prefix of `text` whose UTF-8 encoding fits in `limit` bytes."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")
