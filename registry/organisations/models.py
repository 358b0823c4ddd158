"""Organisations (training and assessment providers) and their recognised programs."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.accounts.models import User
from registry.database import Base, sql_values
from registry.i18n import _l


class AccountType(StrEnum):
    """What an organisation is recognised for: QAP 1 trains, QAP 2 assesses, QAP 3 does both."""

    QAP1 = "qap1"
    QAP2 = "qap2"
    QAP3 = "qap3"


class ProgramType(StrEnum):
    CMTP = "CMTP"
    QAP = "QAP"
    MAQAP = "MAQAP"
    ICQAP = "ICQAP"
    ODRQAP = "ODRQAP"

    @property
    def is_training(self) -> bool:
        return self is ProgramType.CMTP

    @property
    def label(self) -> str:
        return str(PROGRAM_LABELS[self])


PROGRAM_LABELS = {
    ProgramType.CMTP: _l("Competent Mediator Training Program"),
    ProgramType.QAP: _l("Qualifying Assessment Program"),
    ProgramType.MAQAP: _l("Mediation Advocacy QAP"),
    ProgramType.ICQAP: _l("Intercultural QAP"),
    ProgramType.ODRQAP: _l("Online Dispute Resolution QAP"),
}

ASSESSMENT_TYPES = frozenset(t for t in ProgramType if not t.is_training)


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint(f"account_type IN ({sql_values(AccountType)})", name="known_account_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # ISO 3166-1 alpha-2.
    head_office_country: Mapped[str] = mapped_column(String(2))
    account_type: Mapped[str] = mapped_column(String(4))
    website: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]

    # The recognised programs only: a program applied for (``recognition``) stays out of every
    # page until its recognition.
    programs: Mapped[list["Program"]] = relationship(
        primaryjoin="and_(Organisation.id == Program.organisation_id,"
        " Program.recognised_on.is_not(None))",
        order_by="Program.program_type",
        viewonly=True,
    )


class Program(Base):
    """A program: recognised, or applied for. Its public status comes from its audits
    (``audits.schedule``).

    A program applied for (``recognition.models.ProgramApplication``) has no recognition date
    until the subcommittee's chair recognises it; until then (and for ever if declined) it is
    shown nowhere but on its application, and no audit of it is scheduled. Queries that list
    programs select ``Program.is_recognised``.
    """

    __tablename__ = "programs"
    __table_args__ = (
        CheckConstraint(f"program_type IN ({sql_values(ProgramType)})", name="known_program_type"),
        CheckConstraint(
            "(withdrawn_on IS NULL) = (withdrawal_reason IS NULL)", name="withdrawal_has_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    program_type: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # None while the program is applied for, and after its application is declined.
    recognised_on: Mapped[date | None]
    # Set when an administrator withdraws the recognition: no further audits are scheduled.
    withdrawn_on: Mapped[date | None]
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    locations: Mapped[list["ProgramLocation"]] = relationship(
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="(ProgramLocation.country, ProgramLocation.city)",
    )

    @property
    def title(self) -> str:
        return f"{self.organisation.name}: {self.name} ({self.program_type})"

    @hybrid_property
    def is_recognised(self) -> bool:
        return self.recognised_on is not None

    @is_recognised.inplace.expression
    @classmethod
    def _is_recognised_expression(cls) -> ColumnElement[bool]:
        return cls.recognised_on.is_not(None)


class ProgramLocation(Base):
    """A country (and city) where a program is delivered."""

    __tablename__ = "program_locations"
    __table_args__ = (Index("ix_program_locations_country", "country", "program_id"),)

    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True
    )
    # ISO 3166-1 alpha-2.
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    # Empty when the program runs across the country or online from it.
    city: Mapped[str] = mapped_column(String(100), primary_key=True, default="")


class Review(Base):
    """A review of an organisation by a signed-in user, or anonymous feedback posted by support.

    Reviews are published at once; staff moderate by hiding one with a reason (it is kept, so
    the decision can be reviewed, and can be restored).
    """

    __tablename__ = "organisation_reviews"
    __table_args__ = (
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        CheckConstraint(
            "(hidden_at IS NULL) = (hidden_reason IS NULL)"
            " AND (hidden_at IS NULL) = (hidden_by_id IS NULL)",
            name="hidden_has_reason",
        ),
        # One signed review per person and organisation (anonymous feedback is not limited).
        Index(
            "uq_organisation_reviews_author",
            "organisation_id",
            "author_id",
            unique=True,
            sqlite_where=text("NOT is_anonymous"),
            postgresql_where=text("NOT is_anonymous"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    # Who posted it, kept for moderation even when the review is shown without a name.
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Feedback that support relays without the name of whoever gave it.
    is_anonymous: Mapped[bool] = mapped_column(default=False)
    rating: Mapped[int]
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    hidden_at: Mapped[datetime | None]
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hidden_reason: Mapped[str | None] = mapped_column(Text)

    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")


class OrganisationAdmin(Base):
    """A user who administers an organisation's account and sees its dashboard."""

    __tablename__ = "organisation_admins"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime]
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")


class DashboardReminder(Base):
    """A reminder an organisation sent one of its mediators from the dashboard (rate limit)."""

    __tablename__ = "organisation_reminders"
    __table_args__ = (
        Index("ix_organisation_reminders_recent", "mediator_id", "sent_at"),
        # The limits hold even for two requests at once: one reminder of a mediator a day,
        # and each of the organisation's reminders of a day has its own place in the count.
        UniqueConstraint(
            "organisation_id", "mediator_id", "sent_on", name="uq_organisation_reminders_one_a_day"
        ),
        UniqueConstraint(
            "organisation_id",
            "sent_on",
            "day_number",
            name="uq_organisation_reminders_numbered_per_day",
        ),
        CheckConstraint("day_number >= 1", name="day_number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    mediator_id: Mapped[int] = mapped_column(ForeignKey("mediators.id", ondelete="CASCADE"))
    sent_at: Mapped[datetime]
    # The registry's calendar day of ``sent_at``.
    sent_on: Mapped[date]
    # The organisation's n-th reminder that day (1-based); the service refuses one beyond the
    # daily limit, and the unique constraint refuses two that counted the same.
    day_number: Mapped[int]
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
