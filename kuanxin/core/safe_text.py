"""What text from outside may contain before anything stores it.

PostgreSQL cannot store NUL, UTF-8 cannot encode a lone surrogate, and control characters have no
place in a conversation; every channel and the web app check or clean text with these functions.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

_SURROGATES = re.compile(r"[\ud800-\udfff]")
_KEEP = frozenset("\n\t")
_SENDER_ID = re.compile(r"[A-Za-z0-9_.:@\-]{1,128}")
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_\-]{8,64}")


def has_unsafe_characters(value: str) -> bool:
    """Control characters (other than line breaks and tabs) or lone surrogates."""
    return bool(_SURROGATES.search(value)) or any(unicodedata.category(c) == "Cc" and c not in _KEEP
                                                  for c in value)


def unstorable(value: str) -> bool:
    """NUL or a lone surrogate: what no database kuanxin writes to can hold (other control characters it can)."""
    return "\x00" in value or bool(_SURROGATES.search(value))


def clean_text(value: str, limit: int) -> str:
    """The text without control characters or lone surrogates, trimmed and cut to `limit` characters."""
    value = _SURROGATES.sub("", value)
    value = "".join(" " if unicodedata.category(c) == "Cc" and c not in _KEEP else c for c in value)
    return value.strip()[:limit]


def valid_sender_id(value: Any) -> bool:
    """A conversation id a client may name: 1-128 letters, digits and _ . : @ - (Rasa's column holds 255)."""
    return isinstance(value, str) and _SENDER_ID.fullmatch(value) is not None


def valid_message_id(value: Any) -> bool:
    """A client's own id for one message, stable across its re-sends."""
    return isinstance(value, str) and _MESSAGE_ID.fullmatch(value) is not None
