"""The written agreement as stored and served: accepted in one transaction (decision, approved request, agreement
with its exact text and SHA-256, plan in force, audit entry, the lender's event), followed through the ledger, and
opened only through its own signed link, as a page and as a PDF whose text reads back."""
from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from starlette.requests import Request

from kuanxin.core import links, texts
from kuanxin.lending import plans
from kuanxin.lending.agreement import digest
from kuanxin.store.accounts import Accounts
from kuanxin.store.agreements import PlanBook
from kuanxin.store.importer import load_document
from kuanxin.store.models import AuditEntry, OutboxEvent, Payment, ServiceRequest
from testkit.plans import BORROWER, LOAN, document_with_plan_borrower

TODAY = dt.date(2026, 11, 22)
NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
SECRET = "unit-test-agreement-secret"


def accepted(db, policy, periods=6):
    load_document(db, document_with_plan_borrower())
    borrower = Accounts(db).borrower_profile(BORROWER)
    loan = plans.find_loan(borrower, LOAN)
    book = PlanBook(db)
    quote = plans.quote_installment(borrower, loan, periods, TODAY, policy)
    decision = plans.installment_decision(quote, periods, book.history(BORROWER, LOAN, "installment"), TODAY, policy)
    assert decision.approved
    draft = plans.installment_agreement(borrower, quote, periods, TODAY, policy, "zh")
    return book, draft, book.accept(borrower_id=BORROWER, loan_id=LOAN, length=periods, draft=draft,
                                    rules=decision.record(), channel="rest", conversation_id="c-1",
                                    identity_check={"method": "identity", "attempt_id": 1}, today=TODAY, now=NOW)


def test_an_acceptance_records_everything_in_one_transaction(db, policy):
    book, draft, done = accepted(db, policy)
    agreement = done.agreement
    assert agreement.number.startswith("XY20261122-")
    assert agreement.text == draft.text and agreement.sha256 == digest(draft.text) == draft.sha256
    assert agreement.template == "agreement.installment.v1"
    assert "逾期总额2,382.50元" in agreement.text and "第1期 2026年12月22日 397.08元" in agreement.text
    assert "第6期 2027年5月22日 397.10元" in agreement.text and "年化费率0.00%" in agreement.text
    assert json.loads(agreement.identity_check) == {"method": "identity", "attempt_id": 1}
    assert (done.plan.status, done.plan.open_key) == ("in_force", LOAN)
    with db.session() as session:
        request = session.execute(select(ServiceRequest).where(ServiceRequest.loan_id == LOAN)).scalar_one()
        assert (request.status, request.periods, request.decided_by, request.reference) == (
            "approved", 6, "assistant", done.request.reference)
        audit = session.execute(select(AuditEntry).where(AuditEntry.action == "automated_decision")).scalar_one()
        recorded = json.loads(audit.detail)
        assert recorded["outcome"] == "approved" and {"rule": "length", "limit": "12", "value": "6",
                                                      "passed": True} in recorded["rules"]["rules"]
        event = session.execute(select(OutboxEvent).where(OutboxEvent.kind == "plan.accepted")).scalar_one()
        assert json.loads(event.payload)["agreement"] == agreement.number
    assert [d.outcome for d in book.decisions_of(BORROWER)] == ["approved"]


def test_a_repeated_acceptance_finds_the_first_and_a_change_supersedes_it(db, policy):
    book, draft, first = accepted(db, policy)
    again = book.accept(borrower_id=BORROWER, loan_id=LOAN, length=6, draft=draft, rules={}, channel="rest",
                        conversation_id="c-1", identity_check={}, today=TODAY, now=NOW)
    assert again.agreement.number == first.agreement.number
    borrower = Accounts(db).borrower_profile(BORROWER)
    borrower.requests = []  # the terms of a re-plan (the conversation does not offer one yet: eligibility refuses it)
    quote = plans.quote_installment(borrower, plans.find_loan(borrower, LOAN), 12, TODAY, policy)
    twelve = plans.installment_agreement(borrower, quote, 12, TODAY, policy, "zh")
    changed = book.accept(borrower_id=BORROWER, loan_id=LOAN, length=12, draft=twelve, rules={}, channel="rest",
                          conversation_id="c-1", identity_check={}, today=TODAY, now=NOW,
                          supersedes=first.agreement.number)
    assert changed.agreement.supersedes == first.agreement.number
    assert book.superseded_by(first.agreement.number) == changed.agreement.number
    assert book.agreement(first.agreement.number).text == first.agreement.text  # never edited
    assert [p.agreement_number for p in book.plans_in_force(BORROWER)] == [changed.agreement.number]


def test_the_plan_follows_the_ledger_kept_then_broken(db, policy):
    book, _, done = accepted(db, policy)
    with db.session() as session:
        session.add(Payment(id="P-1", loan_id=LOAN, amount=Decimal("397.08"), paid_at=dt.datetime(2026, 12, 20, 2),
                            paid_on=dt.date(2026, 12, 20), channel="bank_card", source="file",
                            received_at=dt.datetime(2026, 12, 20, 3)))
    kept = book.follow(done.plan, dt.date(2027, 1, 5), NOW, policy.plans.grace_days)
    assert (kept.status, kept.next_payment.number, kept.remaining) == ("in_force", 2, Decimal("1985.42"))
    broken = book.follow(done.plan, dt.date(2027, 1, 28), NOW, policy.plans.grace_days)  # 22 Jan + 5 days passed
    assert (broken.status, broken.ended_on) == ("broken", dt.date(2027, 1, 28))
    assert book.plans_in_force(BORROWER) == []
    assert book.history(BORROWER, LOAN, "installment").plans_broken_on == (dt.date(2027, 1, 28),)
    with db.session() as session:
        kinds = session.execute(select(OutboxEvent.kind).order_by(OutboxEvent.seq)).scalars().all()
    assert kinds[-1] == "plan.broken"


def test_a_refusal_is_recorded_for_a_persons_review(db):
    book = PlanBook(db)
    book.record_decision(borrower_id="B1", loan_id="L1", kind="installment", outcome="refused", length=None,
                         rules=[{"rule": "installment_too_late"}], conversation_id="c-9", now=NOW)
    refusal = book.latest_refusal("c-9")
    assert (refusal.kind, refusal.outcome, json.loads(refusal.rules)) == (
        "installment", "refused", [{"rule": "installment_too_late"}])
    assert book.latest_refusal("another") is None


def test_a_link_opens_only_its_own_agreement_until_it_expires():
    until = NOW + dt.timedelta(days=30)
    token = links.sign(SECRET, "XY1", "B1", until)
    assert links.valid(SECRET, token, "XY1", "B1", NOW)
    assert not links.valid(SECRET, token, "XY2", "B1", NOW)  # another agreement
    assert not links.valid(SECRET, token, "XY1", "B2", NOW)  # another borrower's
    assert not links.valid("another secret", token, "XY1", "B1", NOW)
    assert not links.valid(SECRET, token, "XY1", "B1", until + dt.timedelta(seconds=1))
    assert not links.valid(SECRET, token.replace(".", ".x"), "XY1", "B1", NOW)
    assert not links.valid(SECRET, None, "XY1", "B1", NOW)


def test_a_sealed_token_gives_back_its_facts_only_unaltered_and_in_time():
    token = links.seal(SECRET, {"b": "B1", "h": "abc"}, NOW + dt.timedelta(hours=24))
    assert links.unseal(SECRET, token, NOW) == {"b": "B1", "h": "abc"}
    assert links.unseal(SECRET, token, NOW + dt.timedelta(hours=25)) is None
    assert links.unseal("another secret", token, NOW) is None
    body, signature = token.split(".")
    other = links.seal(SECRET, {"b": "B2", "h": "abc"}, NOW + dt.timedelta(hours=24)).split(".")[0]
    assert links.unseal(SECRET, f"{other}.{signature}", NOW) is None
    assert links.unseal(SECRET, "garbage", NOW) is None and links.unseal(SECRET, None, NOW) is None


class Answer:
    def __init__(self, response):
        self.status_code, self.headers, self.content = response.status_code, response.headers, response.body
        self.text = self.content.decode("utf-8", "replace")


class Web:
    """The agreement routes called as the web app calls them (the e2e tests go through the real server)."""

    def get(self, path: str, params: dict | None = None) -> Answer:
        from web import agreements
        token = (params or {}).get("t")
        number = path.rsplit("/", 1)[1]
        if number.endswith(".pdf"):
            return Answer(agreements.agreement_pdf(number[:-4], token))
        request = Request({"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""})
        return Answer(agreements.agreement_page(request, number, token))


@pytest.fixture
def web(db, monkeypatch):
    monkeypatch.setenv("KUANXIN_AGREEMENT_SECRET", SECRET)
    monkeypatch.setenv("KUANXIN_TODAY", "2026-11-22")
    from web import agreements
    monkeypatch.setattr(agreements, "book", lambda: PlanBook(db))
    return Web()


def test_the_page_and_the_pdf_show_the_agreement_to_its_link_and_nothing_to_anyone_else(db, policy, web):
    _, draft, done = accepted(db, policy)
    number = done.agreement.number
    token = links.sign(SECRET, number, BORROWER, NOW + dt.timedelta(days=30))
    page = web.get(f"/agreements/{number}", params={"t": token})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "逾期总额2,382.50元" in page.text and done.agreement.sha256 in page.text and "孙丽" in page.text
    pdf = web.get(f"/agreements/{number}.pdf", params={"t": token})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    extracted = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for line in ("分期还款协议", "逾期总额2,382.50元", "第1期 2026年12月22日 397.08元", "第6期 2027年5月22日 397.10元",
                 "年化费率0.00%", number):
        assert line in extracted.replace("\n", ""), line
    someone_else = links.sign(SECRET, number, "B1001", NOW + dt.timedelta(days=30))
    forged = links.sign("not the secret", number, BORROWER, NOW + dt.timedelta(days=30))
    expired = links.sign(SECRET, number, BORROWER, NOW - dt.timedelta(days=1))
    for path in (f"/agreements/{number}", f"/agreements/{number}.pdf"):
        for bad in (someone_else, forged, expired, None, "1.x"):
            refused = web.get(path, params={"t": bad} if bad else {})
            assert refused.status_code == 404
            assert "孙丽" not in refused.text and "2,382.50" not in refused.text
            assert texts.text("agreement.page.not_found") in refused.text
    assert web.get("/agreements/XY20990101-9999", params={"t": token}).status_code == 404
