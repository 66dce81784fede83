"""Every KUANXIN_* setting in one table, and `kuanxin config check`: the effective configuration, secrets masked.

The table names each variable, what kind of value it holds, its default and what it is for; `check()`
validates the environment against it (and the policy, the text catalogue and the settings whose
modules check combinations themselves: stores, WeChat), so a bad value stops a deployment before
anything starts instead of failing on the first borrower's message.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

MASK = "••••"


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str  # text | secret | url | int | number | flag | date | time | path
    default: str
    meaning: str


SETTINGS = (
    Setting("KUANXIN_DATABASE_URL", "url", "sqlite:///var/kuanxin.db", "the account database"),
    Setting("KUANXIN_DB_POOL_SIZE", "int", "5", "account database connections per process"),
    Setting("KUANXIN_DB_MAX_OVERFLOW", "int", "5", "extra connections under load"),
    Setting("KUANXIN_TRACKER_STORE_URL", "url", "", "conversations (PostgreSQL); empty: in memory"),
    Setting("KUANXIN_REDIS_URL", "url", "", "locks, socket.io rooms and de-duplication shared by instances"),
    Setting("KUANXIN_REDIS_PREFIX", "text", "kuanxin", "prefix of every Redis key"),
    Setting("KUANXIN_POLICY", "path", "policy.yml", "the lender's rules"),
    Setting("KUANXIN_TEXTS", "path", "texts", "the text catalogue"),
    Setting("KUANXIN_VAR_DIR", "path", "var", "generated files: database, secrets, reports"),
    Setting("KUANXIN_TODAY", "date", "", "pins today (tests, demos)"),
    Setting("KUANXIN_TIME", "time", "", "pins the time of day (tests, demos)"),
    Setting("KUANXIN_RASA_TOKEN", "secret", "(made once under var/)", "Rasa's HTTP API token"),
    Setting("KUANXIN_WEBCHAT_SECRET", "secret", "(made once under var/)", "key of the borrower tokens (HS256)"),
    Setting("KUANXIN_RASA_URL", "url", "http://127.0.0.1:5005", "Rasa, as the web app reaches it"),
    Setting("KUANXIN_PUBLIC_CHAT_URL", "url", "", "Rasa, as a borrower's browser reaches it"),
    Setting("KUANXIN_DEMO_PAGES", "flag", "1", "serve the demo lender pages"),
    Setting("KUANXIN_CONSOLE_SECURE_COOKIES", "flag", "0", "console cookies over HTTPS only"),
    Setting("KUANXIN_SMS_URL", "url", "", "the SMS gateway for reminders"),
    Setting("KUANXIN_SMS_KEY", "secret", "", "the SMS gateway's key"),
    Setting("KUANXIN_SMS_TIMEOUT", "number", "10", "seconds to wait for the SMS gateway"),
    Setting("KUANXIN_WECHAT_TOKEN", "secret", "", "WeChat: the Token of the admin console"),
    Setting("KUANXIN_WECHAT_APP_ID", "text", "", "WeChat: AppID"),
    Setting("KUANXIN_WECHAT_APP_SECRET", "secret", "", "WeChat: AppSecret"),
    Setting("KUANXIN_WECHAT_ENCODING_AES_KEY", "secret", "", "WeChat: EncodingAESKey"),
    Setting("KUANXIN_WECHAT_ENCRYPTION", "text", "safe", "WeChat: safe | compatible | plain"),
    Setting("KUANXIN_WECHAT_API_BASE", "url", "https://api.weixin.qq.com", "WeChat: API address"),
    Setting("KUANXIN_WECHAT_API_TIMEOUT", "number", "5", "WeChat: seconds to wait for the API"),
)
# set by kuanxin itself for the processes it starts (from the settings above), or by its own tools
DERIVED = ("KUANXIN_ENDPOINTS", "KUANXIN_CREDENTIALS", "KUANXIN_INSTANCE", "KUANXIN_ACTION_ENDPOINT",
           "KUANXIN_TRACKER_DB_", "KUANXIN_REDIS_HOST", "KUANXIN_REDIS_PORT", "KUANXIN_REDIS_DB",
           "KUANXIN_REDIS_PASSWORD", "KUANXIN_BENCH_", "KUANXIN_WECHAT_", "KUANXIN_TEST_", "KUANXIN_CORPUS_")
FLAG_VALUES = ("0", "1", "true", "false", "yes", "no", "on", "off")


def shown(setting: Setting, value: str) -> str:
    """The value as it may be printed: secrets masked, a URL's password masked."""
    if not value:
        return ""
    if setting.kind == "secret":
        return MASK
    if setting.kind == "url":
        parts = urlsplit(value)
        if parts.password:
            host = parts.netloc.rsplit("@", 1)[1]
            return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:{MASK}@{host}"))
    return value


def _parses(read: Callable[[str], object]) -> Callable[[str], bool]:
    def valid(value: str) -> bool:
        try:
            read(value)
        except ValueError:
            return False
        return True
    return valid


# kind -> whether a value is one of that kind (text, secret and path take anything)
VALID: dict[str, Callable[[str], bool]] = {
    "int": lambda v: _parses(int)(v) and int(v) >= 0,
    "number": lambda v: _parses(float)(v) and float(v) > 0,
    "date": _parses(dt.date.fromisoformat),
    "time": _parses(dt.time.fromisoformat),
    "flag": lambda v: v.lower() in FLAG_VALUES,
    "url": lambda v: bool(urlsplit(v).scheme),
}


def _problem(setting: Setting, value: str) -> str | None:
    valid = VALID.get(setting.kind)
    if valid is None or valid(value):
        return None
    return f"{setting.name}: not a valid {setting.kind} ({value!r})"


def effective(env: Mapping[str, str]) -> list[tuple[Setting, str, str]]:
    """(setting, value as shown, where it comes from) for every setting."""
    rows = []
    for setting in SETTINGS:
        value = (env.get(setting.name) or "").strip()
        rows.append((setting, shown(setting, value) if value else setting.default, "env" if value else "default"))
    return rows


def check(env: Mapping[str, str]) -> list[str]:
    """Every problem with the configuration, each naming what to fix; empty when all is well."""
    from kuanxin import policy, settings, texts
    from kuanxin.wechat.config import settings_from_env

    problems = [p for s in SETTINGS if (v := (env.get(s.name) or "").strip()) and (p := _problem(s, v))]
    for what in (lambda: settings.rasa_store_env(env), lambda: settings.redis_prefix(env),
                 lambda: settings_from_env(env)):
        try:
            what()
        except ValueError as exc:
            problems.append(str(exc))
    policy_file = Path(env.get("KUANXIN_POLICY") or settings.PROJECT_ROOT / "policy.yml")
    try:
        policy.load_policy(policy_file)
    except (OSError, ValueError) as exc:
        problems.append(f"KUANXIN_POLICY ({policy_file}): {exc}")
    try:
        texts.catalogue.cache_clear()
        texts.catalogue(texts.DEFAULT_LANGUAGE)
    except (OSError, ValueError) as exc:
        problems.append(f"KUANXIN_TEXTS: {exc}")
    return problems


def report(env: Mapping[str, str]) -> tuple[str, bool]:
    """The printable configuration and whether it is sound."""
    rows = effective(env)
    width = max(len(s.name) for s, _, _ in rows)
    lines = [f"{s.name:<{width}}  {value or '-':<40}  {source:<7}  {s.meaning}" for s, value, source in rows]
    problems = check(env)
    lines += ["", *(f"error: {p}" for p in problems)] if problems else ["", "configuration ok"]
    return "\n".join(lines), not problems
