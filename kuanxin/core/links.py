"""Signed, expiring links for one borrower's documents (the written agreement): HMAC-SHA256 over what the link
opens, for whom, and until when, with a secret from the settings (KUANXIN_AGREEMENT_SECRET; never in the
repository). A link opens only the document it was made for, and nothing once it has expired. The pay-now links
to the lender's own payment page are signed the same way, with the key shared with that page."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from urllib.parse import quote


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


# --- pay now: a link to the lender's own payment page ------------------------------------------------------------
# The page (the lender's, never ours) opens with the loan and a suggested amount in its URL; the signature covers
# both and an expiry, so an altered loan or amount is refused by the page's check (pay_link_valid), which the lender
# runs with the same secret (KUANXIN_PAY_LINK_SECRET). No account number is ever part of it.

def _pay_subject(amount: str) -> str:
    return f"pay\n{amount}"


def pay_link(secret: str, template: str, loan_id: str, amount: str, expires_at: dt.datetime, web: str = "") -> str:
    """The policy's URL template filled with the loan, the amount (as written, e.g. "1234.50"), the expiry and
    their signature; every value URL-encoded."""
    expires = int(expires_at.timestamp())
    values = {"loan": loan_id, "amount": amount, "expires": str(expires),
              "signature": _signature(secret, _pay_subject(amount), loan_id, expires)}
    return template.format(web=web, **{name: quote(value, safe="") for name, value in values.items()})


def pay_link_valid(secret: str, loan_id: str | None, amount: str | None, expires: str | None,
                   signature: str | None, now: dt.datetime) -> bool:
    """What the lender's payment page runs on the link's query values: signed with this secret for exactly this
    loan and amount, and not expired."""
    if not loan_id or not amount or not signature or not (expires or "").isdigit():
        return False
    expected = _signature(secret, _pay_subject(amount), loan_id, int(str(expires)))
    return hmac.compare_digest(expected, signature) and now.timestamp() < int(str(expires))
