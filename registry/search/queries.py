"""Find a Mediator: the query behind the search page and ``GET /api/v1/mediators``.

Names are matched word by word on their accent-folded form (``mediators.names``): every word
of the query must start a word of the name, in any order. SQLite answers through the FTS5
table ``listings_fts``, PostgreSQL through the GIN ``tsvector`` index; both index the same
folded words with the same prefix semantics, so they return the same mediators. Only listings
current today appear (``Listing.listed_until >= today``).
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import ColumnElement, Select, column, exists, select, table, text
from sqlalchemy.orm import Session

from registry.mediators.models import (
    CertificationType,
    Mediator,
    MediatorLanguage,
    MediatorSpecialisation,
    Qualification,
    Specialisation,
)
from registry.mediators.names import fold_text
from registry.mediators.queries import name_has_word_prefix
from registry.pagination import Page, paginate
from registry.reference import COUNTRIES, LANGUAGES
from registry.search.models import Listing

MAX_QUERY_LENGTH = 100
MAX_WORDS = 8
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
# Deep pages cost a scan of everything before them; nobody reads past the first ten
# thousand results of a registry search, they narrow it.
MAX_RESULTS_REACHABLE = 10_000
SORTS = {
    "name": "Name (A-Z)",
    "country": "Country, then name",
    "recent": "Most recently certified",
}
# Parameters of the public JSON API (the contract); the page adds type and sort.
API_PARAMETERS = frozenset({"q", "country", "language", "specialisation", "page", "per_page"})
PAGE_PARAMETERS = API_PARAMETERS | {"type", "sort"}

_fts = table("listings_fts", column("rowid"))


class SearchError(ValueError):
    """A search parameter that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class MediatorSearch:
    q: str = ""
    country: str | None = None
    language: str | None = None
    specialisation: str | None = None
    certification_type: str | None = None
    sort: str = "name"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @property
    def words(self) -> list[str]:
        return fold_text(self.q).split()

    @property
    def is_filtered(self) -> bool:
        return bool(self.q or self.country or self.language or self.specialisation) or bool(
            self.certification_type
        )

    def with_page(self, page: int) -> "MediatorSearch":
        return replace(self, page=page)


def parse_search(
    args: Mapping[str, str],
    specialisations: frozenset[str],
    allowed: frozenset[str] = PAGE_PARAMETERS,
) -> MediatorSearch:
    """Read and check search parameters; raise ``SearchError`` naming the first bad one."""
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise SearchError(f"unknown parameter: {unknown[0]}")
    q = " ".join((args.get("q") or "").split())
    if len(q) > MAX_QUERY_LENGTH:
        raise SearchError(f"q is longer than {MAX_QUERY_LENGTH} characters")
    if len(fold_text(q).split()) > MAX_WORDS:
        raise SearchError(f"q has more than {MAX_WORDS} words")
    search = MediatorSearch(
        q=q,
        country=_code(args, "country", COUNTRIES, str.upper),
        language=_code(args, "language", LANGUAGES, str.lower),
        specialisation=_code(args, "specialisation", specialisations, str.lower),
        certification_type=_code(args, "type", {t.value for t in CertificationType}, str.lower),
        sort=_code(args, "sort", SORTS, str.lower) or "name",
        page=_number(args, "page", 1, None),
        per_page=_number(args, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE),
    )
    if (search.page - 1) * search.per_page >= MAX_RESULTS_REACHABLE:
        raise SearchError(
            f"page is past the first {MAX_RESULTS_REACHABLE:,} results; narrow the search"
        )
    return search


def _code(args: Mapping[str, str], name: str, known: object, normal: object) -> str | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    value = normal(value)  # type: ignore[operator]
    if value not in known:  # type: ignore[operator]
        raise SearchError(f"unknown {name}: {value[:40]}")
    return value


def _number(args: Mapping[str, str], name: str, default: int, maximum: int | None) -> int:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit():
        raise SearchError(f"{name} must be a whole number")
    digits = raw.lstrip("0") or "0"
    value = int(digits) if len(digits) <= 12 else 10**12  # beyond any maximum either way
    if value < 1:
        raise SearchError(f"{name} must be 1 or more")
    if maximum is not None and value > maximum:
        raise SearchError(f"{name} must be at most {maximum}")
    return value


def parse_page(args: Mapping[str, str]) -> int:
    """Read the ``page`` parameter of a simple list; raise ``SearchError`` when it is bad."""
    page = _number(args, "page", 1, None)
    if (page - 1) * DEFAULT_PER_PAGE >= MAX_RESULTS_REACHABLE:
        raise SearchError(f"page is past the first {MAX_RESULTS_REACHABLE:,} results")
    return page


def search_listings(session: Session, search: MediatorSearch, today: date) -> Page[Listing]:
    """Return the requested page of mediators listed today that match ``search``."""
    return paginate(session, listing_query(session, search, today), search.page, search.per_page)


def listing_query(session: Session, search: MediatorSearch, today: date) -> Select:
    """Select the matching listings in the requested order (shared with the benchmark)."""
    query = select(Listing).where(Listing.listed_until >= today)
    if search.q:
        query = _match_names(session, query, search.words)
    if search.country:
        query = query.where(Listing.country == search.country)
    if search.certification_type:
        query = query.where(Listing.certification_type == search.certification_type)
    if search.language:
        query = query.where(_has(MediatorLanguage, search.language))
    if search.specialisation:
        query = query.where(_has(MediatorSpecialisation, search.specialisation))
    return query.order_by(*_ORDER[search.sort])


_ORDER = {
    "name": (Listing.search_name, Listing.public_id),
    "country": (Listing.country, Listing.search_name, Listing.public_id),
    "recent": (Listing.certified_since.desc(), Listing.public_id),
}


def _match_names(session: Session, query: Select, words: list[str]) -> Select:
    if not words:
        # Only punctuation or symbols: nothing can match (and nothing reaches the index).
        return query.where(Listing.mediator_id.is_(None))
    if session.get_bind().dialect.name == "postgresql":
        # Same expression as the index (migration 0003), so the planner can use it.
        return query.where(
            text("to_tsvector('simple', listings.search_name) @@ to_tsquery('simple', :match)")
        ).params(match=" & ".join(f"{word}:*" for word in words))
    match = " AND ".join(f'"{word}"*' for word in words)
    return (
        query.join(_fts, _fts.c.rowid == Listing.mediator_id)
        .where(text("listings_fts MATCH :match"))
        .params(match=match)
    )


def _has(association: type[MediatorLanguage | MediatorSpecialisation], code: str) -> ColumnElement:
    return exists().where(association.mediator_id == Listing.mediator_id, association.code == code)


@dataclass(frozen=True)
class ListingDetails:
    languages: list[str]
    # Specialisation codes, in the order of their names.
    specialisations: list[str]


def listing_details(session: Session, listings: list[Listing]) -> dict[int, ListingDetails]:
    """Return the language and specialisation codes of ``listings``, in two queries."""
    ids = [listing.mediator_id for listing in listings]
    languages: dict[int, list[str]] = defaultdict(list)
    specialisations: dict[int, list[str]] = defaultdict(list)
    for mediator_id, code in session.execute(
        select(MediatorLanguage.mediator_id, MediatorLanguage.code)
        .where(MediatorLanguage.mediator_id.in_(ids))
        .order_by(MediatorLanguage.code)
    ):
        languages[mediator_id].append(code)
    for mediator_id, code in session.execute(
        select(MediatorSpecialisation.mediator_id, MediatorSpecialisation.code)
        .join(Specialisation)
        .where(MediatorSpecialisation.mediator_id.in_(ids))
        .order_by(Specialisation.name)
    ):
        specialisations[mediator_id].append(code)
    return {i: ListingDetails(languages[i], specialisations[i]) for i in ids}


def qualified_mediators(session: Session, q: str, page: int) -> Page:
    """Return a page of (mediator, qualification) rows for the Verify Training list."""
    query = (
        select(Mediator, Qualification)
        .join(Qualification, Qualification.mediator_id == Mediator.id)
        .order_by(Mediator.search_name, Mediator.id, Qualification.completed_on)
    )
    words = fold_text(q).split()[:MAX_WORDS]
    if q and not words:
        query = query.where(Mediator.id.is_(None))
    for word in words:
        query = query.where(name_has_word_prefix(Mediator.search_name, word))
    return paginate(session, query, page, DEFAULT_PER_PAGE, rows=True)


def specialisation_names(session: Session) -> dict[str, str]:
    """Return every specialisation's name by code, in the order of the names."""
    return dict(
        session.execute(
            select(Specialisation.code, Specialisation.name).order_by(Specialisation.name)
        ).all()
    )
