"""Read-only questions about organisations: the public directory and reviews."""

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from registry.accounts.models import User
from registry.mediators.names import fold_text, search_form
from registry.organisations.models import (
    AccountType,
    Organisation,
    Program,
    ProgramLocation,
    ProgramType,
    Review,
)
from registry.pagination import Page
from registry.reference import country_name

ACCOUNT_TYPE_LABELS: dict[str, str] = {
    AccountType.QAP1: "QAP 1 (training)",
    AccountType.QAP2: "QAP 2 (assessment)",
    AccountType.QAP3: "QAP 3 (training and assessment)",
}


def account_type_label(value: str) -> str:
    """Return the label of an account type value ("qap1" → "QAP 1 (training)")."""
    return ACCOUNT_TYPE_LABELS.get(value, value)


@dataclass(frozen=True)
class DirectoryFilter:
    """What the directory is asked for; ``None`` means any."""

    q: str | None = None
    country: str | None = None
    program_type: str | None = None
    account_type: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class DirectoryOptions:
    """The filter values that occur in the directory, each sorted."""

    countries: list[str]
    program_types: list[ProgramType]
    account_types: list[AccountType]
    locations: list[str]


@dataclass(frozen=True)
class RatingSummary:
    count: int
    average: float | None


def directory_options(session: Session) -> DirectoryOptions:
    """Return the head-office countries, program types, account types and locations in use."""
    program_types = _distinct(session, Program.program_type)
    account_types = _distinct(session, Organisation.account_type)
    return DirectoryOptions(
        countries=_distinct(session, Organisation.head_office_country),
        program_types=[t for t in ProgramType if t.value in program_types],
        account_types=[t for t in AccountType if t.value in account_types],
        locations=_distinct(session, ProgramLocation.country),
    )


def _distinct(session: Session, column: InstrumentedAttribute[str]) -> list[str]:
    return sorted(session.scalars(select(column).distinct()))


def directory_page(session: Session, wanted: DirectoryFilter, number: int, size: int) -> Page:
    """Return page ``number`` of the organisations matching ``wanted``, by name.

    Names are matched and sorted in their accent-folded form, in Python: "lodz" finds "Łódź",
    which sorts among the L's on every database. The directory holds at most a few hundred
    organisations, so reading their names is cheap; only the page's rows are loaded whole.
    """
    names = session.execute(_matching(wanted)).all()
    words = fold_text(wanted.q or "").split()[:5]
    if wanted.q:
        names = [row for row in names if _has_words(row.name, words)]
    names.sort(key=lambda row: (fold_text(row.name), row.id))
    ids = [row.id for row in names[(number - 1) * size : number * size]]
    loaded = session.scalars(
        select(Organisation)
        .where(Organisation.id.in_(ids))
        .options(selectinload(Organisation.programs))
    )
    by_id = {organisation.id: organisation for organisation in loaded}
    return Page(items=[by_id[i] for i in ids], total=len(names), number=number, size=size)


def _matching(wanted: DirectoryFilter) -> Select:
    """Select the ids and names of organisations matching ``wanted`` except by name."""
    query = select(Organisation.id, Organisation.name)
    if wanted.country:
        query = query.where(Organisation.head_office_country == wanted.country)
    if wanted.account_type:
        query = query.where(Organisation.account_type == wanted.account_type)
    if wanted.program_type or wanted.location:
        # Both name the same program: "CMTP in Germany" is a CMTP delivered in Germany.
        programs = select(Program.organisation_id)
        if wanted.program_type:
            programs = programs.where(Program.program_type == wanted.program_type)
        if wanted.location:
            programs = programs.join(ProgramLocation, ProgramLocation.program_id == Program.id)
            programs = programs.where(ProgramLocation.country == wanted.location)
        query = query.where(Organisation.id.in_(programs))
    return query


def _has_words(name: str, words: list[str]) -> bool:
    """Return whether ``name`` has a word starting with each of ``words`` (already folded)."""
    name_words = search_form(name).split()
    return bool(words) and all(any(w.startswith(part) for w in name_words) for part in words)


def ratings_of(session: Session, organisation_ids: list[int]) -> dict[int, RatingSummary]:
    """Return the count and average rating of the visible reviews of each organisation."""
    if not organisation_ids:
        return {}
    rows = session.execute(
        select(Review.organisation_id, func.count(Review.id), func.avg(Review.rating))
        .where(Review.organisation_id.in_(organisation_ids), Review.hidden_at.is_(None))
        .group_by(Review.organisation_id)
    )
    return {
        organisation_id: RatingSummary(count, float(average))
        for organisation_id, count, average in rows
    }


@dataclass(frozen=True)
class DirectoryRow:
    """One line of the directory: the organisation and what it runs where."""

    organisation: Organisation
    program_types: list[ProgramType]
    countries: list[str]
    rating: RatingSummary | None


def directory_rows(session: Session, organisations: list[Organisation]) -> list[DirectoryRow]:
    """Return the directory lines of ``organisations`` (their programs already loaded)."""
    ratings = ratings_of(session, [organisation.id for organisation in organisations])
    rows = []
    for organisation in organisations:
        types = {program.program_type for program in organisation.programs}
        countries = {
            location.country for program in organisation.programs for location in program.locations
        }
        rows.append(
            DirectoryRow(
                organisation=organisation,
                program_types=[t for t in ProgramType if t.value in types],
                countries=sorted(countries, key=country_name),
                rating=ratings.get(organisation.id),
            )
        )
    return rows


def rating_of(session: Session, organisation: Organisation) -> RatingSummary:
    """Return the count and average rating of the organisation's visible reviews."""
    return ratings_of(session, [organisation.id]).get(organisation.id, RatingSummary(0, None))


def reviews_query(organisation: Organisation, *, include_hidden: bool) -> Select:
    """Select the organisation's reviews, newest first; hidden ones only for moderators."""
    query = (
        select(Review)
        .where(Review.organisation_id == organisation.id)
        .order_by(Review.created_at.desc(), Review.id.desc())
    )
    if not include_hidden:
        query = query.where(Review.hidden_at.is_(None))
    return query


def signed_review_by(session: Session, organisation: Organisation, user: User) -> Review | None:
    """Return the review ``user`` posted under their name about ``organisation``, if any."""
    return session.scalar(
        select(Review).where(
            Review.organisation_id == organisation.id,
            Review.author_id == user.id,
            Review.is_anonymous.is_(False),
        )
    )
