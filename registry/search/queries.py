"""Find a Mediator: the query behind the search page and ``GET /api/v1/mediators``.

Names are matched word by word on their accent-folded form (``mediators.names``): every word
of the query must start a word of the name, in any order. SQLite answers through the FTS5
table ``listings_fts``, PostgreSQL through the GIN ``tsvector`` index; both index the same
folded words with the same prefix semantics, so they return the same mediators. Only listings
current today appear (``Listing.listed_until >= today``).
"""

import time
from collections import defaultdict
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, Select, column, exists, func, select, table, text
from sqlalchemy.orm import Session, aliased

from registry.mediators.models import (
    CertificationType,
    Mediator,
    MediatorLanguage,
    Qualification,
    Specialisation,
    SpecialisationGrant,
)
from registry.mediators.names import fold_text
from registry.mediators.queries import name_has_word_prefix
from registry.mediators.specialisations import (
    EXPIRY_CATCH_UP_DAYS,
    PublicSpecialisation,
    live_specialisations,
)
from registry.pagination import Page, paginate
from registry.reference import COUNTRIES, LANGUAGES
from registry.search.models import Listing, facet_word

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

# The FTS5 index of listings (SQLite only; migration 0003).
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
        return bool(self.q or self.filters)

    @property
    def filters(self) -> list[tuple[str, str]]:
        """The filter values given, each with the kind of its facet word."""
        given = [
            ("c", self.country),
            ("l", self.language),
            ("s", self.specialisation),
            ("t", self.certification_type),
        ]
        return [(kind, code) for kind, code in given if code]


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


def _code(
    args: Mapping[str, str], name: str, known: Container[str], normal: Callable[[str], str]
) -> str | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    value = normal(value)
    if value not in known:
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
    if search.q and not search.words:
        # Only punctuation or symbols: nothing can match (and nothing reaches the index).
        return Page(items=[], total=0, number=search.page, size=search.per_page)
    if session.get_bind().dialect.name != "sqlite" or not search.is_filtered:
        query = listing_query(session, search, today)
        return paginate(session, query, search.page, search.per_page)
    return _search_with_fts5(session, search, today)


def listing_query(session: Session, search: MediatorSearch, today: date) -> Select:
    """Select the matching listings in the requested order, tested row by row.

    PostgreSQL matches names through its tsvector index; SQLite through LIKE on the folded
    words (``_search_with_fts5`` decides when that beats asking FTS5).
    """
    query = select(Listing).where(
        Listing.listed_until >= today, *_matches(session, search), *_granted(search, today)
    )
    return query.order_by(*_ORDER[search.sort])


def _granted(search: MediatorSearch, today: date) -> list[ColumnElement[bool]]:
    """The specialisation filter's grant, live today.

    A listing's facets hold the grants live when it was written; one that expired since
    (time alone, until the daily job refreshes the row) must not be found by the filter.
    """
    if not search.specialisation:
        return []
    grant = aliased(SpecialisationGrant)
    live = exists().where(
        grant.mediator_id == Listing.mediator_id,
        grant.code == search.specialisation,
        grant.live_on(today),
    )
    return [live]


def _expired_since_written(session: Session, search: MediatorSearch, today: date) -> int:
    """Count the listings matching ``search`` whose filtered grant expired since written."""
    if not search.specialisation:
        return 0
    expired = (
        select(func.count(func.distinct(Listing.mediator_id)))
        .join(SpecialisationGrant, SpecialisationGrant.mediator_id == Listing.mediator_id)
        .where(
            SpecialisationGrant.code == search.specialisation,
            SpecialisationGrant.valid_until < today,
            SpecialisationGrant.valid_until >= today - timedelta(days=EXPIRY_CATCH_UP_DAYS),
            Listing.listed_until >= today,
            *_matches(session, search, by_country_index=False),
            ~_granted(search, today)[0],
        )
    )
    return session.scalar(expired) or 0


def _matches(
    session: Session, search: MediatorSearch, *, by_country_index: bool = True
) -> list[ColumnElement[bool]]:
    """The search as conditions on a listing row, the date aside.

    ``by_country_index=False`` writes the country test so that SQLite cannot answer it from
    ``ix_listings_country`` and reads the few ended listings through their date instead.
    """
    conditions = []
    if search.words and session.get_bind().dialect.name == "postgresql":
        # Same expression as the index (migration 0003), so the planner can use it.
        tsquery = " & ".join(f"{word}:*" for word in search.words)
        conditions.append(
            text(
                "to_tsvector('simple', listings.search_name) @@ to_tsquery('simple', :m)"
            ).bindparams(m=tsquery)
        )
    else:
        conditions += [name_has_word_prefix(Listing.search_name, word) for word in search.words]
    if search.country:
        country = Listing.country if by_country_index else Listing.country.concat("")
        conditions.append(country == search.country)
    conditions += [
        Listing.facets.contains(f" {facet_word(kind, code)} ")
        for kind, code in search.filters
        if kind != "c"  # the country has a column of its own (a dual holder has two types)
    ]
    return conditions


_ORDER = {
    "name": (Listing.search_name, Listing.public_id),
    "country": (Listing.country, Listing.search_name, Listing.public_id),
    "recent": (Listing.certified_since.desc(), Listing.public_id),
}
# Up to this many matches, SQLite fetches them through FTS5 and sorts them; beyond, a scan in
# the requested order that tests each row finds a page sooner: it reads about
# rows-in-range x (page x per_page) / matches rows, against about `matches` the other way.
# Within one country the range is that country's listings, counted by FTS5 in a millisecond.
NARROW = 5_000


def _fts_count(session: Session, terms: list[str]) -> int:
    """Count the listings FTS5 matches for all of ``terms`` (whatever their dates)."""
    match = text("listings_fts MATCH :match").bindparams(match=" AND ".join(terms))
    return session.scalar(select(func.count()).select_from(_fts).where(match)) or 0


def _narrow(search: MediatorSearch, in_country: int | None) -> float:
    """Return up to how many matches fetching them through FTS5 beats the ordered scan."""
    if in_country is None:
        return NARROW
    return min(NARROW, (in_country * search.page * search.per_page) ** 0.5)


def _search_with_fts5(session: Session, search: MediatorSearch, today: date) -> Page[Listing]:
    """Count through FTS5 alone, then fetch the page the cheaper of two ways.

    FTS5 counts a million matches in milliseconds but knows nothing of dates, so the listings
    that ended and are not pruned yet (a day's worth at most) are counted and taken off.
    """
    facets = [f'facets : "{facet_word(kind, code)}"' for kind, code in search.filters]
    terms = [f'search_name : "{word}"*' for word in search.words] + facets
    indexed = _fts_count(session, terms)
    ended = select(func.count()).select_from(Listing).where(Listing.listed_until < today)
    ended = ended.where(*_matches(session, search, by_country_index=False))
    total = indexed - (session.scalar(ended) or 0) - _expired_since_written(session, search, today)
    in_country = None
    if search.country:
        country = f'facets : "{facet_word("c", search.country)}"'
        in_country = indexed if terms == [country] else _fts_count(session, [country])
    if total <= _narrow(search, in_country):
        match = text("listings_fts MATCH :match").bindparams(match=" AND ".join(terms))
        query = (
            select(Listing)
            .where(Listing.listed_until >= today, *_granted(search, today))
            .where(Listing.mediator_id.in_(select(_fts.c.rowid).where(match)))
            .order_by(*_ORDER[search.sort])
        )
    else:
        query = listing_query(session, search, today)
    window = query.offset((search.page - 1) * search.per_page).limit(search.per_page)
    return Page(list(session.scalars(window)), total, search.page, search.per_page)


@dataclass(frozen=True)
class ListingDetails:
    languages: list[str]
    # The live granted specialisations, in the order of their names.
    specialisations: list[PublicSpecialisation]


def listing_details(
    session: Session, listings: list[Listing], today: date
) -> dict[int, ListingDetails]:
    """Return the language codes and public specialisations of ``listings``, in two queries."""
    ids = [listing.mediator_id for listing in listings]
    languages: dict[int, list[str]] = defaultdict(list)
    for mediator_id, code in session.execute(
        select(MediatorLanguage.mediator_id, MediatorLanguage.code)
        .where(MediatorLanguage.mediator_id.in_(ids))
        .order_by(MediatorLanguage.code)
    ):
        languages[mediator_id].append(code)
    # Listed means certified, so every live grant is public.
    specialisations = live_specialisations(session, ids, today)
    return {i: ListingDetails(languages[i], specialisations[i]) for i in ids}


@dataclass(frozen=True)
class FilterCounts:
    """How many mediators listed today each country and language filter would find."""

    countries: dict[str, int]
    languages: dict[str, int]


_COUNTS_CACHE: dict[tuple[str, date], tuple[float, FilterCounts]] = {}


def filter_counts(session: Session, today: date, cache_seconds: int) -> FilterCounts:
    """Return the listed mediators per country and per language (kept ``cache_seconds``).

    The filters offer only values that find someone; exact counts of a large register cost a
    scan, so a process keeps them a few minutes (a new listing shows its country a little later).
    """
    key = (str(session.get_bind().engine.url), today)
    cached = _COUNTS_CACHE.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    listed = Listing.listed_until >= today
    countries = session.execute(
        select(Listing.country, func.count())
        .where(listed, Listing.country.is_not(None))
        .group_by(Listing.country)
    ).all()
    languages = session.execute(
        select(MediatorLanguage.code, func.count())
        .join(Listing, Listing.mediator_id == MediatorLanguage.mediator_id)
        .where(listed)
        .group_by(MediatorLanguage.code)
    ).all()
    counts = FilterCounts(dict(countries), dict(languages))  # type: ignore[arg-type]
    if cache_seconds > 0:
        _COUNTS_CACHE.clear()  # one entry: today's, for this database
        _COUNTS_CACHE[key] = (time.monotonic() + cache_seconds, counts)
    return counts


def shared_names(listings: list[Listing]) -> set[str]:
    """Return the folded names that two or more of ``listings`` share (namesakes on a page)."""
    seen: dict[str, int] = defaultdict(int)
    for listing in listings:
        seen[listing.search_name] += 1
    return {name for name, times in seen.items() if times > 1}


def has_listed_namesake(session: Session, mediator: Mediator, today: date) -> bool:
    """Return whether another person listed today has ``mediator``'s folded name."""
    namesake = (
        select(Listing.mediator_id)
        .where(
            Listing.search_name == mediator.search_name,
            Listing.mediator_id != mediator.id,
            Listing.listed_until >= today,
        )
        .limit(1)
    )
    return session.scalar(namesake) is not None


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
