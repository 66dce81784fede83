"""Which language a borrower's message is written in, and so which language they are answered in.

The rule (runtime/language.py applies it to every message before the reply is chosen):
1. A switch word alone ("English", "in English please", "英文" / "中文", "Chinese", "说中文") chooses
   that language; the greeting's buttons send these words.
2. A button payload ("/affirm", "/check_overdue") never changes the language.
3. A message with Latin-letter words (2 to 24 letters, not "ok"/"okay"/"id"/"kk") and more Latin
   letters than twice its Chinese characters is English: "how much do i owe", "my name is 张伟 and i owe".
4. A message with Chinese characters that is not English by 3 is Chinese: "好的", "我想问一下APR".
   Markup (HTML or XML tags and entities) and code (a script, a function call, SQL) are left out of the count.
5. Anything else (digits, a phone number, an ID tail such as 123X, a loan number such as L1001, "ok",
   emoji) leaves the language as it was.
The conversation starts in Chinese (the `language` slot is empty) and a new session starts in Chinese
again; the borrower's next English message switches it back at once.
"""
from __future__ import annotations

import re
import unicodedata

ZH, EN = "zh", "en"
LANGUAGES = (ZH, EN)
OTHER = {ZH: EN, EN: ZH}
# the greeting's button to the other language, named in that language (also its payload: a switch word)
SWITCH_BUTTON = {EN: "English", ZH: "中文"}

_SWITCH_WORDS = {
    EN: re.compile(r"(?:(?:in|speak|use|switch to|change to)\s+)?(?:english|eng|英文|英语)(?:\s+please|\s+pls|\s+plz)?"
                   r"|english please|我要英文|说英文|说英语|用英文|用英语", re.I),
    ZH: re.compile(r"(?:(?:in|speak|use|switch to|change to)\s+)?(?:chinese|mandarin|中文|汉语|普通话)"
                   r"(?:\s+please|\s+pls|\s+plz)?|说中文|用中文|讲中文|我要中文|请说中文", re.I),
}
# markup and code say nothing about the writer's language: "<script>alert(1)</script> 我欠多少" is Chinese, and
# "' OR '1'='1" or "<script>alert(document.cookie)</script>" alone leave the conversation's language as it was
_MARKUP = (r"<(script|style)\b.*?(?:</\1\s*>|$)"  # a script's or style's contents
           r"|</?[A-Za-z!?][^<>]*>|&#?[A-Za-z0-9]+;")  # tags, comments, declarations and entities
_CODE = re.compile(_MARKUP + r"|<[^<>]*>|&#?\w+;"
                   r"|[\w.$]+\([^()]*\)"  # a call: alert(1), document.write(x)
                   r"|'\s*(?:or|and)\b[^。，,]*"  # ' OR '1'='1
                   r"|\b(?:drop\s+table|union\s+(?:all\s+)?select|insert\s+into|delete\s+from|update\s+\w+\s+set"
                   r"|select\s+[\w*,.\s]+?\s+from)\b.*"  # SQL, to the end
                   r"|--|/\*.*?\*/", re.I | re.S)
_MARKUP_ONLY = re.compile(_MARKUP, re.I | re.S)
_CHINESE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
# Latin words Chinese borrowers type too: never a sign of English on their own
MAX_WORD = 24  # letters: "internationalization" is 20
NEUTRAL_WORDS = frozenset({"ok", "okay", "kk", "id", "sfz", "yq", "app", "qq", "vx", "wx", "rmb", "apr", "pdf", "vip"})


def blank_markup(text: str) -> str:
    """The text with its HTML/XML markup (tags, entities, a script's contents) turned into spaces, as long as
    the original, when words remain beside it: "<script>alert(1)</script> 我想分期" reads as "我想分期"."""
    blanked = _MARKUP_ONLY.sub(lambda found: " " * len(found.group()), text)
    return blanked if blanked != text and _CHINESE.search(blanked) else text


def switch_word(text: str) -> str | None:
    """The language a message that is only a switch word ("English", "中文") asks for."""
    plain = re.sub(r"[\s!.。~?？]+$", "", unicodedata.normalize("NFKC", text or "").strip())
    for language, pattern in _SWITCH_WORDS.items():
        if pattern.fullmatch(plain):
            return language
    return None


def written_in(text: str) -> str | None:
    """The language the message is written in, or None when it does not tell (rule above)."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text or text.startswith("/"):
        return None
    chosen = switch_word(text)
    if chosen:
        return chosen
    text = _CODE.sub(" ", text)
    chinese = len(_CHINESE.findall(text))
    words = [w for w in _LATIN_WORD.findall(text)  # "aaaa…" held down is no word of any language
             if 2 <= len(w) <= MAX_WORD and w.lower() not in NEUTRAL_WORDS]
    letters = sum(len(w) for w in words)
    if words and letters > 2 * chinese:
        return EN
    if chinese:
        return ZH
    return None


def next_language(text: str, current: str | None) -> str:
    """The language to answer this message in, given the conversation's language so far."""
    return written_in(text) or (current if current in LANGUAGES else ZH)
