"""Peer reviewers and Feedback Digests (product brief §1, "Feedback Digest").

Staff assign a peer reviewer to a mediator (``ReviewerAssignment``); the reviewer must first
declare whether they have a conflict with the mediator, and a declared conflict blocks the
assignment (or ends it, when declared later). The reviewer reads the mediator's feedback
answers (``registry.feedback``), writes the ``Digest``'s summary (its scores are computed from
the answers) and publishes it once the policy minimum of answers is reached. A digest is valid
for a set number of days; the certification prerequisite uses that validity.
"""

from datetime import date, datetime
from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.accounts.models import User
from registry.database import Base, sql_values
from registry.feedback.models import DIMENSION_VALUES, SCORE_MAX, SCORE_MIN
from registry.mediators.models import Mediator


class AssignmentStatus(StrEnum):
    AWAITING_DECLARATION = "awaiting_declaration"
    ACTIVE = "active"
    CONFLICTED = "conflicted"  # the reviewer declared a conflict: blocked or ended
    ENDED = "ended"  # the digest was published, or staff withdrew the assignment

    @property
    def label(self) -> str:
        return {
            AssignmentStatus.AWAITING_DECLARATION: _("Awaiting conflict declaration"),
            AssignmentStatus.ACTIVE: _("Active"),
            AssignmentStatus.CONFLICTED: _("Conflict declared"),
            AssignmentStatus.ENDED: _("Ended"),
        }[self]


OPEN_ASSIGNMENT = "status IN ('awaiting_declaration', 'active')"


class ReviewerAssignment(Base):
    """A peer reviewer assigned to compile a mediator's digest, with their declaration."""

    __tablename__ = "reviewer_assignments"
    __table_args__ = (
        CheckConstraint(f"status IN ({sql_values(AssignmentStatus)})", name="known_status"),
        CheckConstraint(
            "status = 'ended' OR (status = 'awaiting_declaration') = (declared_at IS NULL)",
            name="declared_unless_awaiting",
        ),
        CheckConstraint(
            "(has_conflict IS NULL) = (declared_at IS NULL)", name="declaration_complete"
        ),
        CheckConstraint("(status = 'conflicted') = (has_conflict IS TRUE)", name="conflict_blocks"),
        CheckConstraint(
            "NOT has_conflict OR conflict_details IS NOT NULL", name="conflict_explained"
        ),
        CheckConstraint(
            "(status IN ('conflicted', 'ended')) = (ended_at IS NOT NULL)", name="ended_when_closed"
        ),
        # At most one open assignment per mediator.
        Index(
            "uq_reviewer_assignments_open",
            "mediator_id",
            unique=True,
            sqlite_where=text(OPEN_ASSIGNMENT),
            postgresql_where=text(OPEN_ASSIGNMENT),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mediator_id: Mapped[int] = mapped_column(
        ForeignKey("mediators.id", ondelete="CASCADE"), index=True
    )
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(24))
    assigned_at: Mapped[datetime]
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    declared_at: Mapped[datetime | None]
    # The reviewer's declaration: None until declared; "no conflict" is declared explicitly.
    has_conflict: Mapped[bool | None]
    conflict_details: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(Text)

    mediator: Mapped[Mediator] = relationship(lazy="joined")
    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id], lazy="joined")

    @property
    def status_label(self) -> str:
        return AssignmentStatus(self.status).label


class Digest(Base):
    """A Feedback Digest: a draft while ``published_on`` is None, then public until it expires.

    Digests recorded by staff before the registry compiled them have no assignment and no
    answers (``answer_count`` 0).
    """

    __tablename__ = "feedback_digests"
    __table_args__ = (
        CheckConstraint(
            "(published_on IS NULL) = (valid_until IS NULL)"
            " AND (published_on IS NULL) = (published_at IS NULL)",
            name="published_has_dates",
        ),
        CheckConstraint("valid_until IS NULL OR valid_until >= published_on", name="valid_after"),
        CheckConstraint("answer_count >= 0", name="answer_count_not_negative"),
        CheckConstraint(
            "expired_on IS NULL OR expired_on > valid_until", name="expired_after_validity"
        ),
        # At most one draft per mediator.
        Index(
            "uq_feedback_digests_draft",
            "mediator_id",
            unique=True,
            sqlite_where=text("published_on IS NULL"),
            postgresql_where=text("published_on IS NULL"),
        ),
        Index("ix_feedback_digests_validity", "mediator_id", "valid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mediator_id: Mapped[int] = mapped_column(ForeignKey("mediators.id", ondelete="CASCADE"))
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("reviewer_assignments.id"))
    summary: Mapped[str] = mapped_column(Text, default="")
    # How many answers the published scores are computed from.
    answer_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    published_on: Mapped[date | None]
    published_at: Mapped[datetime | None]
    # The last day the digest counts as current.
    valid_until: Mapped[date | None] = mapped_column(index=True)
    # Marks of the daily digest job, so that each reminder and expiry is handled once.
    reminded_on: Mapped[date | None]
    expired_on: Mapped[date | None]

    mediator: Mapped[Mediator] = relationship()
    assignment: Mapped[ReviewerAssignment | None] = relationship()
    scores: Mapped[list["DigestScore"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="DigestScore.dimension"
    )

    def is_current_on(self, day: date) -> bool:
        return (
            self.published_on is not None
            and self.valid_until is not None
            and self.published_on <= day <= self.valid_until
        )


class DigestScore(Base):
    """The mean score of a published digest's answers on one dimension, in hundredths."""

    __tablename__ = "feedback_digest_scores"
    __table_args__ = (
        CheckConstraint(
            f"mean_centi BETWEEN {SCORE_MIN * 100} AND {SCORE_MAX * 100}", name="mean_range"
        ),
        CheckConstraint(f"dimension IN ({DIMENSION_VALUES})", name="known_dimension"),
    )

    digest_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_digests.id", ondelete="CASCADE"), primary_key=True
    )
    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    # Mean score x 100, rounded half up (4.67 is 467): exact on both databases.
    mean_centi: Mapped[int]

    @property
    def mean(self) -> float:
        return self.mean_centi / 100
