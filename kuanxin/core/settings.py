"""Every KUANXIN_* setting: the table of them, and one typed, validated view of the environment.

Configuration comes from the environment, never from the repository. `current()` is the settings of
this process, read once per environment (a test that sets a variable gets a fresh view); a bad value
raises ValueError naming the variable when it is read, and `kuanxin config check` (kuanxin.ops.config)
reports every bad value before anything starts.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str  # text | secret | url | urls | int | number | flag | date | time | path | store
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
    Setting("KUANXIN_ACTIONS", "actions", "in-process",
            "where the custom actions run: in-process (in Rasa's process) or server (an action server beside it)"),
    Setting("KUANXIN_RASA_URL", "url", "http://127.0.0.1:5005", "Rasa, as the web app reaches it"),
    Setting("KUANXIN_PUBLIC_CHAT_URL", "url", "", "Rasa, as a borrower's browser reaches it"),
    Setting("KUANXIN_PUBLIC_WEB_URL", "url", "http://localhost:8000",
            "the web app, as a borrower's browser reaches it (links to agreements)"),
    Setting("KUANXIN_AGREEMENT_SECRET", "secret", "(made once under var/)", "signs borrowers' links to agreements"),
    Setting("KUANXIN_PAY_LINK_SECRET", "secret", "(made once under var/)",
            "signs pay-now links to the lender's payment page (the page checks them with it)"),
    Setting("KUANXIN_DOCUMENT_KEY", "secret", "(made once under var/)",
            "encrypts borrowers' documents at rest (AES-GCM; the key is derived from it)"),
    Setting("KUANXIN_DOCUMENT_STORE", "store", "",
            "where documents are kept: empty for a folder under KUANXIN_VAR_DIR, or s3://bucket/prefix"),
    Setting("KUANXIN_DOCUMENT_STORE_ENDPOINT", "url", "",
            "an S3-compatible service's address (empty: AWS); credentials from the usual AWS_* variables"),
    Setting("KUANXIN_DEMO_PAGES", "flag", "1", "serve the demo lender pages"),
    Setting("KUANXIN_STAGE_TIMINGS", "path", "", "a folder for per-stage turn timings (bench.turns); empty: off"),
    Setting("KUANXIN_CONSOLE_SECURE_COOKIES", "flag", "0", "console cookies over HTTPS only"),
    Setting("KUANXIN_LENDER_API_SECRET", "secret", "", "the lender's push API (whsec_…); empty: the API is off"),
    Setting("KUANXIN_LENDER_WEBHOOK_URLS", "urls", "",
            "where events for the lender go (http(s) URLs, comma-separated); empty: none are sent"),
    Setting("KUANXIN_LENDER_WEBHOOK_SECRET", "secret", "", "signs the events sent to the lender (whsec_…)"),
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

BY_NAME = {s.name: s for s in SETTINGS}
FLAG_VALUES = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _whole(value: str) -> int:
    if not value.isdigit():
        raise ValueError
    return int(value)


def _positive(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError
    return number


def _flag(value: str) -> bool:
    return FLAG_VALUES[value.lower()]


def _url(value: str) -> str:
    if not urlsplit(value).scheme:
        raise ValueError
    return value


def _web_urls(value: str) -> tuple[str, ...]:
    """Comma-separated http(s) URLs, each with a host; the same one twice is one."""
    urls = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError
    return urls


def _actions_mode(value: str) -> str:
    if value not in ("in-process", "server"):
        raise ValueError
    return value


def _object_store(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError
    return value


# kind -> (parser, what a valid value looks like); text, secret and path take anything
PARSERS: dict[str, tuple[Callable[[str], Any], str]] = {
    "int": (_whole, "a whole number, 0 or more"),
    "number": (_positive, "a number above 0"),
    "date": (dt.date.fromisoformat, "an ISO date (YYYY-MM-DD)"),
    "time": (dt.time.fromisoformat, "a time of day (HH:MM)"),
    "flag": (_flag, "one of " + "/".join(FLAG_VALUES)),
    "url": (_url, "a URL with its scheme (postgresql://, redis://, http://)"),
    "urls": (_web_urls, "http(s) URLs separated by commas"),
    "store": (_object_store, "s3://bucket/prefix (or empty for the local folder)"),
    "actions": (_actions_mode, "in-process or server"),
}


def parse(setting: Setting, value: str) -> Any:
    """The value as its kind; ValueError naming the variable and what it should look like."""
    parser, expected = PARSERS.get(setting.kind, (str, ""))
    try:
        return parser(value)
    except (ValueError, KeyError):
        raise ValueError(f"{setting.name} must be {expected}, got {value!r}") from None


def problem(setting: Setting, value: str) -> str | None:
    try:
        parse(setting, value)
    except ValueError as exc:
        return str(exc)
    return None


class Settings:
    """The KUANXIN_* values of one environment, each read as its kind when asked for."""

    def __init__(self, env: Mapping[str, str]):
        self._values = {name: (env.get(name) or "").strip() for name in BY_NAME}

    def given(self, name: str) -> str:
        """The value as set ("" when unset)."""
        return self._values[name]

    def value(self, name: str) -> Any:
        """The value as its kind, or the table's default; None for an unset date or time."""
        setting = BY_NAME[name]
        raw = self._values[name] or setting.default
        return parse(setting, raw) if raw else None

    @property
    def var_dir(self) -> Path:
        return Path(self.given("KUANXIN_VAR_DIR") or PROJECT_ROOT / "var")

    @property
    def database_url(self) -> str:
        return self.given("KUANXIN_DATABASE_URL") or f"sqlite:///{self.var_dir / 'kuanxin.db'}"

    @property
    def policy_path(self) -> Path:
        return Path(self.given("KUANXIN_POLICY") or PROJECT_ROOT / "policy.yml")

    @property
    def texts_dir(self) -> Path:
        return Path(self.given("KUANXIN_TEXTS") or PROJECT_ROOT / "texts")

    @property
    def redis_url(self) -> str | None:
        return self.given("KUANXIN_REDIS_URL") or None

    @property
    def redis_prefix(self) -> str:
        prefix = self.given("KUANXIN_REDIS_PREFIX") or "kuanxin"
        if not prefix.isalnum():
            raise ValueError("KUANXIN_REDIS_PREFIX must be letters and digits only")
        return prefix


@functools.lru_cache(maxsize=8)
def _settings_of(snapshot: tuple[tuple[str, str], ...]) -> Settings:
    return Settings(dict(snapshot))


_last_seen: list[Any] = [None, None]  # a copy of the environment as os.environ holds it, and its settings


def current() -> Settings:
    """This process's settings: made once per environment, so changing a variable (tests do) is seen.

    A turn asks for them a dozen times; reading every variable of the environment each time (decoding each
    name and value) was 0.3 ms of a turn, so the environment as os.environ keeps it is compared instead."""
    raw = os.environ._data  # type: ignore[attr-defined]  # compared in C, nothing decoded
    if _last_seen[0] != raw:
        _last_seen[:] = [dict(raw), _settings_of(tuple((k, v) for k, v in os.environ.items()
                                                       if k.startswith("KUANXIN_")))]
    return _last_seen[1]


def of(env: Mapping[str, str] | None) -> Settings:
    return current() if env is None else Settings(env)


def var_dir() -> Path:
    """Where generated files live (database, secrets, reports): KUANXIN_VAR_DIR or ./var."""
    path = current().var_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    return current().database_url


def secret(env_name: str, file_name: str) -> str:
    """A secret from the environment; on a development machine, one made once and kept under var/.

    Every process of one machine reads the same file, so they agree without configuration.
    """
    configured = current().given(env_name)
    if configured:
        return configured
    path = var_dir() / file_name
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(value := secrets.token_urlsafe(32))
    return value


def rasa_token() -> str:
    """The token of Rasa's HTTP API (the console and tests use it)."""
    return secret("KUANXIN_RASA_TOKEN", "rasa-token")


def webchat_secret() -> str:
    """The key the lender's back end signs borrower tokens with (HS256), shared with the web chat channel."""
    return secret("KUANXIN_WEBCHAT_SECRET", "webchat-secret")


def agreement_secret() -> str:
    """The key of the links to borrowers' written agreements (kuanxin.core.links)."""
    return secret("KUANXIN_AGREEMENT_SECRET", "agreement-secret")


def pay_link_secret() -> str:
    """The key shared with the lender's payment page: it signs the pay-now links (kuanxin.core.links.pay_link)."""
    return secret("KUANXIN_PAY_LINK_SECRET", "pay-link-secret")


def document_key() -> str:
    """The secret the documents' encryption key is derived from (kuanxin.evidence.sealing)."""
    return secret("KUANXIN_DOCUMENT_KEY", "document-key")


def public_web_url() -> str:
    """The web app as a borrower's browser reaches it, without a trailing slash."""
    return str(current().value("KUANXIN_PUBLIC_WEB_URL")).rstrip("/")


def policy_path() -> Path:
    return current().policy_path


def redis_url(env: Mapping[str, str] | None = None) -> str | None:
    """Redis for everything several instances must share (locks, socket.io rooms, dedup); None: one process."""
    return of(env).redis_url


def redis_prefix(env: Mapping[str, str] | None = None) -> str:
    """Alphanumeric prefix of every Redis key (Rasa's lock store insists), so deployments can share a Redis."""
    return of(env).redis_prefix


# Connections per process; with N Rasa instances (each running its actions, so with an account-database pool too)
# plus the web app, PostgreSQL needs N x (SQL_POOL_SIZE + SQL_MAX_OVERFLOW + pool + overflow) + (pool + overflow)
# connections: 2 instances and the web app use 60 of 100 (the same with separate action servers, M of them).
RASA_POOL = {"SQL_POOL_SIZE": "10", "SQL_MAX_OVERFLOW": "5"}


def rasa_store_env(env: Mapping[str, str]) -> dict[str, str]:
    """The variables endpoints.production.yml reads, from KUANXIN_TRACKER_STORE_URL and KUANXIN_REDIS_URL.

    Empty when no tracker store URL is set: Rasa then keeps conversations in memory (endpoints.yml).
    """
    tracker = (env.get("KUANXIN_TRACKER_STORE_URL") or "").strip()
    redis = redis_url(env)
    if not tracker:
        return {}
    if not redis:
        raise ValueError("KUANXIN_TRACKER_STORE_URL needs KUANXIN_REDIS_URL too: "
                         "several instances share conversations only with a Redis lock store")
    db, cache = urlsplit(tracker), urlsplit(redis)
    if not db.scheme.startswith("postgresql") or not db.hostname or not db.path.strip("/"):
        raise ValueError("KUANXIN_TRACKER_STORE_URL must look like postgresql://user:password@host:5432/database")
    if cache.scheme != "redis" or not cache.hostname:
        raise ValueError("KUANXIN_REDIS_URL must look like redis://[:password@]host:6379/0")
    return {"KUANXIN_ENDPOINTS": "endpoints.production.yml",
            "KUANXIN_TRACKER_DB_HOST": db.hostname, "KUANXIN_TRACKER_DB_PORT": str(db.port or 5432),
            "KUANXIN_TRACKER_DB_NAME": db.path.strip("/"), "KUANXIN_TRACKER_DB_USER": unquote(db.username or ""),
            "KUANXIN_TRACKER_DB_PASSWORD": unquote(db.password or ""),
            "KUANXIN_REDIS_HOST": cache.hostname, "KUANXIN_REDIS_PORT": str(cache.port or 6379),
            "KUANXIN_REDIS_DB": cache.path.strip("/") or "0", "KUANXIN_REDIS_PASSWORD": unquote(cache.password or ""),
            "KUANXIN_REDIS_PREFIX": redis_prefix(env),
            **{name: env.get(name) or default for name, default in RASA_POOL.items()}}
