"""Mediator and advocate profiles, their certifications and the records behind them.

A certification's status on any date is not stored: ``registry.mediators.status`` computes it
from the grant, the conduct outcomes and the listing contributions. The only copy is
``Certification.recorded_status``, the daily job's memory of what it last logged, so that each
transition is written to the event log once. What the settled invoices cover is summed up on
the certification by the database itself (``settled_through`` and its neighbours), in the same
statement as any change to an invoice, so that a status needs no invoice read.
"""

import secrets
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
    and_,
    or_,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from registry.accounts.models import User
from registry.database import Base, sql_values
from registry.i18n import _l
from registry.mediators.names import search_form
from registry.organisations.models import Program, ProgramType


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
        return str(STATUS_LABELS[self])

    @property
    def word(self) -> str:
        """The status as a word inside a sentence ("the certification is struck")."""
        return str(STATUS_WORDS[self])


STATUS_LABELS = {
    Status.APPLICANT: _l("Applicant"),
    Status.CERTIFIED: _l("Certified"),
    Status.LAPSED: _l("Lapsed (grace period)"),
    Status.STRUCK: _l("Struck off"),
    Status.SUSPENDED: _l("Suspended"),
    Status.REVOKED: _l("Revoked"),
}

STATUS_WORDS = {
    Status.APPLICANT: _l("applicant"),
    Status.CERTIFIED: _l("certified"),
    Status.LAPSED: _l("lapsed"),
    Status.STRUCK: _l("struck"),
    Status.SUSPENDED: _l("suspended"),
    Status.REVOKED: _l("revoked"),
}


class CertificationType(StrEnum):
    MEDIATOR = "mediator"
    ADVOCATE = "advocate"

    @property
    def label(self) -> str:
        return str(CERTIFICATION_TYPE_LABELS[self.value])


CERTIFICATION_TYPE_LABELS = {
    CertificationType.MEDIATOR.value: _l("Certified Mediator"),
    CertificationType.ADVOCATE.value: _l("Certified Mediation Advocate"),
}


def new_public_id() -> str:
    """Return a fresh public id: "M" and ten characters that are easy to read aloud."""
    # 32 characters: each random byte picks one with its low five bits, all equally likely.
    return "M" + "".join(_PUBLIC_ID_ALPHABET[byte & 31] for byte in secrets.token_bytes(10))


_PUBLIC_ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


class Specialisation(Base):
    __tablename__ = "specialisations"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class SpecialisationBasis(Base):
    """Reference data: a recognised program of ``program_type`` is a basis for ``code``.

    E.g. an ICQAP for Intercultural, an ODRQAP for Online Dispute Resolution. The
    administrator edits the pairs; a specialisation with none is granted only directly.
    """

    __tablename__ = "specialisation_bases"
    __table_args__ = (
        CheckConstraint(f"program_type IN ({sql_values(ProgramType)})", name="known_program_type"),
    )

    program_type: Mapped[str] = mapped_column(String(8), primary_key=True)
    code: Mapped[str] = mapped_column(
        ForeignKey("specialisations.code", ondelete="CASCADE"), primary_key=True
    )


class SpecialisationGrant(Base):
    """A specialisation the registry granted a mediator, on a recorded basis.

    Live from ``granted_on`` through ``valid_until`` (if set) and until ``withdrawn_on``
    (not live from that day). The public sees it only while it is live and its holder is
    certified (``registry.mediators.specialisations``).
    """

    __tablename__ = "specialisation_grants"
    __table_args__ = (
        CheckConstraint("program_id IS NOT NULL OR length(basis) > 0", name="has_basis"),
        CheckConstraint(
            "(withdrawn_on IS NULL) = (withdrawal_reason IS NULL)", name="withdrawal_has_reason"
        ),
        CheckConstraint(
            "withdrawn_on IS NULL OR withdrawn_on >= granted_on", name="withdrawn_after_grant"
        ),
        CheckConstraint("valid_until IS NULL OR valid_until >= granted_on", name="expiry_late"),
        Index("ix_specialisation_grants_code", "code", "mediator_id"),
        # The grants of one specialisation that expired lately (a search's filter takes them
        # off its count): a range within the code, not every grant of the code.
        Index("ix_specialisation_grants_code_expiry", "code", "valid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mediator_id: Mapped[int] = mapped_column(
        ForeignKey("mediators.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(ForeignKey("specialisations.code"))
    granted_on: Mapped[date]
    # The last day the grant holds; empty when it does not expire.
    valid_until: Mapped[date | None] = mapped_column(index=True)
    # The recognised program whose assessment is the basis (its organisation assessed them) …
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id"))
    # … and/or the written basis of a direct grant (a standard's criteria, an import).
    basis: Mapped[str] = mapped_column(Text, default="")
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime]
    withdrawn_on: Mapped[date | None]
    # Public: shown on the profile's history of the credential.
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    specialisation: Mapped[Specialisation] = relationship(lazy="joined")
    program: Mapped[Program | None] = relationship(lazy="joined")
    mediator: Mapped["Mediator"] = relationship(back_populates="specialisation_grants")

    @hybrid_method
    def live_on(self, day: date) -> bool:
        """Say whether the grant holds on ``day`` (in SQL too, on the class or an alias)."""
        return (
            self.granted_on <= day
            and (self.valid_until is None or self.valid_until >= day)
            and (self.withdrawn_on is None or self.withdrawn_on > day)
        )

    @live_on.inplace.expression
    @classmethod
    def _live_on_expression(cls, day: date) -> ColumnElement[bool]:
        return and_(
            cls.granted_on <= day,
            or_(cls.valid_until.is_(None), cls.valid_until >= day),
            or_(cls.withdrawn_on.is_(None), cls.withdrawn_on > day),
        )


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
    specialisation_grants: Mapped[list[SpecialisationGrant]] = relationship(
        back_populates="mediator",
        cascade="all, delete-orphan",
        order_by=(SpecialisationGrant.granted_on, SpecialisationGrant.id),
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
    name_changes: Mapped[list["NameChange"]] = relationship(
        back_populates="mediator",
        cascade="all, delete-orphan",
        order_by="(NameChange.requested_at, NameChange.id)",
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
        """The latest grant, whatever its status or type; None for an applicant."""
        return self.certifications[-1] if self.certifications else None

    def latest_certifications(self, on: date | None = None) -> "list[Certification]":
        """Return the latest grant of each type by ``on`` (all dates if None), in type order."""
        latest: dict[str, Certification] = {}
        for certification in self.certifications:  # in grant order
            if on is None or certification.granted_on <= on:
                latest[certification.certification_type] = certification
        return [latest[t.value] for t in CertificationType if t.value in latest]

    @property
    def pending_name_change(self) -> "NameChange | None":
        """The name change awaiting the registry's decision, if any."""
        return next((c for c in self.name_changes if c.status == NameChangeStatus.REQUESTED), None)

    @property
    def former_names(self) -> list[str]:
        """Earlier names the registry approved a change from, oldest first (public)."""
        names = [c.old_name for c in self.name_changes if c.status == NameChangeStatus.APPROVED]
        return [n for n in dict.fromkeys(names) if n != self.name]


class NameChangeStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REFUSED = "refused"


OPEN_NAME_CHANGE = "status = 'requested'"


class NameChange(Base):
    """A change of a mediator's name: asked for by a certified mediator, decided by staff.

    Staff who set a name themselves record an approved change, so the approved rows are the
    whole history of the names the registry vouched for ("formerly ..." on Verify).
    """

    __tablename__ = "name_changes"
    __table_args__ = (
        CheckConstraint(f"status IN ({sql_values(NameChangeStatus)})", name="known_status"),
        CheckConstraint(
            "(status = 'requested') = (decided_at IS NULL)", name="decided_unless_requested"
        ),
        CheckConstraint("status != 'refused' OR length(reason) > 0", name="refusal_has_reason"),
        Index(
            "uq_name_changes_one_open",
            "mediator_id",
            unique=True,
            sqlite_where=text(OPEN_NAME_CHANGE),
            postgresql_where=text(OPEN_NAME_CHANGE),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mediator_id: Mapped[int] = mapped_column(
        ForeignKey("mediators.id", ondelete="CASCADE"), index=True
    )
    old_name: Mapped[str] = mapped_column(String(200))
    requested_name: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime]
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(10))
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Why staff refused (required then, and told to the mediator) or a note on an approval.
    reason: Mapped[str] = mapped_column(Text, default="")

    mediator: Mapped[Mediator] = relationship(back_populates="name_changes")


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
        # A mediator's latest grant as of a day, found without sorting (the dashboard's lists).
        Index("ix_certifications_latest", "mediator_id", "granted_on", "id"),
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
    # One listing contribution per person covers all their certifications: a grant made while
    # the person held another live one is covered by that one's invoices (its "payer").
    covered_by_id: Mapped[int | None] = mapped_column(ForeignKey("certifications.id"))
    # The status last written to the event log, and since when (see the module docstring).
    recorded_status: Mapped[str] = mapped_column(String(10), index=True)
    recorded_since: Mapped[date]
    # Over this certification's own settled invoices, kept by the database's triggers on
    # ``invoices`` (migration 0020), never written here: the latest period end, the latest
    # settlement and the latest late settlement. ``status_rows`` reads them in SQL.
    settled_through: Mapped[date | None]
    last_settled_on: Mapped[date | None]
    last_restored_on: Mapped[date | None]

    mediator: Mapped[Mediator] = relationship(back_populates="certifications")
    granted_by: Mapped[User | None] = relationship()
    covered_by: Mapped["Certification | None"] = relationship(remote_side=[id])

    @property
    def payer_id(self) -> int:
        """The certification whose invoices cover this one (itself unless covered)."""
        return self.covered_by_id or self.id

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
