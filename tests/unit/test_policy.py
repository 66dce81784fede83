"""Loading policy.yml: every value is checked, and a bad one is refused with its key named."""
from __future__ import annotations

import copy

import pytest
import yaml

from kuanxin.core.policy import PolicyError, load_policy, parse_policy
from kuanxin.core.settings import PROJECT_ROOT

SHIPPED = yaml.safe_load((PROJECT_ROOT / "policy.yml").read_text(encoding="utf-8"))


def changed(path: str, value):
    raw = copy.deepcopy(SHIPPED)
    *sections, key = path.split(".")
    target = raw
    for section in sections:
        target = target[section]
    if value is KeyError:
        del target[key]
    else:
        target[key] = value
    return raw


def test_the_shipped_policy_loads():
    policy = load_policy(PROJECT_ROOT / "policy.yml")
    assert policy.installment.allowed_periods == (3, 6, 12, 24, 36)
    assert (policy.deferral.min_months, policy.deferral.max_months) == (1, 3)


@pytest.mark.parametrize("path, value, named", [
    ("deferral.max_months", "three", "deferral.max_months: give a whole number"),
    ("deferral.max_months", 0, "deferral.max_months: give a whole number from 1 to 24"),
    ("deferral.max_months", True, "deferral.max_months"),
    ("deferral.min_months", 5, "min_months <= max_months"),
    ("installment.allowed_periods", [3, 6, 6], "installment.allowed_periods"),
    ("installment.allowed_periods", [], "installment.allowed_periods"),
    ("installment.allowed_periods", "3,6", "installment.allowed_periods"),
    ("installment.min_total_overdue", "five hundred", "installment.min_total_overdue"),
    ("installment.min_total_overdue", "-1", "installment.min_total_overdue"),
    ("promise.max_days_ahead", -3, "promise.max_days_ahead"),
    ("identity.max_failures", KeyError, "identity.max_failures: missing"),
    ("lender.hotline", "  ", "lender.hotline: give a text"),
    ("lender.complaint_reply_days", 0, "lender.complaint_reply_days"),
    ("console.idle_minutes", 1.5, "console.idle_minutes"),
    ("escalation.response_time", {"high": "2小时内"}, "escalation.response_time: give exactly high, normal"),
    ("review.decision_time", None, "review.decision_time: missing"),
    ("texts.prevention", KeyError, "texts.prevention: missing"),
    ("segments.middle_until_days", KeyError, "middle_until_days"),
])
def test_a_bad_value_is_refused_by_name(path, value, named):
    with pytest.raises(PolicyError, match=named.replace("(", r"\(").replace(")", r"\)")):
        parse_policy(changed(path, value))


def test_a_section_that_is_not_a_mapping_is_named():
    with pytest.raises(PolicyError, match="policy.deferral: give a section"):
        parse_policy(changed("deferral", [1, 2]))
