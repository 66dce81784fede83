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

from kuanxin.core import texts
from kuanxin.core.settings import PROJECT_ROOT

SOURCES = [*sorted((PROJECT_ROOT / "actions").glob("*.py")), *sorted((PROJECT_ROOT / "channels").glob("*.py")),
           *sorted((PROJECT_ROOT / "runtime").glob("*.py"))]
# say(dispatcher, tracker, "key", …) / text_for(tracker, "key", …) / texts.text("key", …) / a form's terms_key = "key"
LITERAL_KEY = re.compile(r"(?:say\(\s*\w+,\s*\w+,|text_for\(\s*\w+,|texts\.text\("
                         r"|(?:terms|credit|decision_time)_key = )\s*\"([a-z_][\w.]*)\"")
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
DOMAIN_SOURCES = [PROJECT_ROOT / "kuanxin" / "lending" / name for name in ("eligibility.py", "plans.py")]
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
    from kuanxin.core import policy
    from kuanxin.lending import eligibility
    from kuanxin.lending.overdue import loan_statement
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



def response_variants(domain: dict) -> dict[str, dict[str, dict]]:
    """domain.yml responses by name and language: the variation conditioned on the language slot, or the default."""
    variants: dict[str, dict[str, dict]] = {}
    for name, options in domain["responses"].items():
        for option in options:
            languages = [c["value"] for c in option.get("condition") or () if c.get("name") == "language"]
            variants.setdefault(name, {})[languages[0] if languages else texts.DEFAULT_LANGUAGE] = option
    return variants


def test_rasas_own_responses_are_the_catalogues():
    """domain.yml must hold its responses statically; each language's variation is a copy of that catalogue's
    response.<name>, and its buttons carry the catalogue's button titles."""
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    variants = response_variants(domain)
    for language in texts.LANGUAGES:
        catalogue = texts.catalogue(language)
        for name, by_language in variants.items():
            assert language in by_language, f"domain.yml {name} has no variation for {language}"
            option = by_language[language]
            assert catalogue.get(f"response.{name}") == option["text"], \
                f"domain.yml {name} ({language}) differs from texts/{language}.yml response.{name}"
            assert not texts.placeholders(option["text"]), f"{name}: Rasa would fill {{…}} from slots"
            titles = {catalogue[key] for key in catalogue if key.startswith("button.")}
            for button in option.get("buttons") or ():
                assert button["title"] in titles, f"{name} ({language}): {button['title']!r} is not a catalogue button"
        unused = {key for key in catalogue if key.startswith("response.")} - {f"response.{n}" for n in variants}
        assert not unused, f"catalogue responses domain.yml lacks: {sorted(unused)}"


# --- English (texts/en.yml): the same messages, and not a Chinese character in any of them
CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def without_names(text: str) -> str:
    """The text without the names that stay as they are in every language: the lender's (policy.yml) and the
    loans' product names (account data), which tests render as <product>."""
    return text.replace(str(texts.policy_values()["lender"]), "")


def test_english_has_every_key_of_chinese_and_no_other():
    zh, en = texts.catalogue("zh"), texts.catalogue("en")
    assert sorted(set(zh) - set(en)) == [] and sorted(set(en) - set(zh)) == []


@pytest.mark.parametrize("key", sorted(texts.catalogue("zh")))
def test_each_english_text_has_the_placeholders_of_the_chinese_one(key):
    assert texts.placeholders(texts.catalogue("en")[key]) == texts.placeholders(texts.catalogue("zh")[key])


def sample_values(names: set[str]) -> dict:
    """Placeholder values as the code passes them: kuanxin.core.formats values for money, days and lists."""
    from decimal import Decimal

    from kuanxin.core.formats import Day, Items, LongDay, Money

    typed = {"total": Money(Decimal("3084.60")), "amount": Money(Decimal("1000")), "owed": Money(Decimal("3084.60")),
             "rest": Money(Decimal("2084.60")), "penalty": Money(Decimal("44.60")), "late_fees": Money(Decimal("90")),
             "day": LongDay(dt.date(2026, 12, 22)), "new_date": LongDay(dt.date(2026, 12, 15)),
             "earliest": Day(dt.date(2026, 9, 15)), "months": Items([1, 2, 3]), "periods": Items([3, 6, 12]),
             "choices": Items([3, 6, 12]), "min_total": Money(Decimal("500"))}
    return {name: typed.get(name, f"<{name}>") for name in names - texts.policy_values().keys()}


@pytest.mark.parametrize("key", sorted(texts.catalogue("zh")))
def test_every_english_text_renders_without_a_chinese_character(key):
    template = texts.catalogue("en")[key]
    rendered = texts.text(key, "en", **sample_values(texts.placeholders(template)))
    assert "{" not in rendered and "}" not in rendered
    assert not CHINESE.search(without_names(rendered)), (key, CHINESE.findall(without_names(rendered)))


def test_english_values_are_shown_in_english():
    from decimal import Decimal

    from kuanxin.core.formats import Day, Items, LongDay, Money

    assert texts.text("overdue.total", "en", total=Money(Decimal("3084.6"))) == "Overdue in total: 3,084.60 yuan"
    assert texts.text("overdue.total", "zh", total=Money(Decimal("3084.6"))) == "逾期合计:3,084.60元"
    assert texts.text("promise.date_past", "en", day=LongDay(dt.date(2026, 12, 22))).startswith(
        "22 December 2026 (Tuesday) has")
    assert texts.text("promise.date_past", "zh", day=LongDay(dt.date(2026, 12, 22))).startswith(
        "2026年12月22日(星期二)")
    assert texts.text("status.checked_at", "en", day=Day(dt.date(2026, 11, 22))) == "(checked on 22 November 2026)"
    assert texts.text("eligibility.installment.periods", "en", choices=Items([3, 6])) == \
        "you can choose 3, 6 installments"
    assert texts.text("eligibility.installment.periods", "zh", choices=Items([3, 6])) == "分期期数可选3、6期"


def test_the_lenders_words_are_english_in_english():
    from kuanxin.core import policy

    words = policy.current().words("en")
    for value in (words.service_hours, words.complaint_channel, words.decision_time, *words.response_time.values(),
                  *words.texts.values()):
        assert not CHINESE.search(without_names(value)), value
    assert set(words.texts) == set(policy.current().texts)
    assert set(words.response_time) == set(policy.current().escalation.response_time)
    rendered = texts.text("escalation.human", "en", reference="RG1", response_time=words.response_time["normal"])
    assert not CHINESE.search(without_names(rendered)), rendered
