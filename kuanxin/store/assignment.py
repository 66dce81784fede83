"""Who is next in turn for an escalation: the one rule of the round-robin, used by the console's 轮流分配
(kuanxin.console.casework) and when an escalation is opened with policy.yml `console.auto_assign` on.

The rule: of the active members of staff marked available (在岗接单), whoever holds the fewest escalations that are
not resolved; ties go by login name, so the choice never depends on the order rows come back in.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kuanxin.core import texts
from kuanxin.core.vocab import AuditAction, EscalationStatus
from kuanxin.store.models import AuditEntry, Escalation, StaffMember

SYSTEM = "system"  # the author of an assignment nobody clicked (the console names it 在线助手或系统)


class Load(Protocol):
    username: str

    @property
    def held(self) -> int: ...


L = TypeVar("L", bound=Load)


def next_in_turn(loads: Iterable[L]) -> L | None:
    """The one holding fewest (ties by login name); None when nobody is available."""
    return min(loads, key=lambda load: (load.held, load.username), default=None)


@dataclass
class Available:
    username: str
    display_name: str
    held: int


def available_loads(session: Session) -> list[Available]:
    """Every active member of staff taking new escalations, with how many unresolved escalations each holds."""
    held = (select(Escalation.claimed_by, func.count().label("held"))
            .where(Escalation.claimed_by.is_not(None), Escalation.status != EscalationStatus.RESOLVED)
            .group_by(Escalation.claimed_by).subquery())
    rows = session.execute(
        select(StaffMember.username, StaffMember.display_name, func.coalesce(held.c.held, 0))
        .outerjoin(held, held.c.claimed_by == StaffMember.username)
        .where(StaffMember.active.is_(True), StaffMember.available.is_(True))).all()
    return [Available(username, display_name or username, count) for username, display_name, count in rows]


def give_on_opening(session: Session, escalation: Escalation, at: dt.datetime) -> Available | None:
    """Gives a just-opened escalation to whoever is next in turn, in the caller's transaction, with the system's
    audit entry; leaves it waiting in the queue when nobody is available. The service clock keeps running: being
    given a case is not yet an answer to the borrower. `at`: naive UTC, as stored."""
    chosen = next_in_turn(available_loads(session))
    if chosen is None:
        return None
    escalation.claimed_by, escalation.status = chosen.username, EscalationStatus.CLAIMED
    given = texts.text("console.assign.to", texts.DEFAULT_LANGUAGE, None, name=chosen.display_name)
    automatic = texts.text("console.assign.auto", texts.DEFAULT_LANGUAGE, None)
    session.add(AuditEntry(at=at, staff=SYSTEM, action=AuditAction.ASSIGN,
                           conversation_id=escalation.conversation_id, target=escalation.reference,
                           detail=f"{automatic}:{given}"))
    return chosen

