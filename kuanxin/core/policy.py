"""The lender's policy file (policy.yml), loaded once into typed, immutable settings."""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import string
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from kuanxin.core import settings
from kuanxin.core.money import to_money
from kuanxin.core.vocab import Priority


class PolicyError(ValueError):
    """A policy value that is missing, of the wrong type or out of range; the message names its key."""


class Section:
    """One mapping of policy.yml, read with types and ranges checked; errors name the full key."""

    def __init__(self, raw, where: str):
        if not isinstance(raw, dict):
            raise PolicyError(f"{where}: give a section of settings, got {raw!r}")
        self.raw, self.where = raw, where

    def value(self, key: str):  # the raw value, present and not null
        if key not in self.raw or self.raw[key] is None:
            raise PolicyError(f"{self.where}.{key}: missing")
        return self.raw[key]

    def section(self, key: str) -> Section:
        return Section(self.value(key), f"{self.where}.{key}")

    def whole(self, key: str, low: int, high: int) -> int:
        value = self.value(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise PolicyError(f"{self.where}.{key}: give a whole number from {low} to {high}, got {value!r}")
        return value

    def wholes(self, key: str, low: int, high: int) -> tuple[int, ...]:
        values = self.value(key)
        if (not isinstance(values, list) or not values
                or not all(isinstance(v, int) and not isinstance(v, bool) and low <= v <= high for v in values)
                or len(set(values)) != len(values)):
            raise PolicyError(f"{self.where}.{key}: give a list of different whole numbers from {low} to {high}, "
                              f"got {values!r}")
        return tuple(sorted(values))

    def flag(self, key: str) -> bool:
        value = self.value(key)
        if not isinstance(value, bool):
            raise PolicyError(f"{self.where}.{key}: give true or false, got {value!r}")
        return value

    def text(self, key: str) -> str:
        value = self.value(key)
        if not isinstance(value, (str, int)) or not str(value).strip():
            raise PolicyError(f"{self.where}.{key}: give a text, got {value!r}")
        return str(value).strip()

    def money(self, key: str) -> Decimal:
        value = self.value(key)
        try:
            amount = to_money(str(value))
        except ValueError:
            amount = None
        if isinstance(value, bool) or amount is None or not amount.is_finite() or amount < 0:
            raise PolicyError(f"{self.where}.{key}: give an amount such as \"500.00\", got {value!r}")
        return amount

    def texts(self, key: str) -> dict[str, str]:
        inner = self.section(key)
        return {name: inner.text(name) for name in inner.raw}


@dataclass(frozen=True)
class Lender:
    name: str
    hotline: str
    service_hours: str
    complaint_channel: str
    complaint_reply_days: int


@dataclass(frozen=True)
class IdentityPolicy:
    max_failures: int
    lockout_minutes: int


@dataclass(frozen=True)
class DeferralPolicy:
    max_days_overdue: int
    min_months: int
    max_months: int
    cooldown_months: int


@dataclass(frozen=True)
class InstallmentPolicy:
    max_days_overdue: int
    min_total_overdue: Decimal
    allowed_periods: tuple[int, ...]
    fee_per_period: Decimal = Decimal("0.00")  # 分期手续费 added to every payment
    fee_once: Decimal = Decimal("0.00")  # added to the first payment


@dataclass(frozen=True)
class EscalationPolicy:
    response_time: dict
    high_priority_reasons: tuple[str, ...]


@dataclass(frozen=True)
class ConsolePolicy:
    max_failed_logins: int
    lockout_minutes: int
    idle_minutes: int
    login_attempts_per_minute: int  # from one address, whatever the username
    live_poll_seconds: int = 2  # how often each process looks for queue changes made elsewhere (kuanxin.console.live)
    idle_warning_minutes: int = 5  # the page warns this long before an idle session ends, and offers to extend it
    auto_assign: bool = False  # a new escalation goes at once to the available member of staff next in turn


def parse_console(console: Section) -> ConsolePolicy:
    """policy.yml `console`: the login rules required, the rest optional (the defaults above)."""
    optional: dict[str, Any] = {key: console.whole(key, *limits) for key, limits in (
        ("live_poll_seconds", (1, 60)), ("idle_warning_minutes", (1, 60))) if key in console.raw}
    if "auto_assign" in console.raw:
        optional["auto_assign"] = console.flag("auto_assign")
    return ConsolePolicy(console.whole("max_failed_logins", 1, 100), console.whole("lockout_minutes", 1, 1440),
                         console.whole("idle_minutes", 1, 1440), console.whole("login_attempts_per_minute", 1, 1000),
                         **optional)


SEGMENTS = ("upcoming", "early", "middle", "late", "litigation", "settled", "current")
TREATMENTS = ("reminder", "collection", "legal_review", "none")


@dataclass(frozen=True)
class SegmentPolicy:
    upcoming_within_days: int
    early_until_days: int
    middle_until_days: int
    large_from: Decimal
    treatment: dict  # segment -> {"small": treatment, "large": treatment}


def parse_segments(raw: dict) -> SegmentPolicy:
    treatment = {name: dict(raw["treatment"][name]) for name in SEGMENTS}
    for name, sizes in treatment.items():
        if set(sizes) != {"small", "large"} or not set(sizes.values()) <= set(TREATMENTS):
            raise ValueError(f"segments.treatment.{name}: give small and large, each one of {', '.join(TREATMENTS)}")
    policy = SegmentPolicy(int(raw["upcoming_within_days"]), int(raw["early_until_days"]),
                           int(raw["middle_until_days"]), to_money(str(raw["large_from"])), treatment)
    if not 0 < policy.early_until_days < policy.middle_until_days:
        raise ValueError("segments: need 0 < early_until_days < middle_until_days")
    return policy


TEMPLATE_FIELDS = ("lender", "amount", "due_date", "how_to_pay", "help")
TEMPLATE_VALUE_MAX = 20  # WeChat's limit on a template message value
LATEST_CONTACT = dt.time(22)  # the law's outer bounds for contacting a borrower: 08:00-22:00
EARLIEST_CONTACT = dt.time(8)


@dataclass(frozen=True)
class WeChatTemplate:
    id: str
    url: str
    fields: dict  # our name -> the template's key (thing1, amount2, ...)
    how_to_pay: str
    help: str


@dataclass(frozen=True)
class ReminderPolicy:
    contact_start: dt.time
    contact_end: dt.time  # exclusive
    weekly_cap: int
    max_attempts: int
    how_to_pay: str
    help: str
    wechat_template: WeChatTemplate
    hardship_pause_days: int = 7  # a borrower who states a hardship may pause reminders this long


def _clock_time(raw, key: str) -> dt.time:
    try:
        return dt.time.fromisoformat(str(raw))
    except ValueError:
        raise ValueError(f"reminders.contact_hours.{key}: give a time as HH:MM, got {raw!r}") from None


def parse_reminders(raw: dict, lender_name: str) -> ReminderPolicy:
    hours, template = raw["contact_hours"], raw["wechat_template"]
    start, end = _clock_time(hours["start"], "start"), _clock_time(hours["end"], "end")
    if not EARLIEST_CONTACT <= start < end <= LATEST_CONTACT:
        raise ValueError("reminders.contact_hours: need 08:00 <= start < end <= 22:00 (Beijing time)")
    fields = dict(template["fields"])
    if set(fields) != set(TEMPLATE_FIELDS):
        raise ValueError(f"reminders.wechat_template.fields: give exactly {', '.join(TEMPLATE_FIELDS)}")
    wechat = WeChatTemplate(str(template["id"]), str(template["url"]), fields, str(template["how_to_pay"]),
                            str(template["help"]))
    for name, value in (("lender.name", lender_name), ("how_to_pay", wechat.how_to_pay), ("help", wechat.help)):
        if len(value) > TEMPLATE_VALUE_MAX:
            raise ValueError(f"reminders.wechat_template: {name} is longer than {TEMPLATE_VALUE_MAX} characters")
    pause = raw.get("hardship_pause_days", ReminderPolicy.hardship_pause_days)
    policy = ReminderPolicy(start, end, int(raw["weekly_cap"]), int(raw["max_attempts"]), str(raw["how_to_pay"]),
                            str(raw["help"]), wechat, pause if isinstance(pause, int) else -1)
    if not 1 <= policy.weekly_cap <= 7 or not 1 <= policy.max_attempts <= 10:
        raise ValueError("reminders: weekly_cap must be 1-7 and max_attempts 1-10")
    if not 1 <= policy.hardship_pause_days <= 30:
        raise ValueError(f"reminders.hardship_pause_days: give a whole number from 1 to 30, got {pause!r}")
    return policy


@dataclass(frozen=True)
class SettlementPolicy:
    """Paying off the whole loan today (一次性结清 / 提前还款)."""
    allowed: bool = True
    # charged on the principal repaid ahead of its due date (not on what is already overdue)
    prepayment_fee_rate: Decimal = Decimal("0")


def parse_settlement(raw: dict | None) -> SettlementPolicy:
    raw = raw or {}
    unknown = set(raw) - {"allowed", "prepayment_fee_rate"}
    if unknown:
        raise ValueError(f"settlement: unknown setting {', '.join(sorted(map(str, unknown)))}")
    allowed = raw.get("allowed", True)
    if not isinstance(allowed, bool):
        raise ValueError("settlement.allowed: give true or false")
    try:
        rate = Decimal(str(raw.get("prepayment_fee_rate", "0")))
    except ArithmeticError:
        raise ValueError("settlement.prepayment_fee_rate: give a rate such as \"0.01\" (1%)") from None
    if not rate.is_finite() or not Decimal("0") <= rate < Decimal("1"):
        raise ValueError("settlement.prepayment_fee_rate: need 0 <= rate < 1 (0.01 is 1%)")
    return SettlementPolicy(allowed, rate)


CHARGES = ("late_fee", "penalty", "interest", "principal")  # what a payment can cover (kuanxin/lending/ledger.py)


PAY_LINK_FIELDS = ("loan", "amount", "expires", "signature")  # what the pay-now URL template must place
PAY_LINK_OPTIONAL = ("web",)  # KUANXIN_PUBLIC_WEB_URL, for the demo lender page


@dataclass(frozen=True)
class PaymentPolicy:
    """How a payment is applied (还款冲销顺序): instalments oldest first, within each the charges in this order;
    and the lender's own payment page the pay-now link opens (kuanxin.core.links.pay_link)."""
    allocation_order: tuple[str, ...] = CHARGES
    pay_url: str = "{web}/demo/lender/pay?loan={loan}&amount={amount}&expires={expires}&signature={signature}"
    pay_link_hours: int = 24
    acknowledge_days: int = 7  # a payment received this recently is told to the borrower in their next message
    tell_open_minutes: int = 30  # and pushed at once into a conversation of theirs active this recently (0: never)
    tell_open_sweep_seconds: int = 5  # how often the web process looks for them (kuanxin/outbound/payment_news.py)


def parse_pay_url(raw) -> str:
    url = str(raw)
    try:
        placed = {name for _text, name, _spec, _conversion in string.Formatter().parse(url) if name is not None}
    except ValueError:
        placed = {"(unbalanced braces)"}
    if not url.startswith(("https://", "http://", "{web}/")) or placed - set(PAY_LINK_FIELDS + PAY_LINK_OPTIONAL) \
            or set(PAY_LINK_FIELDS) - placed:
        raise PolicyError("payments.pay_link.url: give an http(s) URL placing each of "
                          f"{', '.join('{' + name + '}' for name in PAY_LINK_FIELDS)} (and optionally {{web}}), "
                          f"got {url!r}")
    return url


def parse_payments(raw: dict | None) -> PaymentPolicy:
    raw = raw or {}
    unknown = set(raw) - {"allocation_order", "pay_link", "acknowledge_days", "tell_open_minutes",
                          "tell_open_sweep_seconds"}
    if unknown:
        raise PolicyError(f"payments: unknown setting {', '.join(sorted(map(str, unknown)))}")
    order = raw.get("allocation_order", list(CHARGES))
    if not isinstance(order, list) or sorted(map(str, order)) != sorted(CHARGES):
        raise PolicyError(f"payments.allocation_order: give each of {', '.join(CHARGES)} once, got {order!r}")
    if order.index("interest") > order.index("principal"):  # a row's paid amount covers its interest first
        raise PolicyError("payments.allocation_order: interest must come before principal")
    days = Section(raw, "payments").whole("acknowledge_days", 1, 90) if "acknowledge_days" in raw \
        else PaymentPolicy.acknowledge_days
    minutes = Section(raw, "payments").whole("tell_open_minutes", 0, 240) if "tell_open_minutes" in raw \
        else PaymentPolicy.tell_open_minutes
    sweep = Section(raw, "payments").whole("tell_open_sweep_seconds", 1, 60) if "tell_open_sweep_seconds" in raw \
        else PaymentPolicy.tell_open_sweep_seconds
    if "pay_link" not in raw:
        return PaymentPolicy(tuple(order), acknowledge_days=days, tell_open_minutes=minutes,
                             tell_open_sweep_seconds=sweep)
    link = Section(raw["pay_link"], "payments.pay_link")
    unknown = set(link.raw) - {"url", "hours"}
    if unknown:
        raise PolicyError(f"payments.pay_link: unknown setting {', '.join(sorted(map(str, unknown)))}")
    return PaymentPolicy(tuple(order), parse_pay_url(link.raw.get("url", PaymentPolicy.pay_url)),
                         link.whole("hours", 1, 168) if "hours" in link.raw else PaymentPolicy.pay_link_hours, days,
                         minutes, sweep)


@dataclass(frozen=True)
class SafetyPolicy:
    """Who a borrower in crisis is told to call (the safety protocol: kuanxin/lending/safety.py, actions/safety.py)."""
    crisis_hotline: str = "12356"  # 全国统一心理援助热线 (National Health Commission)
    ambulance: str = "120"
    police: str = "110"


PHONE_NUMBER = re.compile(r"[0-9][0-9-]{1,18}[0-9]")


def parse_safety(raw: dict | None) -> SafetyPolicy:
    raw = raw or {}
    unknown = set(raw) - {"crisis_hotline", "ambulance", "police"}
    if unknown:
        raise ValueError(f"safety: unknown setting {', '.join(sorted(map(str, unknown)))}")
    numbers = {key: str(raw.get(key, default)).strip() for key, default in
               (("crisis_hotline", "12356"), ("ambulance", "120"), ("police", "110"))}
    for key, number in numbers.items():
        if not PHONE_NUMBER.fullmatch(number):
            raise ValueError(f"safety.{key}: give a telephone number (digits, dashes allowed), got {number!r}")
    return SafetyPolicy(**numbers)


@dataclass(frozen=True)
class PrivacyPolicy:
    """How long what borrowers typed is kept (kuanxin privacy retention; actions/identity.py)."""
    transcript_days: int = 180  # conversation transcripts older than this are anonymised
    identity_phone_minutes: int = 30  # a phone number typed in an identity check waits this long for the ID tail
    identity_phone_retry_seconds: int = 120  # after a check succeeds, kept only this long for a re-sent turn


DOCUMENT_KINDS = ("jpeg", "png", "pdf", "heic")  # what kuanxin/evidence can check (kuanxin.core.vocab.DocumentKind)


@dataclass(frozen=True)
class DocumentPolicy:
    """Documents borrowers attach to a request (policy.yml `documents`; kuanxin/evidence)."""
    max_bytes: int = 10 * 1024 * 1024  # one file, as received
    max_per_request: int = 10  # files attached to one request (or to one conversation's request being filed)
    kinds: tuple[str, ...] = DOCUMENT_KINDS  # accepted types, decided by content
    retention_days: int = 365  # then `kuanxin documents purge` deletes the stored file
    max_pixels: int = 40_000_000  # an image larger than this is refused before it is decoded whole


SATISFACTION_OUTCOMES = ("plan", "promise", "request", "answered")  # kuanxin.core.vocab.SatisfactionOutcome


@dataclass(frozen=True)
class SatisfactionPolicy:
    """The one light question after an outcome (policy.yml `satisfaction`; kuanxin/lending/satisfaction.py). At most
    once a Beijing day per borrower and once per conversation, never where the safety protocol ran: those rules are
    fixed, not settings."""
    ask: bool = True  # false: the question is never asked
    outcomes: tuple[str, ...] = SATISFACTION_OUTCOMES  # the outcomes followed by the question
    ask_unverified: bool = True  # a borrower who has not verified (a general question answered), keyed by conversation
    comment_max_chars: int = 500  # a longer comment is kept this far


def parse_satisfaction(raw: dict | None) -> SatisfactionPolicy:
    """policy.yml `satisfaction`: optional, and so is each key (the defaults above); given values are checked."""
    section = Section({} if raw is None else raw, "policy.satisfaction")
    unknown = set(section.raw) - {"ask", "outcomes", "ask_unverified", "comment_max_chars"}
    if unknown:
        raise PolicyError(f"policy.satisfaction: unknown setting {', '.join(sorted(map(str, unknown)))}")
    values: dict = {key: section.flag(key) for key in ("ask", "ask_unverified") if key in section.raw}
    if "comment_max_chars" in section.raw:
        values["comment_max_chars"] = section.whole("comment_max_chars", 1, 2000)
    if "outcomes" in section.raw:
        outcomes = section.value("outcomes")
        if (not isinstance(outcomes, list) or len(set(outcomes)) != len(outcomes)
                or not all(outcome in SATISFACTION_OUTCOMES for outcome in outcomes)):
            raise PolicyError(f"policy.satisfaction.outcomes: give a list of different outcomes from "
                              f"{', '.join(SATISFACTION_OUTCOMES)}, got {outcomes!r}")
        values["outcomes"] = tuple(outcomes)
    return SatisfactionPolicy(**values)


@dataclass(frozen=True)
class ServiceClockPolicy:
    """The console's service clocks (policy.yml `service_clock`): how long an escalation may wait for staff,
    counted in service hours only (kuanxin.core.service_hours)."""
    opens: dt.time = dt.time(9)  # Beijing time, every service day
    closes: dt.time = dt.time(21)  # exclusive
    days: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)  # ISO weekdays staff work (1 Monday … 7 Sunday)
    target_minutes: dict = field(default_factory=lambda: {"high": 120, "normal": 720})  # priority -> minutes
    safety_target_minutes: int = 30  # a borrower in crisis, whatever the priority
    amber_percent: int = 75  # amber once this share of the target has passed; red past the target


def parse_service_clock(raw: dict | None) -> ServiceClockPolicy:
    section = Section({} if raw is None else raw, "policy.service_clock")
    unknown = set(section.raw) - {"hours", "days", "target_minutes", "safety_target_minutes", "amber_percent"}
    if unknown:
        raise PolicyError(f"policy.service_clock: unknown setting {', '.join(sorted(map(str, unknown)))}")
    default, values = ServiceClockPolicy(), dict[str, object]()
    if "hours" in section.raw:
        hours = section.section("hours")
        opens, closes = (_service_time(hours, key) for key in ("start", "end"))
        if opens >= closes:
            raise PolicyError("policy.service_clock.hours: need start < end (Beijing time)")
        values.update(opens=opens, closes=closes)
    if "days" in section.raw:
        values["days"] = section.wholes("days", 1, 7)
    if "target_minutes" in section.raw:
        targets = section.section("target_minutes")
        if set(targets.raw) != set(PRIORITIES):
            raise PolicyError(f"{targets.where}: give exactly {', '.join(PRIORITIES)}")
        values["target_minutes"] = {name: targets.whole(name, 1, 14 * 24 * 60) for name in PRIORITIES}
    if "safety_target_minutes" in section.raw:
        values["safety_target_minutes"] = section.whole("safety_target_minutes", 1, 24 * 60)
    if "amber_percent" in section.raw:
        values["amber_percent"] = section.whole("amber_percent", 1, 99)
    return dataclasses.replace(default, **values)  # type: ignore[arg-type]  # each value checked above


def _service_time(hours: Section, key: str) -> dt.time:
    try:
        return dt.time.fromisoformat(str(hours.value(key)))
    except ValueError:
        raise PolicyError(f"{hours.where}.{key}: give a time as HH:MM, got {hours.value(key)!r}") from None


@dataclass(frozen=True)
class Envelope:
    """What the assistant may approve by itself for one kind of plan (policy.yml `automatic_decisions`); a request
    outside it goes to staff review. See kuanxin/lending/decisions.py."""
    max_days_overdue: int
    max_amount: Decimal  # the loan's overdue total today
    max_length: int  # periods (installment) or months (deferral)
    broken_plan_months: int  # no plan of the borrower's broken within this many months
    once_per_months: int = 0  # no other plan of this kind approved on the loan within this many months (0: no limit)
    open_escalations_block: tuple[str, ...] = ("dispute", "collection_abuse")  # an open one of these: staff decide


@dataclass(frozen=True)
class ReplanPolicy:
    """A new plan asked for while one is in force (policy.yml `plans.replan`, kuanxin/lending/replan.py): how many
    re-plans of a loan the assistant approves itself within how many months. The new plan's whole span, from the
    first plan's start, must also fit the installment envelope's periods; everything else goes to staff."""
    max_replans: int = 1  # 0: every re-plan goes to staff
    within_months: int = 12


@dataclass(frozen=True)
class PlanLifePolicy:
    """A plan in force (policy.yml `plans`): how late a plan payment may be before the plan breaks, and how long the
    link to the written agreement works."""
    grace_days: int = 5
    agreement_link_days: int = 30
    draft_link_hours: int = 24  # the link to an agreement offered, before acceptance (WeChat)
    cooling_off_hours: int = 48  # a supervisor may revoke the assistant's approval this long after acceptance
    remind_days_before: int = 3  # the reminder of a plan payment goes out this many days before its date
    replan: ReplanPolicy = ReplanPolicy()


ENVELOPE_KEYS = {"installment": "max_periods", "deferral": "max_months"}


def parse_envelopes(raw: dict | None) -> dict[str, Envelope]:
    """policy.yml `automatic_decisions`: optional; a kind it does not name is always decided by staff."""
    section = Section({} if raw is None else raw, "policy.automatic_decisions")
    unknown = set(section.raw) - set(ENVELOPE_KEYS)
    if unknown:
        raise PolicyError(f"policy.automatic_decisions: unknown kind {', '.join(sorted(map(str, unknown)))}")
    envelopes = {}
    for kind, length in ENVELOPE_KEYS.items():
        if kind not in section.raw:
            continue
        inner = section.section(kind)
        allowed = {"max_days_overdue", "max_amount", length, "broken_plan_months", "once_per_months",
                   "open_escalations_block"}
        extra = set(inner.raw) - allowed
        if extra:
            raise PolicyError(f"{inner.where}: unknown setting {', '.join(sorted(map(str, extra)))}")
        blocking = inner.raw.get("open_escalations_block", ["dispute", "collection_abuse"])
        if not isinstance(blocking, list) or not all(isinstance(reason, str) for reason in blocking):
            raise PolicyError(f"{inner.where}.open_escalations_block: give a list of escalation reasons")
        envelopes[kind] = Envelope(inner.whole("max_days_overdue", 0, DAYS), inner.money("max_amount"),
                                   inner.whole(length, 1, 120), inner.whole("broken_plan_months", 0, 120),
                                   inner.whole("once_per_months", 0, 120) if "once_per_months" in inner.raw else 0,
                                   tuple(blocking))
    return envelopes


def parse_plan_life(raw: dict | None) -> PlanLifePolicy:
    section = Section({} if raw is None else raw, "policy.plans")
    limits = {"grace_days": (0, 60), "agreement_link_days": (1, 3650), "draft_link_hours": (1, 720),
              "cooling_off_hours": (0, 720), "remind_days_before": (0, 30)}
    unknown = set(section.raw) - set(limits) - {"replan"}
    if unknown:
        raise PolicyError(f"policy.plans: unknown setting {', '.join(sorted(map(str, unknown)))}")
    replan = parse_replan(section.section("replan")) if "replan" in section.raw else ReplanPolicy()
    return PlanLifePolicy(**{key: section.whole(key, *limit) for key, limit in limits.items() if key in section.raw},
                          replan=replan)


def parse_replan(section: Section) -> ReplanPolicy:
    limits = {"max_replans": (0, 12), "within_months": (1, 120)}
    unknown = set(section.raw) - set(limits)
    if unknown:
        raise PolicyError(f"{section.where}: unknown setting {', '.join(sorted(map(str, unknown)))}")
    return ReplanPolicy(**{key: section.whole(key, *limit) for key, limit in limits.items() if key in section.raw})


@dataclass(frozen=True)
class Policy:
    lender: Lender
    identity: IdentityPolicy
    deferral: DeferralPolicy
    installment: InstallmentPolicy
    promise_max_days_ahead: int
    escalation: EscalationPolicy
    review_decision_time: str
    texts: dict
    console: ConsolePolicy
    segments: SegmentPolicy
    reminders: ReminderPolicy
    settlement: SettlementPolicy
    safety: SafetyPolicy
    payments: PaymentPolicy
    wordings: dict = field(default_factory=dict)  # language -> Wording (the lender's own words)
    privacy: PrivacyPolicy = PrivacyPolicy()
    envelopes: dict = field(default_factory=dict)  # kind -> Envelope: what the assistant approves itself
    plans: PlanLifePolicy = PlanLifePolicy()
    service_clock: ServiceClockPolicy = ServiceClockPolicy()
    documents: DocumentPolicy = DocumentPolicy()
    satisfaction: SatisfactionPolicy = SatisfactionPolicy()

    def words(self, language: str = "zh") -> Wording:
        """The lender's own words (hours, complaint channel, response and decision times, texts) in `language`."""
        zh = Wording(self.lender.service_hours, self.lender.complaint_channel, dict(self.escalation.response_time),
                     self.review_decision_time, dict(self.texts))
        return self.wordings.get(language, zh) if language != "zh" else zh


@dataclass(frozen=True)
class Wording:
    """The lender's words a reply names, in one language (policy.yml: the Chinese sections, and `en`)."""

    service_hours: str
    complaint_channel: str
    response_time: dict
    decision_time: str
    texts: dict


DAYS = 3650  # no day count in the policy is longer than ten years
PRIVACY_LIMITS = {"transcript_days": (1, DAYS), "identity_phone_minutes": (1, 1440),
                  "identity_phone_retry_seconds": (0, 3600)}


def parse_privacy(raw: dict | None) -> PrivacyPolicy:
    """policy.yml `privacy`: optional, and so is each key (the defaults above); given values are checked."""
    section = Section({} if raw is None else raw, "policy.privacy")
    unknown = set(section.raw) - set(PRIVACY_LIMITS)
    if unknown:
        raise PolicyError(f"policy.privacy: unknown setting {', '.join(sorted(map(str, unknown)))}")
    return PrivacyPolicy(**{key: section.whole(key, *limits) for key, limits in PRIVACY_LIMITS.items()
                            if key in section.raw})


DOCUMENT_LIMITS = {"max_bytes": (1024, 50 * 1024 * 1024), "max_per_request": (1, 50), "retention_days": (1, DAYS),
                   "max_pixels": (10_000, 200_000_000)}


def parse_documents(raw: dict | None) -> DocumentPolicy:
    """policy.yml `documents`: optional, and so is each key (the defaults above); given values are checked."""
    section = Section({} if raw is None else raw, "policy.documents")
    unknown = set(section.raw) - set(DOCUMENT_LIMITS) - {"kinds"}
    if unknown:
        raise PolicyError(f"policy.documents: unknown setting {', '.join(sorted(map(str, unknown)))}")
    values: dict = {key: section.whole(key, *limits) for key, limits in DOCUMENT_LIMITS.items() if key in section.raw}
    if "kinds" in section.raw:
        kinds = section.value("kinds")
        if (not isinstance(kinds, list) or not kinds or len(set(kinds)) != len(kinds)
                or not all(kind in DOCUMENT_KINDS for kind in kinds)):
            raise PolicyError(f"policy.documents.kinds: give a list of different types from "
                              f"{', '.join(DOCUMENT_KINDS)}, got {kinds!r}")
        values["kinds"] = tuple(kinds)
    return DocumentPolicy(**values)


def parse_policy(raw: dict) -> Policy:
    """The policy, every value checked: a bad one stops the start with its key named (PolicyError)."""
    top = Section(raw, "policy")
    lender, identity, console = top.section("lender"), top.section("identity"), top.section("console")
    deferral, inst, esc = top.section("deferral"), top.section("installment"), top.section("escalation")
    try:
        policy = Policy(
            lender=Lender(lender.text("name"), lender.text("hotline"), lender.text("service_hours"),
                          lender.text("complaint_channel").replace("{hotline}", lender.text("hotline")),
                          lender.whole("complaint_reply_days", 1, 60)),
            identity=IdentityPolicy(identity.whole("max_failures", 1, 20), identity.whole("lockout_minutes", 1, 1440)),
            deferral=DeferralPolicy(deferral.whole("max_days_overdue", 0, DAYS), deferral.whole("min_months", 1, 24),
                                    deferral.whole("max_months", 1, 24), deferral.whole("cooldown_months", 0, 120)),
            installment=InstallmentPolicy(inst.whole("max_days_overdue", 0, DAYS), inst.money("min_total_overdue"),
                                          inst.wholes("allowed_periods", 2, 120),
                                          *(inst.money(fee) if fee in inst.raw else Decimal("0.00")
                                            for fee in ("fee_per_period", "fee_once"))),
            promise_max_days_ahead=top.section("promise").whole("max_days_ahead", 1, 365),
            escalation=parse_escalation(esc),
            review_decision_time=top.section("review").text("decision_time"),
            texts=top.texts("texts"),
            console=parse_console(console),
            segments=parse_segments(top.value("segments")),
            reminders=parse_reminders(top.value("reminders"), lender.text("name")),
            settlement=parse_settlement(raw.get("settlement")),
            safety=parse_safety(raw.get("safety")),
            payments=parse_payments(raw.get("payments")),
            privacy=parse_privacy(raw.get("privacy")),
            envelopes=parse_envelopes(raw.get("automatic_decisions")),
            plans=parse_plan_life(raw.get("plans")),
            service_clock=parse_service_clock(raw.get("service_clock")),
            documents=parse_documents(raw.get("documents")),
            satisfaction=parse_satisfaction(raw.get("satisfaction")),
        )
    except KeyError as missing:  # inside the sections parsed by hand below
        raise PolicyError(f"policy: {missing.args[0]} is missing") from None
    if policy.deferral.min_months > policy.deferral.max_months:
        raise PolicyError("deferral: need min_months <= max_months")
    for name in ("repayment_methods", "prevention"):
        if name not in policy.texts:
            raise PolicyError(f"policy.texts.{name}: missing")
    if raw.get("en") is not None:
        policy = dataclasses.replace(policy, wordings={"en": parse_wording(Section(raw["en"], "policy.en"), policy)})
    return policy


def parse_wording(words: Section, policy: Policy) -> Wording:
    """The lender's words in another language (policy.yml `en`): every one the Chinese sections hold, so no
    reply in that language ever names a Chinese phrase of the lender's."""
    lender = policy.lender
    times = words.texts("response_time")
    if set(times) != set(policy.escalation.response_time):
        raise PolicyError(f"{words.where}.response_time: give exactly {', '.join(policy.escalation.response_time)}")
    texts = words.texts("texts")
    if set(texts) != set(policy.texts):
        raise PolicyError(f"{words.where}.texts: give exactly {', '.join(sorted(policy.texts))}")
    return Wording(words.text("service_hours"),
                   words.text("complaint_channel").replace("{hotline}", lender.hotline),
                   times, words.text("decision_time"), texts)


PRIORITIES = tuple(priority.value for priority in Priority)


def parse_escalation(esc: Section) -> EscalationPolicy:
    times = esc.texts("response_time")
    if set(times) != set(PRIORITIES):
        raise PolicyError(f"{esc.where}.response_time: give exactly {', '.join(PRIORITIES)}")
    reasons = esc.value("high_priority_reasons")
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise PolicyError(f"{esc.where}.high_priority_reasons: give a list of reasons, got {reasons!r}")
    return EscalationPolicy(times, tuple(reasons))


def load_policy(path: Path) -> Policy:
    with open(path, encoding="utf-8") as handle:
        return parse_policy(yaml.safe_load(handle))


@functools.lru_cache(maxsize=1)
def current() -> Policy:
    """The policy in force, read once per process from KUANXIN_POLICY or policy.yml."""
    return load_policy(settings.policy_path())
