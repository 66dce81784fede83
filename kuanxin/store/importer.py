"""The demo and test import (`kuanxin db load`): validate a whole file, then replace the account data in one
transaction, with every promise, request and escalation. A lender's data goes in with `kuanxin sync`
(kuanxin/store/sync.py), which upserts and never deletes.

A bad file names the record and field of every problem found and loads nothing.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert

from kuanxin.core.money import to_money
from kuanxin.core.safe_text import unstorable
from kuanxin.core.vocab import LoanStatus, RequestStatus, RequestType
from kuanxin.lending.identity import mask_id_number
from kuanxin.store import classes
from kuanxin.store.accounts import reference_for
from kuanxin.store.db import Database
from kuanxin.store.models import (
    Agreement,
    Borrower,
    Escalation,
    IdentityAttempt,
    Loan,
    Payment,
    PaymentAcknowledgement,
    PaymentPromise,
    PlanDecisionRecord,
    RepaymentPlan,
    ScheduleRow,
    SenderBinding,
    ServiceRequest,
)

LOAN_STATUSES = LoanStatus.values()
REQUEST_TYPES = RequestType.values()
REQUEST_STATUSES = RequestStatus.values()
PHONE = re.compile(r"1[3-9]\d{9}")
ID_NUMBER = re.compile(r"\d{17}[\dX]")
MAX_ERRORS = 50


class ImportValidationError(ValueError):
    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class FieldChecker:
    """Reads typed fields from the file, collecting an error (record and field) for each bad one."""

    errors: list[str]

    def fail(self, where: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(f"{where}: {message}")

    def text(self, record: dict, where: str, key: str, max_len: int = 100) -> str | None:
        value = record.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{where}.{key}", "required text is missing")
            return None
        if len(value) > max_len:
            self.fail(f"{where}.{key}", f"longer than {max_len} characters")
            return None
        if unstorable(value):
            self.fail(f"{where}.{key}", "holds a character that cannot be stored (NUL or a lone surrogate)")
            return None
        return value.strip()

    def pattern(self, record: dict, where: str, key: str, regex: re.Pattern, hint: str) -> str | None:
        value = self.text(record, where, key, 40)
        if value is not None and not regex.fullmatch(value):
            self.fail(f"{where}.{key}", f"{hint}, got {value!r}")
            return None
        return value

    def choice(self, record: dict, where: str, key: str, allowed: tuple[str, ...]) -> str | None:
        value = record.get(key)
        if value not in allowed:
            self.fail(f"{where}.{key}", f"must be one of {', '.join(allowed)}, got {value!r}")
            return None
        return value

    def money(self, record: dict, where: str, key: str, positive: bool = False) -> Decimal | None:
        value = self.decimal(record, where, key)
        if value is None:
            return None
        money = to_money(value)
        if value < 0 or (positive and value == 0) or value != money:
            kind = "positive" if positive else "non-negative"
            self.fail(f"{where}.{key}", f"must be a {kind} amount with at most 2 decimals")
            return None
        return money

    def rate(self, record: dict, where: str, key: str, maximum: str) -> Decimal | None:
        value = self.decimal(record, where, key)
        if value is not None and not Decimal(0) <= value <= Decimal(maximum):
            self.fail(f"{where}.{key}", f"must be between 0 and {maximum}")
            return None
        return value

    def decimal(self, record: dict, where: str, key: str) -> Decimal | None:
        value = record.get(key)
        if not isinstance(value, str):
            self.fail(f"{where}.{key}", "must be a decimal number written as a string, e.g. \"12000.00\"")
            return None
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            self.fail(f"{where}.{key}", f"not a decimal number: {value!r}")
            return None
        return number

    def date(self, record: dict, where: str, key: str, optional: bool = False) -> dt.date | None:
        value = record.get(key)
        if value is None and optional:
            return None
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(f"{where}.{key}", f"must be an ISO date (YYYY-MM-DD), got {value!r}")
        return None

    def integer(self, record: dict, where: str, key: str, low: int, high: int, optional: bool = False) -> int | None:
        value = record.get(key)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(f"{where}.{key}", f"must be a whole number from {low} to {high}, got {value!r}")
            return None
        return value

    def items(self, record: dict, where: str, key: str, required: bool = True) -> list:
        value = record.get(key, None if required else [])
        if not isinstance(value, list):
            self.fail(f"{where}.{key}", "must be a list")
            return []
        return value


def _label(kind: str, index: int, record: Any) -> str:
    ident = record.get("id") if isinstance(record, dict) else None
    return f"{kind}[{index}]" + (f" (id {ident})" if isinstance(ident, str) else "")


@dataclass
class Rows:
    borrowers: list[dict]
    loans: list[dict]
    schedule: list[dict]
    requests: list[dict]


def validate(document: Any) -> Rows:
    """Checks the whole document and returns the rows to insert, or raises ImportValidationError."""
    check = FieldChecker([])
    rows = Rows([], [], [], [])
    if not isinstance(document, dict) or not isinstance(document.get("borrowers"), list):
        raise ImportValidationError(["file: must be a JSON object with a \"borrowers\" list"])
    seen: dict[str, set] = {"borrower": set(), "phone": set(), "loan": set(), "pending": set()}
    for i, raw in enumerate(document["borrowers"]):
        _validate_borrower(check, rows, seen, _label("borrowers", i, raw), raw)
    if check.errors:
        raise ImportValidationError(check.errors)
    return rows


def _unique(check: FieldChecker, seen: set[str | int], value: str | int | None, where: str) -> None:
    if value is None:
        return
    if value in seen:
        check.fail(where, f"duplicate value {value!r}")
    seen.add(value)


def _validate_borrower(check: FieldChecker, rows: Rows, seen: dict, where: str, raw: Any) -> None:
    if not isinstance(raw, dict):
        check.fail(where, "must be an object")
        return
    borrower_id = check.text(raw, where, "id", 64)
    _unique(check, seen["borrower"], borrower_id, f"{where}.id")
    name = check.text(raw, where, "name", 100)
    phone = check.pattern(raw, where, "phone", PHONE, "must be an 11-digit mainland mobile number")
    _unique(check, seen["phone"], phone, f"{where}.phone")
    raw_id = raw.get("id_number")
    id_number = check.pattern({"id_number": raw_id.upper() if isinstance(raw_id, str) else raw_id},
                              where, "id_number", ID_NUMBER, "must be an 18-character ID number")
    rows.borrowers.append({"id": borrower_id, "name": name, "phone": phone,
                           "id_last4": (id_number or "")[-4:], "id_masked": mask_id_number(id_number or "")})
    loan_ids = set()
    for j, loan in enumerate(check.items(raw, where, "loans")):
        loan_id = _validate_loan(check, rows, seen, f"{where}.{_label('loans', j, loan)}", loan, borrower_id)
        loan_ids.add(loan_id)
    for k, request in enumerate(check.items(raw, where, "requests", required=False)):
        _validate_request(check, rows, seen, f"{where}.requests[{k}]", request, borrower_id, loan_ids)


def _validate_loan(check: FieldChecker, rows: Rows, seen: dict, where: str, raw: Any, borrower_id) -> str | None:
    if not isinstance(raw, dict):
        check.fail(where, "must be an object")
        return None
    loan_id = check.text(raw, where, "id", 64)
    _unique(check, seen["loan"], loan_id, f"{where}.id")
    rows.loans.append({
        "id": loan_id, "borrower_id": borrower_id, "product": check.text(raw, where, "product", 100),
        "principal": check.money(raw, where, "principal", positive=True),
        "annual_rate": check.rate(raw, where, "annual_rate", "1"),
        "penalty_daily_rate": check.rate(raw, where, "penalty_daily_rate", "0.01"),
        "late_fee": check.money(raw, where, "late_fee"),
        "start_date": check.date(raw, where, "start_date"),
        "status": check.choice(raw, where, "status", LOAN_STATUSES),
    })
    periods: set[str | int] = set()
    for k, row in enumerate(check.items(raw, where, "schedule")):
        row_where = f"{where}.schedule[{k}]"
        if not isinstance(row, dict):
            check.fail(row_where, "must be an object")
            continue
        period = check.integer(row, row_where, "period", 1, 1000)
        _unique(check, periods, period, f"{row_where}.period")
        rows.schedule.append({
            "loan_id": loan_id, "period": period, "due_date": check.date(row, row_where, "due_date"),
            "principal": check.money(row, row_where, "principal"),
            "interest": check.money(row, row_where, "interest"),
            "paid": check.money(row, row_where, "paid") if "paid" in row else Decimal("0.00"),
            "opening_paid": check.money(row, row_where, "paid") if "paid" in row else Decimal("0.00"),
            "paid_on": check.date(row, row_where, "paid_on", optional=True),
        })
    return loan_id


def _validate_request(check: FieldChecker, rows: Rows, seen: dict, where: str, raw: Any, borrower_id,
                      loan_ids: set) -> None:
    if not isinstance(raw, dict):
        check.fail(where, "must be an object")
        return
    kind = check.choice(raw, where, "type", REQUEST_TYPES)
    loan_id = raw.get("loan_id")
    if loan_id not in loan_ids:
        check.fail(f"{where}.loan_id", f"must name one of this borrower's loans, got {loan_id!r}")
    status = check.choice(raw, where, "status", REQUEST_STATUSES)
    open_key = f"{kind}:{loan_id}" if status == RequestStatus.PENDING else None
    if open_key:  # the database allows one pending request of a kind per loan
        _unique(check, seen["pending"], open_key, f"{where}.status (a second pending {kind} on the loan)")
    rows.requests.append({
        "borrower_id": borrower_id, "loan_id": loan_id, "type": kind, "status": status,
        "created_on": check.date(raw, where, "created_on"),
        "months": check.integer(raw, where, "months", 1, 12, optional=kind != "deferral"),
        "periods": check.integer(raw, where, "periods", 1, 60, optional=True),
        "reason": raw.get("reason") if isinstance(raw.get("reason"), str) else None,
        "open_key": open_key,
    })


def load_document(db: Database, document: Any) -> dict[str, int]:
    """Replaces all account data (and what conversations recorded about it: requests, decisions, agreements and
    plans too) with the document's."""
    rows = validate(document)
    with db.session() as session:
        for model in (SenderBinding, IdentityAttempt, Escalation, PaymentPromise, ServiceRequest, Payment, ScheduleRow,
                      Loan, Borrower, RepaymentPlan, Agreement, PlanDecisionRecord, PaymentAcknowledgement):
            session.execute(delete(model))
        classes.forget(session)
        for model, batch in ((Borrower, rows.borrowers), (Loan, rows.loans), (ScheduleRow, rows.schedule)):
            if batch:
                session.execute(insert(model), batch)
        for request in rows.requests:
            record = ServiceRequest(**request, created_at=dt.datetime.combine(request["created_on"], dt.time()))
            session.add(record)
            session.flush()
            record.reference = reference_for(record.type, record.created_on, record.id)
    return {"borrowers": len(rows.borrowers), "loans": len(rows.loans),
            "schedule_rows": len(rows.schedule), "requests": len(rows.requests)}


def load_file(db: Database, path: Path) -> dict[str, int]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ImportValidationError([f"{path}: no such file"]) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportValidationError([f"{path}: not valid UTF-8 JSON ({exc})"]) from None
    return load_document(db, document)
