"""Plans the borrower finishes in the conversation (issue 18), through the real servers over HTTP: inside the
policy's envelope a plan is offered as a written agreement, accepted only by 「我同意」, recorded, linked as a page
and a PDF that only its link opens, and from then on "还要还多少" answers with the plan; outside the envelope it is a
request for staff review, told why and when; an automated refusal can be put to a person."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import time

import pytest
import requests
from pypdf import PdfReader
from sqlalchemy import select

from kuanxin.core.policy import load_policy
from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.store.importer import load_document
from kuanxin.store.models import Agreement, AuditEntry, OutboxEvent, PlanDecisionRecord, RepaymentPlan, ServiceRequest
from kuanxin.store.sync import Sync, read_records
from testkit.plans import ID_TAIL, LOAN, PHONE, document_with_plan_borrower
from testkit.wechat import new_openid, text_xml

PAGE = re.compile(r"协议全文:(\S+)")
PDF = re.compile(r"PDF:(\S+)")
SCHEDULE = ["第1期 2026年12月22日 397.08元", "第2期 2027年1月22日 397.08元", "第6期 2027年5月22日 397.10元"]


@pytest.fixture
def plan_db(db):
    """The demo accounts and the borrower 38 days overdue with 2,382.50 owed (testkit/plans.py)."""
    load_document(db, document_with_plan_borrower())
    return db


def pdf_text(url: str) -> str:
    answer = requests.get(url, timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages).replace("\n", "")


def blocks(replies: list[dict]) -> list[dict]:
    return [block for message in replies for block in ((message.get("custom") or {}).get("blocks") or [])]


def test_six_installments_agreed_in_writing_linked_and_then_told_as_the_plan(borrower, plan_db, servers):
    assert "2,382.50" in borrower.verify(PHONE, ID_TAIL)
    assert "分几期" in borrower.say("我想分期还")
    offer = borrower.say("分6期")
    for shown in ["分期还款协议", "逾期总额2,382.50元", *SCHEDULE, "共需还款2,382.50元,比逾期总额多0.00元",
                  "年化费率0.00%", "超过应还日5天仍未还足", "其他回复都不算同意"]:
        assert shown in offer, shown
    assert borrower.buttons() == ["我同意", "取消"]
    card = next(b for b in blocks(borrower.replies) if b["type"] == "terms")
    assert {row["label"]: row["shown"] for row in card["rows"]}["年化费率"] == "0.00%"
    assert any(b["type"] == "schedule" and len(b["rows"]) == 6 for b in blocks(borrower.replies))

    not_yet = borrower.say("好的")  # a yes is not acceptance of an agreement
    assert "明确回复「我同意」" in not_yet and "协议已生效" not in not_yet
    with plan_db.session() as session:
        assert session.execute(select(Agreement)).first() is None

    done = borrower.say("我同意")
    assert "协议已生效,编号XY20261122-" in done and "第1期2026年12月22日应还397.08元" in done
    page_url, pdf_url = PAGE.search(done).group(1), PDF.search(done).group(1)
    with plan_db.session() as session:
        agreement = session.execute(select(Agreement)).scalar_one()
        request = session.execute(select(ServiceRequest).where(ServiceRequest.loan_id == LOAN)).scalar_one()
        plan = session.execute(select(RepaymentPlan)).scalar_one()
        decision = session.execute(select(PlanDecisionRecord)).scalar_one()
        audit = session.execute(select(AuditEntry).where(AuditEntry.action == "automated_decision",
                                                         AuditEntry.conversation_id == borrower.sender)).scalar_one()
    assert agreement.number in done and request.reference in done
    assert agreement.sha256 == hashlib.sha256(agreement.text.encode("utf-8")).hexdigest()
    assert agreement.text in offer  # exactly the text the borrower was shown
    assert (agreement.conversation_id, agreement.channel, agreement.template) == (
        borrower.sender, "rest", "agreement.installment.v1")
    assert json.loads(agreement.identity_check)["method"] == "identity"
    assert (request.status, request.periods, request.decided_by) == ("approved", 6, "assistant")
    assert (plan.status, decision.outcome, decision.length) == ("in_force", "approved", 6)
    assert {"rule": "length", "limit": "12", "value": "6", "passed": True} in json.loads(decision.rules)["rules"]
    assert audit.target == request.reference

    page = requests.get(page_url, timeout=30)
    assert page.status_code == 200 and "逾期总额2,382.50元" in page.text and agreement.sha256 in page.text
    extracted = pdf_text(pdf_url)
    for shown in ["分期还款协议", agreement.number, "逾期总额2,382.50元", *SCHEDULE, "年化费率0.00%"]:
        assert shown in extracted, shown
    elsewhere = pdf_url.replace(agreement.number, "XY20261122-9999")
    for tampered in (page_url[:-3] + "xyz", page_url.split("?")[0], elsewhere):
        refused = requests.get(tampered, timeout=30)
        assert refused.status_code == 404 and "2,382.50" not in refused.text and "孙丽" not in refused.text

    owed = borrower.say("我还要还多少")
    assert f"正在按分期协议{agreement.number}还款(共6期)" in owed
    assert "下一期:第1期,2026年12月22日应还397.08元" in owed and "协议还剩2,382.50元未还(6期)" in owed
    assert "已逾期38天" not in owed  # the old arrears are not what is owed any more

    # a payment imported into the ledger is applied to the plan: the first payment is kept
    policy = load_policy(PROJECT_ROOT / "policy.yml")
    line = json.dumps({"type": "payment", "id": "P-PLAN-1", "loan_id": LOAN, "amount": "397.08",
                       "paid_at": "2026-11-22T09:00:00+08:00", "channel": "bank_card"})
    summary = Sync(plan_db, policy.payments).run(read_records([line], "jsonl"))
    assert summary.total("inserted") == 1
    after = borrower.say("还欠多少")
    assert "下一期:第2期,2027年1月22日应还397.08元" in after and "协议还剩1,985.42元未还(5期)" in after


def test_the_same_borrower_asking_for_24_periods_gets_a_staff_review_told_why_and_when(borrower, plan_db):
    borrower.verify(PHONE, ID_TAIL)
    borrower.say("我想分期还")
    plan = borrower.say("分24期")
    assert "分24期需要工作人员审核" in plan and "我最多只能直接批准12期" in plan
    assert "我同意" not in borrower.buttons()
    done = borrower.say("确认")
    assert "已提交,编号FQ20261122-" in done and "待工作人员审核" in done
    assert "分24期,我最多只能直接批准12期" in done and "3个工作日内" in done
    with plan_db.session() as session:
        request = session.execute(select(ServiceRequest).where(ServiceRequest.loan_id == LOAN)).scalar_one()
        decision = session.execute(select(PlanDecisionRecord)).scalar_one()
        assert session.execute(select(Agreement)).first() is None
    assert (request.status, request.periods) == ("pending", 24)
    assert (decision.outcome, decision.request_reference) == ("review", request.reference)
    assert {"rule": "length", "limit": "12", "value": "24", "passed": False} in json.loads(decision.rules)["rules"]


def test_an_automated_refusal_can_be_put_to_a_person(borrower, plan_db):
    borrower.verify("13600003333", "0028")  # in litigation: no plan online
    refused = borrower.say("我想申请分期")
    assert "不符合条件" in refused and "请工作人员复核" in borrower.buttons()
    review = borrower.say("/request_review")
    assert "已请工作人员复核这次自动判断" in review and "3个工作日内" in review
    with plan_db.session() as session:
        decision = session.execute(select(PlanDecisionRecord)).scalar_one()
        request = session.execute(select(ServiceRequest).where(ServiceRequest.loan_id == "L4001")).scalar_one()
    assert decision.outcome == "refused" and "loan_not_active" in decision.rules
    assert request.status == "pending" and request.reference in review
    assert json.loads(request.details)["review_of_decision"] == decision.id


def test_a_plan_missed_beyond_its_grace_days_is_broken_and_the_arrears_come_back(borrower, plan_db):
    """An agreement of September whose first payment (22 Oct) was never paid: on 22 Nov it is broken."""
    payments = [{"n": n, "due": due, "amount": "397.08"} for n, due in ((1, "2026-10-22"), (2, "2026-11-22"))]
    with plan_db.session() as session:
        session.add(RepaymentPlan(agreement_number="XY20260922-0001", borrower_id="B1007", loan_id=LOAN,
                                  kind="installment", starts_on=dt.date(2026, 9, 22), payments=json.dumps(payments),
                                  status="in_force", open_key=LOAN))
    owed = borrower.verify(PHONE, ID_TAIL)  # "我要查一下欠款", then the identity check
    assert "分期协议XY20260922-0001已经失效:2026年10月22日应还的款项超过5天仍未还足" in owed
    assert "已逾期38天" in owed and "2,382.50" in owed  # the loan's arrears, computed as before
    again = borrower.say("还要还多少")  # told once
    assert "失效" not in again and "逾期应还:2,382.50元" in again
    with plan_db.session() as session:
        plan = session.execute(select(RepaymentPlan)).scalar_one()
        kinds = session.execute(select(OutboxEvent.kind)).scalars().all()
    assert (plan.status, plan.ended_on, plan.open_key) == ("broken", dt.date(2026, 10, 28), None)
    assert "plan.broken" in kinds


def wechat_say(platform, wechat_api, openid: str, text: str, at_least: int = 1) -> str:
    before = len(wechat_api.texts(openid))
    deliveries = platform.push(text_xml(openid, text, time.time_ns() // 1000))
    assert [(d.status, d.body) for d in deliveries] == [(200, "success")]
    wechat_api.wait_for_texts(openid, before + at_least)
    time.sleep(1.0)  # a long reply comes as several texts
    return "\n".join(wechat_api.texts(openid)[before:])


def test_six_installments_agreed_in_wechat_by_reply(servers, wechat_account, wechat_api, action_proxy, plan_db):
    from testkit.wechat import Platform
    wechat_api.reset(keep_token=True)
    platform = Platform(wechat_account, f"{servers.rasa_url}/webhooks/wechat/webhook")
    openid = new_openid()
    wechat_say(platform, wechat_api, openid, "我逾期了多少钱")
    wechat_say(platform, wechat_api, openid, PHONE)
    assert "2,382.50" in wechat_say(platform, wechat_api, openid, ID_TAIL)
    wechat_say(platform, wechat_api, openid, "我想分期还")
    offer = wechat_say(platform, wechat_api, openid, "6")
    for shown in ["分期还款协议", "逾期总额2,382.50元", *SCHEDULE, "年化费率0.00%"]:
        assert shown in offer, shown
    assert "1. 我同意" in offer
    draft_url = re.search(r"https?://\S+/agreements/draft\?t=[\w.-]+", offer).group(0)  # WeChat: a link too
    draft = requests.get(draft_url, timeout=30)
    assert draft.status_code == 200 and "逾期总额2,382.50元" in draft.text and "尚未生效" in draft.text
    forged = requests.get(draft_url[:-4] + "abcd", timeout=30)
    assert forged.status_code == 404 and "2,382.50" not in forged.text
    done = wechat_say(platform, wechat_api, openid, "1")  # the first choice: 我同意
    assert "协议已生效,编号XY20261122-" in done
    assert "逾期总额2,382.50元" in pdf_text(PDF.search(done).group(1))
    owed = wechat_say(platform, wechat_api, openid, "还要还多少")
    assert "下一期:第1期,2026年12月22日应还397.08元" in owed
    with plan_db.session() as session:
        agreement = session.execute(select(Agreement)).scalar_one()
    assert (agreement.channel, agreement.conversation_id) == ("wechat", openid)


def test_a_one_month_deferral_is_agreed_in_writing_and_a_second_this_year_goes_to_staff(borrower, plan_db):
    borrower.verify("13900001111", "4567")  # L2001: 12 days overdue, 446.40
    borrower.say("我想延期一个月")
    offer = borrower.say("最近公司裁员了 在找工作")
    for shown in ["延期还款协议", "逾期总额446.40元", "延后1个月", "第1期 2026年12月10日 446.40元", "年化费率0.00%"]:
        assert shown in offer, shown
    assert borrower.buttons() == ["我同意", "取消"]
    done = borrower.say("我同意")
    assert "协议已生效,编号XY20261122-" in done and "逾期总额446.40元的还款日延至2026年12月10日" in done
    owed = borrower.say("还要还多少")
    assert "已按延期协议XY20261122-" in owed and "2026年12月10日应还446.40元" in owed
    with plan_db.session() as session:
        request = session.execute(select(ServiceRequest).where(ServiceRequest.loan_id == "L2001")).scalar_one()
        agreement = session.execute(select(Agreement)).scalar_one()
    assert (request.type, request.status, request.months) == ("deferral", "approved", 1)
    assert agreement.template == "agreement.deferral.v1"
    again = borrower.say("我想再延期一个月")  # the loan's deferral this year: the eligibility rules refuse it
    assert "不符合条件" in again and "请工作人员复核" in borrower.buttons()


def test_only_the_text_shown_can_be_accepted_a_payment_meanwhile_shows_the_new_one(borrower, plan_db):
    borrower.verify(PHONE, ID_TAIL)
    borrower.say("我想分期还")
    assert "逾期总额2,382.50元" in borrower.say("分6期")
    policy = load_policy(PROJECT_ROOT / "policy.yml")
    line = json.dumps({"type": "payment", "id": "P-BEFORE", "loan_id": LOAN, "amount": "500.00",
                       "paid_at": "2026-11-22T09:30:00+08:00", "channel": "wechat_pay"})
    assert Sync(plan_db, policy.payments).run(read_records([line], "jsonl")).total("inserted") == 1
    changed = borrower.say("我同意")
    assert "协议的内容刚有变化" in changed and "协议已生效" not in changed
    assert "逾期总额1,882.50元" in changed and "分期还款协议" in changed  # the new text, in full
    with plan_db.session() as session:
        assert session.execute(select(Agreement)).first() is None
    done = borrower.say("我同意")
    assert "协议已生效" in done
    with plan_db.session() as session:
        agreement = session.execute(select(Agreement)).scalar_one()
    assert "逾期总额1,882.50元" in agreement.text and agreement.text in changed


def test_a_plan_the_daily_run_found_broken_is_told_at_the_next_question_once(borrower, plan_db):
    """The reminders run found the September plan broken before the borrower came back: told when they next ask."""
    from kuanxin.store.agreements import PlanBook
    payments = [{"n": n, "due": due, "amount": "397.08"} for n, due in ((1, "2026-10-22"), (2, "2026-11-22"))]
    with plan_db.session() as session:
        session.add(RepaymentPlan(agreement_number="XY20260922-0002", borrower_id="B1007", loan_id=LOAN,
                                  kind="installment", starts_on=dt.date(2026, 9, 22), payments=json.dumps(payments),
                                  status="in_force", open_key=LOAN))
    now = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert PlanBook(plan_db).follow_all(dt.date(2026, 11, 22), now, 5) == [("XY20260922-0002", "broken")]
    owed = borrower.verify(PHONE, ID_TAIL)
    assert "分期协议XY20260922-0002已经失效:2026年10月22日应还的款项超过5天仍未还足" in owed
    assert "已逾期38天" in owed
    assert "失效" not in borrower.say("还要还多少")


def test_a_new_plan_while_one_is_in_force_supersedes_it_and_a_second_goes_to_review(borrower, plan_db, servers):
    """Re-planning (policy.yml `plans.replan`): six installments agreed and the first paid; the borrower asks for
    twelve instead, sees the new agreement on what is left in full, accepts, and the old plan is superseded in the
    database and the console; a second re-plan the same year goes to staff, told why."""
    from tests.e2e.console_client import ConsoleClient, new_staff
    borrower.verify(PHONE, ID_TAIL)
    borrower.say("我想分期还")
    borrower.say("分6期")
    first = re.search(r"协议已生效,编号(XY\d{8}-\d{4})", borrower.say("我同意")).group(1)
    policy = load_policy(PROJECT_ROOT / "policy.yml")
    line = json.dumps({"type": "payment", "id": "P-REPLAN-1", "loan_id": LOAN, "amount": "397.08",
                       "paid_at": "2026-11-22T09:00:00+08:00", "channel": "bank_card"})
    assert Sync(plan_db, policy.payments).run(read_records([line], "jsonl")).total("inserted") == 1

    assert "分几期" in borrower.say("我想分期还")  # not refused: a plan in force may be replaced
    offer = borrower.say("分12期")
    for shown in ["分期还款协议(重新分期)", f"本协议取代协议{first}", "原协议共需还款2,382.50元",
                  "已还397.08元,尚未还清1,985.42元", "第1期 2026年12月22日 165.45元", "第12期 2027年11月22日 165.47元",
                  "共需还款1,985.42元,比原协议未还款项多0.00元", "年化费率0.00%"]:
        assert shown in offer, shown
    assert borrower.buttons() == ["我同意", "取消"]
    card = next(b for b in blocks(borrower.replies) if b["type"] == "terms")
    assert {row["label"]: row["shown"] for row in card["rows"]}["原协议未还"] == "1,985.42元"
    done = borrower.say("我同意")
    second = re.search(r"协议已生效,编号(XY\d{8}-\d{4})", done).group(1)
    assert f"原协议{first}同时不再执行" in done and "第1期2026年12月22日应还165.45元" in done
    owed = borrower.say("还要还多少")
    assert f"正在按分期协议{second}还款(共12期)" in owed and "协议还剩1,985.42元未还(12期)" in owed
    with plan_db.session() as session:
        rows = {p.agreement_number: p for p in session.execute(select(RepaymentPlan)).scalars()}
        agreements = {a.number: a for a in session.execute(select(Agreement)).scalars()}
        accepted = session.execute(select(OutboxEvent.payload).where(OutboxEvent.kind == "plan.accepted")
                                   .order_by(OutboxEvent.seq)).scalars().all()
    assert (rows[first].status, rows[first].open_key, rows[second].status) == ("superseded", None, "in_force")
    assert agreements[second].supersedes == first and agreements[second].text in offer
    assert "逾期总额2,382.50元" in agreements[first].text  # the old agreement as it was accepted
    assert json.loads(accepted[-1])["supersedes"] == first

    console = ConsoleClient(servers.web_url)
    console.log_in(new_staff(plan_db, "agent"))
    old_page = console.get(f"/console/agreements/{first}").text
    assert "已被新协议替代" in old_page and f'href="/console/agreements/{second}"' in old_page
    assert "履行中" in console.get(f"/console/agreements/{second}").text

    borrower.say("我想分期还")
    again = borrower.say("分6期")
    assert "分6期需要工作人员审核" in again and "这笔借款12个月内已经重新分期1次,我最多只能直接批准1次" in again
    assert "我同意" not in borrower.buttons()
    filed = borrower.say("确认")
    assert "已提交,编号FQ20261122-" in filed and "待工作人员审核" in filed
    with plan_db.session() as session:
        pending = session.execute(select(ServiceRequest).where(ServiceRequest.loan_id == LOAN,
                                                               ServiceRequest.status == "pending")).scalar_one()
        decision = session.execute(select(PlanDecisionRecord).order_by(PlanDecisionRecord.id.desc())).scalars().first()
        in_force = session.execute(select(RepaymentPlan.agreement_number).where(
            RepaymentPlan.status == "in_force")).scalars().all()
    assert (pending.periods, json.loads(pending.details)["replaces"]) == (6, second)
    assert json.loads(pending.details)["total"] == "1985.42"
    assert (decision.outcome, decision.request_reference) == ("review", pending.reference)
    assert {"rule": "replans", "limit": "1", "value": "1", "passed": False} in json.loads(decision.rules)["rules"]
    assert in_force == [second]  # staff decide; the plan in force stays until they do


def test_a_deferral_asked_while_an_installment_plan_is_in_force_goes_to_staff(borrower, plan_db):
    borrower.verify(PHONE, ID_TAIL)
    borrower.say("我想分期还")
    borrower.say("分6期")
    number = re.search(r"协议已生效,编号(XY\d{8}-\d{4})", borrower.say("我同意")).group(1)
    borrower.say("我想延期两个月")  # overdue since 15 Oct: two months is the shortest still ahead
    summary = borrower.say("最近公司裁员了 在找工作")
    assert f"延期2个月需要工作人员审核,我不能当场批准:协议{number}正在履行,改为延期需要工作人员审核" in summary
    assert "我同意" not in borrower.buttons()
    filed = borrower.say("确认")
    assert "已提交,编号" in filed and "待工作人员审核" in filed
    with plan_db.session() as session:
        pending = session.execute(select(ServiceRequest).where(ServiceRequest.loan_id == LOAN,
                                                               ServiceRequest.status == "pending")).scalar_one()
        plan = session.execute(select(RepaymentPlan)).scalar_one()
    assert pending.type == "deferral" and (plan.agreement_number, plan.status) == (number, "in_force")
