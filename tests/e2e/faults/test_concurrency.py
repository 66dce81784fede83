"""Many messages at once in one conversation: every one recorded and answered, in the order taken."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from testkit.servers import Borrower

BURST = 50


def test_50_identical_messages_at_once_are_all_recorded_and_answered(fault_servers):
    borrower = Borrower(fault_servers)
    with ThreadPoolExecutor(max_workers=BURST) as pool:
        answers = list(pool.map(lambda _: borrower.send("逾期会有什么后果"), range(BURST)))
    assert [a.status_code for a in answers] == [200] * BURST
    assert all(a.json() for a in answers)
    events = [e["event"] for e in borrower.tracker()["events"] if e["event"] in ("user", "bot")]
    assert events.count("user") == BURST
    assert all(events[k + 1] == "bot" for k, kind in enumerate(events) if kind == "user")


def test_a_burst_of_resends_of_one_message_makes_one_turn(fault_servers):
    borrower = Borrower(fault_servers)
    message_id = uuid.uuid4().hex
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: borrower.send("怎么还款", message_id), range(20)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1
    assert [e["text"] for e in borrower.tracker()["events"] if e["event"] == "user"] == ["怎么还款"]
