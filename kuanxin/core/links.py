"""Signed, expiring links for one borrower's documents (the written agreement): HMAC-SHA256 over what the link
opens, for whom, and until when, with a secret from the settings (KUANXIN_AGREEMENT_SECRET; never in the
repository). A link opens only the document it was made for, and nothing once it has expired."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json


def _signature(secret: str, subject: str, owner: str, expires: int) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{subject}\n{owner}\n{expires}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode("ascii").rstrip("=")


def sign(secret: str, subject: str, owner: str, expires_at: dt.datetime) -> str:
    """A token for `subject` (an agreement number) belonging to `owner` (the borrower id), valid until `expires_at`."""
    expires = int(expires_at.timestamp())
    return f"{expires}.{_signature(secret, subject, owner, expires)}"


def valid(secret: str, token: str | None, subject: str, owner: str, now: dt.datetime) -> bool:
    """The token was made with this secret for this subject and owner, and has not expired."""
    expires_text, _, signature = (token or "").partition(".")
    if not expires_text.isdigit() or not signature:
        return False
    expected = _signature(secret, subject, owner, int(expires_text))
    return hmac.compare_digest(expected, signature) and now.timestamp() < int(expires_text)


def seal(secret: str, facts: dict[str, str], expires_at: dt.datetime) -> str:
    """A token carrying `facts` (short strings) until `expires_at`, signed: what an unsaved document is made from."""
    body = json.dumps({**facts, "exp": int(expires_at.timestamp())}, separators=(",", ":"), sort_keys=True)
    encoded = base64.urlsafe_b64encode(body.encode("utf-8")).decode("ascii").rstrip("=")
    return f"{encoded}.{_signature(secret, 'sealed', encoded, 0)}"


def unseal(secret: str, token: str | None, now: dt.datetime) -> dict[str, str] | None:
    """The facts of a sealed token made with this secret and not expired; None for anything else."""
    encoded, _, signature = (token or "").partition(".")
    if not encoded or not hmac.compare_digest(_signature(secret, "sealed", encoded, 0), signature):
        return None
    try:
        facts = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except ValueError:
        return None
    if not isinstance(facts, dict) or not isinstance(facts.get("exp"), int) or now.timestamp() >= facts["exp"]:
        return None
    return {key: str(value) for key, value in facts.items() if key != "exp"}
