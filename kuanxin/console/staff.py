"""Staff accounts and console logins: argon2 passwords, lockout, server-side sessions with idle timeout."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from kuanxin.core.policy import ConsolePolicy
from kuanxin.core.vocab import StaffRole
from kuanxin.store.accounts import utc_naive
from kuanxin.store.db import Database, database
from kuanxin.store.models import StaffMember, StaffSession

ROLES = StaffRole.values()
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 10


class StaffError(ValueError):
    """A request the directory refuses, with a message fit to show an administrator."""


@dataclass(frozen=True)
class Staff:
    """Who is signed in: what the console needs, never the password hash."""
    id: int
    username: str
    display_name: str
    role: str

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"


@dataclass(frozen=True)
class Login:
    """The outcome of a login: a session token and CSRF token on success, else why not."""
    status: str  # ok | wrong | locked
    token: str | None = None
    csrf_token: str | None = None
    locked_until: dt.datetime | None = None


def _staff(member: StaffMember) -> Staff:
    return Staff(member.id, member.username, member.display_name, member.role)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class StaffDirectory:
    def __init__(self, db: Database | None = None):
        self.db = db or database()

    def add(self, username: str, password: str, role: str, display_name: str | None, now: dt.datetime) -> Staff:
        if not USERNAME.match(username or ""):
            raise StaffError("the login name takes 2-64 lowercase letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise StaffError(f"role must be one of {', '.join(ROLES)}")
        if len(password or "") < MIN_PASSWORD_LENGTH:
            raise StaffError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
        with self.db.session() as session:
            if session.execute(select(StaffMember.id).where(StaffMember.username == username)).first():
                raise StaffError(f"staff member {username} already exists")
            member = StaffMember(username=username, display_name=(display_name or username)[:100], role=role,
                                 password_hash=_hasher().hash(password), active=True, failed_logins=0,
                                 created_at=utc_naive(now))
            session.add(member)
            session.flush()
            return _staff(member)

    def members(self) -> list[tuple[Staff, bool]]:
        with self.db.session() as session:
            rows = session.execute(select(StaffMember).order_by(StaffMember.username)).scalars()
            return [(_staff(m), m.active) for m in rows]

    def disable(self, username: str) -> bool:
        """Stops a member from signing in and ends their open sessions."""
        with self.db.session() as session:
            member = session.execute(select(StaffMember).where(StaffMember.username == username)).scalar_one_or_none()
            if member is None:
                return False
            member.active = False
            session.execute(update(StaffSession).where(StaffSession.staff_id == member.id,
                                                       StaffSession.ended_at.is_(None))
                            .values(ended_at=dt.datetime.utcnow()))
            return True

    def log_in(self, username: str, password: str, now: dt.datetime, policy: ConsolePolicy) -> Login:
        now = utc_naive(now)
        with self.db.session() as session:
            member = session.execute(
                select(StaffMember).where(StaffMember.username == (username or "")[:64]).with_for_update()
            ).scalar_one_or_none()
            if member is None or not member.active:
                _check_password(_dummy_hash(), password)
                return Login("wrong")
            if member.locked_until and member.locked_until > now:
                return Login("locked", locked_until=member.locked_until)
            if not _check_password(member.password_hash, password):
                member.failed_logins += 1
                if member.failed_logins >= policy.max_failed_logins:
                    member.failed_logins = 0
                    member.locked_until = now + dt.timedelta(minutes=policy.lockout_minutes)
                    return Login("locked", locked_until=member.locked_until)
                return Login("wrong")
            member.failed_logins, member.locked_until = 0, None
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            session.add(StaffSession(token_hash=_token_hash(token), staff_id=member.id, csrf_token=csrf,
                                     created_at=now, last_seen=now))
            return Login("ok", token=token, csrf_token=csrf)

    def session_of(self, token: str | None, now: dt.datetime, policy: ConsolePolicy,
                   touch: bool = True) -> tuple[Staff, str] | None:
        """The signed-in staff member and their CSRF token; None when the session is unknown, over or idle too long.

        A page's own background reads (the live queue redrawing itself) pass touch=False: they are not the staff
        member at work, so they must not keep an unattended session alive."""
        if not token or len(token) > 200:
            return None
        now = utc_naive(now)
        with self.db.session() as session:
            row = session.execute(
                select(StaffSession, StaffMember).join(StaffMember, StaffMember.id == StaffSession.staff_id)
                .where(StaffSession.token_hash == _token_hash(token))
            ).first()
            if row is None:
                return None
            login, member = row
            idle_limit = login.last_seen + dt.timedelta(minutes=policy.idle_minutes)
            if login.ended_at or not member.active or now >= idle_limit:
                login.ended_at = login.ended_at or now
                return None
            if touch:
                login.last_seen = now
            return _staff(member), login.csrf_token

    def idle_seconds_left(self, token: str | None, now: dt.datetime, policy: ConsolePolicy) -> int | None:
        """How long this session has before it ends for being idle (without touching it); None when it is over."""
        if not token or len(token) > 200:
            return None
        with self.db.session() as session:
            row = session.execute(
                select(StaffSession.last_seen, StaffSession.ended_at, StaffMember.active)
                .join(StaffMember, StaffMember.id == StaffSession.staff_id)
                .where(StaffSession.token_hash == _token_hash(token))).first()
        if row is None or row.ended_at or not row.active:
            return None
        left = (row.last_seen + dt.timedelta(minutes=policy.idle_minutes) - utc_naive(now)).total_seconds()
        return int(left) if left > 0 else None

    def log_out(self, token: str | None) -> None:
        if token:
            with self.db.session() as session:
                session.execute(update(StaffSession).where(StaffSession.token_hash == _token_hash(token))
                                .values(ended_at=dt.datetime.utcnow()))


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified when the username is unknown, so a wrong username costs the same time as a wrong password.

    Made on first use, not at import: hashing takes a noticeable moment that every importer would pay."""
    return _hasher().hash(secrets.token_urlsafe(16))


def _check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False
