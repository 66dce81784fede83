"""Identity check: phone number + last 4 characters of the ID number, with a lockout.

Three failures within the lockout window lock the check for that conversation and for that
phone number, for the lockout period counted from the failure that tripped it.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from kuanxin.policy import IdentityPolicy
from kuanxin.zh_parse import normalize_text

_CN_DIGITS = str.maketrans("零〇一二三四五六七八九幺", "001234567891")
_CN_DIGIT_RUN = re.compile(r"[零〇一二三四五六七八九幺]{3,}")
_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_SEPARATED_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
_LAST4 = re.compile(r"(?<![0-9A-Za-z])(\d{3}[\dXx])(?![0-9A-Za-z])")
_ID18 = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def normalize(text: str) -> str:
    """Full-width to ASCII, no control characters, and runs of Chinese digits (一三八…) to Arabic ones."""
    return _CN_DIGIT_RUN.sub(lambda m: m.group(0).translate(_CN_DIGITS), normalize_text(text))


def find_phone(text: str) -> str | None:
    match = _SEPARATED_PHONE.search(normalize(text))
    return "".join(match.groups()) if match else None


def find_id_last4(text: str) -> str | None:
    """The last four ID characters in a message; a whole 18-character ID number also counts."""
    clean = _SEPARATED_PHONE.sub(" ", normalize(text))
    whole = _ID18.search(clean)
    if whole:
        return whole.group(0)[-4:].upper()
    match = _LAST4.search(clean)
    return match.group(1).upper() if match else None


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) >= 7 else "****"


def mask_id_number(id_number: str) -> str:
    return f"{id_number[:6]}{'*' * (len(id_number) - 10)}{id_number[-4:]}" if len(id_number) > 10 else "****"


def mask_text(text: str) -> str:
    """Masks any phone or ID number inside free text, for logs and staff views."""
    text = _ID18.sub(lambda m: mask_id_number(m.group(0)), text or "")
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


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
