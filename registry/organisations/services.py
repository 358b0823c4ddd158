"""Reviews of organisations: posting, hiding and restoring, each logged in the event log."""

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.accounts.models import Role, User
from registry.events.services import record_event
from registry.organisations.models import Organisation, Review
from registry.organisations.queries import signed_review_by

MAX_REVIEW_LENGTH = 2000
MAX_REASON_LENGTH = 2000


class ReviewError(ValueError):
    """A review change that the rules do not allow."""


def _check_text(text: str | None, *, what: str, limit: int) -> str:
    text = (text or "").strip()
    if not text:
        raise ReviewError(f"{what} cannot be empty.")
    if len(text) > limit:
        raise ReviewError(f"{what} is {len(text)} characters long; the limit is {limit}.")
    return text


def _check_rating(rating: object) -> int:
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ReviewError("The rating is a whole number from 1 to 5.")
    return rating


def post_review(
    session: Session,
    organisation: Organisation,
    *,
    rating: int,
    body: str,
    is_anonymous: bool,
    actor: User,
    now: datetime,
) -> Review:
    """Publish ``actor``'s review of ``organisation`` (anonymous feedback only by support)."""
    rating = _check_rating(rating)
    body = _check_text(body, what="The review", limit=MAX_REVIEW_LENGTH)
    if is_anonymous and not actor.has_role(Role.SUPPORT):
        raise ReviewError("Only registry support can post anonymous feedback.")
    if not is_anonymous and signed_review_by(session, organisation, actor) is not None:
        raise ReviewError(
            f"You have already reviewed {organisation.name}; each person posts one review."
        )
    review = Review(
        organisation_id=organisation.id,
        author_id=actor.id,
        is_anonymous=is_anonymous,
        rating=rating,
        body=body,
        created_at=now,
    )
    try:
        # The unique index settles a race between two requests posting at once; the savepoint
        # (begun before the review is added) keeps the rest of the transaction usable.
        with session.begin_nested():
            session.add(review)
    except IntegrityError:
        raise ReviewError(
            f"You have already reviewed {organisation.name}; each person posts one review."
        ) from None
    record_event(
        session,
        action="review.posted",
        subject_type="review",
        subject_id=review.id,
        now=now,
        actor=actor,
        data={"organisation_id": organisation.id, "rating": rating, "is_anonymous": is_anonymous},
    )
    session.flush()
    return review


def hide_review(
    session: Session, review: Review, *, reason: str, actor: User, now: datetime
) -> None:
    """Hide a published review from the public; ``reason`` says why (staff see it)."""
    if review.hidden_at is not None:
        raise ReviewError("This review is already hidden.")
    reason = _check_text(reason, what="The reason", limit=MAX_REASON_LENGTH)
    review.hidden_at, review.hidden_by_id, review.hidden_reason = now, actor.id, reason
    record_event(
        session,
        action="review.hidden",
        subject_type="review",
        subject_id=review.id,
        now=now,
        actor=actor,
        reason=reason,
        data={"organisation_id": review.organisation_id},
    )
    session.flush()


def restore_review(session: Session, review: Review, *, actor: User, now: datetime) -> None:
    """Publish a hidden review again."""
    if review.hidden_at is None:
        raise ReviewError("This review is not hidden.")
    reason = review.hidden_reason
    review.hidden_at = review.hidden_by_id = review.hidden_reason = None
    record_event(
        session,
        action="review.restored",
        subject_type="review",
        subject_id=review.id,
        now=now,
        actor=actor,
        data={"organisation_id": review.organisation_id, "hidden_reason": reason},
    )
    session.flush()
