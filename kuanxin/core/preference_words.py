"""What a borrower says about reminders, read from their words: the channel (微信 / 短信), a time of day window
("晚上7点到9点", "上午", "10:00-12:00"), and a pause ("这几天先别提醒"). No I/O; whether a window is lawful is the
caller's check against the policy's contact hours."""
from __future__ import annotations

import datetime as dt
import re

from kuanxin.core.zh_parse import normalize_text, parse_chinese_number

WECHAT = re.compile(r"微信|公众号|服务号|\bwechat\b", re.I)
SMS = re.compile(r"短信|信息|\bsms\b|\btext(?:s| messages?)?\b", re.I)
# "不要短信, 发微信" / "别用微信": a channel refused is not the one chosen
REFUSED = re.compile(r"(?:不要|别|不用|不想|不需要|不接受|不收|don't|do not|no)\s*(?:用|发|再发|收)?\s*"
                     r"(微信|公众号|服务号|短信|信息|wechat|sms|texts?)", re.I)
PAUSE = re.compile(r"暂停|停[一几两俩]?[天周]|先别|先不要|这几天别|这几天不要|这周别|这周不要|缓[一几两俩]?[天周]"
                   r"|过[一几两俩]?[天周]再|\bpause\b|\bhold off\b|a (?:few days|week) off", re.I)

PERIODS = {  # a part of the day said alone: its hours (the caller clips them to the contact hours)
    "早上": (dt.time(8), dt.time(10)), "上午": (dt.time(8), dt.time(12)), "中午": (dt.time(11), dt.time(14)),
    "下午": (dt.time(13), dt.time(18)), "傍晚": (dt.time(17), dt.time(19)), "晚上": (dt.time(18), dt.time(22)),
    "morning": (dt.time(8), dt.time(12)), "afternoon": (dt.time(13), dt.time(18)),
    "evening": (dt.time(18), dt.time(22)),
}
AFTERNOON = ("下午", "傍晚", "晚上", "pm", "afternoon", "evening")
_PART = r"早上|上午|中午|下午|傍晚|晚上|morning|afternoon|evening"
_NOT = r"别|不要|不用|不想|不方便|不能|别再|don't|do not|not|no"
# "晚上别打扰" / "不要在早上发": that part of the day refused, the rest of the contact hours chosen
REFUSED_PART = re.compile(rf"(?P<before>{_PART})\s*(?:{_NOT})|(?:{_NOT})\s*(?:在|in the)?\s*(?P<after>{_PART})"
                          r"|\b(?:don't|do not|not)\b[\w\s']{0,20}?\b(?P<english>morning|afternoon|evening)", re.I)
NUMBER = r"[0-9]{1,2}|[零一二两三四五六七八九十]{1,3}"
CLOCK = (r"(?P<§part>早上|上午|中午|下午|傍晚|晚上)?\s*(?P<§hour>" + NUMBER + r")\s*"
         r"(?:(?:点|:|:|时)\s*(?P<§half>半|30|三十)?(?:[0-9]{2})?|(?P<§ampm>am|pm))")


def _clock_pattern(prefix: str) -> str:
    return CLOCK.replace("§", prefix)


WINDOW = re.compile(_clock_pattern("a") + r"\s*(?:到|至|-|~|–|—|to|until)\s*" + _clock_pattern("b"), re.I)
AFTER = re.compile(_clock_pattern("a") + r"\s*(?:以后|之后|后|after)", re.I)
BEFORE = re.compile(_clock_pattern("a") + r"\s*(?:以前|之前|前|before)", re.I)


def channel_of(text: str) -> str | None:
    """wechat or sms when exactly one is asked for ("改成短信", "不要短信了 发微信"); None otherwise."""
    plain = normalize_text(text)
    refused = {("wechat" if WECHAT.search(m.group(1)) else "sms") for m in REFUSED.finditer(plain)}
    rest = REFUSED.sub(" ", plain)
    named = {name for name, words in (("wechat", WECHAT), ("sms", SMS)) if words.search(rest)} - refused
    if len(named) == 1:
        return named.pop()
    if not named and len(refused) == 1:  # "别发微信了": the other one
        return "sms" if refused == {"wechat"} else "wechat"
    return None


def wants_pause(text: str) -> bool:
    return bool(PAUSE.search(normalize_text(text)))


def _clock(match: re.Match, prefix: str, part_default: str | None = None) -> dt.time | None:
    hour = parse_chinese_number(match.group(f"{prefix}hour"))
    if hour is None:
        return None
    part = match.group(f"{prefix}part") or match.group(f"{prefix}ampm") or part_default or ""
    if part.lower() in AFTERNOON and hour < 12:
        hour += 12
    minute = 30 if match.group(f"{prefix}half") else 0
    return dt.time(hour, minute) if 0 <= hour <= 23 else (dt.time(0) if hour == 24 else None)


def window_of(text: str, hours: tuple[dt.time, dt.time]) -> tuple[dt.time, dt.time] | None:
    """The window a borrower names, end exclusive: "晚上7点到9点" (19:00-21:00), "下午3点以后" (15:00 to the end of
    `hours`, the contact hours), "上午" (08:00-12:00), "晚上别打扰" (the start of `hours` to 18:00). None when no
    time of day is named."""
    plain = normalize_text(text)
    if m := WINDOW.search(plain):
        start = _clock(m, "a")
        end = _clock(m, "b", part_default=m.group("apart") or m.group("aampm"))
        if start is not None and end is not None and end <= start and end.hour < 12 <= start.hour + 12:
            end = dt.time(end.hour + 12, end.minute)  # "晚上7点到9点": the end in the same part of the day
        return (start, end) if start is not None and end is not None else None
    if m := AFTER.search(plain):
        start = _clock(m, "a")
        return (start, hours[1]) if start is not None else None
    if m := BEFORE.search(plain):
        end = _clock(m, "a")
        return (hours[0], end) if end is not None else None
    if m := REFUSED_PART.search(plain):
        return _outside(PERIODS[(m.group("before") or m.group("after") or m.group("english")).lower()], hours)
    for word, window in PERIODS.items():
        if word in plain.lower():
            return window
    return None


def _outside(refused: tuple[dt.time, dt.time], hours: tuple[dt.time, dt.time]) -> tuple[dt.time, dt.time] | None:
    """The contact hours without a refused part of the day at their start or end; None when it splits them."""
    if refused[0] <= hours[0] < refused[1]:
        return refused[1], hours[1]
    if refused[0] < hours[1] <= refused[1]:
        return hours[0], refused[0]
    return None
