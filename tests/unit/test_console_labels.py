"""Staff wording: every code a console page shows has words in the catalogue, and an unknown one is never shown
as itself."""
from __future__ import annotations

import yaml

from kuanxin.console import casework
from kuanxin.console.labels import CHANNELS, INTENTS, SLOTS, audit_detail, slot_lines, slot_value
from kuanxin.core.settings import PROJECT_ROOT

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))


def test_every_slot_and_intent_of_the_assistant_has_staff_words():
    assert set(DOMAIN["slots"]) <= set(SLOTS), "a new slot needs console.slot.<name> in texts/zh.yml and en.yml"
    assert set(DOMAIN["intents"]) <= set(INTENTS), "a new intent needs console.intent.<name> in texts/*.yml"


def test_an_unknown_code_reads_as_other_never_as_itself():
    assert casework.REASONS.of("made_up") == "其他原因" and casework.REASONS.of(None) == "其他原因"
    assert CHANNELS.of("telegram") == "其他渠道" and CHANNELS.of("wechat") == "微信"
    assert casework.ESCALATION_STATUS.of("open") == "待处理"


def test_slot_values_read_as_staff_say_them():
    assert slot_value("verified", True) == "是"
    assert slot_value("pending_intent", "request_deferral") == "申请延期"
    assert slot_value("deferral_months", 3.0) == "3"
    assert slot_value("promise_amount", "1234.5") == "1,234.50元"  # as the borrower reads it
    assert slot_value("language", "en") == "英文"
    assert slot_value("phone_number", "13812345678") == "138****5678"
    assert slot_lines({"pending_intent": "check_overdue", "borrower_id": "B1001", "verified": True}) == [
        ("已核实身份", "是"), ("借款人编号", "B1001"), ("核实后继续办理", "查询逾期")]


def test_a_machine_record_in_the_audit_reads_in_words():
    record = '{"kind": "installment", "outcome": "approved", "rules": {"rules": [{"rule": "days_overdue"}]}}'
    assert audit_detail(record) == "分期还款 · 助手已自动批准"
    assert audit_detail('{"something": 1}') == "系统自动记录"
    assert audit_detail("已电话回访") == "已电话回访" and audit_detail(None) == ""


def test_a_borrowers_change_to_a_request_reads_in_words_on_the_audit_log(db):
    from kuanxin.console.audit_log import AuditLog, AuditQuery
    from kuanxin.store.accounts import Accounts
    from kuanxin.store.demo import demo_document
    from kuanxin.store.importer import load_document
    from tests.unit.test_records import NOW, TODAY
    load_document(db, demo_document())
    accounts = Accounts(db)
    deferral, _ = accounts.submit_request(borrower_id="B1001", loan_id="L1001", kind="deferral", conversation_id="c-1",
                                          today=TODAY, now=NOW, months=2, reason="失业")
    installment, _ = accounts.submit_request(borrower_id="B1002", loan_id="L2001", kind="installment",
                                             conversation_id="c-2", today=TODAY, now=NOW, periods=6, reason="收入减少")
    accounts.change_pending_request(deferral.id, conversation_id="c-1", now=NOW, months=3)
    accounts.change_pending_request(installment.id, conversation_id="c-2", now=NOW, periods=12)
    shown = {entry.target: audit_detail(entry.detail)
             for entry in AuditLog(db).find(AuditQuery(action="request_changed")).entries}
    assert shown == {deferral.reference: "延期月数 2 → 3", installment.reference: "分期期数 6 → 12"}
    assert audit_detail("months None -> 3, periods 6 -> None") == "延期月数 未填 → 3;分期期数 6 → 未填"
    assert audit_detail("months 2 -> 2, periods None -> None") == "系统自动记录"  # nothing changed: no codes either
