"""The live queue's stream over HTTP: only for a signed-in member of staff, it says `queue` when the queue changes,
and an open stream does not hold up a web app told to stop."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import threading
import time

import requests

from kuanxin.console.casework import Casework
from kuanxin.core import clock, policy
from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.ops.serve import WEB_SHUTDOWN_SECONDS, free_port, web_command
from kuanxin.store.accounts import Accounts
from testkit.servers import TODAY
from tests.e2e.console_client import ConsoleClient, new_staff


def first_lines(response: requests.Response, found: list[str], wanted: int) -> None:
    for line in response.iter_lines(decode_unicode=True):
        found.append(line)
        if len(found) >= wanted:
            return


def test_a_change_is_streamed_to_a_signed_in_page_only(servers, db):
    anonymous = requests.get(f"{servers.web_url}/console/live", allow_redirects=False, timeout=10)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/console/login"
    console = ConsoleClient(servers.web_url)
    console.log_in(new_staff(db, "supervisor"))
    stream = console.http.get(f"{servers.web_url}/console/live", stream=True, timeout=30)
    assert stream.headers["content-type"].startswith("text/event-stream")
    lines: list[str] = []
    reader = threading.Thread(target=first_lines, args=(stream, lines, 4), daemon=True)
    reader.start()
    deadline = time.monotonic() + 10  # the page is watching once its first line came
    while not lines and time.monotonic() < deadline:
        time.sleep(0.05)
    # the `db` fixture's reload deleted every escalation and SQLite hands their ids out again, so the escalation
    # opened below can carry the very mark the watcher last read: let it read the reloaded table first
    time.sleep(policy.current().console.live_poll_seconds + 0.5)
    Accounts(db).open_escalation(conversation_id=f"live-http-{time.time_ns()}", borrower_id=None, reason="human",
                                 priority="normal", channel="rest", summary="人工", today=dt.date.fromisoformat(TODAY),
                                 now=clock.now())
    reader.join(timeout=10)
    stream.close()
    assert lines[0] == "retry: 3000" and "event: queue" in lines and 'data: {"what": "queue"}' in lines
    assert Casework(db).counts_by_status()["open"] >= 1


def test_an_open_stream_does_not_hold_up_a_stop(tmp_path, db):
    port = free_port()
    env = {**os.environ, "KUANXIN_DATABASE_URL": str(db.engine.url), "KUANXIN_TODAY": TODAY,
           "KUANXIN_VAR_DIR": str(tmp_path)}
    with open(tmp_path / "web.log", "w") as log:
        process = subprocess.Popen(web_command(port), cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if requests.get(url + "/health", timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    time.sleep(0.2)
            console = ConsoleClient(url)
            console.log_in(new_staff(db, "agent"))
            stream = console.http.get(url + "/console/live", stream=True, timeout=30)
            assert stream.status_code == 200
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=WEB_SHUTDOWN_SECONDS + 10)
            assert time.monotonic() - started < WEB_SHUTDOWN_SECONDS + 5
        finally:
            if process.poll() is None:
                process.kill()
