"""`kuanxin config check`: every setting in one table, secrets masked, bad values named."""
from __future__ import annotations

import re

from kuanxin import config
from kuanxin.cli import main
from kuanxin.settings import PROJECT_ROOT

GOOD = {"KUANXIN_DATABASE_URL": "postgresql://kuanxin:hunter2@db.internal:5432/kuanxin",
        "KUANXIN_WEBCHAT_SECRET": "s3cret-webchat-key", "KUANXIN_SMS_KEY": "sms-key-123",
        "KUANXIN_TODAY": "2026-11-22"}


def test_every_variable_the_code_reads_is_in_the_table():
    read = set()
    for folder in ("kuanxin", "actions", "channels", "runtime", "web"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            read |= set(re.findall(r"KUANXIN_[A-Z_]+", path.read_text(encoding="utf-8")))
    listed = {s.name for s in config.SETTINGS}
    unlisted = {n for n in read - listed if not n.startswith(config.DERIVED)}
    assert not unlisted, f"add to kuanxin/config.py SETTINGS: {sorted(unlisted)}"


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
