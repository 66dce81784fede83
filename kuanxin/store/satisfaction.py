"""Borrower satisfaction in the database (revision 0015): the questions asked (satisfaction_asks), the answers
(satisfaction_ratings) and the optional comments (satisfaction_comments), all append-only.

The rules that must hold across processes and instances are the database's own: a unique (asker, Beijing day) is
the at-most-once-a-day rule (the asker is the borrower, or the conversation when nobody verified), a unique
(conversation, day) the once-per-conversation rule; one rating and one comment per question (unique ask_id). The
question is claimed before it is sent, so two turns at once ask once. The rules without a database are in
kuanxin/lending/satisfaction.py.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from kuanxin.core import clock
from kuanxin.core.vocab import EscalationReason, SatisfactionOutcome, SatisfactionRating
from kuanxin.lending.satisfaction import asker
from kuanxin.store.accounts import utc_naive
from kuanxin.store.db import Database
from kuanxin.store.models import (
    Escalation,
    SafetyFlag,
    SatisfactionAsk,
    SatisfactionComment,
    SatisfactionRatingRecord,
)


@dataclass(frozen=True)
class Asked:
    id: int
    outcome: str
    topic: str


class Satisfaction:
    def __init__(self, db: Database):
        self.db = db

    def safety_in_the_way(self, conversation_id: str, borrower_id: str | None, today: dt.date) -> bool:
        """A safety flag or escalation of this conversation or borrower that is open, or was raised today: the
        borrower is not asked how satisfied they are."""
        since = utc_naive(dt.datetime.combine(today, dt.time(), clock.BEIJING))
        with self.db.session() as session:
            whose = [SafetyFlag.conversation_id == conversation_id]
            if borrower_id:
                whose.append(SafetyFlag.borrower_id == borrower_id)
            flag = session.execute(select(SafetyFlag.id).where(
                or_(*whose), or_(SafetyFlag.cleared_at.is_(None), SafetyFlag.raised_at >= since)).limit(1)).first()
            escalation = session.execute(select(Escalation.id).where(
                Escalation.conversation_id == conversation_id, Escalation.reason == EscalationReason.SAFETY,
                or_(Escalation.resolved_at.is_(None), Escalation.created_at >= since)).limit(1)).first()
        return flag is not None or escalation is not None

    def claim_question(self, *, conversation_id: str, borrower_id: str | None, channel: str | None, topic: str,
                       outcome: SatisfactionOutcome, today: dt.date, now: dt.datetime) -> Asked | None:
        """Records the question about to be asked; None when the borrower (or this conversation) was already asked
        today, or the safety protocol ran: then nothing is asked."""
        if self.safety_in_the_way(conversation_id, borrower_id, today):
            return None
        try:
            with self.db.session() as session:
                ask = SatisfactionAsk(conversation_id=conversation_id, borrower_id=borrower_id,
                                      asker=asker(borrower_id, conversation_id), day=today, channel=channel,
                                      topic=topic, outcome=outcome, asked_at=utc_naive(now))
                session.add(ask)
                session.flush()
                return Asked(ask.id, ask.outcome, ask.topic)
        except IntegrityError:  # asked already today: the unique (asker, day) or (conversation, day)
            return None

    def question(self, ask_id: int) -> SatisfactionAsk | None:
        with self.db.session() as session:
            ask = session.get(SatisfactionAsk, ask_id)
            if ask is not None:
                session.expunge(ask)
            return ask

    def rate(self, ask_id: int, rating: SatisfactionRating, now: dt.datetime) -> bool:
        """The borrower's answer; False when this question was answered before (the first answer stands)."""
        ask = self.question(ask_id)
        if ask is None:
            return False
        try:
            with self.db.session() as session:
                session.add(SatisfactionRatingRecord(
                    ask_id=ask.id, conversation_id=ask.conversation_id, borrower_id=ask.borrower_id,
                    channel=ask.channel, topic=ask.topic, outcome=ask.outcome, rating=rating,
                    created_at=utc_naive(now)))
            return True
        except IntegrityError:
            return False

    def rating_of(self, ask_id: int) -> str | None:
        with self.db.session() as session:
            return session.execute(select(SatisfactionRatingRecord.rating).where(
                SatisfactionRatingRecord.ask_id == ask_id)).scalar_one_or_none()

    def comment(self, ask_id: int, text: str, now: dt.datetime) -> bool:
        """The optional comment after a rating (already masked and cut: kuanxin.lending.satisfaction.comment_text);
        False without a rating, with an empty text, or when this question has a comment already."""
        if not text or self.rating_of(ask_id) is None:
            return False
        ask = self.question(ask_id)
        if ask is None:
            return False
        try:
            with self.db.session() as session:
                session.add(SatisfactionComment(ask_id=ask_id, conversation_id=ask.conversation_id, comment=text,
                                                created_at=utc_naive(now)))
            return True
        except IntegrityError:
            return False
