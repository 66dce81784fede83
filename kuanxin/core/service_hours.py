"""The service-hours calendar: how much of a span of time fell in the hours staff answer (policy.yml
`service_clock`: opening and closing time in Beijing time, and the weekdays worked). A wait that starts at
20:50 and ends at 09:10 the next morning is 20 minutes of service time, not 12 hours 20.
"""
from __future__ import annotations

import datetime as dt

from kuanxin.core.clock import BEIJING
from kuanxin.core.policy import ServiceClockPolicy


def service_seconds(start: dt.datetime, end: dt.datetime, hours: ServiceClockPolicy) -> float:
    """Seconds between two aware moments that fall inside service hours (0 when end is not after start)."""
    start, end = start.astimezone(BEIJING), end.astimezone(BEIJING)
    total, day = 0.0, start.date()
    while day <= end.date():
        if day.isoweekday() in hours.days:
            opens = dt.datetime.combine(day, hours.opens, BEIJING)
            closes = dt.datetime.combine(day, hours.closes, BEIJING)
            total += max(0.0, (min(end, closes) - max(start, opens)).total_seconds())
        day += dt.timedelta(days=1)
    return total


def service_minutes(start: dt.datetime, end: dt.datetime, hours: ServiceClockPolicy) -> int:
    return int(service_seconds(start, end, hours) // 60)


def in_service(moment: dt.datetime, hours: ServiceClockPolicy) -> bool:
    """Whether staff are answering at this moment."""
    local = moment.astimezone(BEIJING)
    return local.isoweekday() in hours.days and hours.opens <= local.time() < hours.closes
