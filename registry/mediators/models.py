"""Mediator and advocate profiles, their certifications and the records behind them.

A certification's status on any date is not stored: ``registry.mediators.status`` computes it
from the grant, the conduct outcomes and the listing contributions. The only copy is
``Certification.recorded_status``, the daily job's memory of what it last logged, so that each
transition is written to the event log once.
"""

import secrets
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from registry.accounts.models import User
from registry.database import Base, sql_values
from registry.mediators.names import search_form
from registry.organisations.models import Program


class Status(StrEnum):
    """The lifecycle statuses of the product brief (public names)."""

    APPLICANT = "applicant"
    CERTIFIED = "certified"
    LAPSED = "lapsed"
    STRUCK = "struck"
    SUSPENDED = "suspended"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    Status.APPLICANT: "Applicant",
    Status.CERTIFIED: "Certified",
    Status.LAPSED: "Lapsed (grace period)",
    Status.STRUCK: "Struck off",
    Status.SUSPENDED: "Suspended",
    Status.REVOKED: "Revoked",
}


class CertificationType(StrEnum):
    MEDIATOR = "mediator"
    ADVOCATE = "advocate"

    @property
    def label(self) -> str:
        return (
            "Certified Mediator"
            if self is CertificationType.MEDIATOR
            else ("Certified Mediation Advocate")
        )


def new_public_id() -> str:
    """Return a fresh public id: "M" and ten characters that are easy to read aloud."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "M" + "".join(secrets.choice(alphabet) for _ in range(10))


class Specialisation(Base):
    __tablename__ = "specialisations"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class MediatorSpecialisation(Base):
    __tablename__ = "mediator_specialisations"
    # Search filters start from the code.
    __table_args__ = (Index("ix_mediator_specialisations_code", "code", "mediator_id"),)

    mediator_id: Mapped[int] = mapped_column(
        ForeignKey("mediators.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(ForeignKey("specialisations.code"), primary_key=True)


class MediatorLanguage(Base):
    __tablename__ = "mediator_languages"
    __table_args__ = (Index("ix_mediator_languages_code", "code", "mediator_id"),)

    mediator_id: Mapped[int] = mapped_column(
        ForeignKey("mediators.id", ondelete="CASCADE"), primary_key=True
    )
    # ISO 639-1, lower case.
    code: Mapped[str] = mapped_column(String(2), primary_key=True)


class Mediator(Base):
    """A mediator's or mediation advocate's profile: what the public sees once certified."""

    __tablename__ = "mediators"
    __table_args__ = (
        CheckConstraint("length(country) = 2", name="country_code"),
        Index("ix_mediators_search_name", "search_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable, unguessable id of the public profile link; never changes.
    public_id: Mapped[str] = mapped_column(String(16), unique=True, default=new_public_id)
    # The mediator's own account, if they have one (imported mediators claim theirs by reset).
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True
    )
    name: Mapped[str] = mapped_column(String(200))
    # The accent-folded form of ``name`` that search matches; set whenever the name is.
    search_name: Mapped[str] = mapped_column(String(400))
    # Private: where the registry sends reminders. Never shown publicly.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    # ISO 3166-1 alpha-2; empty until the mediator fills it in.
    country: Mapped[str | None] = mapped_column(String(2), index=True)
    biography: Mapped[str] = mapped_column(Text, default="")
    # Contact details the mediator chose to publish (website, phone, office address).
    contact: Mapped[str] = mapped_column(String(500), default="")
    practice_areas: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    user: Mapped[User | None] = relationship()
    language_rows: Mapped[list[MediatorLanguage]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=MediatorLanguage.code
    )
    specialisations: Mapped[list[Specialisation]] = relationship(
        secondary="mediator_specialisations", lazy="selectin", order_by=Specialisation.name
    )
    certifications: Mapped[list["Certification"]] = relationship(
        back_populates="mediator",
        order_by="(Certification.granted_on, Certification.id)",
        lazy="selectin",
    )
    qualifications: Mapped[list["Qualification"]] = relationship(back_populates="mediator")
    assessments: Mapped[list["Assessment"]] = relationship(back_populates="mediator")
    program_links: Mapped[list["ProgramLink"]] = relationship(
        back_populates="mediator", cascade="all, delete-orphan"
    )

    @validates("name")
    def _keep_search_name(self, _key: str, name: str) -> str:
        self.search_name = search_form(name)
        return name

    @property
    def languages(self) -> list[str]:
        return [row.code for row in self.language_rows]

    @languages.setter
    def languages(self, codes: list[str]) -> None:
        current = {row.code: row for row in self.language_rows}
        self.language_rows = [current.get(code) or MediatorLanguage(code=code) for code in codes]

    @property
    def current_certification(self) -> "Certification | None":
        """The latest grant, whatever its status; None for an applicant."""
        return self.certifications[-1] if self.certifications else None


class Certification(Base):
    """One grant of certification. A new grant after striking or revocation is a new row."""

    __tablename__ = "certifications"
    __table_args__ = (
        CheckConstraint(
            f"certification_type IN ({sql_values(CertificationType)})", name="known_type"
        ),
        CheckConstraint(f"recorded_status IN ({sql_values(Status)})", name="known_status"),
        CheckConstraint(
            "(suspended_on IS NULL) = (suspension_reason IS NULL)", name="suspension_has_reason"
        ),
        CheckConstraint(
            "(revoked_on IS NULL) = (revocation_reason IS NULL)", name="revocation_has_reason"
        ),
        CheckConstraint(
            "suspended_on IS NULL OR suspended_on >= granted_on", name="suspended_late"
        ),
        CheckConstraint("revoked_on IS NULL OR revoked_on >= granted_on", name="revoked_late"),
        CheckConstraint(
            "suspension_lifted_on IS NULL OR "
            "(suspended_on IS NOT NULL AND suspension_lifted_on >= suspended_on)",
            name="lifted_after_suspended",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mediator_id: Mapped[int] = mapped_column(ForeignKey("mediators.id"), index=True)
    # Unique for ever: a number is never given to another grant, even after striking.
    certificate_number: Mapped[str] = mapped_column(String(32), unique=True)
    certification_type: Mapped[str] = mapped_column(String(10))
    granted_on: Mapped[date]
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    suspended_on: Mapped[date | None]
    suspension_reason: Mapped[str | None] = mapped_column(Text)
    suspension_lifted_on: Mapped[date | None]
    revoked_on: Mapped[date | None]
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    # The status last written to the event log, and since when (see the module docstring).
    recorded_status: Mapped[str] = mapped_column(String(10), index=True)
    recorded_since: Mapped[date]

    mediator: Mapped[Mediator] = relationship(back_populates="certifications")
    granted_by: Mapped[User | None] = relationship()

    @property
    def type_label(self) -> str:
        return CertificationType(self.certification_type).label


class Qualification(Base):
    """Completion of a recognised training program ("Qualified"; the Verify Training list)."""

    __tablename__ = "qualifications"
    __table_args__ = (UniqueConstraint("mediator_id", "program_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mediator_id: Mapped[int] = mapped_column(ForeignKey("mediators.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    completed_on: Mapped[date]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]

    mediator: Mapped[Mediator] = relationship(back_populates="qualifications")
    program: Mapped[Program] = relationship(lazy="joined")


class Assessment(Base):
    """A successful competency assessment by a recognised assessment program (a QAP)."""

    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("mediator_id", "program_id", "assessed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mediator_id: Mapped[int] = mapped_column(ForeignKey("mediators.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    assessed_on: Mapped[date]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]

    mediator: Mapped[Mediator] = relationship(back_populates="assessments")
    program: Mapped[Program] = relationship(lazy="joined")


class ProgramLink(Base):
    """A program that trained or assessed the mediator; its organisation's dashboard lists them.

    Recording a qualification or an assessment links the program; staff link others (a
    mediator still in training or being assessed).
    """

    __tablename__ = "program_mediators"
    __table_args__ = (Index("ix_program_mediators_mediator", "mediator_id"),)

    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True
    )
    mediator_id: Mapped[int] = mapped_column(
        ForeignKey("mediators.id", ondelete="CASCADE"), primary_key=True
    )
    linked_on: Mapped[date]
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    mediator: Mapped[Mediator] = relationship(back_populates="program_links")
    program: Mapped[Program] = relationship(lazy="joined")


class ReminderKind(StrEnum):
    PERIOD_ENDING = "period_ending"
    LAPSED = "lapsed"
    STRIKE_WARNING = "strike_warning"


class LifecycleReminder(Base):
    """A reminder e-mail sent about one coverage end; the key makes each go out once."""

    __tablename__ = "lifecycle_reminders"
    __table_args__ = (CheckConstraint(f"kind IN ({sql_values(ReminderKind)})", name="known_kind"),)

    certification_id: Mapped[int] = mapped_column(ForeignKey("certifications.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    # Which coverage the reminder is about: the last covered day. A payment moves it, so the
    # next period gets its reminders again.
    coverage_key: Mapped[date] = mapped_column(primary_key=True)
    sent_on: Mapped[date]
