"""The supervisor of `kuanxin serve` and `kuanxin cluster`: a dead process is started again, with back-off."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.ops import serve
from kuanxin.ops.serve import Child, Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def supervise_for(supervisor: Supervisor, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        supervisor.check()
        time.sleep(0.02)


def test_a_child_that_keeps_dying_is_started_again_with_a_doubling_delay(capsys):
    supervisor = Supervisor()
    failing = supervisor.start(Child("failing", [sys.executable, "-c", "raise SystemExit(3)"], os.environ))
    steady = supervisor.start(Child("steady", SLEEPER, os.environ))
    try:
        supervise_for(supervisor, 2.4)  # dies at once: again after 0.5 s, after 1 s, then waits 2 s
        log = capsys.readouterr().err
        assert failing.restarts == 2 and steady.restarts == 0 and steady.running
        assert "failing (pid " in log and "died with exit code 3; starting it again in 0.5 s" in log
        assert "starting it again in 1 s" in log and "starting it again in 2 s" in log
        assert log.count("failing started again") == 2
    finally:
        supervisor.stop()
    assert not supervisor.alive() and not steady.running


def test_the_delay_starts_again_after_a_child_stayed_up(monkeypatch, capsys):
    monkeypatch.setattr(serve, "STEADY_AFTER", 0.3)
    supervisor = Supervisor()
    child = supervisor.start(Child("short", [sys.executable, "-c", "import time; time.sleep(0.4)"], os.environ))
    try:
        supervise_for(supervisor, 3.2)
    finally:
        supervisor.stop()
    log = capsys.readouterr().err
    assert child.restarts >= 2 and "starting it again in 1 s" not in log


def test_a_killed_child_is_started_again_and_the_others_keep_running(capsys):
    supervisor = Supervisor()
    victim, other = (supervisor.start(Child(name, SLEEPER, os.environ)) for name in ("victim", "other"))
    first, others = victim.pid, other.pid
    try:
        os.kill(first, signal.SIGKILL)
        victim.proc.wait()
        supervise_for(supervisor, 0.8)
        assert victim.running and victim.pid != first and other.pid == others and supervisor.alive()
        assert f"victim (pid {first}) died with signal SIGKILL; starting it again in 0.5 s" in capsys.readouterr().err
    finally:
        supervisor.stop()
    assert not victim.running and not other.running


RUNNER = """
import sys
from kuanxin.ops.serve import Child, Supervisor, run_in_foreground

class Group:
    def __init__(self):
        self.supervisor = Supervisor()
    def start(self):
        for name in ("one", "two"):
            self.supervisor.start(Child(name, [sys.executable, "-c", "import time; time.sleep(600)"], {}))
    def supervise_once(self):
        self.supervisor.check()
    def stop(self):
        self.supervisor.stop()

group = Group()
sys.exit(run_in_foreground(group, lambda: "up " + " ".join(str(c.pid) for c in group.supervisor.children)))
"""


def wait_for(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("not within the time")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()[:1] \
        not in ("Z", "")


def test_the_foreground_runner_outlives_a_dead_child_and_stops_only_on_sigterm(tmp_path):
    out, err = tmp_path / "out", tmp_path / "err"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        runner = subprocess.Popen([sys.executable, "-c", RUNNER], cwd=PROJECT_ROOT, stdout=stdout, stderr=stderr)
    try:
        wait_for(lambda: out.read_text().startswith("up "))
        one, two = (int(pid) for pid in out.read_text().split()[1:3])
        os.kill(one, signal.SIGKILL)
        wait_for(lambda: "one started again" in err.read_text())
        assert runner.poll() is None and alive(two)
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=25) == 0
        assert not alive(two)
        assert "stopping every server" in err.read_text()
    finally:
        if runner.poll() is None:
            runner.kill()
