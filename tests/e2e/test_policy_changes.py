"""A lender's own policy.yml changes what borrowers are told everywhere it shows, with no other edit.

Servers of their own run on a changed copy of the policy (other periods, a shorter deferral, a
shorter promise window, another name, hotline and review time, a plan fee); real conversations then show the
changed values in questions, buttons, terms, refusals and the lender's texts.
"""
from __future__ import annotations

import pytest

from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.store.db import Database
from kuanxin.store.demo import demo_document
from kuanxin.store.importer import load_document
from testkit.servers import Borrower, start_servers

CHANGES = [
    ("name: 宽心消费金融(演示)", "name: 示范消费金融"),
    ("hotline: 400-800-0000", "hotline: 400-123-4567"),
    ("allowed_periods: [3, 6, 12, 24, 36]", "allowed_periods: [6, 12]"),
    ('fee_per_period: "0.00"', 'fee_per_period: "10.00"'),
    ('fee_once: "0.00"', 'fee_once: "20.00"'),
    ("max_months: 3", "max_months: 2"),
    ("max_days_ahead: 30", "max_days_ahead: 14"),
    ("decision_time: 3个工作日内", "decision_time: 5个工作日内"),
    ('contact_hours: {start: "08:00", end: "21:00"}', 'contact_hours: {start: "08:30", end: "20:00"}'),
]


@pytest.fixture(scope="module")
def lender(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("lender-policy")
    policy = (PROJECT_ROOT / "policy.yml").read_text(encoding="utf-8")
    for old, new in CHANGES:
        assert old in policy, f"policy.yml no longer holds {old!r}: update this test"
        policy = policy.replace(old, new)
    (workdir / "policy.yml").write_text(policy, encoding="utf-8")
    url = f"sqlite:///{workdir / 'accounts.db'}"
    database = Database(url)
    database.create_schema()
    load_document(database, demo_document())
    running = start_servers(workdir, url, {"KUANXIN_POLICY": str(workdir / "policy.yml")})
    try:
        yield running
    finally:
        running.stop()


def test_the_lenders_name_and_hotline(lender):
    borrower = Borrower(lender)
    assert "示范消费金融" in borrower.say("你好")
    reply = borrower.say("催收的人天天骂我 我要投诉")
    assert "400-123-4567" in reply and "400-800-0000" not in reply  # the complaint channel names the hotline
    assert "08:30-20:00" in borrower.say("催收有哪些规定 我有什么权利")


def test_installment_periods_everywhere_they_show(lender):
    borrower = Borrower(lender)
    borrower.verify("13812345678", "123X")
    assert "可选6、12期" in borrower.say("我要分期")
    assert borrower.buttons() == ["6期", "12期"]
    terms = borrower.say("分期要另外收手续费吗")
    assert "6、12期可选" in terms and "5个工作日内" in terms
    assert "每期另收分期手续费10.00元,首期另收20.00元" in terms
    refused = borrower.say("分3期")
    assert "可选6、12期" in refused and "24" not in refused, refused
    plan = borrower.say("12期")
    # 3,084.60 / 12 = 257.05, with 10.00 a period, and 20.00 more on the first
    assert "第1期 2026年12月22日 287.05元" in plan and "第2期 2027年1月22日 267.05元" in plan, plan
    # inside the envelope the plan is offered as the written agreement, its fees and rate stated
    assert "共需还款3,224.60元,比逾期总额多140.00元" in plan
    assert "分期手续费每期10.00元、一次性20.00元" in plan
    assert "年化费率8.32%" in plan  # the monthly IRR of those payments (0.6934 %) × 12


def test_deferral_months_and_promise_window(lender):
    borrower = Borrower(lender)
    borrower.verify("13900001111", "4567")
    assert "可选1、2个月" in borrower.say("我想延期")
    assert borrower.buttons() == ["1个月", "2个月"]
    borrower.say("算了")
    reply = borrower.say("我12月20号还")
    assert "14天以内" in reply and "2026年12月6日" in reply, reply
