"""What one action call reads from the account database, counted by the action server itself.

Servers of their own run with KUANXIN_STAGE_TIMINGS (actions/timings.py): each action call is recorded with the
SQL statements it ran. A plan's terms question is asked on most turns of a plan request; it reads the borrower's
profile (Accounts.borrower_profile) once, for the note on a pending request and for the choices alike.
"""
from __future__ import annotations

import datetime as dt
import functools
import json

import pytest
from sqlalchemy import event

from kuanxin.core import policy
from kuanxin.store.accounts import Accounts
from kuanxin.store.agreements import PlanBook
from kuanxin.store.db import Database
from testkit.servers import TODAY, Borrower, demo_servers


@pytest.fixture(scope="module")
def counted(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("action-reads")
    running = demo_servers(workdir, {"KUANXIN_STAGE_TIMINGS": str(workdir / "timings")})
    running.timings = workdir / "timings"
    try:
        yield running
    finally:
        running.stop()


def statements_of(servers, sender: str, action: str) -> list[int]:
    """The statements each call of the action ran in this conversation, in order."""
    calls = [json.loads(line) for path in servers.timings.glob("actions-*.jsonl")
             for line in path.read_text(encoding="utf-8").splitlines()]
    return [call.get("statements", 0) for call in calls if call["sender"] == sender and call["action"] == action]


def statements_run(database: Database, *reads) -> int:
    """How many SQL statements these reads run, one after the other."""
    count = 0

    def one(*_args) -> None:
        nonlocal count
        count += 1

    event.listen(database.engine, "after_cursor_execute", one)
    try:
        for read in reads:
            read()
    finally:
        event.remove(database.engine, "after_cursor_execute", one)
    return count


def profile(database: Database):
    return Accounts(database).borrower_profile("B1001")


def plan_in_force(database: Database):  # what each choice's payment is computed against (a re-plan replaces it)
    return PlanBook(database).in_force_on("L1001", dt.date.fromisoformat(TODAY), policy.current().plans.grace_days)


@pytest.mark.parametrize("request_text, action, question, reads", [
    ("我想分期", "action_ask_installment_periods", "分几期", (profile, plan_in_force)),
    ("我想申请延期", "action_ask_deferral_months", "延期几个月", (profile,)),
])
def test_a_plans_terms_question_reads_the_borrowers_profile_once(counted, request_text, action, question, reads):
    borrower = Borrower(counted)
    borrower.verify("13812345678", "123X")
    assert question in borrower.say(request_text)
    needed = statements_run(counted.database, *(functools.partial(read, counted.database) for read in reads))
    assert statements_of(counted, borrower.sender, action) == [needed]
