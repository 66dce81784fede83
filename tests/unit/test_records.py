"""What conversations record: requests, promises and escalations, once each even when repeated at once."""
import datetime as dt
import threading
from decimal import Decimal

from sqlalchemy import func, select

from kuanxin.lending import plans
from kuanxin.store import importer
from kuanxin.store.accounts import Accounts
from kuanxin.store.demo import demo_document
from kuanxin.store.models import AuditEntry, PaymentPromise, ServiceRequest

TODAY = dt.date(2026, 11, 22)
NOW = dt.datetime(2026, 11, 22, 2, 0)


def demo_accounts(db):
    importer.load_document(db, demo_document())
    return Accounts(db)


def at_once(n, fn):
    results, barrier = [], threading.Barrier(n)

    def run():
        barrier.wait()
        results.append(fn())
    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def count(db, model, **where):
    with db.session() as s:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return s.execute(query).scalar_one()


def test_installment_confirmed_twice_at_once_creates_one_request(db, policy):
    accounts = demo_accounts(db)
    borrower = accounts.borrower_profile("B1001")
    loan = plans.find_loan(borrower, "L1001")
    results = at_once(4, lambda: plans.submit_installment(accounts, borrower, loan, 6, "c1", TODAY, NOW, policy))
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert len({r.request.reference for r in results}) == 1
    assert count(db, ServiceRequest, type="installment", loan_id="L1001") == 1
    request = accounts.requests_of("B1001")[0]
    assert request.status == "pending" and request.periods == 6
    assert request.reference.startswith("FQ20261122-")


def test_submitted_plan_is_what_was_quoted(db, policy):
    accounts = demo_accounts(db)
    borrower = accounts.borrower_profile("B1001")
    quote = plans.quote_installment(borrower, plans.find_loan(borrower, "L1001"), 6, TODAY, policy)
    assert quote.statement.total == Decimal("3084.60")
    assert [i.amount for i in quote.plan] == [Decimal("514.10")] * 6
    assert quote.plan[0].due_date == dt.date(2026, 12, 22)


def test_asking_again_while_pending_changes_the_request_and_never_files_a_second(db, policy):
    accounts = demo_accounts(db)
    loan = plans.find_loan(accounts.borrower_profile("B1001"), "L1001")
    first = plans.submit_installment(accounts, accounts.borrower_profile("B1001"), loan, 6, "c1", TODAY, NOW, policy)
    same = plans.submit_installment(accounts, accounts.borrower_profile("B1001"), loan, 6, "c1", TODAY, NOW, policy)
    changed = plans.submit_installment(accounts, accounts.borrower_profile("B1001"), loan, 12, "c1", TODAY, NOW, policy)
    assert first.created and not same.created and not same.changed and changed.changed
    assert same.request.id == changed.request.id == first.request.id and changed.request.periods == 12
    assert count(db, ServiceRequest, borrower_id="B1001", type="installment") == 1
    with db.session() as session:
        [audit] = session.execute(select(AuditEntry).where(AuditEntry.target == first.request.reference)).scalars()
    assert (audit.staff, audit.action) == ("borrower", "request_changed") and "periods 6 -> 12" in audit.detail


def test_a_second_deferral_after_one_was_granted_is_refused_by_the_rules(db, policy):
    accounts = demo_accounts(db)
    loan = plans.find_loan(accounts.borrower_profile("B1001"), "L1001")
    first = plans.submit_deferral(accounts, accounts.borrower_profile("B1001"), loan, 3, "失业", "c1", TODAY, NOW,
                                  policy)
    assert first.created and first.quote.new_due_date == dt.date(2026, 12, 15)
    with db.session() as session:
        session.get(ServiceRequest, first.request.id).status = "approved"
    again = plans.submit_deferral(accounts, accounts.borrower_profile("B1001"), loan, 3, "失业", "c2", TODAY, NOW,
                                  policy)
    assert again.request is None and "deferral_recent" in {f.code for f in again.quote.decision.failures}


def test_promise_and_escalation_are_recorded_once(db):
    accounts = demo_accounts(db)
    promises = at_once(3, lambda: accounts.record_promise(
        borrower_id="B1001", promised_date=dt.date(2026, 12, 3), amount=Decimal("3084.60"),
        conversation_id="c1", today=TODAY, now=NOW))
    assert sum(created for _p, created in promises) == 1
    assert count(db, PaymentPromise) == 1
    escalations = at_once(3, lambda: accounts.open_escalation(
        conversation_id="c1", borrower_id=None, reason="human", priority="normal", channel="rest",
        summary="转人工 13812345678", today=TODAY, now=NOW))
    assert sum(created for _e, created in escalations) == 1
    escalation = accounts.open_escalations()[0]
    assert escalation.summary == "转人工 138****5678"
    assert escalation.reference.startswith("RG20261122-")


def test_open_options_reflect_each_demo_borrower(db, policy):
    accounts = demo_accounts(db)

    def kinds(borrower_id):
        return sorted({kind for kind, _loan in plans.open_options(accounts.borrower_profile(borrower_id), TODAY,
                                                                    policy)})
    assert kinds("B1001") == ["deferral", "installment", "waiver"]
    assert kinds("B1002") == ["deferral", "waiver"]           # 446.40 overdue: below the installment minimum
    assert kinds("B1003") == ["installment", "waiver"]        # 125 days: too late to defer
    assert kinds("B1004") == []                               # in litigation
    assert kinds("B1005") == []                               # settled
    assert kinds("B1006") == ["waiver"]                       # deferral this year, plan pending


def test_a_waiver_concerns_active_overdue_loans_with_charges_and_reports_one_pending(db):
    accounts = demo_accounts(db)

    def scope(borrower_id):
        found = plans.waiver_scope(accounts.borrower_profile(borrower_id), TODAY)
        return ([(loan.id, str(s.penalty), str(s.late_fees)) for loan, s in found.to_file],
                [(loan.id, request.reference) for loan, _s, request in found.pending])
    assert scope("B1001") == ([("L1001", "44.60", "90.00")], [])
    assert scope("B1004") == ([], [])  # in litigation: not the assistant's to file
    assert scope("B1005") == ([], [])  # settled
    borrower = accounts.borrower_profile("B1001")
    filed = plans.submit_waiver(accounts, borrower, plans.find_loan(borrower, "L1001"), "罚息太多", "c1", TODAY, NOW)
    assert filed.created
    assert scope("B1001") == ([], [("L1001", filed.request.reference)])


def test_a_bound_sender_names_its_borrower_until_unbound_or_expired(db):
    accounts = demo_accounts(db)
    assert accounts.bound_borrower("openid-1", NOW) is None
    accounts.bind_sender(sender_id="openid-1", channel="wechat", borrower_id="B1001", now=NOW)
    accounts.bind_sender(sender_id="web-1", channel="webchat", borrower_id="B1002", now=NOW,
                         expires_at=NOW + dt.timedelta(hours=1))
    assert accounts.bound_borrower("openid-1", NOW + dt.timedelta(days=400)) == "B1001"
    assert accounts.bound_borrower("web-1", NOW + dt.timedelta(minutes=59)) == "B1002"
    assert accounts.bound_borrower("web-1", NOW + dt.timedelta(hours=1)) is None
    accounts.bind_sender(sender_id="openid-1", channel="wechat", borrower_id="B1003", now=NOW)
    assert accounts.bound_borrower("openid-1", NOW) == "B1003"
    assert accounts.unbind_sender("openid-1") is True
    assert accounts.unbind_sender("openid-1") is False
    assert accounts.bound_borrower("openid-1", NOW) is None
