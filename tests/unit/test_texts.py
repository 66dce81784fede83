"""The text catalogue (texts/zh.yml) against the code that sends its messages.

Every key the actions and channels name exists; every text's placeholders are plain names; the
lender's facts fill themselves from the policy. A renamed key or a typo in a placeholder fails here,
not in front of a borrower.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
import yaml

from kuanxin import texts
from kuanxin.settings import PROJECT_ROOT

SOURCES = [*sorted((PROJECT_ROOT / "actions").glob("*.py")), *sorted((PROJECT_ROOT / "channels").glob("*.py")),
           *sorted((PROJECT_ROOT / "runtime").glob("*.py"))]
# say(dispatcher, tracker, "key", …) / text_for(tracker, "key", …) / texts.text("key", …)
LITERAL_KEY = re.compile(r"(?:say\(\s*\w+,\s*\w+,|text_for\(\s*\w+,|texts\.text\(|terms_key = )"
                         r"\s*\"([a-z_][\w.]*)\"")
# keys built from a slot or a kind: f"ask.{slot}", f"plan.available.no.{kind}", …
BUILT_KEYS = {
    "ask.{slot}": ["phone_number", "id_last4", "deferral_months", "deferral_reason", "installment_periods",
                   "promise_date"],
    "form.not_understood.{slot}": ["phone_number", "id_last4", "loan_id", "deferral_months", "deferral_reason",
                                   "installment_periods", "promise_date", "confirm_request"],
    "request.pending_note.{kind}": ["deferral", "installment"],
    "plan.available.no.{kind}": ["deferral", "installment"],
    "request.label.{kind}": ["deferral", "installment"],
    "request.kind.{kind}": ["deferral", "installment", "waiver"],
    "request.status.{kind}": ["pending", "approved", "rejected", "cancelled"],
    "promise.status.{kind}": ["open", "kept", "broken"],
    "escalation.{kind}": ["collection_abuse", "dispute", "low_confidence"],
}
# the domain package names its refusals by key: RuleFailure(code, "eligibility.…", values)
DOMAIN_SOURCES = [PROJECT_ROOT / "kuanxin" / "eligibility.py", PROJECT_ROOT / "kuanxin" / "plans.py"]
DOMAIN_KEY = re.compile(r"\"(eligibility\.[a-z_][\w.]*)\"")


def used_keys() -> set[str]:
    keys = set()
    for path in SOURCES:
        keys |= set(LITERAL_KEY.findall(path.read_text(encoding="utf-8")))
    for pattern, values in BUILT_KEYS.items():
        for value in values:
            keys.add(pattern.format(slot=value, kind=value))
            if pattern.startswith("ask."):
                keys.add(pattern.format(slot=value) + ".short")
    return keys


def eligibility_keys() -> set[str]:
    return {key for path in DOMAIN_SOURCES for key in DOMAIN_KEY.findall(path.read_text(encoding="utf-8"))}


def test_the_scan_finds_the_keys_it_should():
    assert {"consequences.prison", "waiver.principal", "identity.verified", "installment.terms"} <= used_keys()


@pytest.mark.parametrize("key", sorted(used_keys()))
def test_every_key_the_code_sends_is_in_the_catalogue(key):
    assert key in texts.catalogue("zh"), f"{key} is sent but texts/zh.yml has no such text"


@pytest.mark.parametrize("key", sorted(texts.catalogue("zh")))
def test_every_text_renders_with_its_values(key):
    template = texts.catalogue("zh")[key]
    names = texts.placeholders(template)
    assert all(re.fullmatch(r"[a-z_0-9]+", name) for name in names), (key, names)
    values = {name: f"<{name}>" for name in names - texts.policy_values().keys()}
    rendered = texts.text(key, **values)
    assert "{" not in rendered and "}" not in rendered
    for name in names & texts.policy_values().keys():
        assert str(texts.policy_values()[name]) in rendered


def test_the_eligibility_scan_finds_the_keys_it_should():
    assert {"eligibility.deferral.too_late", "eligibility.installment.periods",
            "eligibility.waiver.nothing"} <= eligibility_keys()


@pytest.mark.parametrize("key", sorted(eligibility_keys()))
def test_every_refusal_the_domain_names_is_in_the_catalogue(key):
    assert key in texts.catalogue("zh"), f"kuanxin names {key} but texts/zh.yml has no such text"


def test_every_refusal_in_the_catalogue_is_named_by_the_domain():
    unused = {key for key in texts.catalogue("zh") if key.startswith("eligibility.")} - eligibility_keys()
    assert not unused, f"texts/zh.yml has refusals nothing gives: {sorted(unused)}"


def test_a_refusal_explains_itself_from_the_catalogue_and_the_policy():
    from kuanxin import eligibility, policy
    from kuanxin.overdue import loan_statement
    from tests.conftest import make_loan

    today = dt.date(2026, 11, 22)
    rules = policy.current().deferral
    loan = make_loan([(today - dt.timedelta(days=rules.max_days_overdue + 30), "1000.00", "0.00", "0.00")])
    decision = eligibility.deferral_precheck(loan, loan_statement(loan, today), (), today, rules)
    failure = next(f for f in decision.failures if f.code == "deferral_too_late")
    assert failure.key == "eligibility.deferral.too_late"
    assert failure.explanation == (f"延期还款要求逾期不超过{rules.max_days_overdue}天,"
                                   f"借款{loan.id}已逾期{rules.max_days_overdue + 30}天")


def test_a_missing_value_is_named():
    with pytest.raises(texts.MissingText, match="loan_id"):
        texts.text("consequences.loan", days=3)


def test_no_text_hard_codes_what_the_policy_holds():
    catalogue = "\n".join(texts.catalogue("zh").values())
    lender = texts.policy_values()
    for name in ("lender", "hotline", "crisis_hotline"):
        assert str(lender[name]) not in catalogue, f"write {{{name}}} instead of {lender[name]!r}"



def test_rasas_own_responses_are_the_catalogues():
    """domain.yml must hold its responses statically; each is a copy of the catalogue's response.<name>."""
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    catalogue = texts.catalogue("zh")
    copies = {name: variants[0]["text"] for name, variants in domain["responses"].items()}
    for name, text in copies.items():
        assert catalogue.get(f"response.{name}") == text, f"domain.yml {name} differs from texts/zh.yml response.{name}"
        assert not texts.placeholders(text), f"{name}: Rasa would fill {{…}} from slots"
    unused = {key for key in catalogue if key.startswith("response.")} - {f"response.{n}" for n in copies}
    assert not unused, f"catalogue responses domain.yml lacks: {sorted(unused)}"
