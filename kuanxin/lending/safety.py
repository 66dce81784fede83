"""Is the borrower in danger? The detector behind the safety protocol.

A message that speaks of suicide, self-harm or acute despair with danger (不想活了, 活着没意思,
想跳楼, 一了百了, "I want to end my life") is answered before anything else: a warm reply with the
crisis hotlines and a person, never collection (runtime/safety.py, actions/safety.py). Hyperbole
(烦死了, 累死了, 笑死了, 死活不还, 死机) is not danger.

Every word and pattern is in kuanxin/lending/safety_lexicon.yml, which the lender reviews; this module
only reads a message the way that file describes (normalize, fold, blank out the harmless, strip
spaces and punctuation) and searches it. Pure: no database, no Rasa.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from kuanxin.core.zh_parse import normalize_text

LEXICON = Path(__file__).resolve().parent / "safety_lexicon.yml"
MAX_TEXT = 4000  # a message is read this far (channels cut at 2000; this only bounds the work)
_NOT_WORD = re.compile(r"[\W_]+")  # spaces, punctuation, emoji: everything but letters, digits and CJK
_NOT_ENGLISH = re.compile(r"[^a-z0-9']+")
CRISIS_INTENT = "express_crisis"  # what runtime/safety.py makes of a message this module detects
BLANK = "\u25a1"  # what a harmless phrase is replaced by, so that it joins nothing around it


@dataclass(frozen=True)
class Lexicon:
    fold: dict[int, str]  # str.translate table
    harmless: tuple[re.Pattern, ...]
    chinese: tuple[re.Pattern, ...]
    english: tuple[re.Pattern, ...]


def load_lexicon(path: Path = LEXICON) -> Lexicon:
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)

    def patterns(section: str) -> tuple[re.Pattern, ...]:
        compiled = []
        for entry in raw.get(section) or ():
            try:
                compiled.append(re.compile(str(entry)))
            except re.error as exc:
                raise ValueError(f"{path}: {section}: {entry!r} is not a valid pattern ({exc})") from None
        return tuple(compiled)

    fold = {str(k): str(v) for k, v in (raw.get("fold") or {}).items()}
    bad = [k for k, v in fold.items() if len(k) != 1 or len(v) != 1]
    if bad:
        raise ValueError(f"{path}: fold: give one character for one character ({', '.join(bad)})")
    return Lexicon(str.maketrans(fold), patterns("harmless"), patterns("chinese"), patterns("english"))


@functools.lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    return load_lexicon()


@dataclass(frozen=True)
class Reading:
    """A message as the patterns see it."""
    chinese: str  # folded, harmless phrases blanked, no spaces or punctuation
    english: str  # lower-case words separated by single spaces


def read(text: str, words: Lexicon | None = None) -> Reading:
    words = words or lexicon()
    text = normalize_text((text or "")[:MAX_TEXT]).lower().replace("\u2019", "'").translate(words.fold)
    compact = _NOT_WORD.sub("", text)
    for pattern in words.harmless:
        compact = pattern.sub(lambda m: BLANK * len(m.group()), compact)
    return Reading(compact, " ".join(_NOT_ENGLISH.sub(" ", text).split()))


def danger(text: str, words: Lexicon | None = None) -> str | None:
    """The words in the message that mean danger, or None."""
    words = words or lexicon()
    reading = read(text, words)
    for pattern in words.chinese:
        found = pattern.search(reading.chinese)
        if found:
            return found.group()
    for pattern in words.english:
        found = pattern.search(reading.english)
        if found:
            return found.group()
    return None


def detect(text: str) -> bool:
    """True when the message expresses suicidal thoughts, self-harm or acute despair with danger."""
    return danger(text) is not None
