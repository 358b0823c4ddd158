"""Bitstring Status Lists: where each certification's credentials read their status.

Every certification gets one index in one list (its ``StatusEntry``), drawn at random among the
free indexes so that a list does not reveal who was certified when. The same index is used in
the list's two bitstrings: ``revocation`` (struck or revoked; final) and ``suspension`` (lapsed,
suspended or not yet in effect; cleared on renewal or lifting). The bits follow
``Certification.recorded_status`` in the same transaction (``registry.credentials.status``).
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.database import Base, sql_values

# Entries per list: W3C Bitstring Status List asks for at least 131,072 (16 KB), so that a
# list hides its members among many possible indexes.
LIST_SIZE = 131_072


class StatusPurpose(StrEnum):
    REVOCATION = "revocation"
    SUSPENSION = "suspension"


class StatusList(Base):
    """One purpose's bitstring of one list; bit i is the most significant first."""

    __tablename__ = "status_lists"
    __table_args__ = (
        CheckConstraint(f"purpose IN ({sql_values(StatusPurpose)})", name="known_purpose"),
    )

    list_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    purpose: Mapped[str] = mapped_column(String(10), primary_key=True)
    bits: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime]


class StatusEntry(Base):
    """The index of a certification in a status list."""

    __tablename__ = "status_entries"
    __table_args__ = (
        UniqueConstraint("list_id", "status_index"),
        CheckConstraint(f"status_index >= 0 AND status_index < {LIST_SIZE}", name="in_list"),
    )

    certification_id: Mapped[int] = mapped_column(
        ForeignKey("certifications.id", ondelete="CASCADE"), primary_key=True
    )
    list_id: Mapped[int]
    status_index: Mapped[int]
