"""The public search index: one row per mediator whose certification is listed.

A listing is derived from the register (profile, latest certification, settled invoices) by
``registry.search.services.refresh_listings`` and can always be rebuilt from it. It stores the
interval of days on which the mediator is certified given the facts recorded so far: facts
cannot be dated in the future, so the row stays true as days pass and a search for today
filters on ``listed_until >= today``. Only a new fact (a payment, a suspension, an edit) changes
the interval, and every such change refreshes the row in the same transaction.

The name index is FTS5 on SQLite (``listings_fts``, kept in step by triggers) and a GIN
``tsvector`` index on PostgreSQL, both over the accent-folded ``search_name``.
"""

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.database import Base


def facet_word(kind: str, code: str) -> str:
    """Return the facet word of a filter value: "c" + "de" for country DE, and so on."""
    return kind + "".join(char for char in code.lower() if char.isalnum())


def facet_words(
    country: str | None,
    certification_types: list[str],
    languages: list[str],
    specialisations: list[str],
) -> str:
    """Return a listing's ``facets``: its filter values as words between spaces."""
    words = [facet_word("t", certification_type) for certification_type in certification_types]
    if country:
        words.append(facet_word("c", country))
    words += [facet_word("l", code) for code in languages]
    words += [facet_word("s", code) for code in specialisations]
    return f" {' '.join(words)} "


class Listing(Base):
    """One listed person, whichever of their certifications (mediator, advocate) are listed."""

    __tablename__ = "listings"
    __table_args__ = (
        # A-Z order is by the folded name, so case and accents do not scatter it. Each index
        # ends with listed_until, so a count by country reads the index alone and a page in
        # name order checks "listed today" without visiting the table.
        Index("ix_listings_order", "search_name", "public_id", "listed_until"),
        Index("ix_listings_country", "country", "search_name", "public_id", "listed_until"),
        Index("ix_listings_listed_until", "listed_until"),
        Index("ix_listings_certified_since", "certified_since"),
    )

    mediator_id: Mapped[int] = mapped_column(
        ForeignKey("mediators.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    certification_id: Mapped[int] = mapped_column(
        ForeignKey("certifications.id", ondelete="CASCADE"), unique=True
    )
    public_id: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    search_name: Mapped[str] = mapped_column(String(400))
    # The filters as words, " cde len sintercultural tmediator tadvocate " (``facet_words``):
    # FTS5 counts a filter's matches from its index, and a scan in name order tests them with
    # LIKE.
    facets: Mapped[str] = mapped_column(String(400), default="")
    country: Mapped[str | None] = mapped_column(String(2))
    # The first listed certification in type order (mediator, then advocate) …
    certification_type: Mapped[str] = mapped_column(String(10))
    certificate_number: Mapped[str] = mapped_column(String(32))
    # … and every listed one: [{"type": "mediator", "certificate_number": "MR-2024-000012"}].
    certifications: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # First day of the current unbroken certified stretch ("certified since").
    certified_since: Mapped[date]
    # Last day covered by settled listing contributions: listed through this day.
    listed_until: Mapped[date]
    refreshed_at: Mapped[datetime]
