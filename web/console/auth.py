"""Console sign-in: a server-side session behind an HttpOnly SameSite cookie, CSRF tokens on every form,
and a per-address limit on login attempts (per-account lockout lives in kuanxin.console.staff)."""
from __future__ import annotations

import functools
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque

from fastapi import HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from kuanxin.console.staff import Staff, StaffDirectory
from kuanxin.core import clock, policy, settings
from web.guard import read_form

SESSION_COOKIE = "kx_staff"
LOGIN_COOKIE = "kx_login"  # a login form's CSRF token, before there is a session
COOKIE_PATH = "/console"


class NotSignedIn(Exception):
    """Raised by pages that need a session; the app turns it into a redirect to the login page."""


def secure_cookies() -> bool:
    return bool(settings.current().value("KUANXIN_CONSOLE_SECURE_COOKIES"))


def set_cookie(response: Response, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict", path=COOKIE_PATH, secure=secure_cookies())


def directory() -> StaffDirectory:
    return StaffDirectory()


BACKGROUND_HEADER = "x-kuanxin-background"  # sent by a page reading itself again (live.js), not by a person


def signed_in(request: Request) -> tuple[Staff, str] | None:
    """(staff member, CSRF token) of this request's session; a person's request keeps the session alive, a page's
    background read (BACKGROUND_HEADER) does not, so an unattended console still signs itself out."""
    return directory().session_of(request.cookies.get(SESSION_COOKIE), clock.now(), policy.current().console,
                                  touch=request.headers.get(BACKGROUND_HEADER) != "1")


def require_watching(request: Request) -> tuple[Staff, str]:
    """For a page's background streams: a live session, left as idle as it was."""
    session = directory().session_of(request.cookies.get(SESSION_COOKIE), clock.now(), policy.current().console,
                                     touch=False)
    if session is None:
        raise NotSignedIn()
    return session


def idle_seconds_left(request: Request) -> int | None:
    return directory().idle_seconds_left(request.cookies.get(SESSION_COOKIE), clock.now(), policy.current().console)


def require_staff(request: Request) -> tuple[Staff, str]:
    session = signed_in(request)
    if session is None:
        raise NotSignedIn()
    return session


async def require_form(request: Request) -> tuple[Staff, str, dict]:
    """For every POST: a session and the form's CSRF token matching it, or 403 before anything happens."""
    session = await run_in_threadpool(signed_in, request)  # a database read: never on the event loop
    if session is None:
        raise HTTPException(status_code=403, detail="请先登录。")
    form = await read_form(request)  # BadInput (4xx) for anything a browser's form would not send
    if not same_token(form.get("csrf_token"), session[1]):
        raise HTTPException(status_code=403, detail="页面已过期,请刷新后重试。")
    return session[0], session[1], form


def same_token(given: object, expected: str | None) -> bool:
    return isinstance(given, str) and bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


class AttemptLimiter:
    """At most N failed logins per minute from one address (in this process), whatever the usernames.

    Only failures count, so colleagues behind one office address do not lock each other out.
    """

    def __init__(self):
        self._failures: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, address: str, per_minute: int, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            return len(self._recent(address, now)) < per_minute

    def failed(self, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._failures[address].append(now)
            if len(self._failures) > self.SWEEP_ABOVE:  # forget addresses whose failures are over a minute old
                for stale in [a for a, times in self._failures.items() if now - times[-1] > 60]:
                    del self._failures[stale]

    SWEEP_ABOVE = 1024

    def _recent(self, address: str, now: float) -> deque:
        recent = self._failures.get(address)
        if recent is None:
            return deque()
        while recent and now - recent[0] > 60:
            recent.popleft()
        if not recent:
            del self._failures[address]
        return recent

    def addresses(self) -> int:
        """How many addresses it remembers (it forgets those without a failure in the last minute)."""
        return len(self._failures)


class SharedAttemptLimiter:
    """The same limit kept in Redis, so it holds across every web instance (counted per clock minute)."""

    def __init__(self, url: str, prefix: str):
        import redis
        self._redis, self._prefix = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2), prefix

    def _key(self, address: str, now: float | None) -> str:
        minute = int((time.time() if now is None else now) // 60)
        return f"{self._prefix}:console-login-failures:{address}:{minute}"

    def allow(self, address: str, per_minute: int, now: float | None = None) -> bool:
        return int(self._redis.get(self._key(address, now)) or 0) < per_minute

    def failed(self, address: str, now: float | None = None) -> None:
        key = self._key(address, now)
        with self._redis.pipeline() as pipe:
            pipe.incr(key).expire(key, 120).execute()


@functools.lru_cache(maxsize=1)
def login_limiter() -> AttemptLimiter | SharedAttemptLimiter:
    """Made on first use, not at import: Redis when configured (every web instance shares it)."""
    url = settings.redis_url()
    return SharedAttemptLimiter(url, settings.redis_prefix()) if url else AttemptLimiter()
