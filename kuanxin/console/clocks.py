"""Service clocks of the console: how long each escalation has waited for its first response against the
target for its priority (policy.yml `service_clock`, service hours only), its state (on time, amber, red),
the queue's order by urgency, and the share answered within target for the report. No I/O.
"""
from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kuanxin.console.labels import words
from kuanxin.core.policy import ServiceClockPolicy
from kuanxin.core.service_hours import service_seconds
from kuanxin.core.vocab import EscalationReason, EscalationStatus
from kuanxin.store.models import Escalation


class ClockState(str, enum.Enum):
    ON_TIME = "on_time"
    AMBER = "amber"  # most of the target gone
    RED = "red"  # past the target


@dataclass(frozen=True)
class ServiceClock:
    waited_minutes: int  # service minutes from the escalation to its first response, or to now
    target_minutes: int
    state: ClockState
    answered: bool  # the clock has stopped

    @property
    def used(self) -> float:
        """The share of the target used so far (over 1 once late)."""
        return self.waited_minutes / self.target_minutes

    @property
    def within_target(self) -> bool:
        return self.waited_minutes <= self.target_minutes


def target_minutes(escalation: Escalation, rules: ServiceClockPolicy) -> int:
    if escalation.reason == EscalationReason.SAFETY:
        return rules.safety_target_minutes
    return int(rules.target_minutes[escalation.priority])


def clock_of(escalation: Escalation, now: dt.datetime, rules: ServiceClockPolicy) -> ServiceClock:
    """The escalation's clock at `now` (aware); it stops at the first response, or at the resolution."""
    stopped_at = escalation.first_response_at or escalation.resolved_at
    end = _aware(stopped_at) if stopped_at else now
    waited = int(service_seconds(_aware(escalation.created_at), end, rules) // 60)
    target = target_minutes(escalation, rules)
    if waited > target:
        state = ClockState.RED
    elif waited * 100 >= target * rules.amber_percent:
        state = ClockState.AMBER
    else:
        state = ClockState.ON_TIME
    return ServiceClock(waited, target, state, stopped_at is not None)


def by_urgency(escalations: Iterable[Escalation], now: dt.datetime,
               rules: ServiceClockPolicy) -> list[tuple[Escalation, ServiceClock]]:
    """Each escalation with its clock, most urgent first: a borrower in crisis still unresolved always on top, then
    those still waiting before those answered, then the most of its target used, then the oldest."""
    clocked = [(escalation, clock_of(escalation, now, rules)) for escalation in escalations]
    return sorted(clocked, key=lambda pair: (
        not (pair[0].reason == EscalationReason.SAFETY and pair[0].status != EscalationStatus.RESOLVED),
        pair[0].status == EscalationStatus.RESOLVED, pair[1].answered, -pair[1].used, pair[0].created_at))


@dataclass(frozen=True)
class TargetShare:
    answered: int
    within_target: int

    @property
    def percent(self) -> float | None:
        return round(self.within_target * 100 / self.answered, 1) if self.answered else None


def share_within_target(escalations: Sequence[Escalation], rules: ServiceClockPolicy) -> TargetShare:
    """Of the escalations answered, how many were answered within their target."""
    answered = [e for e in escalations if e.first_response_at is not None]
    far = dt.datetime.max.replace(tzinfo=dt.timezone.utc)  # unused: each clock here has stopped
    within = sum(clock_of(e, far, rules).within_target for e in answered)
    return TargetShare(len(answered), within)


def _aware(naive_utc: dt.datetime) -> dt.datetime:
    return naive_utc.replace(tzinfo=dt.timezone.utc)


def duration(minutes: int) -> str:
    """A wait as staff read it: 45分钟, 3小时5分钟, 4天 (days from 48 hours on)."""
    minutes = max(0, minutes)
    if minutes < 60:
        return words("duration.minutes", minutes=minutes)
    hours = minutes // 60
    if hours < 48:
        return words("duration.hours", hours=hours, minutes=minutes % 60) if minutes % 60 else \
            words("duration.whole_hours", hours=hours)
    return words("duration.days", days=hours // 24)
