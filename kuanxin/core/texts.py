"""Every sentence the borrower sees, from one catalogue per language (texts/zh.yml, texts/en.yml).

A key names one message; its text has named placeholders. The lender's own facts from policy.yml
(name, hotline, service hours, complaint channel, crisis hotlines) fill their placeholders
automatically, so no text repeats a number the policy holds. A lender reviews or changes the
wording in these files alone; a test renders every message and fails on a missing key or value.

Values that look different per language (money, days, lists: kuanxin.core.formats) are rendered in the
language of the text they fill, and the lender's own words come from policy.yml in that language
(its `en` section), so a reply is never half in one language and half in the other.
"""
from __future__ import annotations

import functools
import string
from pathlib import Path

import yaml

from kuanxin.core import formats, settings
from kuanxin.core import policy as policies

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


class MissingText(KeyError):
    """A key or a placeholder value the catalogue cannot supply."""


def catalogue_dir() -> Path:
    return settings.current().texts_dir


@functools.lru_cache(maxsize=len(LANGUAGES))
def catalogue(language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    path = catalogue_dir() / f"{language}.yml"
    if not path.exists():
        return {} if language != DEFAULT_LANGUAGE else _missing(path)
    with open(path, encoding="utf-8") as handle:
        entries = yaml.safe_load(handle) or {}
    bad = [key for key, value in entries.items() if not isinstance(value, str)]
    if bad:
        raise ValueError(f"{path}: {', '.join(bad)} must be text")
    return entries


def _missing(path: Path) -> dict[str, str]:
    raise FileNotFoundError(f"the text catalogue {path} is missing")


def policy_values(policy: policies.Policy | None = None, language: str = DEFAULT_LANGUAGE) -> dict[str, object]:
    """The lender's facts every text may name, in `language`."""
    policy = policy or policies.current()
    lender, words = policy.lender, policy.words(language)
    return {"lender": lender.name, "hotline": lender.hotline, "service_hours": words.service_hours,
            "complaint_channel": words.complaint_channel, "complaint_reply_days": lender.complaint_reply_days,
            "crisis_hotline": policy.safety.crisis_hotline, "ambulance": policy.safety.ambulance,
            "police": policy.safety.police, "contact_hours": contact_hours(policy)}


def contact_hours(policy: policies.Policy) -> str:
    """When the lender contacts borrowers (policy.yml reminders.contact_hours), as 08:00-21:00."""
    hours = policy.reminders
    return f"{hours.contact_start:%H:%M}-{hours.contact_end:%H:%M}"


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def text(key: str, language: str = DEFAULT_LANGUAGE, policy: policies.Policy | None = None, **values: object) -> str:
    """The message `key` in `language` (Chinese when it has no such text), its placeholders filled."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    template = catalogue(language).get(key)
    if template is None:
        language, template = DEFAULT_LANGUAGE, catalogue(DEFAULT_LANGUAGE).get(key)
    if template is None:
        raise MissingText(f"no text {key!r} in the catalogue")
    needed = placeholders(template)
    values = {name: formats.shown(value, language) for name, value in values.items()}
    filled = {**(policy_values(policy, language) if needed - values.keys() else {}), **values}
    absent = needed - filled.keys()
    if absent:
        raise MissingText(f"text {key!r} needs {', '.join(sorted(absent))}")
    return template.format(**filled)


WIDGET_PREFIX = "widget."
WIDGET_PLACEHOLDERS = {"title", "name"}  # filled by the widget itself


def widget_texts(policy: policies.Policy | None = None) -> dict[str, dict[str, str]]:
    """The chat widget's own words in every language, the lender's facts filled in and the widget's own
    placeholders ({title}, {name}) kept, for the widget to bundle (`kuanxin texts widget`)."""
    bundle = {}
    for language in LANGUAGES:
        keys = [key for key in catalogue(DEFAULT_LANGUAGE) if key.startswith(WIDGET_PREFIX)]
        kept = {name: "{" + name + "}" for name in WIDGET_PLACEHOLDERS}
        bundle[language] = {key[len(WIDGET_PREFIX):]: text(key, language, policy, **kept) for key in keys}
    return bundle
