"""Organisations (training and assessment providers) and their recognised programs."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.database import Base, sql_values


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
        return PROGRAM_LABELS[self]


PROGRAM_LABELS = {
    ProgramType.CMTP: "Competent Mediator Training Program",
    ProgramType.QAP: "Qualifying Assessment Program",
    ProgramType.MAQAP: "Mediation Advocacy QAP",
    ProgramType.ICQAP: "Intercultural QAP",
    ProgramType.ODRQAP: "Online Dispute Resolution QAP",
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
    created_at: Mapped[datetime]

    programs: Mapped[list["Program"]] = relationship(
        back_populates="organisation", order_by="Program.program_type"
    )


class Program(Base):
    __tablename__ = "programs"
    __table_args__ = (
        CheckConstraint(f"program_type IN ({sql_values(ProgramType)})", name="known_program_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    program_type: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    recognised_on: Mapped[date]

    organisation: Mapped[Organisation] = relationship(back_populates="programs", lazy="joined")

    @property
    def title(self) -> str:
        return f"{self.organisation.name}: {self.name} ({self.program_type})"
