"""Find a Mediator: the query behind the search page and ``GET /api/v1/mediators``.

Names are matched word by word on their accent-folded form (``mediators.names``): every word
of the query must start a word of the name, in any order. SQLite answers through the FTS5
table ``listings_fts``, PostgreSQL through the GIN ``tsvector`` index; both index the same
folded words with the same prefix semantics, so they return the same mediators. Only listings
current today appear (``Listing.listed_until >= today``).
"""

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, column, exists, func, literal, select, table, text
from sqlalchemy.orm import Session, aliased

from registry.formatting import format_number
from registry.i18n import _l
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
# Deep pages cost a scan of everything before them, and exact counts of common filters a scan
# of every match; nobody reads past the first ten thousand results of a registry search,
# they narrow it. The default of the SEARCH_COUNT_CAP setting: counts stop there, and pages.
MAX_RESULTS_REACHABLE = 10_000
SORTS = {
    "name": _l("Name (A-Z)"),
    "country": _l("Country, then name"),
    "recent": _l("Most recently certified"),
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
    reachable: int = MAX_RESULTS_REACHABLE,
) -> MediatorSearch:
    """Read and check search parameters; raise ``SearchError`` naming the first bad one.

    Pages end with the first ``reachable`` results (the count cap, ``SEARCH_COUNT_CAP``).
    """
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise SearchError(_("unknown parameter: %(name)s", name=unknown[0]))
    q = " ".join((args.get("q") or "").split())
    if len(q) > MAX_QUERY_LENGTH:
        raise SearchError(_("q is longer than %(num)s characters", num=MAX_QUERY_LENGTH))
    if len(fold_text(q).split()) > MAX_WORDS:
        raise SearchError(_("q has more than %(num)s words", num=MAX_WORDS))
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
    if (search.page - 1) * search.per_page >= reachable:
        raise SearchError(
            _(
                "page is past the first %(num)s results; narrow the search",
                num=format_number(reachable),
            )
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
        raise SearchError(_("unknown %(name)s: %(value)s", name=name, value=value[:40]))
    return value


def _number(args: Mapping[str, str], name: str, default: int, maximum: int | None) -> int:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit():
        raise SearchError(_("%(name)s must be a whole number", name=name))
    digits = raw.lstrip("0") or "0"
    value = int(digits) if len(digits) <= 12 else 10**12  # beyond any maximum either way
    if value < 1:
        raise SearchError(_("%(name)s must be 1 or more", name=name))
    if maximum is not None and value > maximum:
        raise SearchError(_("%(name)s must be at most %(maximum)s", name=name, maximum=maximum))
    return value


def parse_page(args: Mapping[str, str]) -> int:
    """Read the ``page`` parameter of a simple list; raise ``SearchError`` when it is bad."""
    page = _number(args, "page", 1, None)
    if (page - 1) * DEFAULT_PER_PAGE >= MAX_RESULTS_REACHABLE:
        raise SearchError(
            _(
                "page is past the first %(num)s results",
                num=format_number(MAX_RESULTS_REACHABLE),
            )
        )
    return page


def search_listings(
    session: Session, search: MediatorSearch, today: date, cap: int = MAX_RESULTS_REACHABLE
) -> Page[Listing]:
    """Return the requested page of mediators listed today that match ``search``.

    Matches are counted exactly up to ``cap``; beyond, the page's total is ``cap`` and
    ``total_is_lower_bound`` is set (nobody pages that far, they narrow the search). The count
    asks the word index (FTS5, GIN) for matches whatever their dates and grants; the listings
    that ended and are not pruned yet (a day's worth at most) and those whose filtered
    specialisation expired since they were written (a few) are counted apart and taken off,
    so no row is tested for them. Then the page is fetched the cheaper of two ways, chosen
    from that count.
    """
    if search.q and not search.words:
        # Only punctuation or symbols: nothing can match (and nothing reaches the index).
        return Page(items=[], total=0, number=search.page, size=search.per_page)
    ended = select(func.count()).select_from(Listing).where(Listing.listed_until < today)
    ended = ended.where(*_matches(session, search, by_country_index=False, by_word_index=False))
    excluded = (session.scalar(ended) or 0) + _expired_since_written(session, search, today)
    limit = cap + 1 + excluded
    matching = select(literal(1)).select_from(Listing).where(*_matches(session, search))
    if session.get_bind().dialect.name == "sqlite" and search.is_filtered:
        counted = _fts_count(session, _fts_terms(search), limit)
    elif session.get_bind().dialect.name == "postgresql" and (
        _estimated_rows(session, matching) >= max(_surely_more(search) * limit, TRUSTED_ESTIMATE)
    ):
        counted = limit  # surely more than the cap: counting them would only say so slowly
    else:
        counted = session.scalar(select(func.count()).select_from(matching.limit(limit).subquery()))
    total, is_lower_bound = _capped((counted or 0) - excluded, cap)
    offset = (search.page - 1) * search.per_page
    # Past a capped count, none beyond the cap.
    size = min(search.per_page, total - offset) if is_lower_bound else search.per_page
    if size <= 0:
        return Page([], total, search.page, search.per_page, is_lower_bound)
    query = _page_query(session, search, today, total, is_lower_bound, (offset, size))
    items = list(session.scalars(query))
    return Page(items, total, search.page, search.per_page, is_lower_bound)


def listing_query(session: Session, search: MediatorSearch, today: date) -> Select:
    """Select the matching listings in the requested order, tested row by row.

    PostgreSQL matches names and filters through its tsvector columns; SQLite through LIKE on
    the folded words and facets (``_page_query`` decides when that beats asking FTS5).
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
            *_matches(session, search, by_country_index=False, by_word_index=False),
            ~_granted(search, today)[0],
        )
    )
    return session.scalar(expired) or 0


def _matches(
    session: Session,
    search: MediatorSearch,
    *,
    by_country_index: bool = True,
    by_word_index: bool = True,
) -> list[ColumnElement[bool]]:
    """The search as conditions on a listing row, the date aside.

    ``by_country_index=False`` and ``by_word_index=False`` write the country test and
    PostgreSQL's word tests so that they cannot be answered from ``ix_listings_country`` or
    the GIN index: the few ended listings are then read through their date instead, and a page
    of many matches along the index of its order.
    """
    country = Listing.country if by_country_index else Listing.country.concat("")
    if session.get_bind().dialect.name == "postgresql":
        return _word_matches(search, country, by_word_index=by_word_index)
    conditions = [name_has_word_prefix(Listing.search_name, word) for word in search.words]
    if search.country:
        conditions.append(country == search.country)
    conditions += [
        Listing.facets.contains(f" {facet_word(kind, code)} ")
        for kind, code in search.filters
        if kind != "c"  # the country has a column of its own (a dual holder has two types)
    ]
    return conditions


def _word_matches(
    search: MediatorSearch, country: ColumnElement[str | None], *, by_word_index: bool
) -> list[ColumnElement[bool]]:
    """The search as tests of PostgreSQL's tsvector columns (migration 0013).

    ``name_words`` holds the folded name's words, ``facet_words`` the filter values; one GIN
    index covers both, for prefixes and whole words. ``ts_match_vq`` is the function behind
    ``@@``: the planner cannot take a call of it to the index. The country is a column of its
    own, which ``ix_listings_country`` counts without visiting the table.
    """
    match = (
        "listings.{0} @@ to_tsquery('simple', :{0})"
        if by_word_index
        else "ts_match_vq(listings.{0}, to_tsquery('simple', :{0}))"
    )
    conditions: list[ColumnElement[bool]] = []
    if search.words:
        words = " & ".join(f"{word}:*" for word in search.words)
        conditions.append(text(match.format("name_words")).bindparams(name_words=words))
    facets = [facet_word(kind, code) for kind, code in search.filters if kind != "c"]
    if facets:
        conditions.append(
            text(match.format("facet_words")).bindparams(facet_words=" & ".join(facets))
        )
    if search.country:
        conditions.append(country == search.country)
    return conditions


_ORDER_COLUMNS = {
    "name": ("search_name", "public_id"),
    "country": ("country", "search_name", "public_id"),
    "recent": ("-certified_since", "public_id"),
}


def _order(entity: Any, sort: str) -> list[ColumnElement]:
    """Return the ORDER BY of ``sort`` on ``entity`` (``Listing``, an alias, a subquery's c)."""
    return [
        getattr(entity, name[1:]).desc() if name.startswith("-") else getattr(entity, name)
        for name in _ORDER_COLUMNS[sort]
    ]


_ORDER = {sort: tuple(_order(Listing, sort)) for sort in _ORDER_COLUMNS}
# Up to this many matches, fetching them through the word index (FTS5, GIN) and sorting them
# finds a page sooner; beyond, a scan in the requested order that tests each row: it reads
# about rows-in-range x (page x per_page) / matches rows, against about `matches` the other
# way. Within one country the range is that country's listings, counted by FTS5 in a
# millisecond; on PostgreSQL it is every listing, as the planner estimates them.
NARROW = 5_000
# On PostgreSQL, counting the first 10,001 matches of a common prefix or filter reads 10,001
# rows (20-50 ms at a million listings). When the planner estimates this many times the cap or
# more, the search says "more than" the cap without counting. An estimate of one word or filter
# is the frequency ANALYZE found in a sample of 30,000-300,000 rows, a few percent off at most;
# one of several multiplies their frequencies as if they were independent, which they may not be.
SURELY_MORE = 1.5
SURELY_MORE_COMBINED = 5.0
# Below this many rows an estimate is not trusted whatever the cap: a small table's statistics
# may still describe rows since deleted (or rolled back), and counting a few rows is cheap.
TRUSTED_ESTIMATE = 2_000


def _surely_more(search: MediatorSearch) -> float:
    conditions = len(search.words) + len(search.filters)
    return SURELY_MORE if conditions <= 1 else SURELY_MORE_COMBINED


def _capped(matches: int, cap: int) -> tuple[int, bool]:
    """Return the total to show for ``matches`` counted up to ``cap + 1``, and if it is a floor."""
    return (cap, True) if matches > cap else (matches, False)


def _fts_count(session: Session, terms: list[str], limit: int | None = None) -> int:
    """Count the listings FTS5 matches for all of ``terms`` (whatever their dates).

    With ``limit``, stop counting there.
    """
    match = text("listings_fts MATCH :match").bindparams(match=" AND ".join(terms))
    matching = select(_fts.c.rowid).where(match)
    if limit is not None:
        matching = matching.limit(limit)
    return session.scalar(select(func.count()).select_from(matching.subquery())) or 0


def _narrow(search: MediatorSearch, in_range: int | None) -> float:
    """Return up to how many matches fetching them through the index beats the ordered scan."""
    if in_range is None:
        return NARROW
    return min(NARROW, (in_range * search.page * search.per_page) ** 0.5)


def _fts_terms(search: MediatorSearch) -> list[str]:
    facets = [f'facets : "{facet_word(kind, code)}"' for kind, code in search.filters]
    return [f'search_name : "{word}"*' for word in search.words] + facets


def _page_query(
    session: Session,
    search: MediatorSearch,
    today: date,
    total: int,
    is_lower_bound: bool,
    window: tuple[int, int],
) -> Select:
    """Return the query of the page (``window``: offset and size) the cheaper of two ways.

    The choice is ours, from the count, not the planner's, whose estimate of a name prefix
    can be far off. With few matches, SQLite fetches them through FTS5 and PostgreSQL through
    GIN into a materialised CTE, and both sort them; with many, both walk the index of the
    requested order testing each row.
    """
    offset, size = window
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and (
        is_lower_bound or total > _narrow(search, max(total, _estimated_listings(session)))
    ):
        return _walk_in_order(search, today, window)
    if is_lower_bound or (dialect == "sqlite" and not search.is_filtered):
        return listing_query(session, search, today).offset(offset).limit(size)
    if dialect == "sqlite":
        terms = _fts_terms(search)
        in_country = None
        if search.country:
            country = f'facets : "{facet_word("c", search.country)}"'
            in_country = total if terms == [country] else _fts_count(session, [country])
        if total > _narrow(search, in_country):
            return listing_query(session, search, today).offset(offset).limit(size)
        match = text("listings_fts MATCH :match").bindparams(match=" AND ".join(terms))
        return (
            select(Listing)
            .where(Listing.listed_until >= today, *_granted(search, today))
            .where(Listing.mediator_id.in_(select(_fts.c.rowid).where(match)))
            .order_by(*_ORDER[search.sort])
            .offset(offset)
            .limit(size)
        )
    matched = (
        select(Listing)
        .where(Listing.listed_until >= today, *_matches(session, search), *_granted(search, today))
        .cte("matched")
        .prefix_with("MATERIALIZED")
    )
    found = aliased(Listing, matched)
    return select(found).order_by(*_order(found, search.sort)).offset(offset).limit(size)


def _walk_in_order(search: MediatorSearch, today: date, window: tuple[int, int]) -> Select:
    """Walk the order's index for the page's ids, then read those rows (PostgreSQL).

    ``ix_listings_words_order`` (migration 0013) carries the words, so the rows a walk skips
    are tested in the index alone, without reading the table; only the page's rows are read.
    """
    offset, size = window
    keys = [getattr(Listing, name.lstrip("-")) for name in _ORDER_COLUMNS[search.sort]]
    ids = (
        select(Listing.mediator_id, *keys)
        .where(
            Listing.listed_until >= today,
            *_word_matches(search, Listing.country, by_word_index=False),
            *_granted(search, today),
        )
        .order_by(*_ORDER[search.sort])
        .offset(offset)
        .limit(size)
        .subquery("page_ids")
    )
    return (
        select(Listing)
        .join(ids, Listing.mediator_id == ids.c.mediator_id)
        .order_by(*_order(ids.c, search.sort))
    )


def _estimated_rows(session: Session, query: Select) -> float:
    """Return PostgreSQL's estimate of the rows ``query`` gives (it plans, never runs it).

    From the statistics ANALYZE keeps: the frequencies of the 10,000 most common name words
    and of every filter value (migration 0013), so a common prefix or filter is estimated
    well; a rare one may be overestimated, but not to thousands of rows.
    """
    compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    plan = session.execute(text(f"EXPLAIN (FORMAT JSON) {compiled}")).scalar_one()
    return float(plan[0]["Plan"]["Plan Rows"])


def _estimated_listings(session: Session) -> int:
    """Return PostgreSQL's estimate of how many listings there are (0 before any ANALYZE)."""
    estimate = session.scalar(
        text("SELECT reltuples FROM pg_class WHERE oid = 'listings'::regclass")
    )
    return max(0, int(estimate or 0))


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
# One thread of a process counts at a time: when the kept counts run out, the other threads
# wait for its answer instead of each scanning the register too (at 1M mediators, every
# thread of every worker scanning at once made the search page take 20 s).
_COUNTS_LOCK = threading.Lock()


def filter_counts(session: Session, today: date, cache_seconds: int) -> FilterCounts:
    """Return the listed mediators per country and per language (kept ``cache_seconds``).

    The filters offer only values that find someone; exact counts of a large register cost a
    scan, so a process keeps them a few minutes (a new listing shows its country a little later).
    """
    key = (str(session.get_bind().engine.url), today)
    counts = _kept_counts(key)
    if counts is not None:
        return counts
    with _COUNTS_LOCK:
        counts = _kept_counts(key)  # counted by another thread while this one waited
        if counts is None:
            counts = _count_filters(session, today)
            if cache_seconds > 0:
                _COUNTS_CACHE.clear()  # one entry: today's, for this database
                _COUNTS_CACHE[key] = (time.monotonic() + cache_seconds, counts)
    return counts


def _kept_counts(key: tuple[str, date]) -> FilterCounts | None:
    cached = _COUNTS_CACHE.get(key)
    return cached[1] if cached is not None and cached[0] > time.monotonic() else None


def _count_filters(session: Session, today: date) -> FilterCounts:
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
    return FilterCounts(dict(countries), dict(languages))  # type: ignore[arg-type]


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
