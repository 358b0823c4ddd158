"""Complaints (product brief §3).

A ``Complaint`` climbs a fixed chain of four levels, one at a time and never down. General
complaints go Support → Executive Director → the committee or taskforce routed for the subject
(``SubjectRoute``, a table staff maintain) → the Board, whose decision is final. Complaints
about a certified mediator or advocate follow the Professional Conduct Assessment Process on
the same four levels: discussion (Support), mediation (Executive Director), assessment (the
committee routed for mediator complaints) and appeal (the Board).

At each level the complaint is received (``open``), acknowledged, answered (``responded``)
or closed: resolved with a written outcome, decided by the Board, or withdrawn by the
complainant. Its ``ComplaintEntry`` rows are the timeline both sides read. The complainant
follows it with a receipt code and a secret (only a SHA-256 of the secret is kept); an
anonymous complaint keeps no name, address or network address. Closed complaints are purged
after the retention period, leaving a ``ComplaintStatistic`` count.
"""

from datetime import datetime
from enum import IntEnum, StrEnum

from flask_babel import gettext as _
from flask_babel import pgettext
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.accounts.models import User
from registry.database import Base, sql_values
from registry.i18n import _l
from registry.mediators.models import Mediator
from registry.organisations.models import Organisation, Program


class Subject(StrEnum):
    MEDIATOR = "mediator"  # a certified mediator or advocate: the conduct process
    PROGRAM = "program"  # a program or an organisation
    REGISTRY = "registry"  # the registry itself
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(SUBJECT_LABELS[self])


SUBJECT_LABELS = {
    Subject.MEDIATOR: _l("A certified mediator or mediation advocate"),
    Subject.PROGRAM: _l("A training or assessment program, or an organisation"),
    Subject.REGISTRY: _l("The registry itself"),
    Subject.OTHER: _l("Something else"),
}


class Level(IntEnum):
    SUPPORT = 1
    EXECUTIVE_DIRECTOR = 2
    COMMITTEE = 3
    BOARD = 4


# What each level is called on each track.
GENERAL_LEVEL_LABELS = {
    Level.SUPPORT: _l("Support"),
    Level.EXECUTIVE_DIRECTOR: _l("Executive Director"),
    Level.COMMITTEE: _l("Committee or taskforce"),
    Level.BOARD: _l("Board"),
}
CONDUCT_LEVEL_LABELS = {
    Level.SUPPORT: _l("Discussion"),
    Level.EXECUTIVE_DIRECTOR: _l("Mediation"),
    Level.COMMITTEE: _l("Assessment"),
    Level.BOARD: _l("Appeal"),
}


class Status(StrEnum):
    OPEN = "open"  # received at its level, not acknowledged yet
    ACKNOWLEDGED = "acknowledged"
    RESPONDED = "responded"  # the level answered; the complainant may ask to escalate
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {
            Status.OPEN: pgettext("a complaint", "Received"),
            Status.ACKNOWLEDGED: _("Acknowledged"),
            Status.RESPONDED: _("Responded"),
            Status.CLOSED: _("Closed"),
        }[self]


class ClosedAs(StrEnum):
    RESOLVED = "resolved"  # a level resolved it with a written outcome
    DECIDED = "decided"  # the Board's final decision
    WITHDRAWN = "withdrawn"  # by the complainant

    @property
    def label(self) -> str:
        return {
            ClosedAs.RESOLVED: _("Resolved"),
            ClosedAs.DECIDED: _("Decided by the Board (final)"),
            ClosedAs.WITHDRAWN: _("Withdrawn"),
        }[self]


class ConductOutcome(StrEnum):
    NO_ACTION = "no_action"
    SUSPEND = "suspend"
    REVOKE = "revoke"


class EntryKind(StrEnum):
    FILED = "filed"
    ACKNOWLEDGED = "acknowledged"
    MESSAGE = "message"  # from a handler to the complainant
    REPLY = "reply"  # from the complainant
    RESPONDED = "responded"
    ESCALATION_REQUESTED = "escalation_requested"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    DECIDED = "decided"
    WITHDRAWN = "withdrawn"
    OVERDUE = "overdue"  # flagged to the level above by the daily job


class Committee(Base):
    """A committee or taskforce that handles complaints routed to it at the third level."""

    __tablename__ = "complaint_committees"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")

    members: Mapped[list["CommitteeMember"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class CommitteeMember(Base):
    __tablename__ = "complaint_committee_members"

    committee_id: Mapped[int] = mapped_column(
        ForeignKey("complaint_committees.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)

    user: Mapped[User] = relationship(lazy="joined")


class SubjectRoute(Base):
    """Which committee or taskforce takes complaints of a subject at the third level."""

    __tablename__ = "complaint_subject_routes"
    __table_args__ = (CheckConstraint(f"subject IN ({sql_values(Subject)})", name="known_subject"),)

    subject: Mapped[str] = mapped_column(String(16), primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("complaint_committees.id"))

    committee: Mapped[Committee] = relationship(lazy="joined")


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint(f"subject IN ({sql_values(Subject)})", name="known_subject"),
        CheckConstraint(f"status IN ({sql_values(Status)})", name="known_status"),
        CheckConstraint("level BETWEEN 1 AND 4", name="known_level"),
        CheckConstraint(
            f"closed_as IS NULL OR closed_as IN ({sql_values(ClosedAs)})", name="known_closed_as"
        ),
        CheckConstraint(
            f"conduct_outcome IS NULL OR conduct_outcome IN ({sql_values(ConductOutcome)})",
            name="known_conduct_outcome",
        ),
        # An anonymous complaint keeps nothing that identifies the complainant.
        CheckConstraint(
            "NOT is_anonymous OR (complainant_name IS NULL AND complainant_email IS NULL)",
            name="anonymous_keeps_no_identity",
        ),
        CheckConstraint(
            "(status = 'closed') = (closed_at IS NOT NULL)"
            " AND (status = 'closed') = (closed_as IS NOT NULL)",
            name="closed_has_date",
        ),
        CheckConstraint(
            "closed_as IS NULL OR closed_as = 'withdrawn' OR outcome IS NOT NULL",
            name="closure_has_outcome",
        ),
        CheckConstraint("closed_as <> 'decided' OR level = 4", name="only_board_decides"),
        CheckConstraint("level < 3 OR committee_id IS NOT NULL", name="committee_level_routed"),
        Index("ix_complaints_queue", "status", "level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Shown to the complainant with the secret; the pair opens the tracking page.
    receipt_code: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(16))
    # What the complaint is about, when the complainant named it.
    mediator_id: Mapped[int | None] = mapped_column(ForeignKey("mediators.id", ondelete="SET NULL"))
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id", ondelete="SET NULL"))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL")
    )
    description: Mapped[str] = mapped_column(Text)
    is_anonymous: Mapped[bool]
    complainant_name: Mapped[str | None] = mapped_column(String(200))
    complainant_email: Mapped[str | None] = mapped_column(String(254))
    level: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    # The committee or taskforce of the third level, fixed when the complaint reaches it.
    committee_id: Mapped[int | None] = mapped_column(ForeignKey("complaint_committees.id"))
    filed_at: Mapped[datetime]
    # When the complaint reached its current level: the time limits run from here.
    level_since: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_as: Mapped[str | None] = mapped_column(String(16))
    # The written outcome of a resolution or of the Board's decision.
    outcome: Mapped[str | None] = mapped_column(Text)
    conduct_outcome: Mapped[str | None] = mapped_column(String(16))
    # The language of the page the complaint was filed on; e-mails to the complainant use it.
    locale: Mapped[str | None] = mapped_column(String(8))

    mediator: Mapped[Mediator | None] = relationship()
    program: Mapped[Program | None] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    committee: Mapped[Committee | None] = relationship()
    entries: Mapped[list["ComplaintEntry"]] = relationship(
        cascade="all, delete-orphan",
        order_by="(ComplaintEntry.at, ComplaintEntry.id)",
        back_populates="complaint",
    )
    attachments: Mapped[list["ComplaintAttachment"]] = relationship(
        cascade="all, delete-orphan", order_by="ComplaintAttachment.id"
    )

    @property
    def is_conduct(self) -> bool:
        return self.subject == Subject.MEDIATOR

    @property
    def level_label(self) -> str:
        labels = CONDUCT_LEVEL_LABELS if self.is_conduct else GENERAL_LEVEL_LABELS
        return str(labels[Level(self.level)])

    @property
    def is_closed(self) -> bool:
        return self.status == Status.CLOSED


class ComplaintEntry(Base):
    """One step of a complaint's timeline, read by its handlers and by the complainant."""

    __tablename__ = "complaint_entries"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_values(EntryKind)})", name="known_kind"),
        CheckConstraint("level BETWEEN 1 AND 4", name="known_level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(24))
    # The level the complaint was at when this happened.
    level: Mapped[int]
    # The handler who acted (None for the complainant and the daily job).
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str | None] = mapped_column(Text)

    complaint: Mapped[Complaint] = relationship(back_populates="entries")
    author: Mapped[User | None] = relationship()


class ComplaintAttachment(Base):
    """A file sent with a complaint or a reply; the bytes live outside the web root."""

    __tablename__ = "complaint_attachments"
    __table_args__ = (CheckConstraint("size_bytes > 0", name="not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("complaint_entries.id", ondelete="CASCADE")
    )
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_at: Mapped[datetime]


class OverdueFlag(Base):
    """The daily job's mark that a level missed a time limit, so it is flagged once."""

    __tablename__ = "complaint_overdue_flags"
    __table_args__ = (
        CheckConstraint("kind IN ('acknowledge', 'respond')", name="known_kind"),
        CheckConstraint("level BETWEEN 1 AND 4", name="known_level"),
    )

    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), primary_key=True)
    flagged_at: Mapped[datetime]


class ComplaintStatistic(Base):
    """What is left of purged complaints: a count per year closed, subject, level and closure."""

    __tablename__ = "complaint_statistics"
    __table_args__ = (
        UniqueConstraint("closed_year", "subject", "final_level", "closed_as", name="uq_cell"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    closed_year: Mapped[int]
    subject: Mapped[str] = mapped_column(String(16))
    final_level: Mapped[int]
    closed_as: Mapped[str] = mapped_column(String(16))
    count: Mapped[int]


class Tracking(Base):
    """A browser following one complaint, after its receipt code and secret were entered.

    The browser's session holds only a random token (its hash is kept here), never the
    complaint's id. "Forget this complaint" deletes the row, so a copy of the cookie stops
    working too; a row works until ``expires_at`` and the daily purge-tracking job removes it.
    """

    __tablename__ = "complaint_tracking"
    __table_args__ = (CheckConstraint("expires_at > opened_at", name="expires_after_opened"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    opened_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)

    complaint: Mapped[Complaint] = relationship()
