"""Service clocks: waiting counted in the policy's service hours only, amber and red at the policy's thresholds,
the queue by urgency, and the share answered within target, on a clock pinned with KUANXIN_TODAY/KUANXIN_TIME."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from kuanxin.console.clocks import ClockState, by_urgency, clock_of, duration, share_within_target
from kuanxin.core import clock, policy
from kuanxin.core.policy import PolicyError, parse_service_clock
from kuanxin.core.service_hours import in_service, service_minutes
from kuanxin.store.models import Escalation

RULES = policy.current().service_clock  # policy.yml: 09:00-21:00 every day; high 120, normal 720, safety 30; 75%


def beijing(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=clock.BEIJING)


def utc_naive(text: str) -> dt.datetime:
    return beijing(text).astimezone(dt.timezone.utc).replace(tzinfo=None)


def escalation(created: str, priority: str = "normal", reason: str = "human", status: str = "open",
               answered: str | None = None, reference: str = "RG") -> Escalation:
    return Escalation(reference=reference, conversation_id=reference, reason=reason, priority=priority, status=status,
                      created_at=utc_naive(created), first_response_at=utc_naive(answered) if answered else None)


def test_the_policy_gives_the_targets_the_borrower_is_told():
    assert (RULES.opens, RULES.closes, RULES.days) == (dt.time(9), dt.time(21), (1, 2, 3, 4, 5, 6, 7))
    assert RULES.target_minutes == {"high": 120, "normal": 720}
    assert (RULES.safety_target_minutes, RULES.amber_percent) == (30, 75)


@pytest.mark.parametrize("raw, message", [
    ({"hours": {"start": "21:00", "end": "09:00"}}, "start < end"),
    ({"target_minutes": {"high": 60}}, "give exactly high, normal"),
    ({"amber_percent": 100}, "amber_percent"),
    ({"days": [0]}, "days"),
    ({"weekends": True}, "unknown setting weekends"),
])
def test_a_bad_service_clock_is_refused_by_name(raw, message):
    with pytest.raises(PolicyError, match=message):
        parse_service_clock(raw)


def test_only_service_hours_count():
    assert service_minutes(beijing("2026-12-07T10:00"), beijing("2026-12-07T11:30"), RULES) == 90
    # from 20:50 to 09:10 the next morning: ten minutes before closing, ten after opening
    assert service_minutes(beijing("2026-12-07T20:50"), beijing("2026-12-08T09:10"), RULES) == 20
    # written at night: the clock starts at opening time
    assert service_minutes(beijing("2026-12-07T23:00"), beijing("2026-12-08T09:30"), RULES) == 30
    assert service_minutes(beijing("2026-12-07T12:00"), beijing("2026-12-07T11:00"), RULES) == 0
    # two whole service days
    assert service_minutes(beijing("2026-12-07T09:00"), beijing("2026-12-09T09:00"), RULES) == 2 * 12 * 60
    # a UTC moment is read in Beijing time: 01:00 UTC is 09:00 in Beijing
    assert service_minutes(dt.datetime(2026, 12, 7, 1, tzinfo=dt.timezone.utc), beijing("2026-12-07T10:00"),
                           RULES) == 60


def test_days_off_do_not_count():
    weekdays = dataclasses.replace(RULES, days=(1, 2, 3, 4, 5))
    # Friday 20:00 to Monday 10:00 (2026-12-11 is a Friday): one hour on Friday, one on Monday
    assert service_minutes(beijing("2026-12-11T20:00"), beijing("2026-12-14T10:00"), weekdays) == 120
    assert not in_service(beijing("2026-12-12T10:00"), weekdays) and in_service(beijing("2026-12-14T10:00"), weekdays)


def test_a_clock_turns_amber_then_red_as_the_pinned_clock_moves(monkeypatch):
    high = escalation("2026-12-07T10:00", priority="high")
    states = []
    for at in ("10:30", "11:30", "12:00", "12:01", "20:00"):
        monkeypatch.setenv("KUANXIN_TODAY", "2026-12-07")
        monkeypatch.setenv("KUANXIN_TIME", at)
        states.append((at, clock_of(high, clock.now(), RULES).state))
    assert states == [("10:30", ClockState.ON_TIME), ("11:30", ClockState.AMBER), ("12:00", ClockState.AMBER),
                      ("12:01", ClockState.RED), ("20:00", ClockState.RED)]


def test_a_night_escalation_does_not_turn_red_overnight(monkeypatch):
    monkeypatch.setenv("KUANXIN_TODAY", "2026-12-08")
    monkeypatch.setenv("KUANXIN_TIME", "09:45")
    night = clock_of(escalation("2026-12-07T22:00", priority="high"), clock.now(), RULES)
    assert (night.waited_minutes, night.target_minutes, night.state) == (45, 120, ClockState.ON_TIME)


def test_the_clock_stops_at_the_first_response():
    answered = clock_of(escalation("2026-12-07T10:00", answered="2026-12-07T10:20"), beijing("2026-12-09T20:00"),
                        RULES)
    assert (answered.waited_minutes, answered.answered, answered.state) == (20, True, ClockState.ON_TIME)


def test_a_borrower_in_crisis_has_the_shortest_target_and_is_always_on_top():
    now = beijing("2026-12-07T15:00")
    queue = [escalation("2026-12-07T09:00", reference="old-normal"),
             escalation("2026-12-07T14:55", reason="safety", priority="high", reference="crisis"),
             escalation("2026-12-07T13:30", priority="high", reference="late-high"),
             escalation("2026-12-07T14:00", priority="high", reference="claimed", status="claimed",
                        answered="2026-12-07T14:01"),
             escalation("2026-12-07T14:50", priority="high", reference="fresh-high")]
    ordered = by_urgency(queue, now, RULES)
    assert [e.reference for e, _ in ordered] == ["crisis", "late-high", "old-normal", "fresh-high", "claimed"]
    crisis = ordered[0][1]
    assert (crisis.target_minutes, crisis.waited_minutes, crisis.state) == (30, 5, ClockState.ON_TIME)
    # late-high used 90/120 (amber), old-normal 360/720 (on time)
    assert [c.state for _, c in ordered[1:3]] == [ClockState.AMBER, ClockState.ON_TIME]


def test_the_share_answered_within_target_counts_answered_escalations_only():
    escalations = [escalation("2026-12-07T10:00", priority="high", answered="2026-12-07T11:00"),  # 60 of 120
                   escalation("2026-12-07T10:00", priority="high", answered="2026-12-07T12:30"),  # 150: late
                   escalation("2026-12-07T20:30", priority="high", answered="2026-12-08T09:30"),  # 60: night
                   escalation("2026-12-07T10:00")]  # still waiting
    share = share_within_target(escalations, RULES)
    assert (share.answered, share.within_target, share.percent) == (3, 2, 66.7)
    assert share_within_target([], RULES).percent is None


def test_waits_read_as_staff_say_them():
    assert [duration(m) for m in (0, 45, 120, 185, 47 * 60, 3 * 24 * 60)] == [
        "0分钟", "45分钟", "2小时", "3小时5分钟", "47小时", "3天"]
