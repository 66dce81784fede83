"""Identity check: phone number + last 4 characters of the ID number, with a lockout.

Three failures within the lockout window lock the check for that conversation and for that
phone number, for the lockout period counted from the failure that tripped it. Only a
well-formed phone number with a well-formed ID tail is ever checked (and so can fail): a slip
such as a digit too few or a letter inside a phone number is read here as a `Slip`, which the
assistant answers with a re-ask and never counts.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from kuanxin.core.policy import IdentityPolicy
from kuanxin.core.zh_parse import PHONE_NUMBER_RE, digits_to_ascii, normalize_text

PHONE_SLOT = "phone_number"
ID_SLOT = "id_last4"

_FULL_WIDTH = str.maketrans("０１２３４５６７８９＋－（）ｘＸ\u3000", "0123456789+-()xX ")
_WELL_FORMED_PHONE = re.compile(r"1[3-9][0-9]{9}")
_WELL_FORMED_LAST4 = re.compile(r"[0-9]{3}[0-9X]")
_X_LOOKALIKES = str.maketrans({"×": "X", "✕": "X", "✗": "X", "乂": "X"})
_ID18 = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
# an 11-digit phone number with the ID tail typed straight after it: 13812345678123X
_PHONE_THEN_LAST4 = re.compile(r"(?<![0-9A-Za-z])(1[3-9][0-9]{9})([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")
_LAST4 = re.compile(r"[0-9]{3}[0-9Xx]")
_SEP = "[ \\-.,_\u2013\u2014]"
_RUN = re.compile(rf"[0-9A-Za-z]+(?:{_SEP}[0-9A-Za-z]+)*")
# a whole ID number as typed, also in groups (110101 19900307 123X, 110101-1990-0307-123X): masked wherever seen
_ID18_TYPED = re.compile(rf"(?<![0-9A-Za-z])[0-9](?:{_SEP}?[0-9]){{16}}{_SEP}?[0-9Xx](?![0-9A-Za-z])")
_NOT_ID_CHAR = re.compile(r"[^0-9Xx]")
_DIGIT = re.compile(r"[0-9]")
FEWEST_DIGITS = 11  # in anything mask_text masks: a phone number has 11, an ID number 17 and a check character
# a phone number with the ID tail typed straight after it, country code or not: its phone part is masked
_GLUED_PHONE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86|0086)?(1[3-9][0-9]{9})[0-9]{3}[0-9Xx](?![0-9A-Za-z])")
_WORD = re.compile(r"[0-9A-Za-z]+")
_UNIT_AFTER = re.compile(r"\s?(?:[年月日号天期个块元%次岁万千kKwW]|人民币)")

ID_CUE = re.compile(r"身份证|证件|后四位|后4位|尾号|末四位|末4位|最后四位|最后4位|sfz|(?<![a-z])id(?![a-z])", re.I)
PHONE_CUE = re.compile(r"手机|电话|号码|联系方式|(?<![a-z])(?:tel|phone|mobile)(?![a-z])", re.I)
# what may surround a bare answer ("我的手机号是 138…", "后四位是123吧") without making it a sentence
_FILLER = re.compile(
    r"我的|我|的|手机号码|手机号|手机|电话号码|电话|号码|身份证号码|身份证号|身份证|证件号码|证件号|证件"
    r"|最后四位|最后4位|后四位|后4位|末四位|末4位|尾号|就是|是|这个|那个|吧|啊|呀|呢|哦|嗯|了|好的|好"
    r"|sfz|tel|phone|mobile|(?<![a-z])id(?![a-z])",
    re.I,
)
# "the last 4 digits of my ID": an English cue whose own digit would otherwise join the tail's run of words
_ENGLISH_TAIL_CUE = re.compile(
    r"(?<![a-z])(?:the )?last (?:4|four)(?: (?:digits?|characters?|chars?|numbers?|nums?))?"
    r"(?: (?:of|on|in) (?:my|the)(?: chinese)? (?:id|ic|id card|identity card)(?: (?:number|no|num|card))?)?"
    r"(?![a-z0-9])", re.I)
_NOT_WORD = re.compile(r"[\W_]+")
_ASCII_DIGITS = frozenset("0123456789")


class Slip(str, Enum):
    """Why a value the borrower typed cannot be a phone number or an ID tail."""

    PHONE_LENGTH = "phone_length"  # not 11 digits
    PHONE_PREFIX = "phone_prefix"  # 11 digits, but not 1[3-9]…
    PHONE_LETTERS = "phone_letters"  # letters among the digits
    ID_LENGTH = "id_length"  # not 4 characters
    ID_LETTERS = "id_letters"  # a letter other than a final X
    ID_NUMBER_LENGTH = "id_number_length"  # a whole ID number that is not 18 characters

    @property
    def slot(self) -> str:
        return PHONE_SLOT if self.value.startswith("phone") else ID_SLOT


@dataclass(frozen=True)
class Malformed:
    slip: Slip
    length: int  # how many characters (digits for a phone) the borrower gave


@dataclass(frozen=True)
class IdentityReading:
    """What one message says: well-formed values, and the slips of values that are not."""

    phone: str | None = None
    id_last4: str | None = None
    slips: tuple[Malformed, ...] = ()

    def slip_for(self, slot: str | None) -> Malformed | None:
        """The slip to answer: the one about the slot asked for, else the first."""
        for slip in self.slips:
            if slip.slip.slot == slot:
                return slip
        return self.slips[0] if self.slips else None


def normalize(text: str) -> str:
    """Full-width to ASCII, Traditional to Simplified, no control characters, digits read out one by
    one (一三八…, 幺三八…) to ASCII digits and × to X."""
    return digits_to_ascii(normalize_text(text)).translate(_X_LOOKALIKES)


def is_phone(value: object) -> bool:
    return isinstance(value, str) and _WELL_FORMED_PHONE.fullmatch(value) is not None


def is_id_last4(value: object) -> bool:
    return isinstance(value, str) and _WELL_FORMED_LAST4.fullmatch(value) is not None


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


_BARE_MAX_CHARS = 48  # a longer message is a sentence, whatever it holds (and this stays linear)


def _is_bare(text: str, start: int, end: int, slack: int = 2) -> bool:
    """The value is (nearly) the whole message: "138123456", "后四位是123吧"."""
    if len(text) > _BARE_MAX_CHARS:
        return False
    rest = _NOT_WORD.sub("", _FILLER.sub("", text[:start] + " " + text[end:]))
    return len(rest) <= slack


def read_identity(text: str, expecting: str | None = None) -> IdentityReading:
    """The phone number and ID tail in a message, as people type them, and the slips.

    `expecting` is the slot the assistant asked for (None when it has not asked yet). A phone
    number counts anywhere (138 1234 5678, +86 138-1234-5678, １３８…, 幺三八…); four characters
    count as the ID tail when the borrower says so (身份证后四位…), when they come with a phone
    number, or when they are the whole answer (a word more is allowed when the tail was asked for).
    """
    t = _ENGLISH_TAIL_CUE.sub(" id ", normalize(text))
    phone = last4 = None
    together = _PHONE_THEN_LAST4.search(t)
    if together:
        phone, last4 = together[1], together[2].upper()
        t = _blank(t, *together.span())
    for m in PHONE_NUMBER_RE.finditer(t):
        phone = phone or re.sub(r"[^0-9]", "", m["phone"])
        t = _blank(t, *m.span())
    cue = ID_CUE.search(t) is not None
    for m in _ID18.finditer(t):
        last4 = last4 or m[0][-4:].upper()
        t = _blank(t, *m.span())
    phone_cue = PHONE_CUE.search(t) is not None
    slips = []
    for run in _RUN.finditer(t):
        words = _WORD.findall(run[0])
        while words and not any(ch in _ASCII_DIGITS for ch in words[0]):
            words.pop(0)
        while words and not any(ch in _ASCII_DIGITS for ch in words[-1]):
            words.pop()
        if not words or _UNIT_AFTER.match(t, run.end()):
            continue  # no digits, or a figure: 2026年, 12000块, 30天
        if _LAST4.fullmatch(words[-1]):
            before = sum(ch in _ASCII_DIGITS for word in words[:-1] for ch in word)
            if len(words) == 1 or before >= 7:  # 123X alone, or after a phone number with a slip
                tail = words.pop().upper()
                if last4 is None and (phone or cue or before or _is_bare(t, *run.span(), slack=0)
                                      or (expecting == ID_SLOT and _is_bare(t, *run.span(), slack=1))):
                    last4 = tail
                if not words:
                    continue
        slip = _classify(_without_country_code(t, run.start(), "".join(words)), expecting, cue, phone_cue,
                         _is_bare(t, *run.span()))
        if slip and (phone is None if slip.slip.slot == PHONE_SLOT else last4 is None):
            slips.append(slip)
    return IdentityReading(phone, last4, tuple(slips) if not (phone and last4) else ())


def _without_country_code(text: str, start: int, value: str) -> str:
    if not value.isdigit():
        return value
    if value.startswith("0086"):
        return value[4:]
    if value.startswith("86") and (text[max(0, start - 1):start] == "+" or re.fullmatch(r"861[3-9][0-9]{7,10}", value)):
        return value[2:]
    return value


def _classify(value: str, expecting: str | None, id_cue: bool, phone_cue: bool, bare: bool) -> Malformed | None:
    digits = sum(ch in _ASCII_DIGITS for ch in value)
    letters = len(value) - digits
    about_phone = expecting == PHONE_SLOT or phone_cue or (value[0] == "1" and 10 <= len(value) <= 12)
    about_id = expecting == ID_SLOT or id_cue
    if letters == 0:
        if 7 <= digits <= 14 and (about_phone or about_id or bare):
            if digits == 11:
                return Malformed(Slip.PHONE_PREFIX, digits)
            return Malformed(Slip.PHONE_LENGTH if about_phone or not about_id else Slip.ID_LENGTH, digits)
        if 15 <= digits <= 20 and (about_phone or about_id or bare):
            return Malformed(Slip.ID_NUMBER_LENGTH, digits)
        if digits in (3, 5, 6) and about_id and (bare or id_cue):
            return Malformed(Slip.ID_LENGTH, digits)
        if 3 <= digits <= 6 and expecting == PHONE_SLOT and bare:
            return Malformed(Slip.PHONE_LENGTH, digits)
        return None
    if digits >= 7 and len(value) <= 14 and (about_phone or about_id or bare):
        return Malformed(Slip.PHONE_LETTERS, digits)
    if len(value) == 18 and (about_id or bare):
        return Malformed(Slip.ID_LETTERS, len(value))
    if 3 <= len(value) <= 6 and digits >= 2 and (about_id or bare):
        return Malformed(Slip.ID_LETTERS if len(value) == 4 else Slip.ID_LENGTH, len(value))
    return None


def find_phone(text: str) -> str | None:
    """The well-formed phone number in a message, digits only: "+86 138-1234-5678" → "13812345678"."""
    return read_identity(text).phone


def find_id_last4(text: str) -> str | None:
    """The last four ID characters in a message; a whole 18-character ID number also counts."""
    return read_identity(text, ID_SLOT).id_last4


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) >= 7 else "****"


def mask_id_number(id_number: str) -> str:
    return f"{id_number[:6]}{'*' * (len(id_number) - 10)}{id_number[-4:]}" if len(id_number) > 10 else "****"


def mask_text(text: str) -> str:
    """Masks any phone or ID number inside free text, for the conversation store, logs and staff views,
    also as people type them (138 1234 5678, +86…, １３８…, 幺三八…, 110101 19900307 123X). An ID tail
    alone (123X) stays: four characters identify nobody, and the account database keeps them too."""
    text = text or ""
    if len(text) < FEWEST_DIGITS:  # most strings of a tracker: nothing to look for
        return text
    view = digits_to_ascii(text.translate(_FULL_WIDTH))  # character for character: spans carry over
    if len(_DIGIT.findall(view)) < FEWEST_DIGITS:
        return text
    masks = []
    for m in _ID18_TYPED.finditer(view):
        masks.append((m.start(), m.end(), mask_id_number(_NOT_ID_CHAR.sub("", m[0]).upper())))
        view = _blank(view, *m.span())
    for m in _GLUED_PHONE.finditer(view):
        masks.append((m.start(), m.end(1), mask_phone(m[1])))
        view = _blank(view, m.start(), m.end(1))
    for m in PHONE_NUMBER_RE.finditer(view):
        masks.append((m.start(), m.end(), mask_phone(re.sub(r"[^0-9]", "", m["phone"]))))
    for start, end, masked in sorted(masks, reverse=True):
        text = text[:start] + masked + text[end:]
    return text


@dataclass(frozen=True)
class Attempt:
    at: dt.datetime
    succeeded: bool


def locked_until(attempts: Sequence[Attempt], now: dt.datetime, policy: IdentityPolicy) -> dt.datetime | None:
    """When the lock from these attempts (of one phone or one conversation) ends, if it is on now.

    Only failures since the last success count; `max_failures` of them within the lockout
    window trip a lock lasting the window from the last of them.
    """
    window = dt.timedelta(minutes=policy.lockout_minutes)
    ordered = sorted(attempts, key=lambda a: a.at)
    successes = [i for i, a in enumerate(ordered) if a.succeeded]
    failures = [a.at for a in ordered[(successes[-1] + 1 if successes else 0):]]
    n = policy.max_failures
    trips = [failures[i + n - 1] for i in range(len(failures) - n + 1)
             if failures[i + n - 1] - failures[i] <= window]
    until = trips[-1] + window if trips else None
    return until if until and until > now else None


def failures_left(attempts: Sequence[Attempt], now: dt.datetime, policy: IdentityPolicy) -> int:
    """Tries left before the lock: failures since the last success, within the window, count."""
    window_start = now - dt.timedelta(minutes=policy.lockout_minutes)
    recent = 0
    for attempt in sorted(attempts, key=lambda a: a.at):
        recent = 0 if attempt.succeeded else recent + (attempt.at >= window_start)
    return max(policy.max_failures - recent, 0)
