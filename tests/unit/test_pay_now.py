"""Pay now: the signed link to the lender's payment page and its verifier; payments told once in the conversation;
a promise the arriving payments cover is kept at once."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from kuanxin.core import links
from kuanxin.core import policy as policies
from kuanxin.core.policy import PolicyError, parse_payments
from kuanxin.reminders.promises import keep_covered_promises
from kuanxin.store.accounts import Accounts
from kuanxin.store.models import OutboxEvent, PaymentPromise
from kuanxin.store.payments import claim_untold_payments
from kuanxin.store.sync import Sync
from tests.unit.test_sync import BOOK, PAYMENT

SECRET = "s" * 43
TEMPLATE = "https://pay.lender.example/repay?loan={loan}&amount={amount}&expires={expires}&signature={signature}"
NOW = dt.datetime(2026, 12, 6, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
TODAY = dt.date(2026, 12, 6)


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def check(query: dict[str, str], now: dt.datetime = NOW, secret: str = SECRET) -> bool:
    return links.pay_link_valid(secret, query.get("loan"), query.get("amount"), query.get("expires"),
                                query.get("signature"), now)


def test_a_pay_link_opens_the_lenders_page_with_the_loan_and_amount_and_passes_its_check():
    url = links.pay_link(SECRET, TEMPLATE, "L1001", "1234.50", NOW + dt.timedelta(hours=24))
    assert url.startswith("https://pay.lender.example/repay?loan=L1001&amount=1234.50&expires=")
    assert check(query_of(url))


@pytest.mark.parametrize("change", [{"amount": "1.00"}, {"amount": "1234.5"}, {"loan": "L1002"},
                                    {"expires": "9999999999"}, {"signature": "x" * 43}, {"signature": ""},
                                    {"expires": "soon"}, {"loan": ""}])
def test_a_link_with_anything_altered_is_refused(change):
    query = query_of(links.pay_link(SECRET, TEMPLATE, "L1001", "1234.50", NOW + dt.timedelta(hours=24)))
    assert not check({**query, **change})


def test_an_expired_link_or_another_secret_is_refused():
    query = query_of(links.pay_link(SECRET, TEMPLATE, "L1001", "1234.50", NOW + dt.timedelta(hours=24)))
    assert check(query, NOW + dt.timedelta(hours=23, minutes=59))
    assert not check(query, NOW + dt.timedelta(hours=24))
    assert not check(query, secret="t" * 43)


def test_values_are_url_encoded_so_a_loan_id_cannot_add_a_parameter():
    url = links.pay_link(SECRET, TEMPLATE, "L1&amount=1.00", "500.00", NOW + dt.timedelta(hours=1))
    query = query_of(url)
    assert query["loan"] == "L1&amount=1.00" and query["amount"] == "500.00" and check(query)


def test_the_policy_template_must_place_every_signed_value():
    assert parse_payments({"pay_link": {"url": TEMPLATE, "hours": 12}}).pay_link_hours == 12
    with pytest.raises(PolicyError, match="payments.pay_link.url"):
        parse_payments({"pay_link": {"url": TEMPLATE.replace("&signature={signature}", "")}})
    with pytest.raises(PolicyError, match="payments.pay_link.url"):
        parse_payments({"pay_link": {"url": TEMPLATE + "&account={account}"}})
    with pytest.raises(PolicyError, match="payments.pay_link.url"):
        parse_payments({"pay_link": {"url": "javascript:alert(1)?{loan}{amount}{expires}{signature}"}})
    with pytest.raises(PolicyError, match="payments.pay_link.hours"):
        parse_payments({"pay_link": {"url": TEMPLATE, "hours": 0}})


def sync(db, records):
    return Sync(db, policies.current().payments).run((f"line {i}", r) for i, r in enumerate(records, 1))


def test_a_payment_is_told_once_and_a_charged_back_one_never(db):
    sync(db, BOOK)
    sync(db, [PAYMENT])
    since = dt.datetime.utcnow() - dt.timedelta(days=7)
    told = claim_untold_payments(db, "B9001", since, "conv-1", dt.datetime.utcnow())
    assert [(p.id, p.amount) for p in told] == [("P1", Decimal("500.00"))]
    assert claim_untold_payments(db, "B9001", since, "conv-2", dt.datetime.utcnow()) == []
    sync(db, [{**PAYMENT, "id": "P2", "amount": "200.00"},
              {**PAYMENT, "id": "P2-R", "amount": "-200.00", "reverses": "P2"}])
    assert claim_untold_payments(db, "B9001", since, "conv-3", dt.datetime.utcnow()) == []
    assert claim_untold_payments(db, "B9002", since, "conv-3", dt.datetime.utcnow()) == []


def test_a_payment_received_before_the_window_is_not_told(db):
    sync(db, BOOK)
    sync(db, [PAYMENT])
    later = dt.datetime.utcnow() + dt.timedelta(minutes=1)
    assert claim_untold_payments(db, "B9001", later, "conv-1", dt.datetime.utcnow()) == []


def promise(db, amount: str) -> PaymentPromise:
    made = dt.datetime(2026, 11, 19, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    recorded, _ = Accounts(db).record_promise(borrower_id="B9001", promised_date=dt.date(2026, 11, 30),
                                              amount=Decimal(amount), conversation_id="conv-p",
                                              today=made.date(), now=made)
    return recorded


def status_of(db, promise_id: int) -> str:
    with db.session() as session:
        return session.get(PaymentPromise, promise_id).status


def test_a_payment_that_covers_an_open_promise_keeps_it_at_once_and_tells_the_lender(db):
    sync(db, BOOK)
    covered = promise(db, "500.00")
    syncing = Sync(db, policies.current().payments)
    syncing.run([("line 1", PAYMENT)])  # 500.00 on 20 November, after the promise of 19 November
    kept = keep_covered_promises(db, syncing.changed_loans, TODAY)
    assert [o.promise_id for o in kept] == [covered.id] and status_of(db, covered.id) == "kept"
    with db.session() as session:
        kinds = session.execute(select(OutboxEvent.kind).where(OutboxEvent.borrower_id == "B9001")).scalars().all()
    assert "promise.kept" in kinds


def test_a_payment_short_of_the_promise_leaves_it_open(db):
    sync(db, BOOK)
    open_one = promise(db, "800.00")
    syncing = Sync(db, policies.current().payments)
    syncing.run([("line 1", PAYMENT)])
    assert keep_covered_promises(db, syncing.changed_loans, TODAY) == []
    assert status_of(db, open_one.id) == "open"
    assert keep_covered_promises(db, set(), TODAY) == []


def test_the_widget_gets_a_pay_button_only_for_a_web_address():
    from channels.webchat import widget_blocks
    button = {"type": "pay", "label": "立即还款 100.00元", "url": "https://pay.lender.example/?loan=L1", "note": "n",
              "extra": {"x": 1}}
    assert widget_blocks({"blocks": [button]}) == [{"type": "pay", "label": "立即还款 100.00元",
                                                    "url": "https://pay.lender.example/?loan=L1", "note": "n"}]
    assert widget_blocks({"blocks": [{**button, "url": "javascript:alert(1)"}, {**button, "url": None}]}) == []


def test_a_promised_amount_is_suggested_over_the_longest_overdue_loans_first():
    from actions.paying import promised_split
    from kuanxin.lending.overdue import loan_statement
    from tests.conftest import make_loan
    today = dt.date(2026, 11, 22)
    older = loan_statement(make_loan([(dt.date(2026, 9, 15), "500.00", "0.00", "0.00")], rate="0", late_fee="0.00",
                                     loan_id="OLD"), today)
    newer = loan_statement(make_loan([(dt.date(2026, 11, 15), "800.00", "0.00", "0.00")], rate="0", late_fee="0.00",
                                     loan_id="NEW"), today)
    split = promised_split([newer, older], Decimal("700.00"))
    assert [(s.loan_id, amount) for s, amount in split] == [("OLD", Decimal("500.00")), ("NEW", Decimal("200.00"))]
    assert [(s.loan_id, a) for s, a in promised_split([newer, older], Decimal("300"))] == [("OLD", Decimal("300.00"))]


@pytest.mark.slow
def test_kuanxin_sync_of_a_payments_file_keeps_the_promise_it_covers(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    from kuanxin.store.db import Database
    url = f"sqlite:///{tmp_path / 'k.db'}"
    env = {"KUANXIN_DATABASE_URL": url, "KUANXIN_TODAY": "2026-12-06", "PATH": "/usr/bin:/bin",
           "KUANXIN_VAR_DIR": str(tmp_path)}
    kuanxin = str(Path(sys.executable).parent / "kuanxin")
    book, paid = tmp_path / "book.jsonl", tmp_path / "paid.jsonl"
    book.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in BOOK), encoding="utf-8")
    paid.write_text(json.dumps(PAYMENT), encoding="utf-8")
    assert subprocess.run([kuanxin, "sync", str(book), "--quiet"], env=env, capture_output=True).returncode == 0
    db = Database(url)
    covered = promise(db, "500.00")
    assert subprocess.run([kuanxin, "sync", str(paid), "--quiet"], env=env, capture_output=True).returncode == 0
    assert status_of(db, covered.id) == "kept"
    db.engine.dispose()
