"""The borrower of issue 18's first scenario: 38 days overdue with 2,382.50 owed on 2026-11-22 (the pinned today),
beside the demo accounts.

L7001: six monthly instalments of 1,000.00 + 150.00 from 15 Sep, 0.05 % a day, 30.00 late fee; the first paid, the
second (15 Oct) and third (15 Nov) not: 2,300.00 + 19.00 + 3.50 penalty + 60.00 fees = 2,382.50, 38 days overdue.
"""
from __future__ import annotations

import copy

from kuanxin.store.demo import demo_document

PHONE, ID_TAIL, BORROWER, LOAN = "13200006666", "0052", "B1007", "L7001"


def plan_borrower() -> dict:
    rows = [("2026-09-15", "1150.00", "2026-09-14"), ("2026-10-15", "0.00", None), ("2026-11-15", "0.00", None),
            ("2026-12-15", "0.00", None), ("2027-01-15", "0.00", None), ("2027-02-15", "0.00", None)]
    return {"id": BORROWER, "name": "孙丽", "phone": PHONE, "id_number": "33010219900101" + ID_TAIL,
            "loans": [{"id": LOAN, "product": "消费贷", "principal": "6000.00", "annual_rate": "0.18",
                       "penalty_daily_rate": "0.0005", "late_fee": "30.00", "start_date": "2026-08-15",
                       "status": "active",
                       "schedule": [{"period": n, "due_date": due, "principal": "1000.00", "interest": "150.00",
                                     "paid": paid, "paid_on": paid_on}
                                    for n, (due, paid, paid_on) in enumerate(rows, 1)]}]}


def document_with_plan_borrower() -> dict:
    """The demo accounts and the plan borrower (as of the demo's own date, 2026-11-22)."""
    document = copy.deepcopy(demo_document())
    document["borrowers"].append(plan_borrower())
    return document
