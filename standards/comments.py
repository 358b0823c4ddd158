"""Public consultation: commenting on a consulted draft, confirming a comment, moderating it.

A comment is on the whole draft or on one rule of the draft as consulted
(``Consultation.rules``). It is named with the signed-in account, named with a name and an
e-mail address (shown once the link mailed to that address is followed; only the link token's
hash is kept, as complaints keep their secrets), or anonymous: then nothing that identifies the
author is kept (no name, address, account or network address, and its event has no actor; the
access log has no client address either, see ``registry.serving``).

Moderation hides a comment with a reason, never deletes it: the standard's current Taskforce
chair and registry staff may hide; the Taskforce and staff may still read a hidden comment.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.accounts.models import Role, User
from registry.accounts.services import normalise_email
from registry.events.services import record_event
from registry.i18n import current_language
from registry.mail.services import queue_template_mail
from registry.validation import checked_text
from standards.models import Consultation, ConsultationComment, Standard
from standards.queries import current_taskforce

# The address of a confirmation link, before its token (standards.public.confirm_comment).
CONFIRM_PATH = "/standards/comments/confirm/"
MAX_COMMENT_LENGTH = 5000
MAX_NAME_LENGTH = 200
MAX_REASON_LENGTH = 1000
# Who may hide comments besides the Taskforce chair, and read hidden ones with the Taskforce.
MODERATING_STAFF = (Role.SUPPORT, Role.EXECUTIVE_DIRECTOR, Role.ADMINISTRATOR)


class CommentError(ValueError):
    """A comment or a moderation that the rules do not allow."""


class Signature(StrEnum):
    """How a comment (or 360 feedback) is signed."""

    ACCOUNT = "account"  # with the signed-in account's name
    EMAIL = "email"  # with a name and an e-mail address
    ANONYMOUS = "anonymous"  # with nothing that identifies the author


@dataclass(frozen=True)
class Identity:
    """Who signs: an account, or a name and address, or nobody (anonymous)."""

    user: User | None = None
    name: str | None = None
    email: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.user is None and self.email is None


def identity_of(
    signature: str,
    *,
    user: User | None,
    name: str | None,
    email: str | None,
    error: type[Exception] = CommentError,
) -> Identity:
    """Return who signs with ``signature``, or raise ``error`` when it does not add up."""
    name, email = (name or "").strip(), (email or "").strip()
    if signature == Signature.ANONYMOUS:
        # Whatever was typed in the name fields is dropped, never kept.
        return Identity()
    if signature == Signature.ACCOUNT:
        if user is None:
            raise error(_("Sign in to write with your account, or give a name and e-mail address."))
        return Identity(user=user)
    if signature != Signature.EMAIL:
        raise error(
            _("Choose how to sign: with your account, your name and e-mail, or anonymously.")
        )
    name = checked_text(name, what=_("Your name"), limit=MAX_NAME_LENGTH, error=error)
    if not email:
        raise error(_("Give an e-mail address, or write anonymously."))
    email = normalise_email(email)
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        raise error(_("%(email)s is not a valid e-mail address.", email=repr(email))) from None
    return Identity(name=name, email=email)


def token_hash(token: str) -> str:
    """Return the SHA-256 (hex) of a confirmation token, as kept in ``confirmation_hash``."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_closed(consultation: Consultation, today: date) -> bool:
    """Return whether the consultation takes no more comments (closed, or past its last day)."""
    return consultation.closed_at is not None or today > consultation.closes_on


def rule_codes(consultation: Consultation) -> list[str]:
    return [rule["code"] for rule in consultation.rules]


@dataclass(frozen=True)
class Posted:
    comment: ConsultationComment
    # The confirmation link's token of a comment named by e-mail (mailed, never stored).
    token: str | None = None


def post_comment(
    session: Session,
    consultation: Consultation,
    *,
    body: str | None,
    rule_code: str | None,
    identity: Identity,
    today: date,
    now: datetime,
) -> Posted:
    """Add a comment to an open consultation; a comment named by e-mail waits for confirmation."""
    if not consultation.is_open_on(today):
        raise CommentError(
            _("This consultation is closed: it no longer takes comments.")
            if is_closed(consultation, today)
            else _("This consultation is not open yet.")
        )
    rule_code = rule_code or None
    if rule_code is not None and rule_code not in rule_codes(consultation):
        raise CommentError(
            _("The draft consulted on has no rule %(code)s.", code=repr(rule_code[:20]))
        )
    body = checked_text(body, what=_("Your comment"), limit=MAX_COMMENT_LENGTH, error=CommentError)
    token = secrets.token_urlsafe(32) if identity.email else None
    comment = ConsultationComment(
        consultation=consultation,
        rule_code=rule_code,
        body=body,
        created_at=now,
        is_anonymous=identity.is_anonymous,
        author_id=identity.user.id if identity.user else None,
        author_name=identity.name,
        author_email=identity.email,
        confirmation_hash=token_hash(token) if token else None,
    )
    session.add(comment)
    session.flush()
    _log(session, "standard.comment_posted", comment, now=now, actor=identity.user)
    if token:
        _mail_confirmation(session, comment, token, now=now)
    return Posted(comment, token)


def _mail_confirmation(
    session: Session, comment: ConsultationComment, token: str, *, now: datetime
) -> None:
    version = comment.consultation.version
    queue_template_mail(
        session,
        "standard_comment_confirm.txt",
        to=[comment.author_email],
        now=now,
        locale=current_language(),
        comment=comment,
        standard=version.standard,
        version=version,
        confirm_url=f"{current_app.config['PUBLIC_URL']}{CONFIRM_PATH}{token}",
    )


def comment_to_confirm(session: Session, token: str, *, today: date) -> ConsultationComment:
    """Return the comment a mailed link confirms, or raise: a wrong token, a link used already,
    or a consultation closed before the comment was confirmed."""
    comment = session.scalar(
        select(ConsultationComment).where(
            ConsultationComment.confirmation_hash == token_hash(token)
        )
    )
    if comment is None:
        raise CommentError(
            _("This confirmation link is not valid. Copy the whole link from the e-mail.")
        )
    if comment.confirmed_at is not None:
        raise CommentError(_("This link has been used: your comment is confirmed already."))
    if is_closed(comment.consultation, today):
        raise CommentError(
            _("The consultation closed before this comment was confirmed, so it is not published.")
        )
    return comment


def confirm_comment(
    session: Session, token: str, *, today: date, now: datetime
) -> ConsultationComment:
    """Confirm the comment of a mailed link: it is shown from now on. A link works once."""
    comment = comment_to_confirm(session, token, today=today)
    comment.confirmed_at = now
    _log(session, "standard.comment_confirmed", comment, now=now, actor=None)
    session.flush()
    return comment


def _standard_id(comment: ConsultationComment) -> int:
    return comment.consultation.version.standard_id


def may_moderate(session: Session, user: User | None, standard: Standard, today: date) -> bool:
    """Return whether ``user`` may hide the standard's comments: its chair, or registry staff."""
    if user is None or not user.is_authenticated:
        return False
    if user.has_role(*MODERATING_STAFF):
        return True
    return any(
        member.is_chair and member.user_id == user.id
        for member in current_taskforce(session, standard.id, today)
    )


def may_read_hidden(session: Session, user: User | None, standard: Standard, today: date) -> bool:
    """Return whether ``user`` may read hidden comments: the Taskforce, and registry staff."""
    if user is None or not user.is_authenticated:
        return False
    if user.has_role(*MODERATING_STAFF):
        return True
    return any(
        member.user_id == user.id for member in current_taskforce(session, standard.id, today)
    )


def hide_comment(
    session: Session,
    comment: ConsultationComment,
    *,
    reason: str | None,
    actor: User,
    today: date,
    now: datetime,
) -> None:
    """Hide a comment from the public, with the reason shown in its place."""
    if not may_moderate(session, actor, comment.consultation.version.standard, today):
        raise PermissionError("only the Taskforce chair and registry staff hide comments")
    if comment.hidden_at is not None:
        raise CommentError(_("This comment is already hidden."))
    reason = checked_text(reason, what=_("The reason"), limit=MAX_REASON_LENGTH, error=CommentError)
    comment.hidden_at = now
    comment.hidden_by_id = actor.id
    comment.hidden_reason = reason
    _log(session, "standard.comment_hidden", comment, now=now, actor=actor, reason=reason)
    session.flush()


def _log(
    session: Session,
    action: str,
    comment: ConsultationComment,
    *,
    now: datetime,
    actor: User | None,
    reason: str | None = None,
) -> None:
    """Log on the standard, with where the comment is, never who wrote it."""
    consultation = comment.consultation
    record_event(
        session,
        action=action,
        subject_type="standard",
        subject_id=_standard_id(comment),
        now=now,
        actor=actor,
        reason=reason,
        data={
            "comment_id": comment.id,
            "version": consultation.version.number,
            "round": consultation.round,
            "rule": comment.rule_code,
        },
    )
