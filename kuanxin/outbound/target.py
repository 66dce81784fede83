"""Where the lender's events go and what signs them: KUANXIN_LENDER_WEBHOOK_URLS and KUANXIN_LENDER_WEBHOOK_SECRET."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from kuanxin.core import settings, webhooks

MIN_SECRET_BYTES = 24  # Standard Webhooks: secrets of 24 to 64 random bytes


@dataclass(frozen=True)
class WebhookTarget:
    urls: tuple[str, ...]
    secret: str

    def __repr__(self) -> str:  # never print the secret
        return f"WebhookTarget(urls={[endpoint_label(url) for url in self.urls]!r})"


def webhook_target(env: Mapping[str, str] | None = None) -> WebhookTarget | None:
    """The endpoints and secret; None when no URL is set (no events are sent); ValueError naming what is wrong."""
    configured = settings.of(env)
    urls: tuple[str, ...] | None = configured.value("KUANXIN_LENDER_WEBHOOK_URLS")
    if not urls:
        return None
    secret = configured.given("KUANXIN_LENDER_WEBHOOK_SECRET")
    if not secret:
        raise ValueError("KUANXIN_LENDER_WEBHOOK_URLS needs KUANXIN_LENDER_WEBHOOK_SECRET (whsec_ and base64) "
                         "to sign the events")
    try:
        key = webhooks.secret_bytes(secret)
    except webhooks.WebhookError:
        raise ValueError("KUANXIN_LENDER_WEBHOOK_SECRET must be whsec_ followed by base64") from None
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"KUANXIN_LENDER_WEBHOOK_SECRET must hold at least {MIN_SECRET_BYTES} bytes")
    return WebhookTarget(urls, secret)


def sends_events(env: Mapping[str, str] | None = None) -> bool:
    """Whether a deliverer should run: some endpoint is configured."""
    return bool(settings.of(env).given("KUANXIN_LENDER_WEBHOOK_URLS"))


def endpoint_label(url: str) -> str:
    """An endpoint as logs and staff may see it: host and path, without credentials or query."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.hostname or ''}{port}{parts.path or '/'}"
