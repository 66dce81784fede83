import datetime as dt
from decimal import Decimal

import pytest

from kuanxin.core.zh_parse import (
    DECISION_TIME_CUE,
    PHONE_NUMBER_RE,
    digits_to_ascii,
    find_amount,
    find_money,
    find_month_count,
    find_period_count,
    is_question,
    normalize_text,
    parse_chinese_number,
    parse_date,
    plans_wanted,
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
        # Traditional characters read like Simplified ones
        ("我想延期兩個月", "我想延期两个月"),
        ("分十二期還款", "分十二期还款"),
        ("下週五先還一萬二", "下周五先还一万二"),
        ("身份證後四位", "身份证后四位"),
        ("手機號碼", "手机号码"),
        ("幺三八", "幺三八"),  # 幺 is not 麼
        ("逾期了怎么办", "逾期了怎么办"),  # Simplified text is left as it is
    ],
)
def test_normalize_text(text, expected):
    assert normalize_text(text) == expected


def test_normalize_text_converts_long_traditional_text_in_linear_time():
    assert normalize_text("後" * 5000) == "后" * 5000
    assert normalize_text("還款，" * 2000) == "还款," * 1999 + "还款,"


@pytest.mark.parametrize(
    "parse, text, expected",
    [
        (lambda t: find_month_count(t), "延期兩個月", 2),
        (lambda t: find_period_count(t), "分兩年", 24),
        (lambda t: find_period_count(t), "十二期吧", 12),
        (lambda t: find_amount(t), "兩千塊", Decimal("2000.00")),
        (lambda t: find_amount(t), "15號我先還1000", Decimal("1000.00")),
        (lambda t: find_money(t), "還一萬二", Decimal("12000.00")),
        (lambda t: parse_date(t, WEDNESDAY), "下週五", D(2026, 5, 22)),
        (lambda t: parse_date(t, WEDNESDAY), "下個月15號", D(2026, 6, 15)),
    ],
)
def test_traditional_characters_parse_like_simplified(parse, text, expected):
    assert parse(text) == expected


# --------------------------------------------------------------------------- digits read one by one

@pytest.mark.parametrize(
    "text, expected",
    [
        ("幺三八一二三四五六七八", "13812345678"),
        ("一三七零零零零两两两两", "13700002222"),
        ("〇〇幺九", "0019"),
        ("一二三X", "123X"),
        ("两个月", "两个月"),  # a count, not a digit
        ("两三天", "两三天"),  # a range
        ("一千五", "一千五"),  # units make it a number
        ("138一二三四5678", "13812345678"),
    ],
)
def test_digits_to_ascii(text, expected):
    assert digits_to_ascii(text) == expected


@pytest.mark.parametrize(
    "text, phone",
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "138 1234 5678"),
        ("+86 138-1234-5678", "138-1234-5678"),
        ("0086 138.1234.5678", "138.1234.5678"),
        ("8613812345678", "13812345678"),
        ("(+86)13812345678", "13812345678"),
        ("138 1234 5678 123X", "138 1234 5678"),
        ("138 1234 567", None),
        ("138123456789", None),
        ("12812345678", None),
        ("1,000", None),
    ],
)
def test_phone_number_re(text, phone):
    m = PHONE_NUMBER_RE.search(normalize_text(text))
    assert (m["phone"] if m else None) == phone


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
        ("两个月吧", 2),
        ("兩個月吧", 2),
        ("仨月", 3),
        ("就仨月吧", 3),
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
        "一个半月",  # halves are refused, not rounded
        "一个半月?",
        "一个月半",
        "延期三个月半",
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
        ("十二期", 12),
        ("一年", 12),
        ("两年", 24),
        ("兩年吧", 24),
        ("三年", 36),
        ("一年半", 18),
        ("分期的话两年可以吗", 24),
        ("分半年", 6),
        ("半年", 6),
        ("一年还是两年好呢，先分12期", 12),  # a count in 期 wins over years
    ],
)
def test_find_period_count(text, expected):
    assert find_period_count(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "分期", "逾期", "第三期", "前三期", "本期", "M3期", "2026期", "分两三期", "分0期", "分999期",
     "延期两个月", "还500块", "逾期一年了", "我已经拖了一年", "一年利息多少", "去年", "今年", "明年再说",
     "上一年", "一年期", "2026年"],
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
        ("3月5号", D(2027, 3, 5)),  # passed over a month ago: next year
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
        (D(2026, 12, 20), "12月3日", D(2026, 12, 3)),  # 17 days ago, not a year ahead
        (D(2026, 12, 20), "12/3", D(2026, 12, 3)),
        (D(2026, 12, 28), "1月5号", D(2027, 1, 5)),
        (D(2027, 1, 3), "12月30号", D(2026, 12, 30)),
        (D(2026, 11, 22), "11月20号", D(2026, 11, 20)),
        (D(2026, 11, 22), "10月底", D(2026, 10, 31)),
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


# --------------------------------------------------------------------------- find_amount

@pytest.mark.parametrize(
    "text, expected",
    [
        ("1000", "1000.00"),
        ("1,000", "1000.00"),
        ("1000.5", "1000.50"),
        ("一千", "1000.00"),
        ("一千五", "1500.00"),
        ("一万二", "12000.00"),
        ("1.5万", "15000.00"),
        ("两千块", "2000.00"),
        ("1k", "1000.00"),
        ("2K", "2000.00"),
        ("三百块钱", "300.00"),
        ("三百", "300.00"),
        ("¥800", "800.00"),
        ("￥800", "800.00"),
        ("800元", "800.00"),
        ("１０００", "1000.00"),
        ("1000.555", "1000.56"),  # ROUND_HALF_UP to the cent
        ("1000.554", "1000.55"),
        ("15号我先还1000", "1000.00"),
        ("我15还1000", "1000.00"),  # money said as money wins over a bare number
        ("15号我先还一千五", "1500.00"),
        ("下周五还800吧", "800.00"),
        ("先还1000.5元", "1000.50"),
        ("好的,1000", "1000.00"),
        ("还款金额: 1000", "1000.00"),
        ("约1000吧", "1000.00"),
        ("手机138 1234 5678 还500", "500.00"),
        ("我手机13812345678,先还800", "800.00"),
        ("分6期，每期800元", "800.00"),
        ("3个月后还2000", "2000.00"),
        ("兩千塊", "2000.00"),
    ],
)
def test_find_amount(text, expected):
    assert find_amount(text) == Decimal(expected)
    assert find_amount(text).as_tuple().exponent == -2


@pytest.mark.parametrize(
    "text",
    [
        "",
        "15号",  # a date
        "15日",
        "下个月15",
        "12/3",
        "2026-12-03",
        "10:30",
        "13812345678",  # a phone number
        "138 1234 5678",
        "+86 138-1234-5678",
        "幺三八一二三四五六七八",
        "11010119900307123X",  # an ID number
        "123X",
        "6期",  # a period count
        "十二期",
        "3个月",  # months
        "两个月",
        "2026年",
        "3天",
        "第3",
        "B1001",
        "十二",  # a bare small Chinese number is a count more often than money
        "三",
        "我先还一部分",
        "1,1,1",
        "1.1.1",
        "123456789",  # nine digits: no borrower owes that
    ],
)
def test_find_amount_none(text):
    assert find_amount(text) is None


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
    find_amount,
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


@pytest.mark.parametrize("text, asks", [
    ("分期要另外收手续费吗", True), ("分期的话会上征信不", True), ("有利息没", True), ("延期多久都行？", True),
    ("分几期比较划算呢", True), ("为啥要审核", True),
    ("我要分期", False), ("分6期", False), ("好的 分期吧", False), ("我不要分期", False), ("12期", False),
])
def test_a_question_is_told_from_an_answer(text, asks):
    assert is_question(text) is asks


@pytest.mark.parametrize("text, asks", [
    ("要多久能批下来", True), ("审核要几天", True), ("啥时候有结果", True), ("这个多长时间能审完", True),
    ("how long does the review take", True), ("when will i know", True),
    ("逾期了多久了", False), ("还清了征信多久能恢复", False), ("延期多久都行", False), ("确认", False),
])
def test_a_question_about_how_long_a_decision_takes(text, asks):
    assert bool(DECISION_TIME_CUE.search(text)) is asks


# --------------------------------------------------------------------------- English (zh_parse.english_as_chinese)
EN_TODAY = dt.date(2026, 11, 22)  # a Sunday, as the end-to-end tests pin it


@pytest.mark.parametrize("text, months", [
    ("two months", 2), ("defer 2 months", 2), ("3 months because i lost my job", 3),
    ("can i delay by three months", 3), ("a month", 1), ("postpone for a couple of months", 2),
    ("i'm 2 months overdue, can i defer 3 months", 3), ("defer 3 mths", 3), ("half a year", 6),
    ("i lost my job", None), ("defer please", None),
])
def test_english_month_counts(text, months):
    assert find_month_count(text) == months


@pytest.mark.parametrize("text, periods", [
    ("6 installments", 6), ("twelve installments", 12), ("can i pay in 6 installments", 6),
    ("split into 12 months", 12), ("pay in 6 instalments", 6), ("24 periods", 24), ("make it 12", 12),
    ("3 payments", 3), ("over a year", 12), ("thirty-six installments", 36), ("installments please", None),
])
def test_english_period_counts(text, periods):
    assert find_period_count(text) == periods


@pytest.mark.parametrize("text, day", [
    ("next friday", dt.date(2026, 11, 27)), ("this friday", dt.date(2026, 11, 27)), ("friday", dt.date(2026, 11, 27)),
    ("on the 15th", dt.date(2026, 12, 15)), ("the 15th", dt.date(2026, 12, 15)), ("by the 30th", dt.date(2026, 11, 30)),
    ("end of the month", dt.date(2026, 11, 30)), ("tomorrow", dt.date(2026, 11, 23)),
    ("the day after tomorrow", dt.date(2026, 11, 24)), ("in 10 days", dt.date(2026, 12, 2)),
    ("december 1st", dt.date(2026, 12, 1)), ("dec 20", dt.date(2026, 12, 20)),
    ("on 15 december", dt.date(2026, 12, 15)), ("i have no money", None),
    ("i'll pay 1000 on the 15th", dt.date(2026, 12, 15)), ("i'll pay soon", None),
])
def test_english_dates(text, day):
    assert parse_date(text, EN_TODAY) == day


@pytest.mark.parametrize("text, amount", [
    ("i'll pay 1000 on the 15th", "1000.00"), ("ill pay 1k on the 15th", "1000.00"), ("500 yuan", "500.00"),
    ("2,000 rmb", "2000.00"), ("1.5k", "1500.00"), ("pay 3000 on the 25th", "3000.00"),
    ("i can pay 800 this friday", "800.00"), ("i will pay everything next friday", None), ("on the 15th", None),
])
def test_english_amounts(text, amount):
    assert find_amount(text) == (Decimal(amount) if amount else None)


def test_chinese_is_read_as_before_when_a_message_has_no_english():
    from kuanxin.core.zh_parse import english_as_chinese

    for text in ("延期两个月", "下周五还1000", "分6期", "15号", "APR是多少"):
        assert english_as_chinese(text) == text or text == "APR是多少"
    assert find_month_count("延期两个月") == 2 and find_period_count("分6期") == 6
    assert parse_date("下周五", EN_TODAY) == dt.date(2026, 11, 27)


@pytest.mark.parametrize("text, wanted", [
    ("算了 还是分期吧", ["installment"]),
    ("不要了 分期吧", ["installment"]),
    ("算了不延期了 还是分期吧", ["installment"]),
    ("算了 不延期了", []),
    ("别分期了", []),
    ("不想再申请延期", []),
    ("算了", []),
    ("never mind, a payment plan please", ["installment"]),
    ("I don't want an extension", []),
])
def test_plans_wanted_are_named_and_not_refused(text, wanted):
    assert plans_wanted(text) == wanted


@pytest.mark.parametrize("text, plan", [
    ("我下个月5号还2000 剩下的能分期吗", "installment"),
    ("15号先还1000,剩余的申请延期可以吗", "deferral"),
    ("月底我能还五百块 其他的分6期吧", "installment"),
    ("下周五还1500 剩下的我不想分期 想延期", "deferral"),  # the plan refused is not the one wanted
])
def test_a_plan_asked_after_a_promise_is_found(text, plan):
    from kuanxin.core.zh_parse import plan_after_promise

    assert plan_after_promise(text, SUNDAY) == plan


@pytest.mark.parametrize("text", [
    "我想分期",
    "15号还1000",  # a promise alone
    "我下个月5号还 剩下的能分期吗",  # no amount: not a promise said whole
    "还2000 剩下的分期",  # no day
    "每个月5号还2000能分期吗",  # the plan's own payments
    "分期的话下个月5号还2000吗",  # the plan asked first: its terms, not a promise
    "下个月5号还2000 不分期了",  # no plan wanted
    "下个月5号还2000 分期还是延期好",  # which plan is not said
])
def test_no_plan_after_a_promise_is_found_in_anything_else(text):
    from kuanxin.core.zh_parse import plan_after_promise

    assert plan_after_promise(text, SUNDAY) is None
