"""Signed-in borrowers: the lender's back end vouches for a borrower with a short-lived HS256 token.

The token is a JWT whose `sub` is the borrower id and whose `exp` is required. Only HS256 is
accepted, so `none`, other HMACs and public-key algorithms are refused whatever the header says.
Expiry is checked against the wall clock: KUANXIN_TODAY pins account figures, never security.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import jwt

ALGORITHM = "HS256"
DEFAULT_LIFETIME_SECONDS = 600
MAX_TOKEN_LENGTH = 4096
LEEWAY_SECONDS = 30  # clock skew between the lender's servers and ours


def sign_borrower_token(borrower_id: str, secret: str, lifetime_seconds: int = DEFAULT_LIFETIME_SECONDS,
                        issued_at: float | None = None) -> str:
    """What the lender's back end does when it renders a page for a signed-in borrower."""
    issued = int(time.time() if issued_at is None else issued_at)
    return jwt.encode({"sub": borrower_id, "iat": issued, "exp": issued + lifetime_seconds}, secret,
                      algorithm=ALGORITHM)


def borrower_from_token(token: object, secret: str) -> str | None:
    """The borrower id a valid token names; None for a missing, malformed, expired or forged token."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH or not secret:
        return None
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], leeway=LEEWAY_SECONDS,
                            options={"require": ["exp", "sub"]})
    except jwt.InvalidTokenError:
        return None
    subject = claims.get("sub")
    return subject if isinstance(subject, str) and 0 < len(subject) <= 64 else None


class ResumeKeys:
    """Credentials that let one browser, and only it, come back to its web chat session.

    The server picks the session id; the browser keeps `session_id.mac` and presents it on reload.
    The MAC covers the borrower the session is bound to, so a signed-in session resumes only with a
    token for the same borrower, and an anonymous one never turns into a signed-in one.
    """

    def __init__(self, secret: str):
        # a key of its own, derived so the lender's signing secret never signs our credentials directly
        self._key = hashlib.sha256(b"kuanxin-webchat-resume|" + secret.encode()).digest()

    @staticmethod
    def new_session_id() -> str:
        return secrets.token_urlsafe(24)

    def credential(self, session_id: str, borrower_id: str | None) -> str:
        return f"{session_id}.{self._mac(session_id, borrower_id)}"

    def session_to_resume(self, credential: object, borrower_id: str | None) -> str | None:
        """The session id a credential proves, when it was issued for this borrower (or for nobody)."""
        if not isinstance(credential, str) or len(credential) > 200 or credential.count(".") != 1:
            return None
        session_id, mac = credential.split(".")
        if not session_id or not hmac.compare_digest(mac, self._mac(session_id, borrower_id)):
            return None
        return session_id

    def _mac(self, session_id: str, borrower_id: str | None) -> str:
        message = f"{session_id}|{borrower_id or ''}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]
