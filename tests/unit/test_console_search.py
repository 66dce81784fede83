"""Staff search (kuanxin/console/search.py) on both databases: each key, the filters, masking, hostile input."""
import datetime as dt
import logging
from decimal import Decimal

import pytest

from kuanxin.console.search import MAX_QUERY, Search, SearchError
from kuanxin.store import importer
from kuanxin.store.accounts import Accounts
from kuanxin.store.demo import demo_document
from tests.unit.test_records import NOW, TODAY


@pytest.fixture
def book(db):
    """Demo borrowers (张伟 13812345678 with loan L1001, 李娜 13900001111 with L2001/L2002), three escalations,
    a request and a promise."""
    importer.load_document(db, demo_document())
    accounts = Accounts(db)
    zhang, _ = accounts.open_escalation(conversation_id="c1", borrower_id="B1001", reason="human", priority="normal",
                                        channel="webchat", summary="要求人工", today=TODAY, now=NOW)
    li, _ = accounts.open_escalation(conversation_id="c2", borrower_id="B1002", reason="dispute", priority="high",
                                     channel="wechat", summary="异议", today=TODAY, now=NOW - dt.timedelta(days=3))
    anonymous, _ = accounts.open_escalation(conversation_id="c3", borrower_id=None, reason="human",
                                            priority="normal", channel="rest", summary="未核实", today=TODAY, now=NOW)
    request, _ = accounts.submit_request(borrower_id="B1001", loan_id="L1001", kind="deferral", conversation_id="c1",
                                         today=TODAY, now=NOW, months=1, reason="失业")
    promise, _ = accounts.record_promise(borrower_id="B1003", promised_date=TODAY + dt.timedelta(days=3),
                                         amount=Decimal("500.00"), conversation_id="c9", today=TODAY, now=NOW)
    return {"zhang": zhang, "li": li, "anonymous": anonymous, "request": request, "promise": promise}


def refs(hits):
    return [hit.reference for hit in hits]


def test_a_phone_tail_finds_the_borrowers_conversations_with_the_phone_masked(db, book):
    hits = Search(db).find("5678")
    assert refs(hits) == [book["zhang"].reference]
    hit = hits[0]
    assert (hit.borrower, hit.phone, hit.matched, hit.status, hit.what) == ("张伟", "138****5678", "手机尾号", "待处理",
                                                                           "转人工")
    assert hit.escalation_id == book["zhang"].id
    assert "13812345678" not in repr(hits)
    # a full number finds the same borrower, and is shown masked too
    assert [h.phone for h in Search(db).find("138 1234 5678")] == ["138****5678"]


def test_references_of_escalations_requests_and_promises(db, book):
    search = Search(db)
    assert refs(search.find(book["anonymous"].reference.lower())) == [book["anonymous"].reference]
    assert search.find(book["anonymous"].reference)[0].borrower == "未核实"
    request = search.find(book["request"].reference)
    assert [(h.kind, h.what, h.status, h.matched, h.escalation_id) for h in request] == [
        ("request", "延期还款", "待审批", "编号", book["zhang"].id)]  # linked to its conversation's page
    promise = search.find(book["promise"].reference)
    assert [(h.kind, h.status, h.borrower, h.escalation_id) for h in promise] == [("promise", "待跟进", "王强", None)]
    assert search.find("RG20000101-0001") == []


def test_a_name_in_part_and_a_loan_id(db, book):
    search = Search(db)
    assert [(h.reference, h.matched) for h in search.find("李")] == [(book["li"].reference, "姓名")]
    assert [(h.reference, h.matched) for h in search.find("L2002")] == [(book["li"].reference, "贷款编号")]
    assert search.find("L9999") == [] and search.find("无此人") == []


def test_filters_by_status_and_beijing_dates(db, book):
    search = Search(db)
    day = dt.timedelta(days=1)
    assert refs(search.find("李", since=NOW - day)) == []
    assert refs(search.find("李", since=NOW - 4 * day, until=NOW - 2 * day)) == [book["li"].reference]
    assert refs(search.find("5678", status="resolved")) == []
    assert refs(search.find("5678", status="open")) == [book["zhang"].reference]
    assert search.find(book["request"].reference, until=NOW - day) == []


@pytest.mark.parametrize("hostile", [
    "' OR 1=1 --", "%", "_", "\\", "'; DROP TABLE borrowers; --", "<script>alert(1)</script>", "张\x00伟",
    "\u202e张伟", "\x1b[31m", "   ", ""])
def test_hostile_input_is_searched_as_plain_text(db, book, hostile):
    hits = Search(db).find(hostile)
    # wildcards and quotes match literally: no name holds them; control characters are dropped (张\x00伟 is 张伟)
    assert refs(hits) == ([book["zhang"].reference] if hostile in ("张\x00伟", "\u202e张伟") else [])
    assert len(Search(db).find("5678")) == 1  # the table is still there


def test_a_very_long_query_is_refused_politely(db, book):
    with pytest.raises(SearchError, match="太长"):
        Search(db).find("张" * (MAX_QUERY + 1))


def test_a_full_phone_number_is_never_logged(db, book, caplog):
    with caplog.at_level(logging.INFO, logger="kuanxin.console.search"):
        Search(db).find("13812345678")
    assert caplog.records and "13812345678" not in caplog.text and "5678" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="kuanxin.console.search"):
        Search(db).find("张伟")
    assert "张伟" in caplog.text  # other queries are logged as typed
