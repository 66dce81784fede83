"""What a borrower sees when things go wrong: a broken database, messages the assistant cannot read."""
import uuid

import pytest
import requests
from sqlalchemy import select

from kuanxin.store.models import Escalation
from testkit.servers import Borrower, start_servers


@pytest.fixture(scope="module")
def broken_servers(tmp_path_factory):
    """The servers on an account database that cannot be opened (its folder does not exist); the actions in Rasa's
    process, the default."""
    workdir = tmp_path_factory.mktemp("broken")
    running = start_servers(workdir, f"sqlite:///{workdir}/missing-folder/accounts.db")
    try:
        yield running, workdir
    finally:
        running.stop()


def test_database_failure_gets_an_apology_not_a_stack_trace(broken_servers):
    servers, logs = broken_servers
    borrower = Borrower(servers)
    assert "AI智能助手" in borrower.say("你好")  # what needs no database still works
    reply = borrower.say("我逾期了多少钱 手机13812345678 身份证后四位123X")  # the check needs the database
    assert "系统刚才出了点问题" in reply and "转人工" in reply
    assert "Traceback" not in reply and "sqlite" not in reply.lower() and "OperationalError" not in reply
    action_log = (logs / ("rasa.log" if servers.actions_in_process else "actions.log")).read_text()
    assert "OperationalError" in action_log  # the failure is logged for the team ...
    assert "13812345678" not in action_log    # ... without the borrower's phone number


def user_event(text, intent, confidence):
    parse_data = {"intent": {"name": intent, "confidence": confidence}, "entities": [], "text": text}
    return {"event": "user", "text": text, "input_channel": "rest", "parse_data": parse_data}


def test_second_unclear_message_in_a_row_goes_to_a_person(servers, db):
    """Calls the action server as Rasa does, with two low-confidence turns in the tracker."""
    sender = "e2e-" + uuid.uuid4().hex[:8]
    events = [user_event("嗯那个", "nlu_fallback", 0.2), {"event": "action", "name": "action_handle_low_confidence"},
              user_event("就是那个啥", "nlu_fallback", 0.3)]
    tracker = {"sender_id": sender, "slots": {"verified": False}, "latest_message": events[-1]["parse_data"],
               "events": events, "paused": False, "followup_action": None, "active_loop": {},
               "latest_action_name": "action_listen"}
    response = requests.post(f"{servers.actions_url}/webhook", timeout=30, json={
        "next_action": "action_handle_low_confidence", "sender_id": sender, "tracker": tracker,
        "domain": {}, "version": "3.6.2"})
    assert response.status_code == 200
    text = " ".join(r.get("text") or "" for r in response.json()["responses"])
    assert "人工客服" in text and "RG20261122-" in text
    with db.session() as s:
        escalation = s.execute(select(Escalation).where(Escalation.conversation_id == sender)).scalar_one()
    assert (escalation.reason, escalation.priority, escalation.channel) == ("low_confidence", "normal", "rest")


def test_first_unclear_message_asks_to_rephrase(borrower):
    reply = borrower.say("/nlu_fallback")
    assert "换个说法" in reply
