"""No full phone or ID number reaches the conversation store or a log, against the real servers.

Rasa, the action server and the web app run as `kuanxin serve` runs them, with Rasa's SQL tracker store on a
SQLite file (the production store is the same SQLTrackerStore on PostgreSQL; tests/unit/test_privacy_store.py
covers that) and Rasa logging at DEBUG, where it prints every message and slot. Borrowers verify over REST
with numbers typed every way; then the store's raw rows and file, the HTTP API's transcript (what the console
reads), an export, and every log the servers wrote are searched for the digits.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from kuanxin.core import clock
from kuanxin.core.zh_parse import digits_to_ascii
from kuanxin.store.db import Database
from kuanxin.store.demo import demo_document
from kuanxin.store.importer import load_document
from kuanxin.store.models import PendingPhone
from testkit.servers import MODEL, Borrower, start_servers

# demo borrowers: phone, whole ID number (the account database itself keeps only the tail and a masked form)
NUMBERS = {"13812345678": "11010119900307123X", "13900001111": "310101198805124567",
           "13700002222": "440301198512300019"}
ENDPOINTS = """action_endpoint:
  url: ${{KUANXIN_ACTION_ENDPOINT}}
tracker_store:
  type: SQL
  dialect: sqlite
  db: {db}
lock_store:
  type: runtime.locks.InProcessLockStore
"""


@pytest.fixture(scope="module")
def stored_servers(tmp_path_factory):
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train`")
    workdir = tmp_path_factory.mktemp("privacy-servers")
    accounts = f"sqlite:///{workdir / 'accounts.db'}"
    database = Database(accounts)
    database.create_schema()
    load_document(database, demo_document())
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(ENDPOINTS.format(db=workdir / "conversations.db"), encoding="utf-8")
    running = start_servers(workdir, accounts, {"KUANXIN_ENDPOINTS": str(endpoints), "LOG_LEVEL": "DEBUG"})
    running.logs, running.store = workdir, workdir / "conversations.db"
    try:
        yield running
    finally:
        running.stop()


def full_numbers_in(value) -> list[str]:
    """The full phone and ID numbers a stored value (string, list, dict) holds, however they are written
    (separators, +86, full-width or Chinese digits); a masked form or an ID tail is not one."""
    if isinstance(value, dict):
        return [found for item in value.values() for found in full_numbers_in(item)]
    if isinstance(value, list):
        return [found for item in value for found in full_numbers_in(item)]
    if not isinstance(value, str):
        return []
    plain = re.sub(r"[\s\-+.,()_]", "", digits_to_ascii(value.translate(str.maketrans(
        "０１２３４５６７８９Ｘｘ\u3000", "0123456789Xx "))))
    return [number for pair in NUMBERS.items() for number in pair
            if number in plain or number[:14] in plain or number.lower() in plain]


def test_identity_is_verified_and_no_full_number_is_stored_or_logged(stored_servers, tmp_path):
    servers = stored_servers
    spaced = Borrower(servers)  # phone with spaces in one message, the ID tail in the next
    assert "手机号" in spaced.say("我要查一下欠款")
    assert "后4位" in spaced.say("我的手机号是 138 1234 5678")
    statement = spaced.say("123X")
    assert "身份核实成功(138****5678)" in statement and "3,084.60" in statement
    spaced.say("对了,我身份证号是11010119900307123X,电话+86 138-1234-5678")  # typed by mistake afterwards

    whole_id = Borrower(servers)  # the whole ID number typed where the tail was asked for
    whole_id.say("查询欠款")
    assert "后4位" in whole_id.say("13700002222")
    assert "身份核实成功(137****2222)" in whole_id.say("身份证 440301198512300019")

    at_once = Borrower(servers)  # everything in one message, in full-width digits
    assert "身份核实成功(139****1111)" in at_once.say("１３９ ００００ １１１１ 4567 我逾期了多少钱")

    # the phone numbers that waited for an ID tail are kept only for a re-sent turn once each check succeeded
    pinned = dt.date.fromisoformat(servers.env["KUANXIN_TODAY"])
    servers_now = dt.datetime.now(clock.BEIJING).replace(year=pinned.year, month=pinned.month, day=pinned.day)
    latest = servers_now.astimezone(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(seconds=120 + 5)
    with Database(servers.env["KUANXIN_DATABASE_URL"]).session() as session:
        assert session.execute(select(func.count()).select_from(PendingPhone)
                               .where(PendingPhone.expires_at > latest)).scalar_one() == 0

    # the conversation store: every row, decoded, and the raw file
    engine = create_engine(f"sqlite:///{servers.store}", future=True)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT sender_id, type_name, data FROM events ORDER BY id")).all()
    engine.dispose()
    senders = {row.sender_id for row in rows}
    assert {spaced.sender, whole_id.sender, at_once.sender} <= senders
    stored = [json.loads(row.data) for row in rows]
    assert [found for event in stored for found in full_numbers_in(event)] == []
    said = [event["text"] for event in stored if event["event"] == "user"]
    assert "我的手机号是 138****5678" in said and "身份证 440301********0019" in said and "123X" in said
    assert "138****5678" in json.dumps([e for e in stored if e["event"] == "slot"], ensure_ascii=False)
    raw = b"".join(path.read_bytes() for path in servers.store.parent.glob("conversations.db*"))
    assert not [number for pair in NUMBERS.items() for number in pair if number.encode() in raw]

    # what the console reads (Rasa's HTTP API) is the stored, masked conversation
    assert full_numbers_in(spaced.tracker()) == []

    # an export of the borrower through the command line, from this very store
    out = tmp_path / "export"
    done = subprocess.run([str(Path(sys.executable).parent / "kuanxin"), "privacy", "export", "B1001", "--out",
                           str(out), "--tracker-store", f"sqlite:///{servers.store}", "--by", "e2e"],
                          env=servers.env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    exported = json.loads((out / "kuanxin-export-B1001.json").read_text(encoding="utf-8"))
    assert spaced.sender in exported["conversations"]
    assert full_numbers_in(exported) == [] and full_numbers_in((out / "kuanxin-export-B1001.html").read_text()) == []

    # every log the servers wrote: Rasa at DEBUG printed each message, masked
    logs = {name: (servers.logs / f"{name}.log").read_text(encoding="utf-8", errors="replace")
            for name in stored_servers.names()}  # the actions write to Rasa's log, in its process
    assert "138****5678" in logs["rasa"]  # the messages were logged, masked
    for name, written in logs.items():
        leaks = [line for line in written.splitlines() if full_numbers_in(line)]
        assert leaks == [], f"{name}.log: {leaks[:3]}"
    assert os.path.getsize(servers.logs / "rasa.log") > 10_000  # DEBUG logging was really on
