"""The lender's policy file (policy.yml), loaded once into typed, immutable settings."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml

from kuanxin import settings
from kuanxin.money import to_money


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


def parse_policy(raw: dict) -> Policy:
    inst = raw["installment"]
    esc = raw["escalation"]
    return Policy(
        lender=Lender(**raw["lender"]),
        identity=IdentityPolicy(**raw["identity"]),
        deferral=DeferralPolicy(**raw["deferral"]),
        installment=InstallmentPolicy(
            max_days_overdue=int(inst["max_days_overdue"]),
            min_total_overdue=to_money(str(inst["min_total_overdue"])),
            allowed_periods=tuple(sorted(int(p) for p in inst["allowed_periods"])),
        ),
        promise_max_days_ahead=int(raw["promise"]["max_days_ahead"]),
        escalation=EscalationPolicy(
            response_time=dict(esc["response_time"]),
            high_priority_reasons=tuple(esc["high_priority_reasons"]),
        ),
        review_decision_time=raw["review"]["decision_time"],
        texts=dict(raw["texts"]),
        console=ConsolePolicy(**raw["console"]),
        segments=parse_segments(raw["segments"]),
    )


def load_policy(path: Path) -> Policy:
    with open(path, encoding="utf-8") as handle:
        return parse_policy(yaml.safe_load(handle))


@functools.lru_cache(maxsize=1)
def current() -> Policy:
    """The policy in force, read once per process from KUANXIN_POLICY or policy.yml."""
    return load_policy(settings.policy_path())
