import datetime as dt
from decimal import Decimal

import pytest

from kuanxin.zh_parse import (
    find_money,
    find_month_count,
    find_period_count,
    normalize_text,
    parse_chinese_number,
    parse_date,
)

D = dt.date
WEDNESDAY = D(2026, 5, 13)
SUNDAY = D(2026, 11, 22)
MONDAY = D(2026, 11, 23)


def test_reference_weekdays():
    assert (WEDNESDAY.weekday(), SUNDAY.weekday(), MONDAY.weekday()) == (2, 6, 0)


# --------------------------------------------------------------------------- normalize_text

@pytest.mark.parametrize(
    "text, expected",
    [
        ("", ""),
        ("   ", ""),
        ("１５号", "15号"),
        ("Ｈｅｌｌｏ　ｗｏｒｌｄ", "Hello world"),
        ("还，５００块！", "还,500块!"),
        ("2026／12／3", "2026/12/3"),
        ("a\t\n\r  b", "a b"),
        ("1\x002\x1f3\x7f", "123"),
        ("12\u200b号\ufeff", "12号"),
        ("\u202e明天", "明天"),
        ("\ud800坏\udfff", "坏"),
        ("还款😀", "还款😀"),
    ],
)
def test_normalize_text(text, expected):
    assert normalize_text(text) == expected


# --------------------------------------------------------------------------- parse_chinese_number

@pytest.mark.parametrize(
    "token, expected",
    [
        ("6", 6),
        ("０", 0),
        ("１５", 15),
        ("六", 6),
        ("两", 2),
        ("俩", 2),
        ("仨", 3),
        ("幺", 1),
        ("零", 0),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("二十三", 23),
        ("一百", 100),
        ("一百零五", 105),
        ("一百二", 120),
        ("一千零一十", 1010),
        ("两千五", 2500),
        ("三千", 3000),
        ("一万", 10000),
        ("十万", 100000),
        ("一万二", 12000),
        ("一万二千五", 12500),
        ("一万零五百", 10500),
        ("一亿二千万", 120000000),
        ("壹仟贰佰", 1200),
        ("2万", 20000),
        ("2万5", 25000),
        ("2万5000", 25000),
        ("1.5万", 15000),
        ("1,200", 1200),
        ("二零二六", 2026),
        ("幺二", 12),
        (" 12 ", 12),
    ],
)
def test_parse_chinese_number(token, expected):
    assert parse_chinese_number(token) == expected


@pytest.mark.parametrize(
    "token",
    ["", " ", "abc", "万", "百", "千万", "万一", "十十", "百十", "三五百", "两三", "1.5", "1,2000",
     "一点五", "-5", "12a", "六个", "9" * 30, "一" * 5000, "😀", "'; DROP TABLE x; --"],
)
def test_parse_chinese_number_rejects(token):
    assert parse_chinese_number(token) is None


# --------------------------------------------------------------------------- find_month_count

@pytest.mark.parametrize(
    "text, expected",
    [
        ("延期两个月", 2),
        ("推迟3个月", 3),
        ("推迟３个月", 3),
        ("缓一个月", 1),
        ("延后俩月", 2),
        ("仨月", 3),
        ("半年", 6),
        ("延期半年", 6),
        ("延期一年", 12),
        ("一年半", 18),
        ("延期十年", 120),
        ("一个季度", 3),
        ("两个季度", 6),
        ("延期三月", 3),
        ("延期十二个月", 12),
        ("延期 2 个月", 2),
        ("我想推迟2个月还款", 2),
        ("能不能缓缓，三个月", 3),
        ("两个月后再还", 2),
        ("延期3个月，下个月5号还", 3),
        ("逾期三个月了，想延期两个月", 2),  # the deferral wins over the overdue duration
    ],
)
def test_find_month_count(text, expected):
    assert find_month_count(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "三月五号",  # a date
        "12月3日还",  # a date
        "延期12月3日",
        "二月",
        "延期到三月",  # until March, not three months
        "下个月",
        "下一个月",
        "这两个月",
        "上半年",
        "分24个月还",  # installments, not a deferral
        "两三个月",  # a range
        "延期一个多月",
        "延期两个半月",
        "延期零个月",
        "延期1000个月",
        "延期二十年",
        "2026年",
        "30天",
        "我想延期",
    ],
)
def test_find_month_count_none(text):
    assert find_month_count(text) is None


# --------------------------------------------------------------------------- find_period_count

@pytest.mark.parametrize(
    "text, expected",
    [
        ("分6期", 6),
        ("分 6 期", 6),
        ("分６期", 6),
        ("分成十二期", 12),
        ("分成24期", 24),
        ("12期", 12),
        ("三期", 3),
        ("分24个月还", 24),
        ("分12个月", 12),
        ("分十二个月还", 12),
        ("分两年", 24),
        ("分一年还", 12),
        ("分半年", 6),
        ("分一年半", 18),
        ("分三次还", 3),
        ("分期12期", 12),
        ("分期两年", 24),
        ("我想分期还，12期可以吗", 12),
        ("我有12期，想分6期", 6),  # an explicit split wins over a bare count
    ],
)
def test_find_period_count(text, expected):
    assert find_period_count(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "分期", "逾期", "第三期", "前三期", "本期", "M3期", "2026期", "分两三期", "分0期", "分999期",
     "延期两个月", "还500块"],
)
def test_find_period_count_none(text):
    assert find_period_count(text) is None


# --------------------------------------------------------------------------- parse_date

@pytest.mark.parametrize(
    "text, expected",
    [
        # relative days
        ("今天", D(2026, 5, 13)),
        ("今日还", D(2026, 5, 13)),
        ("明天", D(2026, 5, 14)),
        ("明日", D(2026, 5, 14)),
        ("后天", D(2026, 5, 15)),
        ("大后天", D(2026, 5, 16)),
        ("昨天", D(2026, 5, 12)),
        ("3天后", D(2026, 5, 16)),
        ("３天后", D(2026, 5, 16)),
        ("三天之后", D(2026, 5, 16)),
        ("十天以后", D(2026, 5, 23)),
        ("过两天", D(2026, 5, 15)),
        ("过10天再说", D(2026, 5, 23)),
        ("15日后", D(2026, 5, 28)),
        # weekdays: today is a Wednesday
        ("这周五", D(2026, 5, 15)),
        ("本周五", D(2026, 5, 15)),
        ("这个星期五", D(2026, 5, 15)),
        ("周五", D(2026, 5, 15)),
        ("星期五", D(2026, 5, 15)),
        ("礼拜五", D(2026, 5, 15)),
        ("周5", D(2026, 5, 15)),
        ("周三", D(2026, 5, 13)),
        ("周一", D(2026, 5, 18)),  # already past this week: next week's
        ("这周一", D(2026, 5, 11)),  # explicit 这周 stays in this week
        ("周日", D(2026, 5, 17)),
        ("星期天", D(2026, 5, 17)),
        ("礼拜天", D(2026, 5, 17)),
        ("下周五", D(2026, 5, 22)),
        ("下星期五", D(2026, 5, 22)),
        ("下个礼拜五", D(2026, 5, 22)),
        ("下周日", D(2026, 5, 24)),
        ("下下周一", D(2026, 5, 25)),
        ("上周五", D(2026, 5, 8)),
        ("早上周五", D(2026, 5, 15)),  # 早上 is "morning", not "last"
        # day of month
        ("15号", D(2026, 5, 15)),
        ("15日", D(2026, 5, 15)),
        ("十五号", D(2026, 5, 15)),
        ("１５号", D(2026, 5, 15)),
        ("13号", D(2026, 5, 13)),
        ("5号", D(2026, 6, 5)),
        ("31号", D(2026, 5, 31)),
        ("我15号前还", D(2026, 5, 15)),
        # month ends and starts
        ("月底", D(2026, 5, 31)),
        ("这个月底", D(2026, 5, 31)),
        ("月末", D(2026, 5, 31)),
        ("下个月底", D(2026, 6, 30)),
        ("下月底", D(2026, 6, 30)),
        ("月初", D(2026, 6, 1)),
        ("下个月初", D(2026, 6, 1)),
        ("下月初", D(2026, 6, 1)),
        ("下个月5号", D(2026, 6, 5)),
        ("下月5日", D(2026, 6, 5)),
        ("下个月的十五号", D(2026, 6, 15)),
        ("12月底", D(2026, 12, 31)),
        ("3月初", D(2027, 3, 1)),
        # month and day
        ("12月3日", D(2026, 12, 3)),
        ("12月3号", D(2026, 12, 3)),
        ("十二月三号", D(2026, 12, 3)),
        ("3月5号", D(2027, 3, 5)),  # already past this year
        ("5月13号", D(2026, 5, 13)),
        ("明年3月5号", D(2027, 3, 5)),
        # full and numeric dates
        ("2026-12-03", D(2026, 12, 3)),
        ("2026/12/3", D(2026, 12, 3)),
        ("2026.12.3", D(2026, 12, 3)),
        ("2026年12月3日", D(2026, 12, 3)),
        ("2026年12月3", D(2026, 12, 3)),
        ("二零二六年十二月三日", D(2026, 12, 3)),
        ("2025年1月1日", D(2025, 1, 1)),
        ("12/3", D(2026, 12, 3)),
        ("1/5", D(2027, 1, 5)),
        # first expression wins; noise around it is ignored
        ("我电话13812345678，明天还500块", D(2026, 5, 14)),
        ("分6期，下周五先还第一期", D(2026, 5, 22)),
        ("今天是15号", D(2026, 5, 13)),
        ("下个月5号还3000，可以吗", D(2026, 6, 5)),
        ("<b>2026-12-03</b>", D(2026, 12, 3)),
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text, WEDNESDAY) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "你好",
        "还500块",
        "分6期",
        "12期",
        "13812345678",
        "我想延期两个月",
        "2月30日",
        "2026-02-30",
        "2026-13-01",
        "13月5号",
        "32号",
        "3月5个人",
        "3号楼",
        "5号线",
        "30日内还清",
        "一周五次",
        "两周后",
        "逾期超过3天",
        "下周",
        "12-3",
        "2026年",
    ],
)
def test_parse_date_none(text):
    assert parse_date(text, WEDNESDAY) is None


@pytest.mark.parametrize(
    "today, text, expected",
    [
        # weekday edges: today is a Sunday (the last day of its week)
        (SUNDAY, "周日", SUNDAY),
        (SUNDAY, "这周日", SUNDAY),
        (SUNDAY, "星期天", SUNDAY),
        (SUNDAY, "周五", D(2026, 11, 27)),
        (SUNDAY, "这周五", D(2026, 11, 20)),
        (SUNDAY, "下周五", D(2026, 11, 27)),
        (SUNDAY, "周一", D(2026, 11, 23)),
        (SUNDAY, "下周一", D(2026, 11, 23)),
        (SUNDAY, "下周日", D(2026, 11, 29)),
        # today is a Monday
        (MONDAY, "周一", MONDAY),
        (MONDAY, "下周一", D(2026, 11, 30)),
        (MONDAY, "下下周一", D(2026, 12, 7)),
        (MONDAY, "周日", D(2026, 11, 29)),
        (MONDAY, "上周五", D(2026, 11, 20)),
        # month end: 2026-01-31
        (D(2026, 1, 31), "明天", D(2026, 2, 1)),
        (D(2026, 1, 31), "月底", D(2026, 1, 31)),
        (D(2026, 1, 31), "月初", D(2026, 2, 1)),
        (D(2026, 1, 31), "下个月底", D(2026, 2, 28)),
        (D(2026, 1, 31), "下个月5号", D(2026, 2, 5)),
        (D(2026, 1, 31), "31号", D(2026, 1, 31)),
        (D(2026, 1, 31), "15号", D(2026, 2, 15)),
        (D(2026, 1, 31), "2月28日", D(2026, 2, 28)),
        # month end: 2026-02-28
        (D(2026, 2, 28), "月底", D(2026, 2, 28)),
        (D(2026, 2, 28), "明天", D(2026, 3, 1)),
        (D(2026, 2, 28), "下个月底", D(2026, 3, 31)),
        (D(2026, 2, 28), "28号", D(2026, 2, 28)),
        (D(2026, 2, 28), "1号", D(2026, 3, 1)),
        (D(2026, 2, 28), "3天后", D(2026, 3, 3)),
        # leap years
        (D(2028, 2, 29), "月底", D(2028, 2, 29)),
        (D(2028, 2, 29), "下个月底", D(2028, 3, 31)),
        (D(2028, 2, 29), "明天", D(2028, 3, 1)),
        (D(2028, 2, 29), "29号", D(2028, 2, 29)),
        (D(2028, 2, 29), "15号", D(2028, 3, 15)),
        (D(2028, 2, 29), "下个月5号", D(2028, 3, 5)),
        (D(2028, 2, 29), "2月29日", D(2028, 2, 29)),
        (D(2028, 1, 31), "下个月底", D(2028, 2, 29)),
        (D(2027, 3, 1), "2月29日", D(2028, 2, 29)),  # next occurrence is in the leap year
        (D(2027, 12, 20), "2月29日", D(2028, 2, 29)),
        (D(2028, 2, 1), "2028-02-29", D(2028, 2, 29)),
        # year rollover: 2026-12-20 (a Sunday)
        (D(2026, 12, 20), "1月5日", D(2027, 1, 5)),
        (D(2026, 12, 20), "下个月5号", D(2027, 1, 5)),
        (D(2026, 12, 20), "下个月底", D(2027, 1, 31)),
        (D(2026, 12, 20), "月初", D(2027, 1, 1)),
        (D(2026, 12, 20), "10号", D(2027, 1, 10)),
        (D(2026, 12, 20), "31号", D(2026, 12, 31)),
        (D(2026, 12, 20), "12月25日", D(2026, 12, 25)),
        (D(2026, 12, 20), "12月3日", D(2027, 12, 3)),
        (D(2026, 12, 20), "12/3", D(2027, 12, 3)),
        (D(2026, 12, 20), "周五", D(2026, 12, 25)),
        (D(2026, 12, 31), "明天", D(2027, 1, 1)),
        (D(2026, 12, 31), "下周五", D(2027, 1, 8)),
        # a datetime is accepted as today
        (dt.datetime(2026, 5, 13, 23, 59), "明天", D(2026, 5, 14)),
    ],
)
def test_parse_date_edges(today, text, expected):
    assert parse_date(text, today) == expected


@pytest.mark.parametrize(
    "today, text",
    [
        (D(2026, 11, 10), "31号"),  # November has no 31st
        (D(2026, 1, 31), "30号"),  # already past, and February has no 30th
        (D(2026, 2, 28), "29号"),  # 2026 is not a leap year
        (D(2026, 1, 10), "2月29日"),
        (D(2028, 2, 29), "30号"),
        (D(2026, 5, 13), "下个月31号"),  # June has 30 days
        (D(9999, 12, 31), "明天"),  # beyond the calendar
        (D(9999, 12, 31), "下个月底"),
    ],
)
def test_parse_date_impossible_days(today, text):
    assert parse_date(text, today) is None


# --------------------------------------------------------------------------- find_money

@pytest.mark.parametrize(
    "text, expected",
    [
        ("500块", "500.00"),
        ("还500块", "500.00"),
        ("５００元", "500.00"),
        ("100块钱", "100.00"),
        ("500多块", "500.00"),
        ("一千二百元", "1200.00"),
        ("两千五百块", "2500.00"),
        ("1,200.50元", "1200.50"),
        ("1200.5元", "1200.50"),
        ("1.005元", "1.01"),  # ROUND_HALF_UP
        ("¥99.995", "100.00"),
        ("￥ 1,200", "1200.00"),
        ("人民币800", "800.00"),
        ("300rmb", "300.00"),
        ("一万二", "12000.00"),
        ("一万二千五", "12500.00"),
        ("一万零五百元", "10500.00"),
        ("我欠了两万", "20000.00"),
        ("三千", "3000.00"),
        ("2万", "20000.00"),
        ("1.5万", "15000.00"),
        ("3k", "3000.00"),
        ("3.5K", "3500.00"),
        ("1.5w", "15000.00"),
        ("三块五", "3.50"),
        ("5块5毛", "5.50"),
        ("还500", "500.00"),
        ("每个月还一千五", "1500.00"),
        ("每期500", "500.00"),
        ("5号还500块", "500.00"),
        ("下周五还3000", "3000.00"),
        ("手机号13812345678还500", "500.00"),
        ("分6期，每期800元", "800.00"),
        ("5000000000元", "5000000000.00"),
        ("0元", "0.00"),
    ],
)
def test_find_money(text, expected):
    assert find_money(text) == Decimal(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "我没钱",
        "13812345678",
        "99999999999元",  # 11 digits: a phone number
        "12月3日还",
        "还12月3日",
        "2026-12-03",
        "2026年12月3日",
        "分6期",
        "还了3期",
        "延期两个月",
        "还两天",
        "5号",
        "打3折",
        "3kg",
        "还一部分",
        "一块儿去",
        "千万别催",
        "万一还不上",
        "几千块",
        "1,2000元",
    ],
)
def test_find_money_none(text):
    assert find_money(text) is None


# --------------------------------------------------------------------------- hostile input

HOSTILE = [
    "",
    " ",
    "\x00\x01\x02\x1b[31m",
    "😀" * 5000,
    "1" * 5000,
    "９" * 5000,
    "一" * 5000,
    "万" * 5000,
    "1," * 2500,
    "1." * 2500,
    "号" * 5000,
    "分" * 5000,
    "周" * 5000,
    "下" * 5000,
    "块" * 5000,
    "1/" * 2500,
    "2026-" * 1000,
    "\ud800\udfff",
    "\u202e\u200b",
    "'; DROP TABLE loans; --",
    "<script>alert(1)</script>",
    "SELECT * FROM users WHERE id = 1 OR 1=1",
]
PARSERS = [
    parse_chinese_number,
    find_month_count,
    find_period_count,
    find_money,
    lambda text: parse_date(text, WEDNESDAY),
]


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("parse", PARSERS)
def test_hostile_input_gives_none(parse, text):
    assert parse(text) is None


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_normalizes_without_raising(text):
    assert isinstance(normalize_text(text), str)


@pytest.mark.parametrize(
    "text",
    [
        "１２" * 2500,
        "12月" * 2000,
        "3个月" * 1600,
        "延期" * 2500 + "两个月",
        "过" * 5000,
        "天后" * 2500,
        "1块" * 2500,
        "分1" * 2500,
        "'; DROP TABLE loans; -- 明天还500块，分6期" * 100,
    ],
)
@pytest.mark.parametrize("parse", PARSERS)
def test_repetitive_input_does_not_raise(parse, text):
    # Speed is measured in the benchmarks; here the parsers only have to come back without raising.
    parse(text)


def test_typical_message_fills_every_figure():
    message = "您好，我这个月实在周转不开，想延期两个月，下个月15号先还500块，可以吗？"
    assert (find_month_count(message), parse_date(message, WEDNESDAY), find_money(message)) == (
        2, D(2026, 6, 15), Decimal("500.00"))
