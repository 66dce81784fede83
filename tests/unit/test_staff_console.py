"""Staff accounts, console sessions and casework, on both databases."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from kuanxin.console.casework import CaseError, Casework, Forbidden
from kuanxin.console.staff import StaffDirectory, StaffError
from kuanxin.store import importer
from kuanxin.store.accounts import Accounts
from kuanxin.store.demo import demo_document
from kuanxin.store.models import AuditEntry, ServiceRequest, StaffMember
from tests.unit.test_records import NOW, TODAY, at_once

PASSWORD = "correct horse battery"


@pytest.fixture
def staff(db):
    directory = StaffDirectory(db)
    return (directory, directory.add("wang", PASSWORD, "supervisor", "王小明", NOW),
            directory.add("li", PASSWORD, "agent", "李娜", NOW))


def test_passwords_are_stored_as_argon2_hashes_and_checked(db, staff, policy):
    directory, _, _ = staff
    assert directory.log_in("wang", PASSWORD, NOW, policy.console).status == "ok"
    assert directory.log_in("wang", "wrong password", NOW, policy.console).status == "wrong"
    assert directory.log_in("nobody", PASSWORD, NOW, policy.console).status == "wrong"
    with db.session() as session:
        stored = session.execute(select(StaffMember.password_hash).where(StaffMember.username == "wang")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    member = [m for m, _ in directory.members() if m.username == "wang"][0]
    assert member.role == "supervisor" and member.display_name == "王小明"


def test_bad_staff_details_are_refused(staff):
    directory, _, _ = staff
    with pytest.raises(StaffError):
        directory.add("wang", PASSWORD, "agent", None, NOW)  # taken
    with pytest.raises(StaffError):
        directory.add("Zhang San", PASSWORD, "agent", None, NOW)
    with pytest.raises(StaffError):
        directory.add("zhang", "short", "agent", None, NOW)
    with pytest.raises(StaffError):
        directory.add("zhang", PASSWORD, "admin", None, NOW)


@pytest.mark.slow
def test_repeated_wrong_passwords_lock_the_account_for_a_while(staff, policy):
    directory, _, _ = staff
    rules = policy.console
    results = [directory.log_in("li", "guess", NOW, rules).status for _ in range(rules.max_failed_logins)]
    assert results == ["wrong"] * (rules.max_failed_logins - 1) + ["locked"]
    assert directory.log_in("li", PASSWORD, NOW + dt.timedelta(minutes=1), rules).status == "locked"
    later = NOW + dt.timedelta(minutes=rules.lockout_minutes, seconds=1)
    assert directory.log_in("li", PASSWORD, later, rules).status == "ok"


def test_a_session_ends_on_logout_idle_timeout_or_when_disabled(staff, policy):
    directory, _, _ = staff
    rules = policy.console
    login = directory.log_in("li", PASSWORD, NOW, rules)
    who, csrf = directory.session_of(login.token, NOW + dt.timedelta(minutes=rules.idle_minutes - 1), rules)
    assert who.username == "li" and csrf == login.csrf_token
    # each use restarts the idle clock
    assert directory.session_of(login.token, NOW + dt.timedelta(minutes=2 * rules.idle_minutes - 2), rules)
    assert directory.session_of(login.token, NOW + dt.timedelta(minutes=3 * rules.idle_minutes), rules) is None
    second = directory.log_in("li", PASSWORD, NOW, rules)
    directory.log_out(second.token)
    assert directory.session_of(second.token, NOW, rules) is None
    third = directory.log_in("li", PASSWORD, NOW, rules)
    assert directory.disable("li")
    assert directory.session_of(third.token, NOW, rules) is None
    assert directory.log_in("li", PASSWORD, NOW, rules).status == "wrong"
    assert directory.session_of("made-up-token", NOW, rules) is None


def escalated(db):
    importer.load_document(db, demo_document())
    escalation, _ = Accounts(db).open_escalation(
        conversation_id="c1", borrower_id="B1001", reason="human", priority="normal", channel="webchat",
        summary="借款人要求人工 13812345678", today=TODAY, now=NOW)
    return escalation


def test_queue_puts_high_priority_first_and_filters(db, staff):
    escalation = escalated(db)
    accounts = Accounts(db)
    urgent, _ = accounts.open_escalation(conversation_id="c2", borrower_id=None, reason="collection_abuse",
                                         priority="high", channel="wechat", summary="投诉", today=TODAY,
                                         now=NOW - dt.timedelta(hours=1))
    casework = Casework(db)
    assert [e.reference for e in casework.queue()] == [urgent.reference, escalation.reference]
    assert [e.reference for e in casework.queue(channel="webchat")] == [escalation.reference]
    assert casework.queue(since=NOW + dt.timedelta(minutes=1)) == []
    assert casework.counts_by_status() == {"open": 2, "claimed": 0, "resolved": 0}
    assert "138****5678" in escalation.summary


def test_every_action_is_audited_and_resolving_frees_the_conversation(db, staff):
    _, supervisor, agent = staff
    escalation = escalated(db)
    casework = Casework(db)
    casework.claim(escalation.id, agent, NOW)
    casework.take_over(escalation.id, agent, NOW)
    casework.record_reply(escalation.id, agent, "您好,手机13812345678的客户", NOW)
    casework.add_note("c1", agent, "<script>x</script>", NOW)
    casework.hand_back(escalation.id, agent, NOW)
    resolved = casework.resolve(escalation.id, supervisor, "已电话回访", NOW)
    assert resolved.status == "resolved" and not resolved.taken_over and resolved.open_key is None
    assert [(a.staff, a.action) for a in casework.audit_of("c1")] == [
        ("li", "claim"), ("li", "take_over"), ("li", "reply"), ("li", "note"), ("li", "hand_back"),
        ("wang", "resolve")]
    assert "13812345678" not in casework.audit_of("c1")[2].detail
    with pytest.raises(CaseError):
        casework.claim(escalation.id, agent, NOW)
    again, created = Accounts(db).open_escalation(conversation_id="c1", borrower_id="B1001", reason="human",
                                                  priority="normal", channel="webchat", summary="again",
                                                  today=TODAY, now=NOW)
    assert created and again.id != escalation.id


def pending_request(db):
    importer.load_document(db, demo_document())
    request, _ = Accounts(db).submit_request(borrower_id="B1001", loan_id="L1001", kind="deferral",
                                             conversation_id="c1", today=TODAY, now=NOW, months=1, reason="失业")
    return request


def test_only_a_supervisor_decides_and_only_a_pending_request(db, staff):
    _, supervisor, agent = staff
    request = pending_request(db)
    casework = Casework(db)
    with pytest.raises(Forbidden):
        casework.decide_request(request.reference, agent, "approve", "同意", NOW)
    with pytest.raises(CaseError):
        casework.decide_request(request.reference, supervisor, "approve", "  ", NOW)
    decided = casework.decide_request(request.reference, supervisor, "approve", "同意延期一个月", NOW)
    assert (decided.status, decided.decided_by, decided.decision_reason) == ("approved", "wang", "同意延期一个月")
    with pytest.raises(CaseError):
        casework.decide_request(request.reference, supervisor, "reject", "改主意", NOW)
    shown = Accounts(db).requests_of("B1001")
    assert [r.status for r in shown if r.reference == request.reference] == ["approved"]


def test_two_supervisors_deciding_at_once_decide_once(db, staff):
    directory, supervisor, _ = staff
    other = directory.add("zhao", PASSWORD, "supervisor", None, NOW)
    request = pending_request(db)

    def decide(who, decision):
        try:
            return Casework(db).decide_request(request.reference, who, decision, "决定", NOW).status
        except CaseError:
            return "refused"
    deciders = iter([(supervisor, "approve"), (other, "reject")])
    results = at_once(2, lambda: decide(*next(deciders)))
    assert sorted(results).count("refused") == 1
    with db.session() as session:
        audits = session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
        status = session.execute(select(ServiceRequest.status).where(
            ServiceRequest.reference == request.reference)).scalar_one()
    assert audits == 1 and status in ("approved", "rejected")



def test_failed_logins_from_one_address_are_limited_per_minute():
    from web.console.auth import AttemptLimiter
    limiter = AttemptLimiter()
    for second in range(3):
        assert limiter.allow("10.0.0.1", 3, now=100 + second)
        limiter.failed("10.0.0.1", now=100 + second)
    assert not limiter.allow("10.0.0.1", 3, now=110)
    assert limiter.allow("10.0.0.2", 3, now=110)  # another address is not affected
    assert limiter.allow("10.0.0.1", 3, now=161)  # a minute after the first failure


def test_nul_bytes_never_reach_the_database(db, staff):
    _, _, agent = staff
    escalated(db)
    note = Casework(db).add_note("c1", agent, "备注\x00内容", NOW)
    assert note.text == "备注内容"


def test_claiming_assigning_and_reassigning_change_one_owner_with_the_audit(db, staff):
    directory, supervisor, agent = staff
    zhao = directory.add("zhao", PASSWORD, "agent", "赵敏", NOW)
    escalation = escalated(db)
    casework = Casework(db)
    casework.claim(escalation.id, agent, NOW)
    with pytest.raises(CaseError, match="已由 李娜 处理"):  # a colleague's case is not taken by a claim
        casework.claim(escalation.id, zhao, NOW)
    with pytest.raises(CaseError, match="已由 李娜 处理"):  # nor by taking the conversation over
        casework.take_over(escalation.id, zhao, NOW)
    with pytest.raises(CaseError, match="已由 李娜 处理"):  # checked before the route pauses the assistant
        casework.check_may_hold(casework.escalation(escalation.id), zhao)
    with pytest.raises(Forbidden):
        casework.assign(escalation.id, agent, "zhao", NOW)
    with pytest.raises(CaseError):
        casework.assign(escalation.id, supervisor, "nobody", NOW)
    moved = casework.assign(escalation.id, supervisor, "zhao", NOW + dt.timedelta(minutes=5))
    assert (moved.claimed_by, moved.status) == ("zhao", "claimed")
    assert moved.first_response_at == NOW  # the claim answered it; the reassignment keeps its clock stopped
    last = casework.audit_of("c1")[-1]
    assert (last.staff, last.action, last.detail) == ("wang", "assign", "由 李娜 转给 赵敏")
    assert [e.reference for e in casework.queue(status=None, owner="zhao")] == [escalation.reference]
    assert casework.queue(status=None, owner="li") == []
    held = {h.username: h.escalations for h in casework.holdings()}
    assert held == {"li": [], "wang": [], "zhao": [escalation.reference]}


def test_the_first_answer_stops_the_clock_once(db, staff):
    _, _, agent = staff
    escalation = escalated(db)
    casework = Casework(db)
    casework.add_note("c1", agent, "先看看", NOW)  # a note is no answer to the borrower
    assert casework.escalation(escalation.id).first_response_at is None
    casework.claim(escalation.id, agent, NOW + dt.timedelta(minutes=7))
    casework.record_reply(escalation.id, agent, "您好", NOW + dt.timedelta(minutes=9))
    assert casework.escalation(escalation.id).first_response_at == NOW + dt.timedelta(minutes=7)


def test_round_robin_gives_waiting_escalations_to_available_agents_in_turn(db, staff):
    directory, supervisor, agent = staff
    zhao = directory.add("zhao", PASSWORD, "agent", "赵敏", NOW)
    escalated(db)
    accounts, casework = Accounts(db), Casework(db)
    with pytest.raises(CaseError, match="在岗"):
        casework.assign_round_robin(supervisor, NOW)
    for n in range(2, 5):
        accounts.open_escalation(conversation_id=f"c{n}", borrower_id=None, reason="human", priority="normal",
                                 channel="webchat", summary="人工", today=TODAY, now=NOW + dt.timedelta(minutes=n))
    crisis, _ = accounts.open_escalation(conversation_id="c9", borrower_id=None, reason="safety", priority="high",
                                         channel="webchat", summary="安全", today=TODAY,
                                         now=NOW + dt.timedelta(minutes=9))
    casework.claim(casework.queue()[-1].id, agent, NOW)  # li already holds one
    casework.set_available(agent, True)
    casework.set_available(zhao, True)
    given = casework.assign_round_robin(supervisor, NOW + dt.timedelta(minutes=10))
    assert given[0] == (crisis.reference, "zhao")  # the borrower in crisis first, to the one holding least
    assert [who for _, who in given] == ["zhao", "li", "zhao", "li"]
    assert {h.username: len(h.escalations) for h in casework.holdings(available_only=True)} == {"li": 3, "zhao": 2}
    assert casework.assign_round_robin(supervisor, NOW + dt.timedelta(minutes=11)) == []  # none left waiting
    assert all(a.detail.startswith("轮流分配:分配给") for a in casework.audit_of("c9"))
