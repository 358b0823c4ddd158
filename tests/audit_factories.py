"""Test data builders for audits: committee people, audits in a given state, assignments."""

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from audits.models import (
    Audit,
    AuditAssignment,
    AuditStatus,
    ConflictDeclaration,
    Subcommittee,
    SubcommitteeMember,
)
from audits.schedule import due_date
from registry.accounts.models import Role, User
from registry.database import utcnow
from registry.organisations.models import Organisation, OrganisationAdmin, Program
from tests.factories import make_program, make_user


def subcommittee(session: Session, program_type: str) -> Subcommittee:
    """Return the subcommittee of ``program_type`` (migration 0005 creates all five)."""
    return session.scalars(
        select(Subcommittee).where(Subcommittee.program_type == program_type)
    ).one()


def make_chair(
    session: Session, program_type: str = "QAP", *, email: str = "chair@example.org"
) -> User:
    """Return a committee member who chairs the subcommittee of ``program_type``."""
    chair = make_user(session, email=email, name="Chris Chair", roles=[Role.COMMITTEE_MEMBER])
    subcommittee(session, program_type).chair_id = chair.id
    session.flush()
    return chair


def make_appraiser(
    session: Session,
    program_type: str = "QAP",
    *,
    email: str = "appraiser@example.org",
    name: str = "Alex Appraiser",
) -> User:
    """Return an appraiser in the pool of ``program_type``'s subcommittee."""
    appraiser = make_user(session, email=email, name=name, roles=[Role.APPRAISER])
    session.add(
        SubcommitteeMember(
            subcommittee_id=subcommittee(session, program_type).id,
            user_id=appraiser.id,
            joined_at=utcnow(),
        )
    )
    session.flush()
    return appraiser


def make_organisation_admin(
    session: Session, organisation: Organisation, *, email: str = "admin@academy.example"
) -> User:
    """Return an administrator of ``organisation``."""
    admin = make_user(session, email=email, name="Olga Admin", roles=[Role.ORGANISATION_ADMIN])
    session.add(
        OrganisationAdmin(organisation_id=organisation.id, user_id=admin.id, added_at=utcnow())
    )
    session.flush()
    return admin


def make_audit(
    session: Session,
    *,
    program: Program | None = None,
    program_type: str = "QAP",
    status: AuditStatus = AuditStatus.OPEN,
    due_on: date | None = None,
    opened_on: date | None = None,
) -> Audit:
    """Return an audit in ``status`` (default open), due on the program's first due date."""
    program = program or make_program(session, program_type=program_type)
    due_on = due_on or due_date(program.recognised_on)
    audit = Audit(
        program=program,
        due_on=due_on,
        status=status,
        scheduled_at=utcnow(),
        opened_on=None if status == AuditStatus.SCHEDULED else (opened_on or due_on),
    )
    session.add(audit)
    session.flush()
    return audit


def declare_and_assign(
    session: Session, audit: Audit, appraiser: User, *, chair: User
) -> AuditAssignment:
    """Record a "no conflict" declaration and an assignment directly, without the services."""
    now = utcnow()
    session.add(
        ConflictDeclaration(
            audit_id=audit.id, appraiser_id=appraiser.id, declared_at=now, has_conflict=False
        )
    )
    assignment = AuditAssignment(
        audit_id=audit.id, appraiser_id=appraiser.id, assigned_at=now, assigned_by_id=chair.id
    )
    session.add(assignment)
    if audit.status == AuditStatus.OPEN:
        audit.status = AuditStatus.IN_PROGRESS
    session.flush()
    return assignment
