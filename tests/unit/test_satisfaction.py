"""Borrower satisfaction (issue 19 item 4): typed answers, the rules on a real database (once a Beijing day per
borrower at the day boundary, once per conversation, never where the safety protocol ran), append-only answers and
masked comments, the policy section, and the figures in the console report and its CSV."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select

from kuanxin.console import analytics
from kuanxin.core import clock
from kuanxin.core.policy import PolicyError, SatisfactionPolicy, parse_satisfaction
from kuanxin.core.vocab import SatisfactionOutcome, SatisfactionRating
from kuanxin.lending import satisfaction
from kuanxin.store.accounts import Accounts
from kuanxin.store.demo import demo_document
from kuanxin.store.importer import load_document
from kuanxin.store.models import SatisfactionAsk, SatisfactionComment, SatisfactionRatingRecord
from kuanxin.store.satisfaction import Satisfaction

DAY = dt.date(2026, 12, 6)
GOOD, NEUTRAL, BAD = SatisfactionRating.GOOD, SatisfactionRating.NEUTRAL, SatisfactionRating.BAD


def beijing(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), clock.BEIJING)


def ask(store: Satisfaction, conversation: str, borrower: str | None, day: dt.date = DAY, hour: int = 10,
        minute: int = 0, outcome: SatisfactionOutcome = SatisfactionOutcome.PROMISE, topic: str = "promise_to_pay",
        channel: str = "webchat"):
    return store.claim_question(conversation_id=conversation, borrower_id=borrower, channel=channel, topic=topic,
                                outcome=outcome, today=day, now=beijing(day, hour, minute))


@pytest.mark.parametrize("typed, rating", [
    ("满意", GOOD), ("满意的", GOOD), ("挺满意的,谢谢", GOOD), ("非常满意!", GOOD), ("瞒意", GOOD), ("还不错", GOOD),
    ("Satisfied", GOOD), ("还行", NEUTRAL), ("还行吧", NEUTRAL), ("一般般", NEUTRAL), ("一般", NEUTRAL),
    ("还可以吧", NEUTRAL), ("马马虎虎", NEUTRAL), ("不满意", BAD), ("不太满意", BAD), ("很不满意。", BAD),
    ("不怎么满意啊", BAD), ("差评", BAD), ("not satisfied", BAD)])
def test_a_typed_answer_is_read_as_its_rating(typed, rating):
    assert satisfaction.rating_in(typed) == rating


@pytest.mark.parametrize("typed", ["我还欠多少钱", "好的", "可以", "谢谢", "满意,就是利息太高了能不能减一点", "",
                                   "不用了"])
def test_anything_else_is_not_a_rating(typed):
    assert satisfaction.rating_in(typed) is None


def test_a_rating_typed_with_more_words_keeps_them_as_its_comment():
    assert satisfaction.rating_with_comment("满意,就是利息太高") == (GOOD, "就是利息太高")
    assert satisfaction.rating_with_comment("不太满意 等太久了") == (BAD, "等太久了")
    assert satisfaction.rating_with_comment("还行吧") == (NEUTRAL, "")
    assert satisfaction.rating_with_comment("我还欠多少钱,能不能分期") == (None, "")


@pytest.mark.parametrize("text, intent, confidence, comment", [
    ("说话挺客气的,有事打我电话13812345678", "ask_rights", 0.58, True),  # unsure of a topic: the comment
    ("利息太高了", "express_frustration", 0.88, True),
    ("就是等得有点久", "affirm", 0.53, True),
    ("希望以后能便宜点", "request_penalty_waiver", 0.76, True),
    ("我逾期了多少钱", "check_overdue", 0.99, False),  # sure of a request: answered as usual
    ("能不能快一点?", "out_of_scope", 0.5, False),  # a question: answered
    ("你们催收的人太凶了", "report_collection_abuse", 0.99, False),  # a matter for staff
    ("谢谢", "thank", 0.99, False), ("没什么", "nlu_fallback", 0.3, False), ("好的", "affirm", 0.9, False),
    ("满意", "rate_conversation", 0.99, False)])
def test_after_a_rating_only_what_the_assistant_does_not_handle_is_the_comment(text, intent, confidence, comment):
    assert satisfaction.is_comment(text, intent, confidence) is comment


def test_a_comment_is_kept_masked_and_cut():
    kept = satisfaction.comment_text(" 有事打我电话13812345678,身份证110101199003071234 ", 500)
    assert "13812345678" not in kept and "138****5678" in kept and "110101199003071234" not in kept
    assert satisfaction.comment_text("好" * 600, 500) == "好" * 500


def test_the_policy_decides_which_outcomes_and_who_may_be_asked():
    policy = SatisfactionPolicy()
    assert satisfaction.may_ask(policy, SatisfactionOutcome.ANSWERED, verified=False, crisis_seen=False)
    assert not satisfaction.may_ask(policy, SatisfactionOutcome.PROMISE, verified=True, crisis_seen=True)
    only_plans = parse_satisfaction({"outcomes": ["plan"], "ask_unverified": False})
    assert not satisfaction.may_ask(only_plans, SatisfactionOutcome.PROMISE, verified=True, crisis_seen=False)
    assert satisfaction.may_ask(only_plans, SatisfactionOutcome.PLAN, verified=True, crisis_seen=False)
    assert not satisfaction.may_ask(only_plans, SatisfactionOutcome.PLAN, verified=False, crisis_seen=False)
    assert not satisfaction.may_ask(parse_satisfaction({"ask": False}), SatisfactionOutcome.PLAN, True, False)


@pytest.mark.parametrize("raw, message", [
    ({"outcomes": ["plan", "refund"]}, "policy.satisfaction.outcomes: give a list of different outcomes"),
    ({"ask": "yes"}, "policy.satisfaction.ask: give true or false"),
    ({"comment_max_chars": 0}, "policy.satisfaction.comment_max_chars: give a whole number from 1 to 2000"),
    ({"once_a_week": True}, "policy.satisfaction: unknown setting once_a_week")])
def test_a_bad_policy_value_is_refused_with_its_key(raw, message):
    with pytest.raises(PolicyError, match=message):
        parse_satisfaction(raw)


def test_a_borrower_is_asked_once_a_beijing_day_and_again_from_midnight(db):
    store = Satisfaction(db)
    assert ask(store, "c-1", "B1001", hour=23, minute=59) is not None
    assert ask(store, "c-2", "B1001", hour=23, minute=59) is None  # another conversation, the same Beijing day
    next_day = DAY + dt.timedelta(days=1)
    assert ask(store, "c-3", "B1001", day=next_day, hour=0) is not None  # 00:00 Beijing is a new day
    assert ask(store, "c-4", "B1002") is not None  # another borrower
    with db.session() as session:
        rows = session.execute(select(SatisfactionAsk.conversation_id, SatisfactionAsk.day)
                               .order_by(SatisfactionAsk.id)).all()
    assert [tuple(row) for row in rows] == [("c-1", DAY), ("c-3", next_day), ("c-4", DAY)]


def test_a_conversation_is_asked_once_and_unverified_ones_are_keyed_by_conversation(db):
    store = Satisfaction(db)
    assert ask(store, "anon-1", None, outcome=SatisfactionOutcome.ANSWERED) is not None
    assert ask(store, "anon-1", None, hour=11, outcome=SatisfactionOutcome.ANSWERED) is None
    assert ask(store, "anon-1", "B1003", hour=12) is None  # verified later in the same conversation: still once
    assert ask(store, "anon-2", None, outcome=SatisfactionOutcome.ANSWERED) is not None


def test_never_where_the_safety_protocol_ran(db):
    load_document(db, demo_document())
    store, accounts = Satisfaction(db), Accounts(db)
    accounts.raise_safety_flag(conversation_id="c-crisis", borrower_id=None, channel="webchat", summary="…",
                               today=DAY, now=beijing(DAY, 9))
    assert ask(store, "c-crisis", None) is None
    accounts.raise_safety_flag(conversation_id="c-5", borrower_id="B1004", channel="webchat", summary="…",
                               today=DAY, now=beijing(DAY, 9))
    assert ask(store, "c-6", "B1004") is None  # the borrower's flag is open: not in another conversation either
    assert ask(store, "c-7", "B1005") is not None


def test_a_rating_is_recorded_once_and_a_comment_only_after_it(db):
    store = Satisfaction(db)
    asked = ask(store, "c-1", "B1001")
    assert not store.comment(asked.id, "没评分先留言", beijing(DAY, 10, 1))
    assert store.rate(asked.id, GOOD, beijing(DAY, 10, 1))
    assert not store.rate(asked.id, BAD, beijing(DAY, 10, 2))  # the first answer stands (append-only)
    assert store.comment(asked.id, satisfaction.comment_text("客服很耐心,电话13812345678", 500), beijing(DAY, 10, 3))
    assert not store.comment(asked.id, "再说一句", beijing(DAY, 10, 4))
    with db.session() as session:
        rating = session.execute(select(SatisfactionRatingRecord)).scalar_one()
        comment = session.execute(select(SatisfactionComment.comment)).scalar_one()
    assert (rating.rating, rating.outcome, rating.topic, rating.borrower_id, rating.channel) == (
        "good", "promise", "promise_to_pay", "B1001", "webchat")
    assert comment == "客服很耐心,电话138****5678"


def rated(store: Satisfaction, conversation, borrower, rating, day=DAY, comment=None, **kwargs):
    asked = ask(store, conversation, borrower, day=day, **kwargs)
    if rating is not None:
        store.rate(asked.id, rating, beijing(day, 12))
    if comment:
        store.comment(asked.id, comment, beijing(day, 12, 1))


def test_the_report_shows_the_figures_by_topic_outcome_and_channel_with_their_definitions(db):
    store = Satisfaction(db)
    rated(store, "c-1", "B1", GOOD, comment="很好")
    rated(store, "c-2", "B2", GOOD, outcome=SatisfactionOutcome.PLAN, topic="request_installment", channel="wechat")
    rated(store, "c-3", "B3", BAD, outcome=SatisfactionOutcome.ANSWERED, topic="check_overdue")
    rated(store, "c-4", "B4", NEUTRAL)
    rated(store, "c-5", None, None, outcome=SatisfactionOutcome.ANSWERED, topic="ask_repayment_methods")
    rated(store, "c-6", "B6", GOOD, day=DAY - dt.timedelta(days=7))  # the week before
    view = analytics.build_view(db, DAY - dt.timedelta(days=6), DAY)
    shown = {f.code: analytics.show(f) for f in analytics.figures(view.report)}
    assert (shown["satisfaction.asked"], shown["satisfaction.answered"]) == ("5", "4")
    assert shown["satisfaction.response_rate"] == "80.0%"
    assert (shown["satisfaction.good"], shown["satisfaction.neutral"], shown["satisfaction.bad"]) == (
        "50.0%", "25.0%", "25.0%")
    assert shown["satisfaction.csat"] == "50.0%" and shown["satisfaction.comments"] == "1"
    assert (shown["satisfaction.outcome.promise.asked"], shown["satisfaction.outcome.promise.csat"]) == ("2", "50.0%")
    assert shown["satisfaction.outcome.answered.answered"] == "1"
    assert shown["satisfaction.topic.check_overdue.csat"] == "0.0%"
    assert shown["satisfaction.topic.ask_settlement.csat"] == "—"  # nothing to divide
    assert (shown["satisfaction.channel.wechat.asked"], shown["satisfaction.channel.webchat.asked"]) == ("1", "4")
    page = str(analytics.html_fragment(view.report, view))
    for words in ("借款人满意度", "满意率", "评价率", "按话题", "按结果", "按渠道", "查询逾期", "登记还款承诺", "微信",
                  "满意率</dt><dd>评价为「满意」的次数 ÷ 已评价次数。"):
        assert words in page
    assert 'data-figure="satisfaction.csat"' in page and "满意度:询问与评价" in page  # compared, and a trend chart
    comments = page[page.index('id="satisfaction-comments"'):page.index('id="satisfaction-definitions"')]
    assert "<td>满意</td>" in comments and "<td>很好</td>" in comments and comments.count("<tr><td>") == 1
    rows = list(csv.reader(io.StringIO(analytics.export_csv(view).decode("utf-8-sig"))))
    this_period = {row[5]: row[4] for row in rows if row[0] == "本期"}
    before = {row[5]: row[4] for row in rows if row[0] == "上期"}
    assert this_period["satisfaction.csat"] == "50.0%" and before["satisfaction.csat"] == "100.0%"
    labels = {row[5]: row[3] for row in rows}
    assert labels["satisfaction.topic.check_overdue.csat"] == "满意度·查询逾期·满意率"


def test_a_borrowers_export_holds_their_ratings_and_a_deletion_replaces_their_comment(db):
    from kuanxin.store.personal_data import anonymise_records, records_of
    load_document(db, demo_document())
    store = Satisfaction(db)
    rated(store, "c-1", "B1001", BAD, comment="等太久了")
    rated(store, "c-2", "B1002", GOOD, comment="很好")
    _, records = records_of(db, "B1001")
    assert [row["comment"] for row in records["satisfaction_comments"]] == ["等太久了"]
    assert [row["rating"] for row in records["satisfaction_ratings"]] == ["bad"]
    assert anonymise_records(db, "B1001", "已删除")["satisfaction_comments.comment"] == 1
    with db.session() as session:
        assert sorted(session.execute(select(SatisfactionComment.comment)).scalars()) == ["已删除", "很好"]
