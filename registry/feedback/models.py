"""Feedback from parties of past mediations, peer reviewers, and the Feedback Digest.

The path of one round (product brief §1, "Feedback Digest"):

1. the mediator files a ``FeedbackRequest`` for a past mediation with the parties' addresses;
   each address gets a ``FeedbackInvitation``: a one-time link of which only a hash is kept;
2. a party answers through the link: a ``FeedbackAnswer`` with a score per ``DIMENSIONS``
   entry. The answer is not linked to the invitation (so not to an address), and the
   invitation's address is deleted once the link is used or expires;
3. a peer reviewer compiles the answers into a Feedback Digest (``registry.digests``).

The mediator sees only counts until a digest exists, and then only the digest.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.database import Base, sql_values
from registry.i18n import _l
from registry.mediators.models import Mediator


class MediationKind(StrEnum):
    COMMERCIAL = "commercial"
    WORKPLACE = "workplace"
    FAMILY = "family"
    COMMUNITY = "community"
    CROSS_BORDER = "cross_border"
    INVESTOR_STATE = "investor_state"
    ONLINE = "online"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(MEDIATION_KIND_LABELS[self.value])


MEDIATION_KIND_LABELS = {
    MediationKind.COMMERCIAL.value: _l("Commercial"),
    MediationKind.WORKPLACE.value: _l("Workplace or employment"),
    MediationKind.FAMILY.value: _l("Family"),
    MediationKind.COMMUNITY.value: _l("Community or neighbourhood"),
    MediationKind.CROSS_BORDER.value: _l("Cross-border"),
    MediationKind.INVESTOR_STATE.value: _l("Investor-State"),
    MediationKind.ONLINE.value: _l("Online"),
    MediationKind.OTHER.value: _l("Other"),
}

# The questionnaire's rated dimensions: (code, question). Scores run from 1 to 5.
DIMENSIONS = (
    ("preparation", _l("Prepared the mediation and explained the process clearly")),
    ("impartiality", _l("Was impartial and even-handed with every party")),
    ("listening", _l("Listened and helped the parties understand each other")),
    ("process", _l("Managed the process, time and any difficult moments well")),
    ("options", _l("Helped the parties find and weigh their own options")),
    ("overall", _l("Overall, I would recommend this mediator")),
)
DIMENSION_CODES = tuple(code for code, _question in DIMENSIONS)
SCORE_MIN, SCORE_MAX = 1, 5
DIMENSION_VALUES = ", ".join(f"'{code}'" for code in DIMENSION_CODES)


class FeedbackRequest(Base):
    """A mediator's request for feedback from the parties of one past mediation."""

    __tablename__ = "feedback_requests"
    __table_args__ = (
        CheckConstraint(f"mediation_kind IN ({sql_values(MediationKind)})", name="known_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mediator_id: Mapped[int] = mapped_column(
        ForeignKey("mediators.id", ondelete="CASCADE"), index=True
    )
    # The first day of the month in which the mediation took place.
    mediation_month: Mapped[date]
    mediation_kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    mediator: Mapped[Mediator] = relationship()
    invitations: Mapped[list["FeedbackInvitation"]] = relationship(
        back_populates="request", order_by="FeedbackInvitation.id", lazy="selectin"
    )

    @property
    def kind_label(self) -> str:
        return MediationKind(self.mediation_kind).label


class FeedbackInvitation(Base):
    """One party's one-time link to the questionnaire.

    Only a hash of the link's secret is kept. ``email`` is deleted (and ``closed_at`` set)
    when the link is used or expires; the sent message's address and link are removed too.
    """

    __tablename__ = "feedback_invitations"
    __table_args__ = (
        CheckConstraint("expires_at > created_at", name="expires_after_created"),
        CheckConstraint("(email IS NULL) = (closed_at IS NOT NULL)", name="closed_drops_email"),
        CheckConstraint("answered_at IS NULL OR closed_at IS NOT NULL", name="answered_closed"),
        # Open invitations, found by the expiry sweep.
        Index(
            "ix_feedback_invitations_open",
            "expires_at",
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_requests.id", ondelete="CASCADE"), index=True
    )
    # SHA-256 of the link's secret (hex).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The party's address while the link is open; None once it is used or expired.
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    # When the link stopped working (answered or expired) and the address was deleted.
    closed_at: Mapped[datetime | None]
    # The language the invitation was written in ("fr").
    locale: Mapped[str | None] = mapped_column(String(8))
    # The e-mail that carried the link, redacted when the invitation closes.
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_outbox.id", ondelete="SET NULL")
    )

    request: Mapped[FeedbackRequest] = relationship(back_populates="invitations")


class FeedbackAnswer(Base):
    """One party's answers. Deliberately not linked to the invitation, hence to no address."""

    __tablename__ = "feedback_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    mediator_id: Mapped[int] = mapped_column(
        ForeignKey("mediators.id", ondelete="CASCADE"), index=True
    )
    # The mediation it is about (month and kind, for the reviewer's reading).
    request_id: Mapped[int] = mapped_column(ForeignKey("feedback_requests.id", ondelete="CASCADE"))
    # A date, not a time, so that answers cannot be matched to links by the minute.
    submitted_on: Mapped[date]
    went_well: Mapped[str] = mapped_column(Text, default="")
    could_improve: Mapped[str] = mapped_column(Text, default="")
    # The digest that used this answer; None while it waits for the next digest.
    digest_id: Mapped[int | None] = mapped_column(
        ForeignKey("feedback_digests.id", ondelete="SET NULL"), index=True
    )

    request: Mapped[FeedbackRequest] = relationship()
    scores: Mapped[list["FeedbackScore"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="FeedbackScore.dimension"
    )

    def score(self, dimension: str) -> int | None:
        return next((s.score for s in self.scores if s.dimension == dimension), None)


class FeedbackScore(Base):
    __tablename__ = "feedback_scores"
    __table_args__ = (
        CheckConstraint(f"score BETWEEN {SCORE_MIN} AND {SCORE_MAX}", name="score_range"),
        CheckConstraint(f"dimension IN ({DIMENSION_VALUES})", name="known_dimension"),
    )

    answer_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_answers.id", ondelete="CASCADE"), primary_key=True
    )
    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    score: Mapped[int]
