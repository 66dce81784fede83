"""WeChat settings from the environment, checked once at start so a bad value fails loudly and early."""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

ENV = {
    "token": "KUANXIN_WECHAT_TOKEN",
    "app_id": "KUANXIN_WECHAT_APP_ID",
    "app_secret": "KUANXIN_WECHAT_APP_SECRET",
    "encoding_aes_key": "KUANXIN_WECHAT_ENCODING_AES_KEY",
    "encryption": "KUANXIN_WECHAT_ENCRYPTION",
    "api_base": "KUANXIN_WECHAT_API_BASE",
    "api_timeout": "KUANXIN_WECHAT_API_TIMEOUT",
}
# safe: encrypted bodies only (production); compatible: both, during a switch-over; plain: development only
ENCRYPTION_MODES = ("safe", "compatible", "plain")
DEFAULT_API_BASE = "https://api.weixin.qq.com"


class WeChatConfigError(ValueError):
    """The WeChat settings cannot work; the message names the variable and what is wrong."""


@dataclass(frozen=True)
class WeChatSettings:
    token: str
    app_id: str
    app_secret: str
    encoding_aes_key: str | None
    encryption: str
    api_base: str = DEFAULT_API_BASE
    api_timeout: float = 5.0

    @property
    def encrypted_required(self) -> bool:
        return self.encryption == "safe"

    def __repr__(self) -> str:  # never print the secrets
        return f"WeChatSettings(app_id={self.app_id!r}, encryption={self.encryption!r}, api_base={self.api_base!r})"


def settings_from_env(env: Mapping[str, str] | None = None) -> WeChatSettings | None:
    """The WeChat settings, or None when WeChat is not configured at all (no KUANXIN_WECHAT_* credential set)."""
    env = os.environ if env is None else env
    values = {key: env.get(name, "").strip() for key, name in ENV.items()}
    if not any(values[key] for key in ("token", "app_id", "app_secret", "encoding_aes_key")):
        return None
    encryption = values["encryption"] or "safe"
    _check(encryption in ENCRYPTION_MODES, "encryption", f"must be one of {', '.join(ENCRYPTION_MODES)}")
    _check(re.fullmatch(r"[A-Za-z0-9]{3,32}", values["token"]) is not None, "token",
           "must be 3-32 letters or digits (the Token set in the WeChat admin console)")
    _check(re.fullmatch(r"wx[0-9a-zA-Z]{16}", values["app_id"]) is not None, "app_id",
           "must look like wx followed by 16 letters or digits")
    _check(re.fullmatch(r"[0-9a-zA-Z]{32}", values["app_secret"]) is not None, "app_secret",
           "must be the 32-character AppSecret")
    aes_key = values["encoding_aes_key"] or None
    if encryption != "plain" or aes_key:
        _check(aes_key is not None and re.fullmatch(r"[0-9a-zA-Z]{43}", aes_key) is not None, "encoding_aes_key",
               f"must be the 43-character EncodingAESKey (required in {encryption} mode)")
    api_base = (values["api_base"] or DEFAULT_API_BASE).rstrip("/")
    _check(re.fullmatch(r"https?://[^\s/]+(/\S*)?", api_base) is not None, "api_base", "must be an http(s) URL")
    return WeChatSettings(token=values["token"], app_id=values["app_id"], app_secret=values["app_secret"],
                          encoding_aes_key=aes_key, encryption=encryption, api_base=api_base,
                          api_timeout=_positive_seconds(values["api_timeout"] or "5"))


def _positive_seconds(raw: str) -> float:
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    _check(0 < seconds <= 60, "api_timeout", "must be a number of seconds between 0 and 60")
    return seconds


def _check(ok: bool, key: str, requirement: str) -> None:
    if not ok:
        raise WeChatConfigError(f"{ENV[key]} {requirement}")


def check_settings_or_exit() -> None:
    """Bad WeChat settings stop the servers before they start, naming the variable to fix, with no stack trace."""
    try:
        settings_from_env()
    except WeChatConfigError as exc:
        raise SystemExit(f"kuanxin: WeChat configuration: {exc}") from None
