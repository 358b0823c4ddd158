"""Reading digests, their answers and reviewer assignments; the system's score arithmetic."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from registry.accounts.models import Role, User, UserRole
from registry.digests.models import AssignmentStatus, Digest, ReviewerAssignment
from registry.feedback.models import DIMENSIONS, FeedbackAnswer
from registry.i18n import _l

OPEN_STATUSES = (AssignmentStatus.AWAITING_DECLARATION.value, AssignmentStatus.ACTIVE.value)


def current_digest(session: Session, mediator_id: int, on: date) -> Digest | None:
    """Return the mediator's digest that is current on ``on`` (the latest published), if any."""
    return session.scalars(
        select(Digest)
        .where(
            Digest.mediator_id == mediator_id,
            Digest.published_on <= on,
            Digest.valid_until >= on,
        )
        .order_by(Digest.published_on.desc(), Digest.id.desc())
        .limit(1)
    ).first()


def latest_digest(session: Session, mediator_id: int) -> Digest | None:
    """Return the mediator's most recently published digest, current or not."""
    return session.scalars(
        select(Digest)
        .where(Digest.mediator_id == mediator_id, Digest.published_on.is_not(None))
        .order_by(Digest.published_on.desc(), Digest.id.desc())
        .limit(1)
    ).first()


def current_digests(session: Session, mediator_ids: Collection[int], on: date) -> dict[int, Digest]:
    """Return the current digest on ``on`` of each of ``mediator_ids`` that has one."""
    found: dict[int, Digest] = {}
    ids = list(mediator_ids)
    for start in range(0, len(ids), 500):  # keep under every database's parameter limit
        rows = session.scalars(
            select(Digest)
            .where(
                Digest.mediator_id.in_(ids[start : start + 500]),
                Digest.published_on <= on,
                Digest.valid_until >= on,
            )
            .order_by(Digest.published_on, Digest.id)
        )
        for digest in rows:
            found[digest.mediator_id] = digest  # the latest wins
    return found


# Short public names of the questionnaire's dimensions (the questions are in DIMENSIONS).
DIMENSION_LABELS = {
    "preparation": _l("Preparation"),
    "impartiality": _l("Impartiality"),
    "listening": _l("Listening"),
    "process": _l("Managing the process"),
    "options": _l("Helping find options"),
    "overall": _l("Would recommend"),
}


def mean_centi(total: int, count: int) -> int:
    """Return ``total / count`` x 100 rounded half up, in integers (exact on every database)."""
    return (2 * 100 * total + count) // (2 * count)


@dataclass(frozen=True)
class Aggregate:
    """The system's scores of a set of answers: the mean of each dimension, in hundredths."""

    count: int
    means: dict[str, int]

    def rows(self) -> list[tuple[str, str, int]]:
        """Return (code, question, mean_centi) in questionnaire order, rated dimensions only."""
        return [(code, q, self.means[code]) for code, q in DIMENSIONS if code in self.means]


def aggregate(answers: Sequence[FeedbackAnswer]) -> Aggregate:
    """Compute the mean score of each dimension over ``answers`` (unrated ones left out)."""
    totals: dict[str, list[int]] = {}
    for answer in answers:
        for score in answer.scores:
            totals.setdefault(score.dimension, []).append(score.score)
    means = {code: mean_centi(sum(s), len(s)) for code, s in totals.items()}
    return Aggregate(count=len(answers), means=means)


def waiting_answers(session: Session, mediator_id: int) -> list[FeedbackAnswer]:
    """Return the mediator's answers that wait for a digest, oldest first."""
    return list(
        session.scalars(
            select(FeedbackAnswer)
            .options(selectinload(FeedbackAnswer.request))
            .where(FeedbackAnswer.mediator_id == mediator_id, FeedbackAnswer.digest_id.is_(None))
            .order_by(FeedbackAnswer.submitted_on, FeedbackAnswer.id)
        )
    )


def waiting_answer_count(session: Session, mediator_id: int) -> int:
    """Return how many of the mediator's answers wait for a digest."""
    return (
        session.scalar(
            select(func.count(FeedbackAnswer.id)).where(
                FeedbackAnswer.mediator_id == mediator_id, FeedbackAnswer.digest_id.is_(None)
            )
        )
        or 0
    )


def published_digests(session: Session, mediator_id: int) -> list[Digest]:
    """Return the mediator's published digests, newest first."""
    return list(
        session.scalars(
            select(Digest)
            .where(Digest.mediator_id == mediator_id, Digest.published_on.is_not(None))
            .order_by(Digest.published_on.desc(), Digest.id.desc())
        )
    )


def draft_of(session: Session, mediator_id: int) -> Digest | None:
    """Return the mediator's unpublished digest, if a reviewer has saved one."""
    return session.scalar(
        select(Digest).where(Digest.mediator_id == mediator_id, Digest.published_on.is_(None))
    )


def digest_of_assignment(session: Session, assignment_id: int) -> Digest | None:
    """Return the digest an assignment published, if it published one."""
    return session.scalar(
        select(Digest).where(
            Digest.assignment_id == assignment_id, Digest.published_on.is_not(None)
        )
    )


def assignments_of_mediator(session: Session, mediator_id: int) -> list[ReviewerAssignment]:
    """Return every reviewer assignment of the mediator, newest first."""
    return list(
        session.scalars(
            select(ReviewerAssignment)
            .where(ReviewerAssignment.mediator_id == mediator_id)
            .order_by(ReviewerAssignment.assigned_at.desc(), ReviewerAssignment.id.desc())
        )
    )


def assignments_of_reviewer(session: Session, reviewer_id: int) -> list[ReviewerAssignment]:
    """Return every assignment of the reviewer, newest first."""
    return list(
        session.scalars(
            select(ReviewerAssignment)
            .where(ReviewerAssignment.reviewer_id == reviewer_id)
            .order_by(ReviewerAssignment.assigned_at.desc(), ReviewerAssignment.id.desc())
        )
    )


def open_assignment(session: Session, mediator_id: int) -> ReviewerAssignment | None:
    """Return the mediator's assignment that awaits a declaration or is active, if any."""
    return session.scalar(
        select(ReviewerAssignment).where(
            ReviewerAssignment.mediator_id == mediator_id,
            ReviewerAssignment.status.in_(OPEN_STATUSES),
        )
    )


def has_declared_conflict(session: Session, mediator_id: int, reviewer_id: int) -> bool:
    """Return whether the reviewer ever declared a conflict with the mediator."""
    return (
        session.scalar(
            select(ReviewerAssignment.id)
            .where(
                ReviewerAssignment.mediator_id == mediator_id,
                ReviewerAssignment.reviewer_id == reviewer_id,
                ReviewerAssignment.has_conflict.is_(True),
            )
            .limit(1)
        )
        is not None
    )


def conflicted_reviewer_ids(session: Session, mediator_id: int) -> set[int]:
    """Return the reviewers who declared a conflict with the mediator."""
    return set(
        session.scalars(
            select(ReviewerAssignment.reviewer_id).where(
                ReviewerAssignment.mediator_id == mediator_id,
                ReviewerAssignment.has_conflict.is_(True),
            )
        )
    )


def peer_reviewers(session: Session) -> list[User]:
    """Return the enabled accounts holding the peer reviewer role, by name."""
    return list(
        session.scalars(
            select(User)
            .join(UserRole)
            .where(UserRole.role == Role.PEER_REVIEWER.value, User.disabled_at.is_(None))
            .order_by(User.name, User.id)
        )
    )
