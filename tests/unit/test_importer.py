import copy
import json
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from kuanxin.store import importer
from kuanxin.store.demo import demo_document, rebased
from kuanxin.store.models import Borrower, Loan, ScheduleRow, ServiceRequest

GOOD = {"borrowers": [{
    "id": "B1", "name": "张伟", "phone": "13812345678", "id_number": "11010119900307123x",
    "loans": [{"id": "L1", "product": "消费贷", "principal": "12000.00", "annual_rate": "0.18",
               "penalty_daily_rate": "0.0005", "late_fee": "30.00", "start_date": "2026-03-15", "status": "active",
               "schedule": [{"period": 1, "due_date": "2026-04-15", "principal": "1000.00", "interest": "150.00",
                             "paid": "1150.00", "paid_on": "2026-04-14"}]}],
    "requests": [{"type": "deferral", "loan_id": "L1", "created_on": "2026-06-01", "status": "approved", "months": 1}],
}]}


def count(db, model):
    with db.session() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_good_file_loads_and_keeps_only_the_id_tail(db):
    assert importer.load_document(db, GOOD) == {"borrowers": 1, "loans": 1, "schedule_rows": 1, "requests": 1}
    with db.session() as s:
        borrower = s.execute(select(Borrower)).scalar_one()
        assert borrower.id_last4 == "123X"
        assert borrower.id_masked == "110101********123X"
        assert "11010119900307" not in json.dumps([getattr(borrower, c.name) for c in Borrower.__table__.columns])
        request = s.execute(select(ServiceRequest)).scalar_one()
        assert request.reference.startswith("YQ20260601-")


def test_loading_replaces_previous_data(db):
    importer.load_document(db, GOOD)
    other = copy.deepcopy(GOOD)
    other["borrowers"][0]["id"] = "B2"
    other["borrowers"][0]["loans"][0]["id"] = "L9"
    other["borrowers"][0]["requests"][0]["loan_id"] = "L9"
    importer.load_document(db, other)
    with db.session() as s:
        assert s.execute(select(Borrower.id)).scalars().all() == ["B2"]
        assert s.execute(select(Loan.id)).scalars().all() == ["L9"]


def broken(path, value):
    """GOOD with one field replaced; path is a list of keys and indexes."""
    doc = copy.deepcopy(GOOD)
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


@pytest.mark.parametrize("path, value, expected", [
    (["borrowers", 0, "phone"], "1381234567", "borrowers[0] (id B1).phone"),
    (["borrowers", 0, "id_number"], "1101011990030712", "borrowers[0] (id B1).id_number"),
    (["borrowers", 0, "name"], "", "borrowers[0] (id B1).name"),
    (["borrowers", 0, "loans", 0, "principal"], 12000.0, "loans[0] (id L1).principal"),
    (["borrowers", 0, "loans", 0, "principal"], "12,000", "loans[0] (id L1).principal"),
    (["borrowers", 0, "loans", 0, "late_fee"], "-1.00", "loans[0] (id L1).late_fee"),
    (["borrowers", 0, "loans", 0, "late_fee"], "1.005", "loans[0] (id L1).late_fee"),
    (["borrowers", 0, "loans", 0, "status"], "closed", "loans[0] (id L1).status"),
    (["borrowers", 0, "loans", 0, "start_date"], "2026-02-30", "loans[0] (id L1).start_date"),
    (["borrowers", 0, "loans", 0, "schedule", 0, "due_date"], "15/04/2026", "schedule[0].due_date"),
    (["borrowers", 0, "loans", 0, "schedule", 0, "period"], "1", "schedule[0].period"),
    (["borrowers", 0, "loans", 0, "penalty_daily_rate"], "0.5", "loans[0] (id L1).penalty_daily_rate"),
    (["borrowers", 0, "loans", 0, "schedule"], KeyError, "loans[0] (id L1).schedule"),
    (["borrowers", 0, "requests", 0, "loan_id"], "L404", "requests[0].loan_id"),
    (["borrowers", 0, "requests", 0, "type"], "refund", "requests[0].type"),
    (["borrowers", 0, "requests", 0, "months"], KeyError, "requests[0].months"),
])
def test_bad_field_is_named_and_nothing_is_loaded(db, path, value, expected):
    importer.load_document(db, GOOD)  # existing data must survive a bad file
    with pytest.raises(importer.ImportValidationError) as err:
        importer.load_document(db, broken(path, value))
    assert any(expected in e for e in err.value.errors), err.value.errors
    assert count(db, Borrower) == 1 and count(db, ScheduleRow) == 1


def test_duplicates_across_records_are_refused(db):
    doc = copy.deepcopy(GOOD)
    twin = copy.deepcopy(doc["borrowers"][0])
    twin["id"] = "B2"
    doc["borrowers"].append(twin)
    with pytest.raises(importer.ImportValidationError) as err:
        importer.load_document(db, doc)
    assert any("borrowers[1] (id B2).phone: duplicate" in e for e in err.value.errors)
    assert any("loans[0] (id L1).id: duplicate" in e for e in err.value.errors)
    assert count(db, Borrower) == 0


@pytest.mark.parametrize("document", [None, [], {"borrowers": {}}, {"people": []}, "text"])
def test_wrong_shape_is_refused(db, document):
    with pytest.raises(importer.ImportValidationError):
        importer.load_document(db, document)


def test_hostile_text_is_stored_as_text(db):
    doc = broken(["borrowers", 0, "name"], "Robert'); DROP TABLE borrowers;--")
    importer.load_document(db, doc)
    with db.session() as s:
        assert s.execute(select(Borrower.name)).scalar_one() == "Robert'); DROP TABLE borrowers;--"


def test_demo_data_is_valid_and_moves_with_today():
    doc = demo_document()
    assert importer.validate(doc).borrowers
    later = rebased(doc, __import__("datetime").date(2027, 2, 25))
    first_due = later["borrowers"][0]["loans"][0]["schedule"][0]["due_date"]
    assert first_due == "2026-07-15"  # three whole months after the file's as_of date
    importer.validate(later)


def run_cli(tmp_path, *args):
    env = {"KUANXIN_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "kuanxin.ops.cli", *args], capture_output=True, text=True, env=env)


@pytest.mark.slow  # a subprocess
def test_cli_load_reports_problems_with_exit_code_1(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(broken(["borrowers", 0, "phone"], "12345")), encoding="utf-8")
    result = run_cli(tmp_path, "db", "load", str(bad))
    assert result.returncode == 1
    assert "borrowers[0] (id B1).phone" in result.stderr
    assert "nothing was loaded" in result.stderr


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe\x00", b""])
@pytest.mark.slow  # a subprocess
def test_cli_load_refuses_malformed_files(tmp_path, content):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    result = run_cli(tmp_path, "db", "load", str(bad))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_cli_load_then_demo_if_empty(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD, ensure_ascii=False), encoding="utf-8")
    assert run_cli(tmp_path, "db", "load", str(good)).stdout.startswith("loaded 1 borrowers")
    assert "not loaded" in run_cli(tmp_path, "db", "demo", "--if-empty").stdout
