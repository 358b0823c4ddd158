"""Read-only questions about organisations: the public directory, reviews, administrators and
the mediators linked to programs (the dashboard itself is in ``dashboard``)."""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from registry.accounts.models import User
from registry.i18n import _l
from registry.mediators.models import Mediator, ProgramLink
from registry.mediators.names import fold_text, search_form
from registry.organisations.models import (
    AccountType,
    Organisation,
    OrganisationAdmin,
    Program,
    ProgramLocation,
    ProgramType,
    Review,
)
from registry.pagination import Page
from registry.reference import by_name, country_name

ACCOUNT_TYPE_LABELS = {
    AccountType.QAP1: _l("QAP 1 (training)"),
    AccountType.QAP2: _l("QAP 2 (assessment)"),
    AccountType.QAP3: _l("QAP 3 (training and assessment)"),
}


def account_type_label(value: str) -> str:
    """Return the label of an account type value ("qap1" → "QAP 1 (training)")."""
    return str(ACCOUNT_TYPE_LABELS.get(value, value))


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
    program_types = _distinct(session, Program.program_type, Program.is_recognised)
    account_types = _distinct(session, Organisation.account_type)
    return DirectoryOptions(
        countries=_distinct(session, Organisation.head_office_country),
        program_types=[t for t in ProgramType if t.value in program_types],
        account_types=[t for t in AccountType if t.value in account_types],
        locations=_distinct(
            session,
            ProgramLocation.country,
            ProgramLocation.program_id.in_(select(Program.id).where(Program.is_recognised)),
        ),
    )


def _distinct(
    session: Session, column: InstrumentedAttribute[str], *where: ColumnElement[bool]
) -> list[str]:
    return sorted(session.scalars(select(column).where(*where).distinct()))


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
        programs = select(Program.organisation_id).where(Program.is_recognised)
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
                countries=[
                    code for code, _name in by_name((c, country_name(c)) for c in countries)
                ],
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


# -- Organisation accounts -------------------------------------------------------------------


def administered_organisations(session: Session, user: User) -> list[Organisation]:
    """Return the organisations ``user`` administers, by name."""
    return list(
        session.scalars(
            select(Organisation)
            .join(OrganisationAdmin, OrganisationAdmin.organisation_id == Organisation.id)
            .where(OrganisationAdmin.user_id == user.id)
            .order_by(Organisation.name)
        )
    )


def is_organisation_admin(session: Session, organisation_id: int, user: User) -> bool:
    """Return whether ``user`` administers the organisation ``organisation_id``."""
    return session.get(OrganisationAdmin, (organisation_id, user.id)) is not None


def organisation_admins(session: Session, organisation: Organisation) -> list[OrganisationAdmin]:
    """Return the organisation's administrators, by name."""
    return list(
        session.scalars(
            select(OrganisationAdmin)
            .join(User, User.id == OrganisationAdmin.user_id)
            .where(OrganisationAdmin.organisation_id == organisation.id)
            .order_by(User.name, User.id)
        )
    )


@dataclass(frozen=True)
class StaffOrganisationRow:
    """One line of the staff list of organisations."""

    organisation: Organisation
    admins: int
    mediators: int


def staff_organisation_rows(session: Session) -> list[StaffOrganisationRow]:
    """Return every organisation with its number of administrators and of linked mediators."""
    admins = dict(
        session.execute(
            select(OrganisationAdmin.organisation_id, func.count()).group_by(
                OrganisationAdmin.organisation_id
            )
        ).all()
    )
    mediators = dict(
        session.execute(
            select(Program.organisation_id, func.count(ProgramLink.mediator_id.distinct()))
            .join(ProgramLink, ProgramLink.program_id == Program.id)
            .group_by(Program.organisation_id)
        ).all()
    )
    organisations = session.scalars(
        select(Organisation).options(selectinload(Organisation.programs))
    ).all()
    return [
        StaffOrganisationRow(o, admins.get(o.id, 0), mediators.get(o.id, 0))
        for o in sorted(organisations, key=lambda o: (fold_text(o.name), o.id))
    ]


def link_counts(session: Session, organisation: Organisation) -> dict[int, int]:
    """Return how many mediators are linked to each of the organisation's programs."""
    rows = session.execute(
        select(ProgramLink.program_id, func.count())
        .join(Program, Program.id == ProgramLink.program_id)
        .where(Program.organisation_id == organisation.id)
        .group_by(ProgramLink.program_id)
    )
    return dict(rows.all())


def program_links_query(organisation: Organisation, name: str | None) -> Select:
    """Select the organisation's program links (newest first), whose mediator matches ``name``."""
    query = (
        select(ProgramLink)
        .join(Program, Program.id == ProgramLink.program_id)
        .join(Mediator, Mediator.id == ProgramLink.mediator_id)
        .where(Program.organisation_id == organisation.id)
        .options(selectinload(ProgramLink.mediator).lazyload("*"))
        .order_by(ProgramLink.linked_on.desc(), Mediator.search_name, ProgramLink.program_id)
    )
    for word in fold_text(name or "").split()[:5]:
        query = query.where(Mediator.search_name.contains(word, autoescape=True))
    return query


def find_mediator(session: Session, reference: str) -> Mediator | None:
    """Return the mediator whose public id or e-mail address is ``reference``."""
    reference = reference.strip()
    if not reference.isprintable():  # e.g. NUL, which PostgreSQL refuses in a parameter
        return None
    if "@" in reference:
        column, value = Mediator.email, reference.lower()
    elif reference.isalnum():
        column, value = Mediator.public_id, reference.upper()
    else:
        return None
    return session.scalar(select(Mediator).where(column == value))
