"""Numbers, month and installment counts, dates and amounts of money in Chinese free text.

Every public function accepts any string and never raises: when the text does not hold
what was asked for, the answer is None. Input is normalized first (NFKC, then Traditional to
Simplified), so full-width digits and punctuation behave like ASCII and 兩個月 like 两个月. All
regexes are precompiled, ASCII-digit only and free of nested quantifiers, so the cost stays
linear in the length of the message.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import opencc
from dateutil.relativedelta import relativedelta

__all__ = [
    "PHONE_NUMBER_RE",
    "digits_to_ascii",
    "find_amount",
    "find_money",
    "find_month_count",
    "find_period_count",
    "normalize_text",
    "parse_chinese_number",
    "parse_date",
]

# --------------------------------------------------------------------------- normalization

# Cc and Cf characters (bidi overrides, zero-width spaces, BOM, tags) and lone surrogates;
# tab/newline/CR/VT/FF are left for the whitespace pass so that they separate words.
_CONTROL_RE = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f]"
)
_WHITESPACE_RE = re.compile(r"\s+")


# opencc converts a piece in time quadratic in its length: pieces end at punctuation or spaces,
# and a run without any is cut every _T2S_PIECE characters, so the whole stays linear.
_T2S_PIECE = 64
_T2S_PIECE_RE = re.compile(rf"[^\s,.!?;:，。、；：？！…]{{1,{_T2S_PIECE}}}|[\s,.!?;:，。、；：？！…]+")


@functools.lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _to_simplified(text: str) -> str:
    if text.isascii():
        return text
    convert = _t2s().convert
    return "".join(convert(piece) for piece in _T2S_PIECE_RE.findall(text))


def normalize_text(text: str) -> str:
    """NFKC (full-width → ASCII), Traditional → Simplified (opencc t2s), control characters
    removed, whitespace collapsed to one space."""
    if not isinstance(text, str):
        return ""
    text = _CONTROL_RE.sub("", text)  # before NFKC: lone surrogates must not reach it
    text = _to_simplified(unicodedata.normalize("NFKC", text))
    return _WHITESPACE_RE.sub(" ", text).strip()


# --------------------------------------------------------------------------- numbers

_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "幺": 1, "二": 2, "贰": 2, "两": 2, "俩": 2,
    "三": 3, "叁": 3, "仨": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6,
    "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9,
}
_ZEROS = frozenset("零〇")
_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG_UNITS = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
_UNIT_CHARS = "".join(_SMALL_UNITS) + "".join(_BIG_UNITS)
_CN_NUM_CHARS = "".join(_DIGITS) + _UNIT_CHARS

_ASCII_DIGITS = "0123456789"
_MAX_TOKEN_CHARS = 24  # longer "numbers" are ID or card numbers, not amounts or counts
_ARABIC_RE = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?")
_PIECE_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?|.", re.S)


def _parse_number(token: str) -> Decimal | None:
    """Value of an arabic, Chinese or mixed ("2万", "1.5万") number token."""
    token = token.strip()
    if not token or len(token) > _MAX_TOKEN_CHARS:
        return None
    if _ARABIC_RE.fullmatch(token):
        return Decimal(token.replace(",", ""))
    if all(ch in _DIGITS for ch in token):
        return _parse_digit_by_digit(token)
    return _parse_with_units(token)


def _parse_digit_by_digit(token: str) -> Decimal | None:
    """二零二六 / 幺二 read digit by digit; but 两三, 七八 are ranges ("two or three"), not 23."""
    if len(token) == 2 and not any(ch in "零〇幺" for ch in token):
        return None
    return Decimal("".join(str(_DIGITS[ch]) for ch in token))


def _parse_with_units(token: str) -> Decimal | None:
    """Positional Chinese numbers: 二十三, 一百零五, 一万二千五, 2万5, 十万."""
    total = section = Decimal(0)
    pending: Decimal | None = None
    pending_is_digit = False  # one digit right after a unit may abbreviate (一万二 = 12000)
    last_unit = 0
    smallest_unit = 10**4  # small units must decrease inside a section (no 十百)
    after_zero = False  # 一百零五: the digit after 零 is literal
    for piece in _PIECE_RE.findall(token):
        arabic = piece[0] in _ASCII_DIGITS
        if arabic or (piece in _DIGITS and piece not in _ZEROS):
            if pending is not None:
                return None  # two numbers in a row: a range like 三五百
            pending = Decimal(piece) if arabic else Decimal(_DIGITS[piece])
            pending_is_digit = len(piece) == 1
        elif piece in _ZEROS:
            if pending is not None:
                return None
            after_zero = True
        elif piece in _SMALL_UNITS:
            unit = _SMALL_UNITS[piece]
            if pending is None:
                if unit != 10:
                    return None  # only 十 may stand alone; 千万 means "by all means"
                pending = Decimal(1)
            if unit >= smallest_unit:
                return None
            section += pending * unit
            pending, smallest_unit, last_unit, after_zero = None, unit, unit, False
        elif piece in _BIG_UNITS:
            unit = _BIG_UNITS[piece]
            if pending is not None:
                section += pending
                pending = None
            if section == 0:
                return None  # 万一 means "in case", not a number
            total = (total + section) * unit if unit == 10**8 else total + section * unit
            section, smallest_unit, last_unit, after_zero = Decimal(0), 10**4, unit, False
        else:
            return None
    if pending is not None:
        if pending_is_digit and not after_zero and last_unit >= 100:
            pending *= last_unit // 10
        section += pending
    return total + section


def parse_chinese_number(token: str) -> int | None:
    """Integer value of a number token: "六"→6, "二十三"→23, "一万二"→12000, "2万"→20000."""
    value = _parse_number(normalize_text(token))
    if value is None or value != value.to_integral_value():
        return None
    return int(value)


# --------------------------------------------------------------------------- digits said one by one

_SPOKEN_DIGITS = str.maketrans("零〇一二三四五六七八九幺两", "0012345678912")
# 三 alone or 两个 is a count; three or more digit characters in a row are read out one by one
# (幺三八…, as in a phone number or 一二三X). No unit in between: 两千 stays a number.
_SPOKEN_DIGIT_RUN_RE = re.compile("[零〇一二三四五六七八九幺两]{3,}")


def digits_to_ascii(text: str) -> str:
    """Runs of three or more Chinese digits to ASCII digits, character for character (same length)."""
    return _SPOKEN_DIGIT_RUN_RE.sub(lambda m: m[0].translate(_SPOKEN_DIGITS), text)


# --------------------------------------------------------------------------- phone numbers

# A mainland mobile number as people type it: 11 digits 1[3-9]…, one space, dash, dot, comma or
# underscore allowed between any two digits (138 1234 5678, 138-1234-5678, 138.1234.5678), after an
# optional country code (+86, 86, 0086, (+86)). Match on normalized text passed through
# digits_to_ascii; the number itself is the digits of the group "phone".
_PHONE_SEP = "[ \\-.,_\u2013\u2014]"  # one space, dash, dot, comma, underscore, en or em dash
PHONE_NUMBER_RE = re.compile(
    rf"(?<![0-9A-Za-z+])(?:\(?(?:\+|00)?86\)?{_PHONE_SEP}?)?"
    rf"(?P<phone>1[3-9][0-9](?:{_PHONE_SEP}?[0-9]){{8}})(?![0-9])"
)


# --------------------------------------------------------------------------- month counts

_COUNT_NUM = r"(?:[0-9]{1,3}|[零〇一二两俩仨三四五六七八九十百]{1,4})"
_NOT_MID_NUMBER = rf"(?<![0-9.{_CN_NUM_CHARS}])"
_MAX_MONTHS = 120
_MAX_PERIODS = 360

_MONTHS_RE = re.compile(rf"{_NOT_MID_NUMBER}(?<![下上这本那每第])(?P<n>{_COUNT_NUM})\s?个\s?(?P<unit>月|季度)")
_YEARS_RE = re.compile(rf"{_NOT_MID_NUMBER}(?<![上下])(?P<n>{_COUNT_NUM}|半)\s?年(?P<half>半)?(?![级度底初末])")
# 三月 without 个 is usually a month name; see _bare_month_candidate.
_BARE_MONTHS_RE = re.compile(
    rf"{_NOT_MID_NUMBER}(?P<n>{_COUNT_NUM})\s?月(?![份0-9{_CN_NUM_CHARS}号日初底中末旬])"
)
_DEFER_KEY_RE = re.compile(r"延|推|缓|宽限|展期|等|停")
_DEFER_TAIL_RE = re.compile(r"(?:延期|延后|延迟|延长|推迟|推后|往后推|顺延|展期|宽限|缓|等|停)(?:了|个)?\s?$")
_INSTALLMENT_TAIL_RE = re.compile(r"分\s?(?:期|成|为)?\s?$")
_CLAUSE_BREAK_RE = re.compile(r"[。！？!?；;，,]")
_NEVER_MONTH_NAMES = frozenset("两俩仨")
_HALF_AFTER_RE = re.compile(r"\s?半")  # 一个月半: one and a half months, not a whole count


def _count(token: str) -> int | None:
    """Integer count; 半 is handled by the callers that accept halves."""
    return parse_chinese_number(token) if token != "半" else None


def _has_deferral_context(text: str, start: int) -> bool:
    """A deferral verb earlier in the same clause (延期…两个月, 缓一下两个月)."""
    clause = _CLAUSE_BREAK_RE.split(text[max(0, start - 10):start])[-1]
    return _DEFER_KEY_RE.search(clause) is not None


def _is_installment(text: str, start: int) -> bool:
    return _INSTALLMENT_TAIL_RE.search(text, max(0, start - 4), start) is not None


def _month_candidates(text: str) -> Iterator[tuple[int, int, bool]]:
    """(start, months, said_with_a_deferral_verb) for every month count in the text."""
    for m in _MONTHS_RE.finditer(text):
        n = _count(m["n"])
        if n is not None and not _HALF_AFTER_RE.match(text, m.end()):
            yield m.start(), n * (3 if m["unit"] == "季度" else 1), _has_deferral_context(text, m.start())
    for m in _YEARS_RE.finditer(text):
        years = 0.5 if m["n"] == "半" else _count(m["n"])
        if years is not None and years <= 10:
            yield m.start(), int(years * 12) + (6 if m["half"] else 0), _has_deferral_context(text, m.start())
    for m in _BARE_MONTHS_RE.finditer(text):
        candidate = _bare_month_candidate(text, m)
        if candidate is not None:
            yield candidate


def _bare_month_candidate(text: str, m: re.Match) -> tuple[int, int, bool] | None:
    """延期三月 counts months; 三月 alone is March. 两月/俩月 is never a month name."""
    right_after_verb = _DEFER_TAIL_RE.search(text, max(0, m.start() - 5), m.start()) is not None
    if not right_after_verb and m["n"] not in _NEVER_MONTH_NAMES:
        return None
    n = _count(m["n"])
    if n is None:
        return None
    return m.start(), n, right_after_verb or _has_deferral_context(text, m.start())


def find_month_count(text: str) -> int | None:
    """Months asked for in a deferral: "延期两个月"→2, "半年"→6, "一个季度"→3; dates are not counts.

    A count said after a deferral verb wins over an earlier one (逾期三个月了，想延期两个月 → 2);
    installment plans (分24个月) are left to find_period_count.
    """
    text = english_as_chinese(normalize_text(text))
    candidates = [
        (start, months, deferral)
        for start, months, deferral in _month_candidates(text)
        if 1 <= months <= _MAX_MONTHS and not _is_installment(text, start)
    ]
    preferred = [c for c in candidates if c[2]] or candidates
    return min(preferred)[1] if preferred else None


# --------------------------------------------------------------------------- English

# A borrower who writes in English says the same values: "defer 2 months", "twelve installments",
# "next friday", "on the 15th", "i'll pay 1k on the 15th". Such words are read as the Chinese
# forms the parsers below know (2个月 with a deferral verb, 分12期, 下周五, 15号, 还1000), so both
# languages mean exactly the same values. Only messages with English words are rewritten: Chinese
# ones are read as they always were.
_EN_WORD_RE = re.compile(r"[a-z]{2,}")
_EN_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
}
_EN_ORDINALS = {"first": 1, "second": 2, "third": 3, "fifth": 5, "tenth": 10, "fifteenth": 15, "twentieth": 20,
                "thirtieth": 30}
_EN_TENS_RE = re.compile(r"\b(twenty|thirty|forty|fifty)[- ](one|two|three|four|five|six|seven|eight|nine)\b")
_EN_NUMBER_RE = re.compile(r"\b(" + "|".join(sorted(_EN_NUMBERS, key=len, reverse=True)) + r")\b")
_EN_A_RE = re.compile(r"\b(?:a|an|a single|a couple of|couple of|a few)\s+"
                      r"(?=(?:more\s+)?(?:months?|years?|weeks?|days?)\b)")
_EN_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
              "november", "december")
_EN_MONTH_NAME = (r"(?P<mname>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
                  r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_EN_WEEKDAYS = {"mon": "一", "tue": "二", "wed": "三", "thu": "四", "fri": "五", "sat": "六", "sun": "日"}
_EN_WEEKDAY = r"(?P<wd>mon|tue|wed|thu|fri|sat|sun)(?:day|sday|nesday|rsday|urday|rs|s)?\b"
_EN_TH = r"(?:st|nd|rd|th)?"
_EN_REWRITES: tuple[tuple[re.Pattern, object], ...] = tuple((re.compile(a), b) for a, b in (
    # counts: installments and years before months, so "split into 12 months" stays a plan
    (r"\b(\d{1,3}) ?(?:-|\s)?(?:installments?|instalments?|installmens|instalmens|periods?|monthly payments?"
     r"|payments?|parts?|terms?|tranches?)\b", r"分\1期"),
    (r"\b(?:split|divide|break|spread|pay|repay|paying|pay it|pay back)\b[a-z ]{0,20}?\b(?:into|in|over|across)\s+"
     r"(\d{1,3}) ?(months?|years?)\b", lambda m: f"分{m[1]}{'个月' if m[2].startswith('month') else '年'}"),
    (r"\bover (\d{1,3}) ?(months?|years?)\b", lambda m: f"分{m[1]}{'个月' if m[2].startswith('month') else '年'}"),
    (r"\b(?:make it|change it to|change to|change that to|go for|i'?ll take|let'?s do|lets do)\s+(\d{1,3})\b"
     r"(?! ?(?:months?|years?|days?|st|nd|rd|th|yuan|rmb|k\b))", r"\1期"),
    (r"\b(\d{1,3}) ?(?:-|\s)?years?\b", r"\1年"),
    (r"\b(\d{1,3}) ?(?:-|\s)?(?:months?|mths?|mos?)\b(?! ?(?:ago|overdue|late|behind|in arrears))", r"\1个月"),
    (r"\b(\d{1,3}) ?(?:-|\s)?(?:months?|mths?|mos?) ?(?:ago|overdue|late|behind|in arrears)\b", r"逾期\1个月了"),
    (r"\b(?:defer(?:ral|red|ring)?|postpone(?:ment|d)?|delay(?:ed)?|extend(?:ed)?|extension"
     r"|push(?:ed)? (?:it |the \w+ )?back|put (?:it )?off|more time|grace period|pay later)\b", "延期"),
    # days
    (r"\b(?:the )?day after tomorrow\b", "后天"),
    (r"\btomorrow\b|\btmr\b|\btmrw\b", "明天"),
    (r"\btoday\b|\btonight\b", "今天"),
    (r"\bin (\d{1,3}) ?days?\b|\b(\d{1,3}) ?days? (?:from now|later)\b", lambda m: f"{m[1] or m[2]}天后"),
    (r"\b(?:at |by )?(?:the )?end of (?:the |this )?month\b|\bmonth[- ]end\b|\bthis month end\b", "月底"),
    (r"\b(?:at |by )?(?:the )?end of next month\b", "下个月底"),
    (r"\bnext week'?s? " + _EN_WEEKDAY + r"|\b" + _EN_WEEKDAY.replace("wd>", "wd2>") + r" next week\b|\bnext "
     + _EN_WEEKDAY.replace("wd>", "wd3>"),
     lambda m: "下周" + _EN_WEEKDAYS[m["wd"] or m["wd2"] or m["wd3"]]),
    (r"\b(?:this|coming|this coming|on)? ?" + _EN_WEEKDAY.replace("wd>", "wd4>") + r"\b",
     lambda m: "\x01" + _EN_WEEKDAYS[m["wd4"]]),
    (r"\b" + _EN_MONTH_NAME + r"\.? (\d{1,2})" + _EN_TH + r"\b", lambda m: f"{_en_month(m['mname'])}月{m[2]}号"),
    (r"\b(\d{1,2})" + _EN_TH + r" (?:of )?" + _EN_MONTH_NAME.replace("mname", "mname2") + r"\b",
     lambda m: f"{_en_month(m['mname2'])}月{m[1]}号"),
    (r"\b(?:on |by |before )?(?:the )?(\d{1,2})(?:st|nd|rd|th)\b(?: of (?:the |this )?month)?", r"\1号"),
    (r"\b(?:on|by|before) (?:the )?(\d{1,2})\b(?![.,]?\d| ?(?:yuan|rmb|k\b|kuai|bucks|号|个|期|年|天))", r"\1号"),
    # money
    (r"(\d[\d,]*(?:\.\d+)?) ?(?:yuan|rmb|cny|kuai|bucks|元)\b", r"\1元"),
    (r"\b(?:pay|repay|paying|transfer|send|clear|deposit|give you|put in)(?: you| back| off| u)?"
     r"(?: (?:about|around|only|just|at least|maybe|like|first))?\s+(?=[¥\d])", "还"),
))


def _en_month(name: str) -> int:
    return next(i for i, month in enumerate(_EN_MONTHS, 1) if month.startswith(name[:3]))


def _en_number_words(text: str) -> str:
    text = re.sub(r"\bhalf (?:a )?year\b", "半年", text)
    text = _EN_TENS_RE.sub(lambda m: str(_EN_NUMBERS[m[1]] + _EN_NUMBERS[m[2]]), text)
    text = _EN_A_RE.sub(lambda m: "2 " if "couple" in m[0] else ("3 " if "few" in m[0] else "1 "), text)
    text = re.sub(r"\b(" + "|".join(_EN_ORDINALS) + r")\b(?= of\b| ?$|(?! (?:one|loan|installment|period)))",
                  lambda m: f"{_EN_ORDINALS[m[1]]}th", text)
    return _EN_NUMBER_RE.sub(lambda m: str(_EN_NUMBERS[m[1]]), text)


def english_as_chinese(text: str, today: dt.date | None = None) -> str:
    """The message with its English counts, days and amounts written the Chinese way (unchanged without English)."""
    lowered = text.lower().replace("\u2019", "'")
    if not _EN_WORD_RE.search(lowered):
        return text
    rewritten = _en_number_words(lowered)
    for pattern, replacement in _EN_REWRITES:
        rewritten = pattern.sub(replacement, rewritten)
    return _coming_weekdays(rewritten, today)


def _coming_weekdays(text: str, today: dt.date | None) -> str:
    """"friday" / "this friday": the next one from today (today itself included), said as 这周X or 下周X."""
    def coming(m: re.Match) -> str:
        weekday = "一二三四五六日".index(m[1])
        return ("这周" if today is None or weekday >= today.weekday() else "下周") + m[1]
    return re.sub("\x01([一二三四五六日])", coming, text)


# --------------------------------------------------------------------------- period counts

_SPLIT = r"分\s?(?:期|成|为)?\s?"
_SPLIT_PERIODS_RE = re.compile(rf"{_SPLIT}(?P<n>{_COUNT_NUM})\s?(?:个\s?)?(?:期|月|次)")
_SPLIT_YEARS_RE = re.compile(rf"{_SPLIT}(?P<n>{_COUNT_NUM}|半)\s?(?:个\s?)?年(?P<half>半)?")
# 第三期 is an ordinal and 前三期 a subset, not a plan length.
_BARE_PERIODS_RE = re.compile(
    rf"{_NOT_MID_NUMBER}(?<![第前后上下本这每A-Za-z])(?P<n>{_COUNT_NUM})\s?期(?![间限待望货])"
)
# 一年 / 两年 alone, as the answer to "how many periods?": the plan's length. 去年/上一年 are
# times, 一年利息 a rate, and 逾期一年了 how long the borrower has been behind.
_BARE_YEARS_RE = re.compile(
    rf"{_NOT_MID_NUMBER}(?<![上下这本那每第前去今明后])(?P<n>{_COUNT_NUM}|半)\s?(?:个\s?)?年(?P<half>半)?"
    r"(?![级度底初末前后内以多利息化费期龄纪])"
)
_NOT_A_PLAN_BEFORE_RE = re.compile(r"(?:逾期|拖|欠|已经|借|过去|快|超过|满|近)[^,.!?;，。！？；]{0,3}$")


def _periods(m: re.Match, per_year: bool) -> int | None:
    if not per_year:
        return _count(m["n"])
    years = 0.5 if m["n"] == "半" else _count(m["n"])
    if years is None or years > 30:
        return None
    return int(years * 12) + (6 if m["half"] else 0)


def find_period_count(text: str) -> int | None:
    """Installment periods: "分6期"→6, "分24个月还"→24, "分两年"→24, "12期"→12, "一年"→12.

    An explicit split (分…) wins over a bare "N期" earlier in the text, and both over a bare
    number of years.
    """
    text = english_as_chinese(normalize_text(text))
    split = [
        (m.start(), _periods(m, per_year))
        for regex, per_year in ((_SPLIT_PERIODS_RE, False), (_SPLIT_YEARS_RE, True))
        for m in regex.finditer(text)
    ]
    bare = [(m.start(), _periods(m, False)) for m in _BARE_PERIODS_RE.finditer(text)]
    years = [(m.start(), _periods(m, True)) for m in _BARE_YEARS_RE.finditer(text)
             if not _NOT_A_PLAN_BEFORE_RE.search(text, max(0, m.start() - 6), m.start())]
    for group in (split, bare, years):
        valid = sorted((start, n) for start, n in group if n is not None and 1 <= n <= _MAX_PERIODS)
        if valid:
            return valid[0][1]
    return None


# --------------------------------------------------------------------------- dates

_DAY_NUM = r"(?:[0-9]{1,2}|[一二两三四五六七八九十]{1,3})"
_MONTH_NUM = r"(?:[0-9]{1,2}|[一二三四五六七八九十]{1,3})"
_DAYS_NUM = r"(?:[0-9]{1,4}|[零一二两三四五六七八九十百]{1,5})"
# 早上/晚上 and 一下 are not "last"/"next".
_REL = r"(?P<rel>上上|下下|(?<![早晚马])上|(?<![一以])下|这|本)"
_REL_OFFSETS = {None: 0, "上上": -2, "上": -1, "这": 0, "本": 0, "下": 1, "下下": 2}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_RELATIVE_DAYS = {
    "大后天": 3, "后天": 2, "明天": 1, "明日": 1, "明儿": 1, "今天": 0, "今日": 0, "今儿": 0,
    "昨天": -1, "昨日": -1, "前天": -2,
}
_YEAR_OFFSETS = {"去": -1, "今": 0, "明": 1, "后": 2}

_RELATIVE_DAY_RE = re.compile("|".join(sorted(_RELATIVE_DAYS, key=len, reverse=True)))
_DAYS_LATER_RE = re.compile(
    rf"(?<![超不经越])过\s?(?P<n1>{_DAYS_NUM})\s?天"
    rf"|{_NOT_MID_NUMBER}(?P<n2>{_DAYS_NUM})\s?(?:个\s?)?[天日]\s?(?:之|以)?\s?后"
)
_WEEKDAY_RE = re.compile(
    rf"(?:{_REL}\s?个?\s?|(?<![0-9{_CN_NUM_CHARS}]))(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7])(?![0-9])"
)
_MONTH_EDGE_RE = re.compile(rf"(?:{_REL}\s?个?\s?)?月\s?(?P<edge>底|末|初)")
_REL_MONTH_DAY_RE = re.compile(rf"{_REL}\s?个?\s?月\s?(?:的\s?)?(?P<day>{_DAY_NUM})\s?[号日]")
# With an explicit year the 日 may be left out (2026年12月3); without one it may not (3月5个人).
_MONTH_DAY_RE = re.compile(
    rf"{_NOT_MID_NUMBER}"
    rf"(?:(?:(?P<year>[0-9]{{4}}|[零〇一二三四五六七八九]{{4}})|(?P<yrel>[去今明后]))\s?年\s?)?"
    rf"(?P<month>{_MONTH_NUM})\s?月份?\s?"
    rf"(?:(?P<day>{_DAY_NUM})\s?(?(year)[号日]?|[号日])(?![0-9])|(?P<edge>底|末|初))"
)
# 号码/3号楼/5号线 are not days; 30日内 is a duration.
_DAY_OF_MONTH_RE = re.compile(
    rf"(?<![0-9.{_CN_NUM_CHARS}/\-:A-Za-z])(?P<day>{_DAY_NUM})\s?(?:号|日(?!\s?(?:之|以)?\s?内))"
    r"(?![码楼线房室床位])"
)
_ISO_DATE_RE = re.compile(
    r"(?<![0-9.\-/])(?P<year>[0-9]{4})(?P<sep>[-/.])(?P<month>[0-9]{1,2})(?P=sep)(?P<day>[0-9]{1,2})(?![0-9])"
)
_SLASH_DATE_RE = re.compile(r"(?<![0-9.\-/])(?P<month>[0-9]{1,2})/(?P<day>[0-9]{1,2})(?![0-9/])(?:\s?[号日])?")


def _first_of_month(today: dt.date, months_ahead: int) -> dt.date:
    return today.replace(day=1) + relativedelta(months=months_ahead)


def _end_of_month(day: dt.date) -> dt.date:
    return day + relativedelta(day=31)  # relativedelta clamps day=31 to the month's last day


def _date_or_none(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except (ValueError, OverflowError):
        return None


def _resolve_relative_day(m: re.Match, today: dt.date) -> dt.date | None:
    return today + dt.timedelta(days=_RELATIVE_DAYS[m[0]])


def _resolve_days_later(m: re.Match, today: dt.date) -> dt.date | None:
    days = parse_chinese_number(m["n1"] or m["n2"])
    return None if days is None else today + dt.timedelta(days=days)


def _resolve_weekday(m: re.Match, today: dt.date) -> dt.date | None:
    """Weeks run Monday to Sunday; a bare 周五 already past this week is next week's."""
    weekday = int(m["wd"]) - 1 if m["wd"].isdigit() else _WEEKDAYS[m["wd"]]
    monday = today - dt.timedelta(days=today.weekday())
    target = monday + dt.timedelta(weeks=_REL_OFFSETS[m["rel"]], days=weekday)
    if m["rel"] is None and target < today:
        target += dt.timedelta(weeks=1)
    return target


def _resolve_month_edge(m: re.Match, today: dt.date) -> dt.date | None:
    """月底 is this month's last day; a bare 月初 is the 1st of next month (this one has begun)."""
    if m["edge"] == "初":
        months_ahead = 1 if m["rel"] is None else _REL_OFFSETS[m["rel"]]
        return _first_of_month(today, months_ahead)
    return _end_of_month(_first_of_month(today, _REL_OFFSETS[m["rel"]]))


def _resolve_rel_month_day(m: re.Match, today: dt.date) -> dt.date | None:
    day = parse_chinese_number(m["day"])
    first = _first_of_month(today, _REL_OFFSETS[m["rel"]])
    return None if day is None else _date_or_none(first.year, first.month, day)


def _resolve_month_day(m: re.Match, today: dt.date) -> dt.date | None:
    month = parse_chinese_number(m["month"])
    if month is None or not 1 <= month <= 12:
        return None
    if m["year"]:
        year = parse_chinese_number(m["year"])
        if year is None:
            return None
    elif m["yrel"]:
        year = today.year + _YEAR_OFFSETS[m["yrel"]]
    else:
        year = None  # this year, or next year when the day has passed
    if m["edge"]:
        return _month_edge_in_year(year, month, m["edge"], today)
    day = parse_chinese_number(m["day"])
    return None if day is None else _day_in_year(year, month, day, today)


# A month and day said without a year: the date that passed up to a month ago ("11月20号" said on the
# 22nd has passed, and is answered so), otherwise the next one ("3月5号" said in May is next March).
RECENTLY_PASSED_DAYS = 31


def _nearest(dates: Iterable[dt.date | None], today: dt.date) -> dt.date | None:
    valid = sorted(d for d in dates if d is not None)
    ahead = next((d for d in valid if d >= today), None)
    passed = next((d for d in reversed(valid) if d < today), None)
    if passed is not None and (today - passed).days <= RECENTLY_PASSED_DAYS:
        return passed
    return ahead

def _day_in_year(year: int | None, month: int, day: int, today: dt.date) -> dt.date | None:
    if year is None:
        return _nearest((_date_or_none(today.year + k, month, day) for k in (-1, 0, 1)), today)
    return _date_or_none(year, month, day)


def _month_edge_in_year(year: int | None, month: int, edge: str, today: dt.date) -> dt.date | None:
    def edge_of(y: int) -> dt.date | None:
        first = _date_or_none(y, month, 1)
        return first if first is None or edge == "初" else _end_of_month(first)

    if year is None:
        return _nearest((edge_of(today.year + k) for k in (-1, 0, 1)), today)
    return edge_of(year)


def _resolve_day_of_month(m: re.Match, today: dt.date) -> dt.date | None:
    """15号: this month unless already past, then next month; a day the month lacks is None."""
    day = parse_chinese_number(m["day"])
    if day is None:
        return None
    first = _first_of_month(today, 0 if day >= today.day else 1)
    return _date_or_none(first.year, first.month, day)


def _resolve_numeric_date(m: re.Match, today: dt.date) -> dt.date | None:
    year = int(m["year"]) if "year" in m.re.groupindex else None
    return _day_in_year(year, int(m["month"]), int(m["day"]), today)


_DATE_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match, dt.date], dt.date | None]], ...] = (
    (_RELATIVE_DAY_RE, _resolve_relative_day),
    (_DAYS_LATER_RE, _resolve_days_later),
    (_WEEKDAY_RE, _resolve_weekday),
    (_MONTH_EDGE_RE, _resolve_month_edge),
    (_REL_MONTH_DAY_RE, _resolve_rel_month_day),
    (_MONTH_DAY_RE, _resolve_month_day),
    (_DAY_OF_MONTH_RE, _resolve_day_of_month),
    (_ISO_DATE_RE, _resolve_numeric_date),
    (_SLASH_DATE_RE, _resolve_numeric_date),
)


def parse_date(text: str, today: dt.date) -> dt.date | None:
    """The first date expression in the text, resolved against ``today``.

    The leftmost expression wins (the longest one when two start together); when it
    names an impossible day (2月30日, 31号 in November) the answer is None rather than a
    later, different date.
    """
    if isinstance(today, dt.datetime):
        today = today.date()
    text = english_as_chinese(normalize_text(text), today)
    best: tuple[re.Match, Callable[[re.Match, dt.date], dt.date | None]] | None = None
    for regex, resolve in _DATE_PATTERNS:
        m = regex.search(text)
        if m and (best is None or (m.start(), -m.end()) < (best[0].start(), -best[0].end())):
            best = (m, resolve)
    if best is None:
        return None
    try:
        return best[1](best[0], today)
    except (ValueError, OverflowError):  # date arithmetic beyond year 9999
        return None


# --------------------------------------------------------------------------- money

CENT = Decimal("0.01")
_MAX_AMOUNT = Decimal(10) ** 12
_MAX_INTEGER_DIGITS = 10  # an 11-digit run is a phone number, not an amount

_AMOUNT_TOKEN_RE = re.compile(
    rf"(?<![0-9.{_CN_NUM_CHARS}])(?:[0-9]+(?:,[0-9]{{3}})*(?:\.[0-9]+)?|[{_CN_NUM_CHARS}])[0-9{_CN_NUM_CHARS}]*"
)
_LONG_DIGITS_RE = re.compile(rf"[0-9]{{{_MAX_INTEGER_DIGITS + 1},}}")
_UNIT_SUFFIX_RE = re.compile(
    r"\s?(?P<mult>[kKwW](?![A-Za-z]))?\s?(?:多|来)?\s?(?P<unit>块钱|块(?!儿)|元|圆|(?i:rmb)|人民币)?"
)
_TENTHS_RE = re.compile(
    rf"\s?(?P<tenths>[1-9一二两三四五六七八九])(?:\s?(?:毛|角)|(?![0-9{_CN_NUM_CHARS}号日月天期个年点分周次]))"
)
_CURRENCY_PREFIX_RE = re.compile(r"(?:¥|人民币|(?i:rmb))\s?$")
_PAY_PREFIX_RE = re.compile(
    r"(?:还|付|交|转|打|存|凑|补|差|欠|给|每期|每月|每个月)(?:款|钱|了|上|掉|清|完|你们|给你们)?\s?$"
)
_NOT_MONEY_SUFFIX_RE = re.compile(r"\s?(?:[号日月天期个年周次点%倍岁折人/:\-A-Za-z]|分钟|小时|星期|礼拜)")
_MULTIPLIERS = {"k": 1000, "w": 10000}


def _amount_value(token: str) -> Decimal | None:
    if _LONG_DIGITS_RE.search(token.replace(",", "")):
        return None
    value = _parse_number(token)
    return value if value is not None and value < _MAX_AMOUNT else None


def _has_unit(token: str, units: str) -> bool:
    return any(ch in units for ch in token)


def _classify_amount(text: str, m: re.Match) -> Decimal | None:
    """The token's value when its surroundings say it is money (块/元/¥/3k/一万二/还500)."""
    token, start, end = m[0], m.start(), m.end()
    value = _amount_value(token)
    if value is None:
        return None
    suffix = _UNIT_SUFFIX_RE.match(text, end)
    if suffix is None:  # every group is optional, so the pattern always matches
        return value
    if suffix["mult"]:
        value *= _MULTIPLIERS[suffix["mult"].lower()]
    if suffix["mult"] or suffix["unit"]:
        return value + _tenths_after(text, suffix) if suffix["unit"] in ("块", "元") else value
    if _CURRENCY_PREFIX_RE.search(text, max(0, start - 4), start):
        return value
    if _NOT_MONEY_SUFFIX_RE.match(text, end):
        return None
    if _has_unit(token, "千万亿仟萬億"):
        return value  # 一万二, 三千: large round numbers in this domain are amounts
    paid = _PAY_PREFIX_RE.search(text, max(0, start - 6), start) is not None
    if paid and (token[0] in _ASCII_DIGITS or _has_unit(token, _UNIT_CHARS)):
        return value  # 还500; but not 还一下 / 还一部分
    return None


def _tenths_after(text: str, suffix: re.Match) -> Decimal:
    """三块五 / 5块5毛 = 3.5 / 5.5."""
    tenths = _TENTHS_RE.match(text, suffix.end())
    if tenths is None:
        return Decimal(0)
    digit = tenths["tenths"]
    return Decimal(int(digit) if digit.isdigit() else _DIGITS[digit]) / 10


def _to_cents(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return value.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None


def find_money(text: str) -> Decimal | None:
    """The first amount of money in the text, quantized to the cent (ROUND_HALF_UP).

    Only numbers that the words around them mark as money count (500块, ¥800, 3k, 一万二, 还500):
    for free text where any number may be something else. See find_amount for answers to
    "how much?".
    """
    text = english_as_chinese(normalize_text(text))
    for m in _AMOUNT_TOKEN_RE.finditer(text):
        value = _classify_amount(text, m)
        if value is not None:
            return _to_cents(value)
    return None


# A bare number (1000, 1,000, 1000.5, 三百) is an amount when nothing says it is something else:
# not a date (15号, 月15, 12/3), a count (6期, 3个月, 2次), a code (B1001, M3), part of a longer
# figure (1,2 / 1.1.1), an ordinal (第3) or a piece of code (alert(1), id = 1).
_BARE_MAX_INTEGER_DIGITS = 8
_BARE_BEFORE_RE = re.compile(r"(?:[A-Za-z#第月周期号日年天(\[{<>=*+_|&]|[0-9][.,:/\-]|星期|礼拜)\s?$")
_BARE_AFTER_RE = re.compile(r"[.,/\-:][0-9]|\s?[)\]}<>=*_|&]")
_ID_NUMBER_RE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def _without_phone_numbers(text: str) -> str:
    """Phone and ID numbers blanked out (same length), also when spaced or spoken digit by digit."""
    spoken = digits_to_ascii(text)
    spans = [m.span() for regex in (PHONE_NUMBER_RE, _ID_NUMBER_RE) for m in regex.finditer(spoken)]
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def _bare_amount(text: str, m: re.Match) -> Decimal | None:
    token, start, end = m[0], m.start(), m.end()
    if token[0] in _ASCII_DIGITS:
        if not _ARABIC_RE.fullmatch(token):
            return None
        integer = token.replace(",", "").split(".")[0]
        if len(integer) > _BARE_MAX_INTEGER_DIGITS:
            return None
    elif not _has_unit(token, "百佰千仟万萬亿億"):
        return None  # 三 / 十二 alone are counts more often than money
    if _NOT_MONEY_SUFFIX_RE.match(text, end) or _BARE_AFTER_RE.match(text, end):
        return None
    if _BARE_BEFORE_RE.search(text, max(0, start - 3), start):
        return None
    return _amount_value(token)


def find_amount(text: str) -> Decimal | None:
    """The amount of money the borrower names, quantized to the cent (ROUND_HALF_UP), or None.

    For answers to "how much?" (a promise, a partial payment): 1000 / 1,000 / 1000.5 / 一千五 /
    一万二 / 1.5万 / 两千块 / 1k / 三百块钱 / ¥800 / 800元. A number marked as money wins over a
    bare one (15还1000 → 1000); dates (15号), periods (6期), months (3个月), phone and ID numbers
    are never amounts.
    """
    text = english_as_chinese(_without_phone_numbers(normalize_text(text)))
    bare: Decimal | None = None
    for m in _AMOUNT_TOKEN_RE.finditer(text):
        value = _classify_amount(text, m)
        if value is not None:
            return _to_cents(value)
        if bare is None:
            bare = _bare_amount(text, m)
    return _to_cents(bare)


_QUESTION_RE = re.compile(r"[?？]|[吗嘛么呢][\s!！。~～]*$|吗|会不会|能不能|可不可以|可以不|是不是|有没有|要不要|多少|"
                          r"怎么|咋|什么|啥|为什么|为啥|哪|[会能有是要行可收][^,,。]*[不没][\s!！。~～]*$")


_EN_QUESTION_RE = re.compile(
    r"^\s*(?:can|could|will|would|is|are|am|do|does|did|should|shall|may|must|how|what|whats|what's|when|why|where|"
    r"which|who|isn'?t|aren'?t|won'?t|don'?t|doesn'?t)\b|\b(?:how much|is there|are there|do i have to|will it|will i|"
    r"does it|would it)\b", re.I)


def is_question(text: str) -> bool:
    """The message asks something ("分期要另外收手续费吗", "延期会不会上征信") rather than states or answers."""
    text = normalize_text(text)
    return bool(_QUESTION_RE.search(text) or _EN_QUESTION_RE.search(text))


# "分期会影响征信吗": a question about the credit report
CREDIT_CUE = re.compile(r"征信|信用记录|信用报告|黑名单|\bcredit (?:report|record|score|history)\b", re.I)

# "要多久能批下来", "审核要几天": how long until a request is decided (a question by its own words)
_WHEN = r"(?:多久|多长时间|几天|几个工作日|什么时候|啥时候|何时)"
_DECIDED = r"(?:批|审|通过|结果|下来|答复|回复|处理)"
DECISION_TIME_CUE = re.compile(rf"{_WHEN}.{{0,6}}{_DECIDED}|{_DECIDED}.{{0,6}}{_WHEN}"
                               r"|\bhow long\b.{0,40}\b(?:approv\w*|review\w*|decid\w*|decision|take)\b"
                               r"|\bwhen will\b.{0,40}\b(?:approv\w*|review\w*|decid\w*|know)\b", re.I)


# a plan named inside a message about something else ("看看欠多少 另外能不能延期", "想延期俩月 孩子住院了")
REQUEST_CUES = {
    "deferral": re.compile("延期|推迟|往后推|缓[一两俩几个些]|宽限|晚点还|晚几个月"
                           r"|\b(?:defer\w*|postpon\w*|delay\w*|extension|extend|more time|grace period)\b", re.I),
    "installment": re.compile("分期|分[0-9几两俩三六十]+[个期]|分成[0-9几两俩三六十]+"
                              r"|\b(?:installments?|instalments?|payment plan|split (?:it|the|my)\b)", re.I),
}
# what comes before a plan named to refuse it: "不延期了", "别让我分期", "不想再申请延期", "don't want an extension"
REFUSED_BEFORE = re.compile(r"(?:不|别|没|甭)(?:想|要|用|再|打算|申请|办|考虑|让|给|我)*\s*$"
                            r"|\b(?:no|not|don'?t(?: want)?)\s+(?:an?\s+|the\s+|to\s+)?$", re.I)


def plans_named(text: str) -> list[str]:
    return [kind for kind, cue in REQUEST_CUES.items() if cue.search(text)]


def plans_wanted(text: str) -> list[str]:
    """The plans a message names other than to refuse them: "算了 还是分期吧" wants an installment plan,
    "算了 不延期了" no plan at all."""
    return list(_where_wanted(text))


def _where_wanted(text: str) -> dict[str, int]:
    """Each plan the message wants (plans_wanted), with where it is first named other than to refuse it."""
    found = {}
    for kind, cue in REQUEST_CUES.items():
        at = next((m.start() for m in cue.finditer(text) if not REFUSED_BEFORE.search(text[:m.start()])), None)
        if at is not None:
            found[kind] = at
    return found


# "每月5号还2000能分期吗": a plan's own payments, not a promise beside it
_EVERY_PERIOD_RE = re.compile(r"每\s?(?:个\s?)?(?:月|期|周|星期|礼拜)"
                              r"|\b(?:every|each|per|a) (?:month|period|week)\b", re.I)


def plan_after_promise(text: str, today: dt.date) -> str | None:
    """The plan asked for after a promise in the same message: "我下个月5号还2000 剩下的能分期吗" promises a
    day and an amount, then wants an installment plan (for the rest). The words before the plan must name
    both a day and an amount, and not a plan's own payments ("每月5号还2000能分期吗"). None without a promise,
    or without one plan wanted."""
    wanted = _where_wanted(text)
    if len(wanted) != 1:
        return None
    [(kind, at)] = wanted.items()
    before = text[:at]
    if _EVERY_PERIOD_RE.search(before) or parse_date(before, today) is None or find_amount(before) is None:
        return None
    return kind


# "你们是不是骗子" asked beside something else ("我欠多少 顺便问下你们是不是骗子"): answered before the identity check
LEGITIMACY_CUE = re.compile(r"骗子|诈骗|骗人|骗局|冒充|是不是(?:真的|官方|正规)|正规(?:的|平台|公司)?吗|官方的吗"
                            r"|\b(?:scam\w*|fraud\w*|legit\w*)\b", re.I)


# the plan was someone else's offer, not the borrower's request: "有人打电话让我分期 是不是骗子" is a scam check
SOMEONE_ELSE_CUE = re.compile(r"有人|别人|陌生人|对方|自称|冒充|打电话|打来|来电|短信|微信上|加我|让我|叫我|要我|劝我"
                              r"|\b(?:someone|somebody|they told|called me|texted me)\b", re.I)


# a hardship told beside the request without 因为: "我想延期俩月 孩子生病住院花了不少钱"
HARDSHIP_CUE = re.compile("失业|没工作|丢了工作|被裁|裁员|降薪|工资|发不出|生病|病了|住院|手术|看病|医院|车祸|受伤|"
                          "生意|赔了|亏了|倒闭|破产|疫情|离婚|怀孕|生孩子|去世|没钱|没收入|收入|困难|周转"
                          r"|\b(?:lost my job|laid off|unemployed|fired|sick|ill|hospital\w*|surgery|accident|salary|"
                          r"income|business|bankrupt\w*|divorce\w*|pregnan\w*|no money|broke|hardship)\b", re.I)
