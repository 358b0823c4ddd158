"""Reading applications for recognition: who sees which."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from audits import queries as audit_queries
from audits.access import AUDIT_STAFF
from recognition.models import ProgramApplication
from registry.accounts.models import Role, User
from registry.organisations.models import OrganisationAdmin, Program


def applications_of(session: Session, organisation_id: int) -> list[ProgramApplication]:
    """Return the organisation's applications, the latest first."""
    return list(
        session.scalars(
            select(ProgramApplication)
            .where(ProgramApplication.organisation_id == organisation_id)
            .order_by(ProgramApplication.submitted_at.desc(), ProgramApplication.id.desc())
        )
    )


def applications_for(session: Session, user: User) -> list[ProgramApplication]:
    """Return the applications ``user`` follows: all for staff; of their types for the
    subcommittees' chairs and pools; their organisations' for organisation administrators."""
    query = select(ProgramApplication).join(Program, Program.id == ProgramApplication.program_id)
    if not user.has_role(*AUDIT_STAFF):
        types: set[str] = set()
        if user.has_role(Role.COMMITTEE_MEMBER):
            types |= audit_queries.chaired_types(session, user.id)
        if user.has_role(Role.APPRAISER):
            types |= audit_queries.pool_types(session, user.id)
        administered = select(OrganisationAdmin.organisation_id).where(
            OrganisationAdmin.user_id == user.id
        )
        mine = (
            ProgramApplication.organisation_id.in_(administered)
            if user.has_role(Role.ORGANISATION_ADMIN)
            else Program.id.is_(None)
        )
        query = query.where(Program.program_type.in_(types) | mine)
    return list(
        session.scalars(
            query.order_by(ProgramApplication.submitted_at.desc(), ProgramApplication.id.desc())
        )
    )
