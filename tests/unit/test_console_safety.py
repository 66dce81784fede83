"""The console's own safety, on both databases: an idle session is not kept alive by the page's background reads and
says how long it has left; the supervisors' audit log finds entries by staff, action, borrower and dates, a page at a
time."""
import datetime as dt

import pytest

from kuanxin.console.audit_log import AuditLog, AuditQuery
from kuanxin.console.casework import Casework
from kuanxin.console.staff import StaffDirectory
from kuanxin.core.policy import PolicyError, load_policy
from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.store import importer
from kuanxin.store.accounts import Accounts
from kuanxin.store.demo import demo_document
from tests.unit.test_records import NOW, TODAY

PASSWORD = "correct horse battery"


@pytest.fixture
def staff(db):
    directory = StaffDirectory(db)
    return (directory, directory.add("wang", PASSWORD, "supervisor", "王小明", NOW),
            directory.add("li", PASSWORD, "agent", "李娜", NOW))


def test_background_reads_leave_a_session_as_idle_as_it_was(staff, policy):
    directory, _, _ = staff
    rules = policy.console
    login = directory.log_in("li", PASSWORD, NOW, rules)
    assert directory.idle_seconds_left(login.token, NOW, rules) == rules.idle_minutes * 60
    later = NOW + dt.timedelta(minutes=rules.idle_minutes - 2)
    assert directory.session_of(login.token, later, rules, touch=False)  # the page redrawing itself
    assert directory.idle_seconds_left(login.token, later, rules) == 120
    # so the session still ends on time, however often the page read itself
    assert directory.session_of(login.token, NOW + dt.timedelta(minutes=rules.idle_minutes), rules,
                                touch=False) is None
    assert directory.idle_seconds_left(login.token, NOW + dt.timedelta(minutes=rules.idle_minutes), rules) is None

    second = directory.log_in("li", PASSWORD, NOW, rules)
    assert directory.session_of(second.token, later, rules)  # a person's request (继续使用) starts it again
    assert directory.idle_seconds_left(second.token, later, rules) == rules.idle_minutes * 60
    directory.log_out(second.token)
    assert directory.idle_seconds_left(second.token, later, rules) is None
    assert directory.idle_seconds_left("made-up", NOW, rules) is None
    assert directory.idle_seconds_left(None, NOW, rules) is None


def test_the_warning_time_comes_from_policy(policy, tmp_path):
    assert policy.console.idle_warning_minutes == 5 < policy.console.idle_minutes
    text = (PROJECT_ROOT / "policy.yml").read_text(encoding="utf-8")
    changed = tmp_path / "policy.yml"
    changed.write_text(text.replace("idle_warning_minutes: 5", "idle_warning_minutes: 0"), encoding="utf-8")
    with pytest.raises(PolicyError, match="idle_warning_minutes"):
        load_policy(changed)
    changed.write_text(text.replace("  idle_warning_minutes: 5", "  # none"), encoding="utf-8")
    assert load_policy(changed).console.idle_warning_minutes == 5  # older policy files keep working


def a_day_of_audit(db, staff) -> dict:
    """Escalations of two borrowers worked by two members of staff over three days."""
    _, boss, agent = staff
    importer.load_document(db, demo_document())
    accounts, casework = Accounts(db), Casework(db)
    mine, theirs = (accounts.open_escalation(conversation_id=f"c-{who}", borrower_id=who, reason="human",
                                             priority="normal", channel="webchat", summary="要求人工",
                                             today=TODAY, now=NOW)[0] for who in ("B1001", "B1002"))
    casework.claim(mine.id, agent, NOW)
    casework.add_note(mine.conversation_id, agent, "已电话联系", NOW + dt.timedelta(days=1))
    casework.assign(theirs.id, boss, agent.username, NOW + dt.timedelta(days=1))
    casework.resolve(mine.id, agent, "已解决", NOW + dt.timedelta(days=2))
    return {"mine": mine, "theirs": theirs}


def test_the_audit_log_finds_entries_by_staff_action_borrower_and_dates(db, staff):
    worked = a_day_of_audit(db, staff)
    log = AuditLog(db)
    everything = log.find(AuditQuery())
    assert everything.total == 4 and everything.pages == 1
    assert [e.action for e in everything.entries] == ["resolve", "assign", "note", "claim"]  # newest first
    assert {e.action for e in log.find(AuditQuery(staff="li")).entries} == {"claim", "note", "resolve"}
    assert [e.staff for e in log.find(AuditQuery(action="assign")).entries] == ["wang"]
    b1001 = log.find(AuditQuery(borrower_id="B1001"))
    assert {e.conversation_id for e in b1001.entries} == {worked["mine"].conversation_id} and b1001.total == 3
    assert [e.target for e in log.find(AuditQuery(borrower_id="B1002")).entries] == [worked["theirs"].reference]
    assert log.find(AuditQuery(borrower_id="B9999")).total == 0
    second_day = log.find(AuditQuery(since=NOW + dt.timedelta(days=1), until=NOW + dt.timedelta(days=2)))
    assert sorted(e.action for e in second_day.entries) == ["assign", "note"]
    assert log.find(AuditQuery(staff="li", borrower_id="B1001", action="note")).total == 1
    assert set(log.authors()) == {"li", "wang"}
    with pytest.raises(ValueError):
        log.find(AuditQuery(action="drop_table"))


def test_the_audit_log_pages_through_many_entries(db, staff):
    _, boss, _ = staff
    importer.load_document(db, demo_document())
    escalation, _ = Accounts(db).open_escalation(
        conversation_id="c-notes", borrower_id="B1001", reason="human", priority="normal", channel="webchat",
        summary="要求人工", today=TODAY, now=NOW)
    casework = Casework(db)
    for n in range(7):
        casework.add_note(escalation.conversation_id, boss, f"第{n}条", NOW + dt.timedelta(minutes=n))
    log = AuditLog(db)
    pages = [log.find(AuditQuery(), page, page_size=3) for page in (1, 2, 3)]
    assert [p.total for p in pages] == [7, 7, 7] and pages[0].pages == 3
    assert [len(p.entries) for p in pages] == [3, 3, 1]
    assert [e.detail for p in pages for e in p.entries] == [f"第{n}条" for n in range(6, -1, -1)]
    assert not pages[0].has_previous and pages[0].has_next and pages[2].has_previous and not pages[2].has_next
    assert log.find(AuditQuery(), 99, page_size=3).page == 3  # past the end: the last page
    assert log.find(AuditQuery(), 0, page_size=3).page == 1
