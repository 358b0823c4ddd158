"""Issuing and using one-time form tokens."""

import secrets
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.submissions.models import FormSubmission

FIELD = "submission_token"
_SALT = "one-time-submission"


class TokenExpired(ValueError):
    """No token, a token this site did not sign, or one older than a form may be."""


class AlreadySubmitted(ValueError):
    """The token was used by a change that was committed."""


def token_lifetime() -> timedelta:
    """Return how long a form's token works: as long as its CSRF token."""
    return timedelta(seconds=current_app.config["WTF_CSRF_TIME_LIMIT"])


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def issue_token() -> str:
    """Return a fresh signed one-time token for a form."""
    return _serializer().dumps(secrets.token_urlsafe(32))


def consume_token(session: Session, token: str | None, *, endpoint: str, now: datetime) -> None:
    """Use ``token`` up in the current transaction; raise if it cannot be used.

    The row is written at once: a concurrent request with the same token waits on the unique
    key until this transaction ends, and fails if it commits.
    """
    try:
        nonce = _serializer().loads(token or "", max_age=token_lifetime().total_seconds())
    except BadData:
        raise TokenExpired from None
    if not isinstance(nonce, str) or len(nonce) != 43:
        raise TokenExpired
    try:
        with session.begin_nested():
            session.add(FormSubmission(token=nonce, endpoint=endpoint[:100], submitted_at=now))
    except IntegrityError:
        raise AlreadySubmitted from None
