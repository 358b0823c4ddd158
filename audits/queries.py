"""Reading audits: committee membership, assignments, declarations and program statuses."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, lazyload

from audits.criteria import required_appraisers
from audits.models import (
    Audit,
    AuditAssignment,
    AuditReport,
    AuditStatus,
    ConflictDeclaration,
    DocumentRequest,
    Subcommittee,
    SubcommitteeMember,
)
from audits.schedule import ProgramFacts, ProgramStatus, due_date, program_status
from registry.accounts.models import Role, User, UserRole
from registry.organisations.models import OrganisationAdmin, Program
from standards.queries import StandardSet, ordered, versions_for_program_type


def subcommittee_for(session: Session, program_type: str) -> Subcommittee | None:
    """Return the subcommittee that appraises programs of ``program_type``."""
    return session.scalars(
        select(Subcommittee).where(Subcommittee.program_type == program_type)
    ).one_or_none()


def chaired_types(session: Session, user_id: int) -> set[str]:
    """Return the program types whose subcommittee ``user_id`` chairs."""
    return set(
        session.scalars(select(Subcommittee.program_type).where(Subcommittee.chair_id == user_id))
    )


def is_chair(session: Session, user_id: int, program_type: str) -> bool:
    """Return whether ``user_id`` chairs the subcommittee of ``program_type``."""
    return program_type in chaired_types(session, user_id)


def chairs_audit(session: Session, user: User, audit: Audit) -> bool:
    """Return whether ``user`` is the chair (a committee member) of the audit's subcommittee."""
    return user.has_role(Role.COMMITTEE_MEMBER) and is_chair(
        session, user.id, audit.program.program_type
    )


def is_staffed(session: Session, audit: Audit) -> bool:
    """Return whether the audit has as many appraisers as its program type needs."""
    return len(active_assignments(session, audit.id)) >= required_appraisers(
        audit.program.program_type
    )


def pool_types(session: Session, user_id: int) -> set[str]:
    """Return the program types whose appraiser pool ``user_id`` belongs to."""
    return set(
        session.scalars(
            select(Subcommittee.program_type)
            .join(SubcommitteeMember)
            .join(UserRole, UserRole.user_id == SubcommitteeMember.user_id)
            .where(SubcommitteeMember.user_id == user_id, UserRole.role == Role.APPRAISER)
        )
    )


def pool(session: Session, program_type: str) -> list[User]:
    """Return the appraisers of ``program_type``'s subcommittee, by name."""
    return list(
        session.scalars(
            select(User)
            .join(SubcommitteeMember, SubcommitteeMember.user_id == User.id)
            .join(Subcommittee)
            .join(UserRole, UserRole.user_id == User.id)
            .where(
                Subcommittee.program_type == program_type,
                UserRole.role == Role.APPRAISER,
                User.disabled_at.is_(None),
            )
            .order_by(User.name, User.id)
        )
    )


def active_assignments(session: Session, audit_id: int) -> list[AuditAssignment]:
    """Return the audit's current appraisers' assignments, oldest first."""
    return list(
        session.scalars(
            select(AuditAssignment)
            .where(AuditAssignment.audit_id == audit_id, AuditAssignment.removed_at.is_(None))
            .order_by(AuditAssignment.assigned_at, AuditAssignment.id)
        )
    )


def is_assigned(session: Session, user_id: int, audit_id: int) -> bool:
    """Return whether ``user_id`` is one of the audit's current appraisers."""
    return (
        session.scalar(
            select(AuditAssignment.id).where(
                AuditAssignment.audit_id == audit_id,
                AuditAssignment.appraiser_id == user_id,
                AuditAssignment.removed_at.is_(None),
            )
        )
        is not None
    )


def declaration_of(session: Session, audit_id: int, user_id: int) -> ConflictDeclaration | None:
    """Return the appraiser's declaration for the audit, if they filed one."""
    return session.get(ConflictDeclaration, (audit_id, user_id))


def declarations(session: Session, audit_id: int) -> list[ConflictDeclaration]:
    """Return every declaration filed for the audit, oldest first."""
    return list(
        session.scalars(
            select(ConflictDeclaration)
            .where(ConflictDeclaration.audit_id == audit_id)
            .order_by(ConflictDeclaration.declared_at)
        )
    )


def is_organisation_admin(session: Session, user_id: int, organisation_id: int) -> bool:
    """Return whether ``user_id`` administers the organisation."""
    return session.get(OrganisationAdmin, (organisation_id, user_id)) is not None


def organisation_admin_emails(session: Session, organisation_id: int) -> list[str]:
    """Return the addresses of the organisation's administrators (enabled accounts)."""
    return list(
        session.scalars(
            select(User.email)
            .join(OrganisationAdmin, OrganisationAdmin.user_id == User.id)
            .where(OrganisationAdmin.organisation_id == organisation_id)
            .where(User.disabled_at.is_(None))
            .order_by(User.email)
        )
    )


def open_cycle(session: Session, program_id: int) -> Audit | None:
    """Return the program's audit that is not completed yet, if the job scheduled one."""
    return session.scalars(
        select(Audit).where(Audit.program_id == program_id, Audit.status != AuditStatus.COMPLETED)
    ).one_or_none()


def completed_audits(session: Session, program_id: int) -> list[Audit]:
    """Return the program's signed-off audits, newest first."""
    return list(
        session.scalars(
            select(Audit)
            .where(Audit.program_id == program_id, Audit.status == AuditStatus.COMPLETED)
            .order_by(Audit.completed_on.desc(), Audit.id.desc())
        )
    )


def program_facts(session: Session, program_ids: Iterable[int]) -> dict[int, ProgramFacts]:
    """Return the facts of each program's public status, in three queries whatever the count."""
    ids = list(program_ids)
    if not ids:
        return {}
    programs = session.execute(
        select(Program.id, Program.recognised_on, Program.withdrawn_on).where(Program.id.in_(ids))
    ).all()
    cycles = {
        row.program_id: row
        for row in session.execute(
            select(Audit.program_id, Audit.status, Audit.due_on).where(
                Audit.program_id.in_(ids), Audit.status != AuditStatus.COMPLETED
            )
        )
    }
    last = _last_completed(session, ids)
    facts = {}
    for program in programs:
        cycle = cycles.get(program.id)
        done = last.get(program.id)
        facts[program.id] = ProgramFacts(
            recognised_on=program.recognised_on,
            withdrawn_on=program.withdrawn_on,
            cycle_status=cycle.status if cycle else None,
            cycle_due_on=cycle.due_on if cycle else None,
            last_outcome=done.outcome if done else None,
            last_completed_on=done.completed_on if done else None,
        )
    return facts


def _last_completed(session: Session, ids: list[int]) -> dict[int, Audit]:
    newest = (
        select(Audit.program_id, func.max(Audit.completed_on).label("completed_on"))
        .where(Audit.program_id.in_(ids), Audit.status == AuditStatus.COMPLETED)
        .group_by(Audit.program_id)
        .subquery()
    )
    rows = session.scalars(
        select(Audit).join(
            newest,
            (Audit.program_id == newest.c.program_id)
            & (Audit.completed_on == newest.c.completed_on),
        )
    )
    return {audit.program_id: audit for audit in rows}


def program_statuses(
    session: Session, program_ids: Iterable[int], today: date, lead_days: int
) -> dict[int, ProgramStatus]:
    """Return each program's public status on ``today``."""
    return {
        program_id: program_status(facts, today, lead_days)
        for program_id, facts in program_facts(session, program_ids).items()
    }


# -- The schedule, program and organisation pages ---------------------------------------------


@dataclass(frozen=True)
class ProgramRow:
    """A program as the audit pages show it: its public status, open cycle and next due date."""

    program: Program
    status: ProgramStatus
    # The audit not completed yet, if the job has scheduled one.
    cycle: Audit | None
    # The open cycle's due date, else when the next audit will be due; None once withdrawn.
    due_on: date | None
    last_completed_on: date | None


def program_rows(
    session: Session, programs: list[Program], today: date, lead_days: int
) -> list[ProgramRow]:
    """Return a row for each of ``programs``, in a fixed number of queries whatever the count."""
    ids = [program.id for program in programs]
    facts = program_facts(session, ids)
    cycles = open_cycles(session, ids)
    rows = []
    for program in programs:
        fact, cycle = facts[program.id], cycles.get(program.id)
        status = program_status(fact, today, lead_days)
        if cycle is not None:
            due_on: date | None = cycle.due_on
        elif status == ProgramStatus.WITHDRAWN:
            due_on = None
        else:
            due_on = due_date(fact.last_completed_on or fact.recognised_on)
        rows.append(ProgramRow(program, status, cycle, due_on, fact.last_completed_on))
    return rows


def open_cycles(session: Session, program_ids: Iterable[int]) -> dict[int, Audit]:
    """Return the open cycle (the audit not completed yet) of each program that has one."""
    ids = list(program_ids)
    if not ids:
        return {}
    audits = session.scalars(
        select(Audit)
        .where(Audit.program_id.in_(ids), Audit.status != AuditStatus.COMPLETED)
        # The callers hold the programs already: no second copy joined in.
        .options(lazyload(Audit.program))
    )
    return {audit.program_id: audit for audit in audits}


def program_audits(session: Session, program_id: int) -> list[Audit]:
    """Return every audit of the program, the latest due first."""
    return list(
        session.scalars(
            select(Audit).where(Audit.program_id == program_id).order_by(Audit.due_on.desc())
        )
    )


def open_request_counts(session: Session, audit_ids: Iterable[int]) -> dict[int, int]:
    """Return how many document requests of each audit the organisation has not answered."""
    ids = list(audit_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(DocumentRequest.audit_id, func.count())
        .where(DocumentRequest.audit_id.in_(ids), DocumentRequest.answered_at.is_(None))
        .group_by(DocumentRequest.audit_id)
    )
    return {audit_id: number for audit_id, number in rows}


def signed_off_audits(
    session: Session, program_ids: Iterable[int]
) -> list[tuple[Audit, AuditReport | None]]:
    """Return the programs' completed audits with their reports, the latest completed first."""
    ids = list(program_ids)
    if not ids:
        return []
    rows = session.execute(
        select(Audit, AuditReport)
        .outerjoin(AuditReport, AuditReport.audit_id == Audit.id)
        .where(Audit.program_id.in_(ids), Audit.status == AuditStatus.COMPLETED)
        .order_by(Audit.completed_on.desc(), Audit.id.desc())
    )
    return [(audit, report) for audit, report in rows]


def standard_set(session: Session, audit: Audit, today: date | None = None) -> StandardSet:
    """Return the standard versions the audit is judged against.

    They are fixed when the audit opens (``audits.services.fix_standards``); an audit opened
    without them (made directly in a test or by an older release) reads the versions in force
    on its opening day, and one not yet open those in force ``today``.
    """
    if audit.standard_versions:
        return StandardSet(tuple(ordered(link.version for link in audit.standard_versions)))
    day = audit.opened_on or today or date.today()
    return StandardSet(tuple(versions_for_program_type(session, audit.program.program_type, day)))
