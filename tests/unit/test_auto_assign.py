"""Round-robin on creation (policy.yml console.auto_assign), on both databases: a new escalation goes at once to the
available member of staff holding fewest, in the transaction that opens it, audited as the system's; with nobody
available it waits in the queue; a borrower in crisis is given to a person too."""
import dataclasses
import datetime as dt
import json

import pytest
from sqlalchemy import select

from kuanxin.console.casework import Casework
from kuanxin.console.staff import StaffDirectory
from kuanxin.core import policy as policies
from kuanxin.core.policy import PolicyError, parse_policy
from kuanxin.store import assignment
from kuanxin.store.accounts import Accounts
from kuanxin.store.models import AuditEntry, Escalation, OutboxEvent
from tests.unit.test_policy import changed
from tests.unit.test_records import NOW, TODAY

PASSWORD = "correct horse battery"


@pytest.fixture
def auto_assign(monkeypatch, policy):
    """The policy in force with console.auto_assign on."""
    on = dataclasses.replace(policy, console=dataclasses.replace(policy.console, auto_assign=True))
    monkeypatch.setattr(policies, "current", lambda: on)
    return on


@pytest.fixture
def team(db):
    directory = StaffDirectory(db)
    members = {name: directory.add(name, PASSWORD, role, words, NOW) for name, role, words in (
        ("wang", "supervisor", "王主管"), ("li", "agent", "李娜"), ("zhao", "agent", "赵敏"), ("sun", "agent", "孙立"))}
    return members


def open_one(db, n: int, reason: str = "human", priority: str = "normal"):
    escalation, created = Accounts(db).open_escalation(
        conversation_id=f"c{n}", borrower_id=None, reason=reason, priority=priority, channel="webchat",
        summary="借款人要求人工", today=TODAY, now=NOW + dt.timedelta(minutes=n))
    return escalation


def test_the_policy_reads_auto_assign_as_true_or_false(policy):
    assert policy.console.auto_assign is False  # as shipped: escalations wait for a claim or 轮流分配
    assert parse_policy(changed("console.auto_assign", True)).console.auto_assign is True
    with pytest.raises(PolicyError, match="console.auto_assign: give true or false"):
        parse_policy(changed("console.auto_assign", "yes"))


def test_a_new_escalation_goes_to_the_available_member_holding_fewest(db, team, auto_assign):
    casework = Casework(db)
    for name in ("li", "zhao"):
        casework.set_available(team[name], True)  # sun and the supervisor are not taking new escalations
    first = open_one(db, 1)
    assert (first.claimed_by, first.status) == ("li", "claimed")  # a tie at none held: by login name
    second = open_one(db, 2)
    assert (second.claimed_by, second.status) == ("zhao", "claimed")  # li holds one, zhao none
    third = open_one(db, 3)
    assert third.claimed_by == "li"  # one each: the tie goes by login name
    fourth = open_one(db, 4)
    assert fourth.claimed_by == "zhao"
    casework.resolve(third.id, team["li"], "已处理", NOW + dt.timedelta(minutes=5))  # resolved ones are not held
    assert open_one(db, 5).claimed_by == "li"
    assert {h.username: h.held for h in casework.holdings(available_only=True)} == {"li": 2, "zhao": 2}

    audit = casework.audit_of("c2")
    assert [(a.staff, a.action, a.target, a.detail) for a in audit] == [
        (assignment.SYSTEM, "assign", second.reference, "轮流分配:分配给 赵敏")]
    # being given a case is no answer to the borrower: the service clock runs on until staff answer
    assert casework.escalation(second.id).first_response_at is None


def test_the_assignment_is_made_in_the_transaction_that_opens_the_escalation(db, team, auto_assign):
    Casework(db).set_available(team["zhao"], True)
    first = open_one(db, 1)
    again = open_one(db, 1)  # the same conversation and reason again: the first is found, not given twice
    assert again.id == first.id and again.claimed_by == "zhao"
    with db.session() as session:
        assigned = session.execute(select(AuditEntry).where(AuditEntry.action == "assign")).scalars().all()
        stored = session.get(Escalation, first.id)
    assert len(assigned) == 1 and assigned[0].at == stored.created_at  # written with it, at the same moment
    assert (stored.claimed_by, stored.status) == ("zhao", "claimed")


def test_with_nobody_available_it_waits_in_the_queue(db, team, auto_assign):
    waiting = open_one(db, 1)
    assert (waiting.claimed_by, waiting.status) == (None, "open")
    casework = Casework(db)
    assert [e.reference for e in casework.queue()] == [waiting.reference]
    assert casework.audit_of("c1") == []
    casework.set_available(team["sun"], True)
    StaffDirectory(db).disable("sun")  # available, but no longer on the staff: nobody takes it
    assert open_one(db, 2).claimed_by is None


def test_a_borrower_in_crisis_reaches_a_person_at_once(db, team, auto_assign):
    casework = Casework(db)
    casework.set_available(team["sun"], True)
    flag, escalation = Accounts(db).raise_safety_flag(conversation_id="c9", borrower_id=None, channel="webchat",
                                                      summary="我不想活了", today=TODAY, now=NOW)
    assert (escalation.reason, escalation.claimed_by, escalation.status) == ("safety", "sun", "claimed")
    assert flag.escalation_reference == escalation.reference
    with db.session() as session:  # the lender hears of it as it was opened
        event = session.execute(select(OutboxEvent).where(OutboxEvent.kind == "safety.escalated")).scalar_one()
    assert json.loads(event.payload)["status"] == "open"


def test_without_the_policy_nothing_is_given(db, team):
    Casework(db).set_available(team["li"], True)
    assert open_one(db, 1).claimed_by is None


def test_the_rule_is_fewest_held_then_login_name():
    loads = [assignment.Available("zhao", "赵敏", 1), assignment.Available("li", "李娜", 1),
             assignment.Available("an", "安", 2)]
    assert assignment.next_in_turn(loads).username == "li"
    assert assignment.next_in_turn([]) is None
