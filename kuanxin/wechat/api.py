"""An async client for the few WeChat server APIs kuanxin calls: access token, customer-service and template messages.

wechatpy's WeChatClient is synchronous (it would block Rasa's event loop) and retries an invalid
token without end; this client is small and strict instead:
- the access token comes from /cgi-bin/stable_token, fetched by one caller while the others wait,
  cached, and refreshed 5 minutes before it expires, or at once (and only once) when WeChat says
  it is invalid or expired;
- system busy (-1), HTTP 5xx, timeouts and connection errors are retried a bounded number of times;
- 45015/45047 (the borrower left the 48-hour window, or the 5-replies quota is used up) cannot be
  helped by retrying: they are logged and raised as `OutsideServiceWindow`.
Nothing secret or personal is logged: no token, no secret, no message text, OpenIDs masked.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from kuanxin.wechat.config import WeChatSettings

logger = logging.getLogger(__name__)

TOKEN_INVALID = {40001, 40014, 42001}  # invalid credential, invalid token, token expired
SYSTEM_BUSY = -1
OUTSIDE_WINDOW = {45015, 45047}  # reply time limit exceeded; customer-service message quota exceeded
REFRESH_MARGIN = 300.0  # seconds before expiry at which the cached token is renewed
ATTEMPTS = 3
BACKOFF = (0.2, 0.6)  # seconds slept before the second and third attempt


class WeChatApiError(Exception):
    def __init__(self, errcode: int, errmsg: str = ""):
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


class MediaTooLarge(Exception):
    """A user's image or file over the size we accept: not downloaded (or not past the limit)."""


class OutsideServiceWindow(WeChatApiError):
    """WeChat will not deliver this customer-service message now; retrying cannot help."""


def mask_openid(openid: str) -> str:
    return f"{openid[:4]}…{openid[-2:]}" if len(openid) > 8 else "…"


class WeChatApi:
    def __init__(self, settings: WeChatSettings, monotonic: Callable[[], float] = time.monotonic):
        self.settings = settings
        self._monotonic = monotonic
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send_text(self, openid: str, text: str) -> None:
        """One customer-service text message to a borrower who wrote within the last 48 hours."""
        await self._authorised("/cgi-bin/message/custom/send",
                               {"touser": openid, "msgtype": "text", "text": {"content": text}}, openid)

    async def send_template(self, openid: str, template_id: str, data: dict[str, str], url: str | None = None) -> None:
        """A template message (reminders); each field value is at most 20 characters, WeChat's rule since 2023."""
        payload: dict[str, Any] = {"touser": openid, "template_id": template_id,
                                   "data": {key: {"value": value} for key, value in data.items()}}
        if url:
            payload["url"] = url
        await self._authorised("/cgi-bin/message/template/send", payload, openid)

    async def download_media(self, media_id: str, max_bytes: int) -> bytes:
        """The content of a user's image or file message (/cgi-bin/media/get), at most `max_bytes`: MediaTooLarge
        from its Content-Length before reading, or as soon as more arrives. WeChat answers errors as JSON."""
        token = await self.access_token()
        for attempt in range(2):
            status, content_type, content = await self._get_media(token, media_id, max_bytes)
            if "json" not in content_type and not content_type.startswith("text/"):
                return content
            answer = json.loads(content or b"{}")
            errcode = int(answer.get("errcode", 0)) if isinstance(answer, dict) else -1
            if errcode in TOKEN_INVALID and attempt == 0:
                token = await self.access_token(stale=token)
                continue
            logger.warning("WeChat media download refused: %s (HTTP %s)", errcode, status)
            raise WeChatApiError(errcode, str(answer.get("errmsg", "")) if isinstance(answer, dict) else "")
        raise WeChatApiError(-1, "media download failed")

    async def _get_media(self, token: str, media_id: str, max_bytes: int) -> tuple[int, str, bytes]:
        session = self._client()
        async with session.get(self.settings.api_base + "/cgi-bin/media/get",
                               params={"access_token": token, "media_id": media_id}) as response:
            if response.status >= 500:
                raise WeChatApiError(SYSTEM_BUSY, f"HTTP {response.status}")
            if response.content_length is not None and response.content_length > max_bytes:
                raise MediaTooLarge(media_id)
            content = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                content += chunk
                if len(content) > max_bytes:
                    raise MediaTooLarge(media_id)
            return response.status, response.headers.get("Content-Type", ""), bytes(content)

    async def access_token(self, stale: str | None = None) -> str:
        """The cached token; a fresh one when it is near expiry or equals `stale` (WeChat refused it)."""
        async with self._lock:
            expired = self._monotonic() >= self._expires_at - REFRESH_MARGIN
            if self._token is None or expired or (stale is not None and stale == self._token):
                await self._fetch_token(force=stale is not None and stale == self._token)
            assert self._token is not None
            return self._token

    async def _fetch_token(self, force: bool) -> None:
        answer = await self._post("/cgi-bin/stable_token", None, {
            "grant_type": "client_credential", "appid": self.settings.app_id,
            "secret": self.settings.app_secret, "force_refresh": force})
        if "access_token" not in answer:
            raise WeChatApiError(int(answer.get("errcode", 0)), str(answer.get("errmsg", "")))
        self._token = str(answer["access_token"])
        self._expires_at = self._monotonic() + float(answer.get("expires_in", 7200))
        logger.info("WeChat access token renewed (forced=%s)", force)

    async def _authorised(self, path: str, payload: dict[str, Any], openid: str) -> None:
        token = await self.access_token()
        answer = await self._post(path, token, payload)
        if int(answer.get("errcode", 0)) in TOKEN_INVALID:
            token = await self.access_token(stale=token)
            answer = await self._post(path, token, payload)
        errcode = int(answer.get("errcode", 0))
        if errcode in OUTSIDE_WINDOW:
            logger.warning("WeChat refused a message to %s: %s (outside the service window)",
                           mask_openid(openid), errcode)
            raise OutsideServiceWindow(errcode, str(answer.get("errmsg", "")))
        if errcode != 0:
            logger.error("WeChat refused a message to %s: %s", mask_openid(openid), errcode)
            raise WeChatApiError(errcode, str(answer.get("errmsg", "")))

    async def _post(self, path: str, token: str | None, payload: dict[str, Any]) -> dict[str, Any]:
        """POSTs JSON (UTF-8, unescaped Chinese), retrying what a retry can fix; returns WeChat's JSON answer."""
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        params = {"access_token": token} if token else None
        failure: Exception | None = None
        for attempt in range(ATTEMPTS):
            if attempt:
                await asyncio.sleep(BACKOFF[attempt - 1])
            try:
                answer = await self._post_once(path, params, body)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                failure = exc
                logger.warning("WeChat %s attempt %d failed: %s", path, attempt + 1, type(exc).__name__)
                continue
            if int(answer.get("errcode", 0)) != SYSTEM_BUSY:
                return answer
            failure = WeChatApiError(SYSTEM_BUSY, str(answer.get("errmsg", "system busy")))
            logger.warning("WeChat %s attempt %d: system busy", path, attempt + 1)
        assert failure is not None
        raise failure if isinstance(failure, WeChatApiError) else WeChatApiError(SYSTEM_BUSY, type(failure).__name__)

    async def _post_once(self, path: str, params: dict[str, str] | None, body: bytes) -> dict[str, Any]:
        session = self._client()
        async with session.post(self.settings.api_base + path, params=params, data=body,
                                headers={"Content-Type": "application/json; charset=utf-8"}) as response:
            if response.status >= 500:
                raise aiohttp.ClientResponseError(response.request_info, (), status=response.status)
            answer = json.loads(await response.read())
        if not isinstance(answer, dict):
            raise ValueError("WeChat answered something other than a JSON object")
        return answer

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.settings.api_timeout))
        return self._session
