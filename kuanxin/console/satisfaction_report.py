"""Borrower satisfaction in the outcome report (issue 19 item 4): how often the one light question was asked and
answered, and how borrowers rated the service, in all and by topic, outcome and channel.

Definitions (also on the report page, kuanxin/console/templates/satisfaction_report.html):
- asked: satisfaction questions asked in the period (after a plan, a promise, a request filed, or a question answered
  followed by thanks or goodbye; at most once a day per borrower, never where the safety protocol ran);
- answered: of those, the ones the borrower rated (满意 / 一般 / 不满意), whenever they rated it; response rate =
  answered / asked;
- satisfied, neutral, dissatisfied: each rating's share of the answered questions;
- CSAT = satisfied / answered (the share rating 满意);
- comments: answered questions followed by a comment;
- by topic: the intent of the outcome asked about (查询逾期, 承诺还款…); by outcome: plan, promise, request or answer;
  by channel: where the borrower wrote (网页, 微信…).
Questions are counted by the Beijing day they were asked; both ends of the period are included.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from kuanxin.console.labels import CHANNELS, INTENTS, words
from kuanxin.core import clock
from kuanxin.core.vocab import SatisfactionOutcome, SatisfactionRating
from kuanxin.lending.satisfaction import OTHER_TOPIC, TOPICS
from kuanxin.store.models import SatisfactionAsk, SatisfactionComment, SatisfactionRatingRecord

CHANNEL_GROUPS = ("webchat", "wechat", "rest", "other")  # the report's channels; any other counts as other
RATINGS = SatisfactionRating.values()
OUTCOMES = SatisfactionOutcome.values()


@dataclass
class Group:
    """The questions of one topic, outcome or channel (or all of them)."""
    asked: int = 0
    ratings: Counter = field(default_factory=Counter)  # SatisfactionRating -> answered questions
    comments: int = 0

    @property
    def answered(self) -> int:
        return sum(self.ratings.values())

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.asked if self.asked else None

    def share(self, rating: str) -> float | None:
        return self.ratings.get(rating, 0) / self.answered if self.answered else None

    @property
    def csat(self) -> float | None:
        return self.share(SatisfactionRating.GOOD)


@dataclass(frozen=True)
class Comment:
    """One comment as staff read it: when, how the borrower rated, about what, where (the text already masked)."""
    at: dt.datetime  # Beijing time
    rating: str
    topic: str
    channel: str
    text: str


LATEST_COMMENTS = 20  # the report lists the period's newest comments; the count covers them all


@dataclass
class SatisfactionFigures:
    total: Group = field(default_factory=Group)
    comments: list[Comment] = field(default_factory=list)  # the newest LATEST_COMMENTS of the period
    by_topic: dict[str, Group] = field(default_factory=dict)
    by_outcome: dict[str, Group] = field(default_factory=dict)
    by_channel: dict[str, Group] = field(default_factory=dict)

    def topics(self) -> list[tuple[str, Group]]:
        """The topics with questions, most asked first (the page's table)."""
        return sorted(self.by_topic.items(), key=lambda item: (-item[1].asked, item[0]))


def channel_group(channel: str | None) -> str:
    return channel if channel in CHANNEL_GROUPS else "other"


def topic_group(topic: str | None) -> str:
    return topic if topic in TOPICS else OTHER_TOPIC


def satisfaction_figures(session: Session, since: dt.datetime, until: dt.datetime) -> SatisfactionFigures:
    """The period's figures; `since`/`until` are the period as naive UTC [from, to)."""
    rows = session.execute(
        select(SatisfactionAsk.topic, SatisfactionAsk.outcome, SatisfactionAsk.channel, SatisfactionRatingRecord.rating,
               SatisfactionComment.id)
        .outerjoin(SatisfactionRatingRecord, SatisfactionRatingRecord.ask_id == SatisfactionAsk.id)
        .outerjoin(SatisfactionComment, SatisfactionComment.ask_id == SatisfactionAsk.id)
        .where(SatisfactionAsk.asked_at >= since, SatisfactionAsk.asked_at < until)).all()
    figures = SatisfactionFigures()
    for topic, outcome, channel, rating, comment in rows:
        for group in (figures.total, figures.by_topic.setdefault(topic_group(topic), Group()),
                      figures.by_outcome.setdefault(outcome, Group()),
                      figures.by_channel.setdefault(channel_group(channel), Group())):
            group.asked += 1
            if rating is not None:
                group.ratings[rating] += 1
                group.comments += comment is not None
    figures.comments = latest_comments(session, since, until)
    return figures


def latest_comments(session: Session, since: dt.datetime, until: dt.datetime) -> list[Comment]:
    rows = session.execute(
        select(SatisfactionComment.created_at, SatisfactionRatingRecord.rating, SatisfactionAsk.topic,
               SatisfactionAsk.channel, SatisfactionComment.comment)
        .join(SatisfactionAsk, SatisfactionAsk.id == SatisfactionComment.ask_id)
        .join(SatisfactionRatingRecord, SatisfactionRatingRecord.ask_id == SatisfactionAsk.id)
        .where(SatisfactionAsk.asked_at >= since, SatisfactionAsk.asked_at < until)
        .order_by(SatisfactionComment.created_at.desc(), SatisfactionComment.id.desc()).limit(LATEST_COMMENTS)).all()
    return [Comment(clock.beijing_time(at), rating, topic_group(topic), channel_group(channel), text)
            for at, rating, topic, channel, text in rows]


def topic_words(topic: str) -> str:
    return words("satisfaction.topic_other") if topic == OTHER_TOPIC else INTENTS.of(topic)


def outcome_words(outcome: str) -> str:
    return words(f"satisfaction.outcome.{outcome}")


def channel_words(channel: str) -> str:
    return CHANNELS.of(channel)


def rating_words(rating: str) -> str:
    return words(f"satisfaction.rating_{rating}")


@dataclass(frozen=True)
class Words:
    """How the page names each group's code (the template's satisfaction_words)."""
    rating = staticmethod(rating_words)
    outcome = staticmethod(outcome_words)
    topic = staticmethod(topic_words)
    channel = staticmethod(channel_words)


WORDS = Words()


def figure_rows(figures: SatisfactionFigures) -> list[tuple[str, str, float | None, bool]]:
    """Every satisfaction figure as (code, staff words, value, is a share), in a fixed order, so a period and the one
    before it compare figure by figure (kuanxin.console.analytics.figures)."""
    total = figures.total
    rows: list[tuple[str, str, float | None, bool]] = [
        ("satisfaction.asked", words("figure.satisfaction_asked"), total.asked, False),
        ("satisfaction.answered", words("figure.satisfaction_answered"), total.answered, False),
        ("satisfaction.response_rate", words("figure.satisfaction_response_rate"), total.response_rate, True)]
    rows += [(f"satisfaction.{rating}", words(f"figure.satisfaction_{rating}"), total.share(rating), True)
             for rating in RATINGS]
    rows += [("satisfaction.csat", words("figure.satisfaction_csat"), total.csat, True),
             ("satisfaction.comments", words("figure.satisfaction_comments"), total.comments, False)]
    parts = (("outcome", OUTCOMES, figures.by_outcome, outcome_words),
             ("topic", (*TOPICS, OTHER_TOPIC), figures.by_topic, topic_words),
             ("channel", CHANNEL_GROUPS, figures.by_channel, channel_words))
    for part, codes, groups, named in parts:
        for code in codes:
            group = groups.get(code, Group())
            label = named(code)
            rows += [(f"satisfaction.{part}.{code}.asked", words("figure.satisfaction_by_asked", part=label),
                      group.asked, False),
                     (f"satisfaction.{part}.{code}.answered", words("figure.satisfaction_by_answered", part=label),
                      group.answered, False),
                     (f"satisfaction.{part}.{code}.csat", words("figure.satisfaction_by_csat", part=label),
                      group.csat, True)]
    return rows
