"""The staff console over HTTP against the running web app: who may do what, and nothing unescaped."""
from __future__ import annotations

import html
import re

import pytest
import requests

from kuanxin.console.casework import Casework
from tests.e2e.console_client import ConsoleClient, new_staff


@pytest.fixture
def escalation(borrower, db):
    """An escalation a real conversation created, after the borrower verified and asked for a deferral."""
    borrower.verify("13812345678", "123X")
    assert "延期:3个月" in borrower.say("我想延期三个月,因为我失业了")
    assert "YQ" in borrower.say("/affirm")
    borrower.say("转人工")
    found = [e for e in Casework(db).queue() if e.conversation_id == borrower.sender]
    assert found, "转人工 should open an escalation"
    return found[0]


def pending_reference(db, borrower_id="B1001") -> str:
    from kuanxin.store.accounts import Accounts
    return next(r.reference for r in Accounts(db).requests_of(borrower_id) if r.status == "pending")


def test_every_page_and_action_refuses_an_anonymous_request(servers, escalation):
    anonymous = requests.Session()
    for path in ("/console", f"/console/escalations/{escalation.id}", "/console?status=all"):
        response = anonymous.get(servers.web_url + path, allow_redirects=False, timeout=30)
        assert response.status_code == 303 and response.headers["location"] == "/console/login"
    for action in ("claim", "take-over", "hand-back", "reply", "resolve", "note"):
        response = anonymous.post(f"{servers.web_url}/console/escalations/{escalation.id}/{action}",
                                  data={"text": "x", "outcome": "x"}, allow_redirects=False, timeout=30)
        assert response.status_code == 403, action
    for path in ("/console/requests/YQ20261122-0001/decide", "/console/logout"):
        assert anonymous.post(servers.web_url + path, data={"decision": "approve"}, timeout=30).status_code == 403
    assert anonymous.get(servers.web_url + "/console/login", timeout=30).status_code == 200


def test_a_post_without_the_csrf_token_changes_nothing(servers, db, escalation):
    console = ConsoleClient(servers.web_url)
    console.log_in(new_staff(db, "agent"))
    response = console.post(f"/console/escalations/{escalation.id}/claim", csrf=False)
    assert response.status_code == 403
    forged = console.http.post(f"{servers.web_url}/console/escalations/{escalation.id}/claim",
                               data={"csrf_token": "not-the-token"}, timeout=30)
    assert forged.status_code == 403
    assert Casework(db).escalation(escalation.id).claimed_by is None
    assert console.post(f"/console/escalations/{escalation.id}/claim").status_code == 200
    assert Casework(db).escalation(escalation.id).status == "claimed"


def test_an_agent_cannot_decide_requests(servers, db, escalation):
    console = ConsoleClient(servers.web_url)
    console.log_in(new_staff(db, "agent"))
    page = console.get(f"/console/escalations/{escalation.id}").text
    reference = pending_reference(db)
    assert reference in page and f"/console/requests/{reference}/decide" not in page  # no decision form for an agent
    response = console.post(f"/console/requests/{reference}/decide", decision="approve", reason="同意",
                            escalation_id=str(escalation.id))
    assert response.status_code == 403
    assert pending_reference(db) == reference


def test_repeated_wrong_passwords_lock_the_login(servers, db):
    username = new_staff(db, "agent")
    console = ConsoleClient(servers.web_url)
    statuses = [console.log_in(username, "wrong-password").status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 423]
    locked = console.log_in(username)
    assert locked.status_code == 423 and "锁定" in locked.text
    assert console.get("/console", allow_redirects=False).status_code == 303


def test_staff_cannot_inject_markup_through_notes_or_replies(servers, db, escalation):
    console = ConsoleClient(servers.web_url)
    console.log_in(new_staff(db, "supervisor", display_name="<b>主管</b>"))
    script = "<script>alert('note')</script>"
    image = '<img src=x onerror="alert(1)">'
    console.post(f"/console/escalations/{escalation.id}/note", text=script)
    page = console.post(f"/console/escalations/{escalation.id}/reply", text=image).text
    assert script not in page and image not in page and "<b>主管</b>" not in page
    assert html.escape(script, quote=False) in page or "&lt;script&gt;" in page
    assert "&lt;img src=x" in page


def test_logout_ends_the_session(servers, db):
    console = ConsoleClient(servers.web_url)
    console.log_in(new_staff(db, "agent"))
    assert console.get("/console").status_code == 200
    cookie = console.http.cookies.get("kx_staff")
    console.post("/console/logout")
    replay = requests.get(servers.web_url + "/console", cookies={"kx_staff": cookie}, allow_redirects=False,
                          timeout=30)
    assert replay.status_code == 303


def test_malformed_and_hostile_addresses_get_a_polite_page(servers, db):
    console = ConsoleClient(servers.web_url)
    console.log_in(new_staff(db, "supervisor"))
    for path in ("/console/escalations/abc", "/console/escalations/999999", "/console/escalations/1%27%20OR%201=1"):
        response = console.get(path)
        assert response.status_code == 404 and "找不到" in response.text and "Traceback" not in response.text
    response = console.post("/console/requests/YQ%27%3B%20DROP%20TABLE%20service_requests%3B--/decide",
                            decision="approve", reason="x" * 10_000)
    assert response.status_code == 409 and "找不到这笔申请" in response.text
    assert console.get("/console?status=<script>&day=not-a-date&reason=%00").status_code == 200


def test_staff_find_a_case_by_phone_tail_and_by_reference(servers, db, escalation):
    assert requests.get(servers.web_url + "/console/search?q=5678", allow_redirects=False,
                        timeout=30).status_code == 303  # signed in only
    console = ConsoleClient(servers.web_url)
    console.log_in(new_staff(db, "agent"))  # every role may search
    page = console.get("/console/search", params={"q": "5678"}).text
    assert escalation.reference in page and f'href="/console/escalations/{escalation.id}"' in page
    assert "138****5678" in page and "13812345678" not in page and "手机尾号" in page
    reference = pending_reference(db)
    page = console.get("/console/search", params={"q": reference.lower()}).text
    assert reference in page and "延期还款" in page and "待审批" in page
    assert f'href="/console/escalations/{escalation.id}"' in page
    assert "13812345678" not in console.get("/console/search", params={"q": "13812345678"}).text
    # every page's header has the search box
    assert 'action="/console/search"' in console.get("/console").text


def test_hostile_searches_get_a_polite_escaped_answer(servers, db, escalation):
    console = ConsoleClient(servers.web_url)
    console.log_in(new_staff(db, "supervisor"))
    # (a query with control characters never reaches the page: web/guard.py drops the parameter)
    for query in ("<script>alert(1)</script>", "' OR 1=1 --", "%", "张\x00伟\x1b"):
        response = console.get("/console/search", params={"q": query, "since": "not-a-date", "status": "<b>"})
        assert response.status_code == 200 and "Traceback" not in response.text, query
        assert "<script>alert(1)</script>" not in response.text and escalation.reference not in response.text
    long = console.get("/console/search", params={"q": "张" * 100})
    assert long.status_code == 422 and "太长" in long.text and "张" * 100 not in long.text
    too_long = console.get("/console/search", params={"q": "张" * 500})  # refused by web/guard.py first
    assert too_long.status_code == 414 and "太长" in too_long.text


def test_only_a_supervisor_assigns_and_the_agent_then_holds_it(servers, db, escalation):
    agent_name = new_staff(db, "agent", display_name="李客服")
    agent = ConsoleClient(servers.web_url)
    agent.log_in(agent_name)
    assert agent.post(f"/console/escalations/{escalation.id}/assign", to=agent_name).status_code == 403
    assert agent.post("/console/team/round-robin").status_code == 403
    assert agent.get("/console/team").status_code == 403
    assert Casework(db).escalation(escalation.id).claimed_by is None

    supervisor = ConsoleClient(servers.web_url)
    supervisor.log_in(new_staff(db, "supervisor"))
    supervisor.get(f"/console/escalations/{escalation.id}")
    assert supervisor.post(f"/console/escalations/{escalation.id}/assign", csrf=False,
                           to=agent_name).status_code == 403
    page = supervisor.post(f"/console/escalations/{escalation.id}/assign", to=agent_name)
    assert page.status_code == 200 and '<span id="owner">李客服</span>' in page.text
    held = Casework(db).escalation(escalation.id)
    assert (held.claimed_by, held.status) == (agent_name, "claimed") and held.first_response_at is not None
    mine = agent.get("/console?mine=1&status=all").text
    assert escalation.reference in mine
    # an agent marks themself available for the round-robin
    agent.post("/console/availability", available="1")
    team = supervisor.get("/console/team").text
    assert re.search(rf'data-staff="{agent_name}"><td>李客服</td><td>在岗接单</td>', team)
    assert escalation.reference in team
