"""The SMS gateway adapter: one HTTP interface, any provider behind it.

Outbound: POST {KUANXIN_SMS_URL} with `Authorization: Bearer {KUANXIN_SMS_KEY}` and the JSON
{"to": phone, "text": text, "reference": our reminder reference}; the gateway answers 2xx with
{"id": ...}. The reference lets the gateway drop a retried duplicate. Replies from borrowers come back
to the web app's /sms/inbound with the same key (see web/sms.py).
"""
from __future__ import annotations

import asyncio
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp


class SmsConfigError(ValueError):
    pass


class SmsError(Exception):
    """The gateway did not take the message. `permanent`: a retry cannot help (it refused the request)."""

    def __init__(self, reason: str, permanent: bool):
        super().__init__(reason)
        self.reason, self.permanent = reason, permanent


@dataclass(frozen=True)
class SmsSettings:
    url: str
    key: str
    timeout: float = 10.0

    def __repr__(self) -> str:  # never print the key
        return f"SmsSettings(url={self.url!r})"

    def accepts(self, authorization: str | None) -> bool:
        """Whether an inbound request carries our key (compared in constant time)."""
        return hmac.compare_digest((authorization or "").encode(), f"Bearer {self.key}".encode())


def sms_settings(env: Mapping[str, str] | None = None) -> SmsSettings | None:
    """The gateway from KUANXIN_SMS_URL and KUANXIN_SMS_KEY; None when SMS is not configured."""
    env = os.environ if env is None else env
    url, key = env.get("KUANXIN_SMS_URL", "").strip(), env.get("KUANXIN_SMS_KEY", "").strip()
    if not url and not key:
        return None
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise SmsConfigError("KUANXIN_SMS_URL must be an http(s) URL")
    if len(key) < 16:
        raise SmsConfigError("KUANXIN_SMS_KEY must be set, at least 16 characters")
    try:
        timeout = float(env.get("KUANXIN_SMS_TIMEOUT", "10") or 10)
    except ValueError:
        raise SmsConfigError("KUANXIN_SMS_TIMEOUT must be a number of seconds") from None
    return SmsSettings(url, key, timeout)


class SmsGateway:
    def __init__(self, settings: SmsSettings):
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None

    async def send(self, phone: str, text: str, reference: str) -> str:
        """Hands one message to the gateway; returns its message id. One attempt: the caller retries."""
        body = json.dumps({"to": phone, "text": text, "reference": reference}, ensure_ascii=False).encode()
        headers = {"Authorization": f"Bearer {self.settings.key}", "Content-Type": "application/json; charset=utf-8"}
        try:
            async with self._client().post(self.settings.url, data=body, headers=headers) as response:
                answer = await response.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise SmsError(f"gateway unreachable ({type(exc).__name__})", permanent=False) from None
        if response.status >= 500:
            raise SmsError(f"gateway error HTTP {response.status}", permanent=False)
        if response.status >= 400:
            raise SmsError(f"gateway refused HTTP {response.status}", permanent=True)
        try:
            return str(json.loads(answer).get("id", ""))
        except (ValueError, AttributeError):
            return ""

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.settings.timeout))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
