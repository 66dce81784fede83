"""Plans in the outcome report (issue 18 item 6): offered, accepted, kept, broken and revoked; the assistant's decisions
beside the staff's; and how long a borrower took from their first message to a plan in force.

Definitions (also on the report page, kuanxin/console/templates/plan_report.html):
- offered: a written agreement shown in full for acceptance (the assistant could approve it), counted once per
  conversation, loan and kind, by the day first shown (plan_offers);
- accepted: agreements accepted in the period (each puts a plan in force); acceptance rate = accepted / offered;
- kept / broken / revoked: plans that ended in the period fully repaid, broken by a payment missed beyond the grace
  days, or revoked by a supervisor; in force: plans in force at the end of the period;
- automated decisions: the assistant's, made in the period: approved (an agreement accepted), sent to staff review,
  refused by the eligibility rules; staff decisions: requests approved or rejected by a member of staff in the period
  (a revocation is counted as revoked above, not here);
- time to a plan: for each agreement accepted in the period, from the start of the conversation session it was
  accepted in (the borrower's first message of it) to the acceptance; the median and the longest.
Days are Beijing days; both ends of the period are included.
"""
from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from kuanxin.core.vocab import DecisionOutcome, PlanStatus, RequestStatus
from kuanxin.store.agreements import ASSISTANT
from kuanxin.store.models import (
    Agreement,
    ConversationSession,
    PlanDecisionRecord,
    PlanOffer,
    PlanRevocation,
    RepaymentPlan,
    ServiceRequest,
)

ENDED = (PlanStatus.COMPLETED, PlanStatus.BROKEN, PlanStatus.REVOKED)
@dataclass
class PlanFigures:
    offered: int = 0
    accepted: int = 0
    ended: Counter = field(default_factory=Counter)  # completed | broken | revoked -> plans ended in the period
    in_force: int = 0  # at the end of the period
    automated: Counter = field(default_factory=Counter)  # DecisionOutcome -> decisions
    by_staff: Counter = field(default_factory=Counter)  # approved | rejected -> requests decided by staff
    minutes_to_plan: list[float] = field(default_factory=list)

    @property
    def acceptance(self) -> float | None:
        return self.accepted / self.offered if self.offered else None

    @property
    def median_minutes(self) -> float | None:
        return statistics.median(self.minutes_to_plan) if self.minutes_to_plan else None

    @property
    def longest_minutes(self) -> float | None:
        return max(self.minutes_to_plan) if self.minutes_to_plan else None

    @property
    def acceptance_shown(self) -> str:
        return "—" if self.acceptance is None else f"{self.acceptance * 100:.1f}%"

    @property
    def median_shown(self) -> str:
        return duration_words(self.median_minutes)

    @property
    def longest_shown(self) -> str:
        return duration_words(self.longest_minutes)


def plan_figures(session: Session, start: dt.date, end: dt.date, since: dt.datetime,
                 until: dt.datetime) -> PlanFigures:
    """The period's figures; `since`/`until` are the period as naive UTC [from, to)."""
    figures = PlanFigures()
    first_shown = func.min(PlanOffer.offered_at)
    figures.offered = len(session.execute(
        select(PlanOffer.conversation_id).group_by(PlanOffer.conversation_id, PlanOffer.loan_id, PlanOffer.kind)
        .having(and_(first_shown >= since, first_shown < until))).all())
    accepted = session.execute(select(Agreement.conversation_id, Agreement.accepted_at).where(
        Agreement.accepted_at >= since, Agreement.accepted_at < until)).all()
    figures.accepted = len(accepted)
    figures.ended = Counter({status: n for status, n in session.execute(
        select(RepaymentPlan.status, func.count()).where(
            RepaymentPlan.ended_on >= start, RepaymentPlan.ended_on <= end, RepaymentPlan.status.in_(ENDED))
        .group_by(RepaymentPlan.status)).all()})
    figures.in_force = session.execute(select(func.count()).select_from(RepaymentPlan).where(
        RepaymentPlan.starts_on <= end,
        (RepaymentPlan.status == PlanStatus.IN_FORCE) | (RepaymentPlan.ended_on > end))).scalar_one()
    figures.automated = Counter({outcome: n for outcome, n in session.execute(
        select(PlanDecisionRecord.outcome, func.count()).where(
            PlanDecisionRecord.decided_at >= since, PlanDecisionRecord.decided_at < until)
        .group_by(PlanDecisionRecord.outcome)).all()})
    revoked = (select(Agreement.request_reference)
               .join(PlanRevocation, PlanRevocation.agreement_number == Agreement.number)
               .where(Agreement.request_reference.is_not(None)))  # counted as revoked, not as a staff decision
    figures.by_staff = Counter({status: n for status, n in session.execute(
        select(ServiceRequest.status, func.count()).where(
            ServiceRequest.decided_at >= since, ServiceRequest.decided_at < until,
            ServiceRequest.decided_by != ASSISTANT, ServiceRequest.reference.not_in(revoked),
            ServiceRequest.status.in_((RequestStatus.APPROVED, RequestStatus.REJECTED)))
        .group_by(ServiceRequest.status)).all()})
    figures.minutes_to_plan = _minutes_to_plan(session, accepted)
    return figures


def _minutes_to_plan(session: Session, accepted: list) -> list[float]:
    """For each (conversation, accepted at): minutes since the latest session start of that conversation before it."""
    if not accepted:
        return []
    starts: dict[str, list[dt.datetime]] = {}
    for conversation_id, started_at in session.execute(
            select(ConversationSession.conversation_id, ConversationSession.started_at).where(
                ConversationSession.conversation_id.in_({c for c, _ in accepted}))).all():
        starts.setdefault(conversation_id, []).append(started_at)
    minutes = []
    for conversation_id, at in accepted:
        earlier = [started for started in starts.get(conversation_id, []) if started <= at]
        if earlier:
            minutes.append(round((at - max(earlier)).total_seconds() / 60, 1))
    return minutes


def csv_rows(figures: PlanFigures) -> list[list[object]]:
    """The CSV's rows (metric, detail, value), in the report's machine words."""
    def share(value: float | None) -> str:
        return "—" if value is None else f"{value * 100:.1f}%"

    def minutes(value: float | None) -> str:
        return "—" if value is None else f"{value:.1f}"
    rows: list[list[object]] = [["plans", "offered", figures.offered], ["plans", "accepted", figures.accepted],
                                ["plans", "acceptance", share(figures.acceptance)]]
    rows += [["plans", f"ended_{status}", figures.ended.get(status, 0)] for status in ENDED]
    rows += [["plans", "in_force_at_end", figures.in_force]]
    rows += [["plan_decisions", f"automated_{outcome}", figures.automated.get(outcome, 0)]
             for outcome in DecisionOutcome.values()]
    rows += [["plan_decisions", f"staff_{status}", figures.by_staff.get(status, 0)]
             for status in (RequestStatus.APPROVED, RequestStatus.REJECTED)]
    rows += [["time_to_plan", "median_minutes", minutes(figures.median_minutes)],
             ["time_to_plan", "longest_minutes", minutes(figures.longest_minutes)]]
    return rows


def duration_words(value: float | None) -> str:
    """Minutes as staff read them: 4.5分钟, 2小时5分钟; — when there is nothing to show."""
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.1f}分钟"
    hours, rest = divmod(int(round(value)), 60)
    return f"{hours}小时{rest}分钟"
