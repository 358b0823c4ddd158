"""Specialisations are credentials: granted by staff on a recorded basis, never self-declared.

A grant names its basis: a recognised program of a type that the reference data
(``SpecialisationBasis``) accepts for the specialisation and that assessed the mediator, or a
written basis for a direct grant. The public sees a grant only while it is live and its holder
is certified (``public_specialisations``); the search index follows the same rule.
"""

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from registry.accounts.models import User
from registry.events.services import record_event
from registry.formatting import format_day
from registry.mediators.models import (
    Mediator,
    Specialisation,
    SpecialisationBasis,
    SpecialisationGrant,
    Status,
)
from registry.mediators.services import MediatorError
from registry.mediators.status import certification_standing
from registry.organisations.models import Program, ProgramType

MAX_BASIS_LENGTH = 2000
# The search index learns of an expiry from the daily job, which looks this far back (so a
# missed run catches up); searches allow for expiries in that window.
EXPIRY_CATCH_UP_DAYS = 31


class SpecialisationError(MediatorError):
    """A grant or withdrawal that the rules do not allow."""


@dataclass(frozen=True)
class PublicSpecialisation:
    """A live specialisation as the public is shown it."""

    code: str
    name: str
    granted_on: date
    valid_until: date | None

    def as_json(self) -> dict[str, str | None]:
        return {
            "code": self.code,
            "name": self.name,
            "granted_on": self.granted_on.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
        }


def basis_types(session: Session, code: str) -> list[ProgramType]:
    """Return the program types whose recognised programs are a basis for ``code``."""
    query = select(SpecialisationBasis.program_type).where(SpecialisationBasis.code == code)
    return sorted(ProgramType(value) for value in session.scalars(query))


def _is_certified(session: Session, mediator: Mediator, on: date) -> bool:
    return any(
        certification_standing(session, certification, on).status is Status.CERTIFIED
        for certification in mediator.latest_certifications(on)
    )


def _check_program(
    session: Session, mediator: Mediator, code: str, program_id: int, on: date
) -> Program:
    """Return the program that is the basis of a grant on ``on``, or raise why it is not."""
    program = session.get(Program, program_id)
    if program is None or not program.is_recognised:
        raise SpecialisationError(_("Choose a recognised program as the basis."))
    accepted = basis_types(session, code)
    if ProgramType(program.program_type) not in accepted:
        kinds = ", ".join(accepted) or _("none (grant it directly, with a written basis)")
        raise SpecialisationError(
            _(
                "A %(type)s is not a basis for this specialisation; programs that are: %(types)s.",
                type=program.program_type,
                types=kinds,
            )
        )
    recognised = program.recognised_on <= on and (
        program.withdrawn_on is None or program.withdrawn_on > on
    )
    if not recognised:
        raise SpecialisationError(
            _(
                "%(program)s was not recognised on %(day)s.",
                program=program.title,
                day=format_day(on),
            )
        )
    if not any(a.program_id == program.id and a.assessed_on <= on for a in mediator.assessments):
        raise SpecialisationError(
            _(
                "%(program)s has no recorded assessment of %(name)s; record the assessment first.",
                program=program.title,
                name=mediator.name,
            )
        )
    return program


def grant_specialisation(
    session: Session,
    mediator: Mediator,
    *,
    code: str,
    granted_on: date,
    today: date,
    now: datetime,
    actor: User | None,
    program_id: int | None = None,
    basis: str = "",
    valid_until: date | None = None,
) -> SpecialisationGrant:
    """Grant ``mediator`` the specialisation ``code`` on a program or a written basis."""
    specialisation = session.get(Specialisation, code)
    if specialisation is None:
        raise SpecialisationError(_("Unknown specialisation %(code)s.", code=repr(code)))
    basis = basis.strip()
    if granted_on > today:
        raise SpecialisationError(_("A grant cannot be dated in the future."))
    if valid_until is not None and valid_until < granted_on:
        raise SpecialisationError(_("The expiry cannot be before the grant."))
    if len(basis) > MAX_BASIS_LENGTH:
        raise SpecialisationError(
            _("The basis is longer than %(count)s characters.", count=MAX_BASIS_LENGTH)
        )
    if not _is_certified(session, mediator, granted_on):
        raise SpecialisationError(
            _(
                "%(name)s was not certified on %(day)s; "
                "specialisations are granted to certified mediators and advocates only.",
                name=mediator.name,
                day=format_day(granted_on),
            )
        )
    program = None
    if program_id is not None:
        program = _check_program(session, mediator, code, program_id, granted_on)
    elif not basis:
        raise SpecialisationError(
            _(
                "Give the basis: a recognised program that assessed them, or a written basis "
                "for a direct grant."
            )
        )
    if any(
        g.code == code and g.withdrawn_on is None and (g.valid_until or date.max) >= granted_on
        for g in mediator.specialisation_grants
    ):
        raise SpecialisationError(
            _(
                "%(name)s holds %(specialisation)s already.",
                name=mediator.name,
                specialisation=specialisation.name,
            )
        )
    grant = SpecialisationGrant(
        specialisation=specialisation,
        granted_on=granted_on,
        valid_until=valid_until,
        program=program,
        basis=basis,
        granted_by_id=actor.id if actor else None,
        granted_at=now,
    )
    mediator.specialisation_grants.append(grant)
    session.flush()
    record_event(
        session,
        action="specialisation.granted",
        subject_type="mediator",
        subject_id=mediator.public_id,
        now=now,
        actor=actor,
        data={
            "specialisation": code,
            "granted_on": granted_on.isoformat(),
            "valid_until": valid_until.isoformat() if valid_until else None,
            "program": program.title if program else None,
            "basis": basis or None,
        },
    )
    return grant


def withdraw_specialisation(
    session: Session,
    grant: SpecialisationGrant,
    *,
    on: date,
    reason: str,
    today: date,
    now: datetime,
    actor: User,
) -> None:
    """Withdraw a grant from ``on`` with a public reason."""
    reason = reason.strip()
    if not reason:
        raise SpecialisationError(_("A reason is required; it is shown publicly."))
    if grant.withdrawn_on is not None:
        raise SpecialisationError(_("This specialisation was withdrawn already."))
    if on > today:
        raise SpecialisationError(_("The date cannot be in the future."))
    if on < grant.granted_on:
        raise SpecialisationError(
            _("The date is before the grant (%(day)s).", day=format_day(grant.granted_on))
        )
    grant.withdrawn_on, grant.withdrawal_reason, grant.withdrawn_by_id = on, reason, actor.id
    session.flush()
    record_event(
        session,
        action="specialisation.withdrawn",
        subject_type="mediator",
        subject_id=grant.mediator.public_id,
        now=now,
        actor=actor,
        reason=reason,
        data={"specialisation": grant.code, "withdrawn_on": on.isoformat()},
    )


def set_specialisation_bases(
    session: Session, code: str, program_types: Collection[str], *, now: datetime, actor: User
) -> None:
    """Set which program types are a basis for the specialisation ``code``."""
    if session.get(Specialisation, code) is None:
        raise SpecialisationError(_("Unknown specialisation %(code)s.", code=repr(code)))
    unknown = sorted(set(program_types) - {t.value for t in ProgramType})
    if unknown:
        raise SpecialisationError(
            _("Unknown program type(s): %(types)s.", types=", ".join(unknown))
        )
    before = [t.value for t in basis_types(session, code)]
    after = sorted(set(program_types))
    if before == after:
        return
    session.execute(delete(SpecialisationBasis).where(SpecialisationBasis.code == code))
    if after:
        session.execute(
            insert(SpecialisationBasis), [{"code": code, "program_type": t} for t in after]
        )
    record_event(
        session,
        action="specialisation.bases_changed",
        subject_type="specialisation",
        subject_id=code,
        now=now,
        actor=actor,
        data={"before": before, "after": after},
    )


def live_specialisations(
    session: Session, mediator_ids: Collection[int], day: date
) -> dict[int, list[PublicSpecialisation]]:
    """Return the grants live on ``day`` of each of ``mediator_ids``, by name."""
    found: dict[int, list[PublicSpecialisation]] = defaultdict(list)
    if not mediator_ids:
        return found
    grant = SpecialisationGrant
    query = (
        select(
            grant.mediator_id, grant.code, Specialisation.name, grant.granted_on, grant.valid_until
        )
        .join(Specialisation, Specialisation.code == grant.code)
        .where(grant.mediator_id.in_(mediator_ids), grant.live_on(day))
        .order_by(Specialisation.name)
    )
    for mediator_id, code, name, granted_on, valid_until in session.execute(query):
        found[mediator_id].append(PublicSpecialisation(code, name, granted_on, valid_until))
    return found


def public_specialisations(
    session: Session, mediator: Mediator, status: Status, day: date
) -> list[PublicSpecialisation]:
    """Return what the public may see of ``mediator``'s specialisations (none unless certified)."""
    if status is not Status.CERTIFIED:
        return []
    return live_specialisations(session, [mediator.id], day)[mediator.id]
