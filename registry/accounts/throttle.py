"""The per-account sign-in throttle: exponential back-off that cannot lock the owner out.

The per-address rate limit (LOGIN_RATE_LIMIT) slows one machine; an attacker with many
addresses can still guess one account's password. So failures are also counted per e-mail
address typed (known or not, so the answer reveals nothing): after ``FREE_FAILURES`` in a
row, every further failure doubles the wait before the next attempt (1 s, 2 s, 4 s, ... up to
``MAX_DELAY``), counted in the database, so it holds across every web process.

Such a throttle would let an attacker keep the owner out by failing on purpose. A browser that
has signed in to the account before carries a signed "trusted device" cookie, and its attempts
are counted on a key of their own, which the attacker's failures never touch (the idea of
OWASP's device cookies). A new browser, during an attack, waits at most ``MAX_DELAY`` between
tries, and a password reset link also trusts the browser that uses it.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import case, delete, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from registry.accounts.models import SignInThrottle, User
from registry.accounts.services import find_user, normalise_email

FREE_FAILURES = 5
MAX_DELAY = timedelta(minutes=15)
# A key that has not failed for this long starts again from nothing.
FORGET_AFTER = timedelta(hours=24)
DEVICE_COOKIE = "registry_device"
DEVICE_TRUST = timedelta(days=180)
_SALT = "trusted-device"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def device_cookie(user: User) -> str:
    """Return a new trusted-device cookie value for a browser that proved it knows ``user``."""
    return _serializer().dumps({"user": user.id, "nonce": secrets.token_urlsafe(16)})


def _trusted_nonce(cookie: str | None, user: User | None) -> str | None:
    """Return the nonce of ``cookie`` if it is a trusted-device cookie for ``user``."""
    if not cookie or user is None:
        return None
    try:
        payload = _serializer().loads(cookie, max_age=DEVICE_TRUST.total_seconds())
    except BadData:
        return None
    if not isinstance(payload, dict) or payload.get("user") != user.id:
        return None
    nonce = payload.get("nonce")
    return nonce if isinstance(nonce, str) else None


def throttle_key(session: Session, email: str, device: str | None) -> str:
    """Return the key counting this attempt's failures: the trusted browser's or the address's."""
    nonce = _trusted_nonce(device, find_user(session, email))
    name = f"device:{nonce}" if nonce else f"account:{normalise_email(email)}"
    return hashlib.sha256(name.encode()).hexdigest()


def delay_after(failures: int) -> timedelta:
    """Return the wait after ``failures`` failures in a row: none, then 1 s doubling to the cap."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    # Beyond 2**20 seconds the cap has long applied; keep the power small.
    return min(timedelta(seconds=2 ** min(failures - FREE_FAILURES, 20)), MAX_DELAY)


def sign_in_wait(session: Session, key: str, now: datetime) -> timedelta | None:
    """Return how long ``key`` must still wait before its next attempt, or None."""
    row = session.get(SignInThrottle, key)
    if row is None or row.blocked_until is None or row.blocked_until <= now:
        return None
    return row.blocked_until - now


def record_failed_sign_in(session: Session, key: str, now: datetime) -> int:
    """Count a failure for ``key`` (atomically, across processes); return the count in a row."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(SignInThrottle)
        .values(key=key, failures=0, last_failure_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    forgotten = SignInThrottle.last_failure_at < now - FORGET_AFTER
    failures = session.execute(
        update(SignInThrottle)
        .where(SignInThrottle.key == key)
        .values(
            failures=case((forgotten, 1), else_=SignInThrottle.failures + 1),
            last_failure_at=now,
        )
        .returning(SignInThrottle.failures)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    wait = delay_after(failures)
    session.execute(
        update(SignInThrottle)
        .where(SignInThrottle.key == key)
        .values(blocked_until=now + wait if wait else None)
        .execution_options(synchronize_session=False)
    )
    return failures


def clear_failed_sign_ins(session: Session, key: str) -> None:
    """Forget ``key``'s failures after a successful sign-in."""
    session.execute(delete(SignInThrottle).where(SignInThrottle.key == key))


def purge_throttles(session: Session, now: datetime) -> int:
    """Delete the counts of keys that have not failed for FORGET_AFTER; return how many."""
    cutoff = now - FORGET_AFTER
    return session.execute(
        delete(SignInThrottle).where(SignInThrottle.last_failure_at < cutoff)
    ).rowcount
