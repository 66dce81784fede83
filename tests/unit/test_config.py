"""`kuanxin config check`: every setting in one table, secrets masked, bad values named."""
from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys

import pytest

from kuanxin.core import clock, settings
from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.ops import config
from kuanxin.ops.cli import main

GOOD = {"KUANXIN_DATABASE_URL": "postgresql://kuanxin:hunter2@db.internal:5432/kuanxin",
        "KUANXIN_WEBCHAT_SECRET": "s3cret-webchat-key", "KUANXIN_SMS_KEY": "sms-key-123",
        "KUANXIN_TODAY": "2026-11-22"}


def test_every_variable_the_code_reads_is_in_the_table():
    read = set()
    for folder in ("kuanxin", "actions", "channels", "runtime", "web"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            read |= set(re.findall(r"KUANXIN_[A-Z_]+", path.read_text(encoding="utf-8")))
    listed = {s.name for s in settings.SETTINGS}
    unlisted = {n for n in read - listed if not n.startswith(settings.DERIVED)}
    assert not unlisted, f"add to kuanxin/core/settings.py SETTINGS: {sorted(unlisted)}"


def test_secrets_and_passwords_are_masked():
    printed, sound = config.report(GOOD)
    assert sound, printed
    for secret in ("hunter2", "s3cret-webchat-key", "sms-key-123"):
        assert secret not in printed
    assert "postgresql://kuanxin:••••@db.internal:5432/kuanxin" in printed
    assert "2026-11-22" in printed


def test_bad_values_are_named():
    problems = config.check({**GOOD, "KUANXIN_DB_POOL_SIZE": "many", "KUANXIN_TODAY": "22/11/2026",
                             "KUANXIN_DEMO_PAGES": "maybe", "KUANXIN_TRACKER_STORE_URL": "mysql://x/y"})
    text = "\n".join(problems)
    for name in ("KUANXIN_DB_POOL_SIZE", "KUANXIN_TODAY", "KUANXIN_DEMO_PAGES", "KUANXIN_TRACKER_STORE_URL"):
        assert name in text


def test_a_bad_policy_fails_the_check(tmp_path):
    policy = (PROJECT_ROOT / "policy.yml").read_text(encoding="utf-8").replace("max_months: 3", "max_months: 0")
    (tmp_path / "policy.yml").write_text(policy, encoding="utf-8")
    problems = config.check({**GOOD, "KUANXIN_POLICY": str(tmp_path / "policy.yml")})
    assert any("deferral.max_months" in p for p in problems), problems


def test_the_command_exits_1_on_a_problem(monkeypatch, capsys):
    monkeypatch.setenv("KUANXIN_DB_MAX_OVERFLOW", "-")
    assert main(["config", "check"]) == 1
    assert "error: KUANXIN_DB_MAX_OVERFLOW" in capsys.readouterr().out
    monkeypatch.delenv("KUANXIN_DB_MAX_OVERFLOW")
    assert main(["config", "check"]) == 0


def test_settings_are_read_once_per_environment(monkeypatch):
    monkeypatch.setenv("KUANXIN_DB_POOL_SIZE", "7")
    first = settings.current()
    assert first is settings.current()  # read once, not on every call
    assert first.value("KUANXIN_DB_POOL_SIZE") == 7 and first.value("KUANXIN_DEMO_PAGES") is True
    monkeypatch.setenv("KUANXIN_DB_POOL_SIZE", "9")
    assert settings.current().value("KUANXIN_DB_POOL_SIZE") == 9


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("KUANXIN_TODAY", "22/11/2026", "an ISO date"), ("KUANXIN_DEMO_PAGES", "maybe", "one of 1/true"),
    ("KUANXIN_DB_POOL_SIZE", "-3", "a whole number"), ("KUANXIN_SMS_TIMEOUT", "0", "a number above 0"),
])
def test_a_bad_value_names_the_variable_when_read(name, value, expected):
    with pytest.raises(ValueError, match=f"{name} must be {expected}"):
        settings.Settings({name: value}).value(name)


def test_the_clock_reads_the_settings(monkeypatch):
    monkeypatch.setenv("KUANXIN_TODAY", "2026-02-28")
    monkeypatch.setenv("KUANXIN_TIME", "21:05")
    assert clock.today() == dt.date(2026, 2, 28)
    assert (clock.now().hour, clock.now().minute) == (21, 5)
    monkeypatch.setenv("KUANXIN_TODAY", "tomorrow")
    with pytest.raises(ValueError, match="KUANXIN_TODAY"):
        clock.today()


@pytest.mark.slow  # a subprocess
def test_importing_the_apps_does_no_work(tmp_path):
    """No database, secret, hasher or file is made at import: only when something is asked for."""
    var = tmp_path / "var"
    env = {**os.environ, "KUANXIN_VAR_DIR": str(var), "KUANXIN_DATABASE_URL": f"sqlite:///{var / 'kx.db'}"}
    modules = ("web.app, actions.account, actions.installment, actions.promise, channels.webchat, channels.wechat, "
               "kuanxin.ops.cli, kuanxin.reminders.run")
    done = subprocess.run([sys.executable, "-c", f"import {modules}"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not var.exists(), sorted(p.name for p in var.iterdir())
