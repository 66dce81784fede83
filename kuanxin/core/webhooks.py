"""Signed webhooks, the Standard Webhooks way (standardwebhooks.com), both for what the lender pushes to us and
for what we send the lender: HMAC-SHA256 over "{id}.{timestamp}.{body}" with a shared secret ("whsec_" and
its base64 bytes), sent as `webhook-signature: v1,<base64>` beside `webhook-id` and `webhook-timestamp`.
A timestamp outside the tolerance is refused, so a captured request cannot be replayed later.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

PREFIX = "whsec_"
TOLERANCE_SECONDS = 5 * 60


class WebhookError(ValueError):
    """A request whose headers, timestamp or signature do not verify; the message says which."""


def secret_bytes(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookError("the secret is not whsec_ followed by base64") from None


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()).decode()


def signed_headers(secret: str, webhook_id: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, webhook_id, timestamp, body)}


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> str:
    """The webhook id of a request signed with `secret` within the tolerance, or WebhookError."""
    webhook_id, stamp, given = (headers.get(name, "") for name in ("webhook-id", "webhook-timestamp",
                                                                    "webhook-signature"))
    if not webhook_id or not stamp or not given:
        raise WebhookError("webhook-id, webhook-timestamp and webhook-signature are required")
    if not stamp.isdigit():
        raise WebhookError("webhook-timestamp must be whole seconds since 1970")
    if abs((time.time() if now is None else now) - int(stamp)) > TOLERANCE_SECONDS:
        raise WebhookError("webhook-timestamp is outside the 5-minute window")
    expected = signature(secret, webhook_id, int(stamp), body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in given.split()):
        raise WebhookError("no valid signature")
    return webhook_id
