"""Feedback requests, their one-time links, and the parties' anonymous answers.

A request gives each party a link whose secret is known only to the e-mail that carried it:
the registry keeps a SHA-256 hash. Answering closes the link in one conditional UPDATE, so a
double submit counts once; the answer is stored without any tie to the link, and the link's
address and the e-mail that carried it are deleted. Each function leaves the commit to the
caller.
"""

import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, select, update
from sqlalchemy.orm import Session

from registry.accounts.models import User
from registry.accounts.services import normalise_email
from registry.clock import registry_zone
from registry.digests.models import Digest
from registry.events.services import record_event
from registry.feedback.models import (
    DIMENSION_CODES,
    SCORE_MAX,
    SCORE_MIN,
    FeedbackAnswer,
    FeedbackInvitation,
    FeedbackRequest,
    FeedbackScore,
    MediationKind,
)
from registry.i18n import current_language
from registry.mail.services import queue_mail, redact_message
from registry.mediators.models import Mediator
from registry.validation import checked_text

MAX_PARTIES = 10
MAX_TEXT_LENGTH = 2000
INVALID_LINK = "This feedback link is not valid. It may have been used already or have expired."
# Completes "kept without its address and content because ..." in the redacted e-mail.
REDACTION_REASON = "the feedback link it carried was used or expired"
# What secrets.token_urlsafe(32) produces: 43 characters of the URL-safe base64 alphabet.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
ADDRESS_SEPARATORS = re.compile(r"[\s,;]+")


def invalid_link_message() -> str:
    """Return ``INVALID_LINK`` in the reader's language."""
    return _("This feedback link is not valid. It may have been used already or have expired.")


class FeedbackError(ValueError):
    """A refused feedback operation; the message is shown to the person.

    ``field`` names the form field the message belongs to, if one does.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidLinkError(FeedbackError):
    """The link is unknown, used or expired (the person is not told which)."""

    def __init__(self) -> None:
        super().__init__(invalid_link_message())


def token_hash(token: str) -> str:
    """Return the SHA-256 hex digest under which a link's secret is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def split_addresses(text: str) -> list[str]:
    """Split addresses given one per line or separated by commas, semicolons or spaces."""
    return [part for part in ADDRESS_SEPARATORS.split(text or "") if part]


def month_index(day: date) -> int:
    """Return a running month number, so that months can be subtracted."""
    return day.year * 12 + day.month - 1


def _check_month(month: date, now: datetime) -> date:
    month = month.replace(day=1)
    this_month = month_index(now.astimezone(registry_zone()).date())
    oldest = current_app.config["FEEDBACK_MAX_AGE_MONTHS"]
    if month_index(month) > this_month:
        raise FeedbackError(_("The mediation month cannot be in the future."), "month")
    if this_month - month_index(month) > oldest:
        raise FeedbackError(
            _(
                "The mediation took place more than %(count)s months ago; "
                "ask for feedback on more recent mediations.",
                count=oldest,
            ),
            "month",
        )
    return month


def _check_kind(kind: str) -> MediationKind:
    try:
        return MediationKind(kind)
    except ValueError:
        raise FeedbackError(_("Choose the kind of mediation from the list."), "kind") from None


def _check_addresses(emails: Iterable[str], own: set[str]) -> list[str]:
    addresses = list(dict.fromkeys(normalise_email(e) for e in emails if e.strip()))
    if not addresses:
        raise FeedbackError(_("Enter the e-mail address of at least one party."), "emails")
    if len(addresses) > MAX_PARTIES:
        raise FeedbackError(
            _(
                "You entered %(count)s addresses; ask at most %(most)s parties at once.",
                count=len(addresses),
                most=MAX_PARTIES,
            ),
            "emails",
        )
    for address in addresses:
        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError:
            raise FeedbackError(
                _("%(address)s is not a valid e-mail address.", address=repr(address)), "emails"
            ) from None
        if address in own:
            raise FeedbackError(
                _(
                    "%(address)s is your own address; ask the parties of the mediation.",
                    address=address,
                ),
                "emails",
            )
    return addresses


def open_invitation_count(session: Session, mediator: Mediator, now: datetime) -> int:
    """Return how many of the mediator's links are open and unexpired at ``now``."""
    return session.scalar(
        select(func.count(FeedbackInvitation.id))
        .join(FeedbackRequest)
        .where(
            FeedbackRequest.mediator_id == mediator.id,
            FeedbackInvitation.closed_at.is_(None),
            FeedbackInvitation.expires_at > now,
        )
    )


def _check_capacity(session: Session, mediator: Mediator, wanted: int, now: datetime) -> None:
    limit = current_app.config["FEEDBACK_MAX_OPEN_INVITATIONS"]
    already = open_invitation_count(session, mediator, now)
    if already + wanted > limit:
        raise FeedbackError(
            _(
                "You have %(count)s open feedback links and at most %(limit)s may be open at "
                "once. Wait until parties answer or links expire.",
                count=already,
                limit=limit,
            ),
            "emails",
        )


def _own_addresses(mediator: Mediator, actor: User | None) -> set[str]:
    users = [mediator.user, actor]
    return {normalise_email(mediator.email)} | {normalise_email(u.email) for u in users if u}


def request_feedback(
    session: Session,
    mediator: Mediator,
    *,
    month: date,
    kind: str,
    emails: Iterable[str],
    now: datetime,
    actor: User | None,
) -> FeedbackRequest:
    """Ask the parties of one past mediation for feedback: one e-mailed link per address."""
    month = _check_month(month, now)
    kind = _check_kind(kind)
    addresses = _check_addresses(emails, _own_addresses(mediator, actor))
    _check_capacity(session, mediator, len(addresses), now)
    request = FeedbackRequest(
        mediator_id=mediator.id,
        mediation_month=month,
        mediation_kind=kind.value,
        created_at=now,
        created_by_id=actor.id if actor else None,
    )
    session.add(request)
    expires_at = now + timedelta(days=current_app.config["FEEDBACK_LINK_DAYS"])
    for address in addresses:
        _invite(session, request, mediator, address, expires_at, now)
    session.flush()
    record_event(
        session,
        action="feedback.requested",
        subject_type="feedback_request",
        subject_id=request.id,
        now=now,
        actor=actor,
        data={
            "mediator_id": mediator.id,
            "mediation_month": month.strftime("%Y-%m"),
            "mediation_kind": kind.value,
            "invitations": len(addresses),
        },
    )
    session.flush()
    return request


def _invite(
    session: Session,
    request: FeedbackRequest,
    mediator: Mediator,
    address: str,
    expires_at: datetime,
    now: datetime,
) -> FeedbackInvitation:
    token = secrets.token_urlsafe(32)
    # The party is written to in the language of the page the mediator asked from; the
    # invitation keeps it for anything later sent to that party.
    locale = current_language()
    with force_locale(locale):
        subject = _("%(name)s asks for your feedback on a mediation", name=mediator.name)
        body = render_template(
            "mail/feedback_invitation.txt",
            mediator=mediator,
            request=request,
            link=f"{current_app.config['PUBLIC_URL']}/feedback/{token}",
            questions=len(DIMENSION_CODES),
            # The daily sweep closes a link early on the day it expires.
            last_day=expires_at.astimezone(registry_zone()).date() - timedelta(days=1),
        )
    message = queue_mail(session, to=address, subject=subject, body=body, now=now)
    session.flush()
    invitation = FeedbackInvitation(
        request=request,
        token_hash=token_hash(token),
        email=address,
        created_at=now,
        expires_at=expires_at,
        message_id=message.id,
        locale=locale,
    )
    session.add(invitation)
    return invitation


def find_open_invitation(session: Session, token: str, now: datetime) -> FeedbackInvitation:
    """Return the open, unexpired invitation of ``token`` or raise InvalidLinkError."""
    if not TOKEN_PATTERN.fullmatch(token):
        raise InvalidLinkError
    invitation = session.scalar(
        select(FeedbackInvitation).where(FeedbackInvitation.token_hash == token_hash(token))
    )
    if invitation is None or invitation.closed_at is not None or invitation.expires_at <= now:
        raise InvalidLinkError
    return invitation


def _check_scores(scores: Mapping[str, object]) -> dict[str, int]:
    if set(scores) - set(DIMENSION_CODES):
        raise FeedbackError(_("The answers name a question that is not on the questionnaire."))
    checked = {}
    for code in DIMENSION_CODES:
        score = scores.get(code)
        if isinstance(score, bool) or not isinstance(score, int):
            raise FeedbackError(
                _(
                    "Answer every question with a score from %(min)s to %(max)s.",
                    min=SCORE_MIN,
                    max=SCORE_MAX,
                )
            )
        if not SCORE_MIN <= score <= SCORE_MAX:
            raise FeedbackError(
                _(
                    "Scores run from %(min)s to %(max)s; %(score)s is not one.",
                    min=SCORE_MIN,
                    max=SCORE_MAX,
                    score=score,
                )
            )
        checked[code] = score
    return checked


def _optional_text(text: str | None, what: str) -> str:
    return checked_text(text, what=what, limit=MAX_TEXT_LENGTH, error=FeedbackError, minimum=0)


def _close(session: Session, invitation: FeedbackInvitation, now: datetime) -> None:
    """Close the link unless another request closed it first (then refuse)."""
    closed = session.execute(
        update(FeedbackInvitation)
        .where(
            FeedbackInvitation.id == invitation.id,
            FeedbackInvitation.closed_at.is_(None),
            FeedbackInvitation.expires_at > now,
        )
        .values(closed_at=now, answered_at=now, email=None)
        .execution_options(synchronize_session="fetch")
    )
    if closed.rowcount != 1:
        raise InvalidLinkError


def submit_answer(
    session: Session,
    token: str,
    *,
    scores: Mapping[str, object],
    went_well: str | None,
    could_improve: str | None,
    today: date,
    now: datetime,
) -> FeedbackAnswer:
    """Record a party's answers through their link, and close the link for good."""
    invitation = find_open_invitation(session, token, now)
    checked = _check_scores(scores)
    went_well = _optional_text(went_well, "What the mediator did well")
    could_improve = _optional_text(could_improve, "What the mediator could do better")
    request = invitation.request
    _close(session, invitation, now)
    answer = FeedbackAnswer(
        mediator_id=request.mediator_id,
        request_id=request.id,
        submitted_on=today,
        went_well=went_well,
        could_improve=could_improve,
        scores=[FeedbackScore(dimension=code, score=score) for code, score in checked.items()],
    )
    session.add(answer)
    if invitation.message_id is not None:
        # A message being sent right now keeps its address until the expiry sweep.
        redact_message(session, invitation.message_id, reason=REDACTION_REASON)
    record_event(
        session,
        action="feedback.answered",
        subject_type="feedback_request",
        subject_id=request.id,
        now=now,
        data={"mediator_id": request.mediator_id},
    )
    session.flush()
    return answer


# -- Reading: what the mediator sees (counts only) ------------------------------------------


@dataclass(frozen=True)
class RequestCounts:
    """One request as the mediator sees it: the mediation and how its links fared."""

    id: int
    mediation_month: date
    mediation_kind: str
    created_at: datetime
    invited: int
    answered: int
    open: int

    @property
    def kind_label(self) -> str:
        return MediationKind(self.mediation_kind).label

    @property
    def created_on(self) -> date:
        return self.created_at.astimezone(registry_zone()).date()

    @property
    def expired(self) -> int:
        return self.invited - self.answered - self.open


def request_counts(session: Session, mediator: Mediator, now: datetime) -> list[RequestCounts]:
    """Return the mediator's requests, newest first, with counts of their links."""
    link = FeedbackInvitation
    is_open = and_(link.closed_at.is_(None), link.expires_at > now)
    rows = session.execute(
        select(
            FeedbackRequest.id,
            FeedbackRequest.mediation_month,
            FeedbackRequest.mediation_kind,
            FeedbackRequest.created_at,
            func.count(link.id),
            func.count(link.answered_at),
            func.count(case((is_open, 1))),
        )
        .outerjoin(link, link.request_id == FeedbackRequest.id)
        .where(FeedbackRequest.mediator_id == mediator.id)
        .group_by(FeedbackRequest.id)
        .order_by(FeedbackRequest.created_at.desc(), FeedbackRequest.id.desc())
    )
    return [RequestCounts(*row) for row in rows]


def waiting_answer_count(session: Session, mediator: Mediator) -> int:
    """Return how many of the mediator's answers no published digest has used yet."""
    return session.scalar(
        select(func.count(FeedbackAnswer.id))
        .outerjoin(Digest, Digest.id == FeedbackAnswer.digest_id)
        .where(FeedbackAnswer.mediator_id == mediator.id, Digest.published_on.is_(None))
    )
