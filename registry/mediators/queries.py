"""Read-only questions about mediators, shared by the pages."""

from collections.abc import Iterator

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from registry.accounts.models import User
from registry.mediators.models import (
    Certification,
    Mediator,
    Specialisation,
    SpecialisationBasis,
)
from registry.mediators.names import fold_text
from registry.organisations.models import Program, ProgramType


def profile_of(session: Session, user: User) -> Mediator | None:
    """Return the user's own profile: linked to the account, or unclaimed with its address."""
    return session.scalar(
        select(Mediator)
        .where(
            or_(
                Mediator.user_id == user.id,
                (Mediator.user_id.is_(None)) & (Mediator.email == user.email),
            )
        )
        .order_by(Mediator.user_id.is_(None))
        .limit(1)
    )


def certification_id_ranges(session: Session, size: int) -> Iterator[tuple[int, int]]:
    """Yield inclusive ranges of ``size`` certification ids covering the table (for sweeps)."""
    low, high = session.execute(
        select(func.min(Certification.id), func.max(Certification.id))
    ).one()
    if low is None:
        return
    for start in range(low, high + 1, size):
        yield start, start + size - 1


def specialisation_choices(session: Session) -> list[tuple[str, str]]:
    return [(s.code, s.name) for s in session.scalars(select(Specialisation).order_by("name"))]


def specialisation_bases(session: Session) -> dict[str, list[str]]:
    """Return every specialisation's code with the program types that are a basis for it."""
    bases: dict[str, list[str]] = {code: [] for code, _name in specialisation_choices(session)}
    for code, program_type in session.execute(
        select(SpecialisationBasis.code, SpecialisationBasis.program_type).order_by(
            SpecialisationBasis.program_type
        )
    ):
        bases[code].append(program_type)
    return bases


def assessing_program_choices(mediator: Mediator) -> list[tuple[int, str]]:
    """Return the programs that assessed ``mediator`` (the possible bases of a grant)."""
    programs = {a.program.id: a.program.title for a in mediator.assessments}
    return sorted(programs.items(), key=lambda choice: choice[1])


def program_choices(session: Session, types: frozenset[ProgramType]) -> list[tuple[int, str]]:
    programs = session.scalars(
        select(Program).where(
            Program.program_type.in_([t.value for t in types]), Program.is_recognised
        )
    )
    return sorted(((p.id, p.title) for p in programs), key=lambda choice: choice[1])


def staff_mediator_list(q: str | None, status: str | None) -> Select:
    """Select mediators for the staff list, filtered by name/number and recorded status."""
    grant = aliased(Certification)
    latest = (
        select(grant.id)
        .where(grant.mediator_id == Mediator.id)
        .order_by(grant.granted_on.desc(), grant.id.desc())
        .limit(1)
        .correlate(Mediator)
        .scalar_subquery()
    )
    query = (
        select(Mediator, Certification)
        .outerjoin(Certification, Certification.id == latest)
        .order_by(Mediator.search_name, Mediator.id)
    )
    if q:
        words = fold_text(q).split()[:5]
        name_matches = (
            and_(*(name_has_word_prefix(Mediator.search_name, word) for word in words))
            if words
            else false()
        )
        number = "".join(q.split()).upper()
        if number.isprintable():  # PostgreSQL refuses NUL in a parameter
            name_matches = or_(Certification.certificate_number == number, name_matches)
        query = query.where(name_matches)
    if status == "applicant":
        query = query.where(Certification.id.is_(None))
    elif status:
        query = query.where(Certification.recorded_status == status)
    return query


def name_has_word_prefix(search_name: ColumnElement[str], word: str) -> ColumnElement[bool]:
    """Match a search form with a word starting with ``word`` (folded: letters and digits)."""
    return or_(search_name.like(f"{word}%"), search_name.like(f"% {word}%"))
