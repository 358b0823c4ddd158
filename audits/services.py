"""Changes to programs' audit cycles, the Appraisal Committee, declarations and assignments.

One function per state change: it takes the acting user and the clock, checks the starting
state (raising ``AuditError`` otherwise), changes the data, logs it and flushes; the request
or the job commits. Functions that change an audit re-read it under a row lock (``locked``),
so two requests on one audit take turns; on SQLite the write transaction is exclusive.
"""

from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audits.models import Audit, AuditStandardVersion, AuditStatus
from audits.notify import log_audit
from audits.queries import chairs_audit, completed_audits, open_cycle
from audits.schedule import due_date
from registry.accounts.models import User
from registry.events.services import record_event
from registry.i18n import _l
from registry.organisations.models import Organisation, Program, ProgramType
from registry.validation import checked_text
from standards.queries import versions_for_program_type

MAX_NAME_LENGTH = 200
MAX_TEXT_LENGTH = 5000


class AuditError(ValueError):
    """An audit change that the rules do not allow."""


def text(value: str | None, *, what: str, limit: int = MAX_TEXT_LENGTH, minimum: int = 1) -> str:
    """Return ``value`` trimmed, or raise AuditError if it is empty or too long."""
    return checked_text(value, what=what, limit=limit, error=AuditError, minimum=minimum)


def locked(session: Session, audit: Audit) -> Audit:
    """Re-read ``audit`` under a row lock, so concurrent changes to it take turns."""
    return session.scalars(
        select(Audit)
        .where(Audit.id == audit.id)
        .with_for_update(of=Audit)
        .execution_options(populate_existing=True)
    ).one()


# The refusals of check_chair, one sentence per action (``doing``).
CHAIR_ONLY = {
    "assign appraisers": _l("Only the chair of the %(type)s subcommittee can assign appraisers."),
    "remove appraisers": _l("Only the chair of the %(type)s subcommittee can remove appraisers."),
    "return a report": _l("Only the chair of the %(type)s subcommittee can return a report."),
    "sign off an audit": _l("Only the chair of the %(type)s subcommittee can sign off an audit."),
}


def check_chair(session: Session, audit: Audit, actor: User, *, doing: str) -> None:
    """Raise AuditError unless ``actor`` chairs the audit's subcommittee (``doing``: CHAIR_ONLY)."""
    if not chairs_audit(session, actor, audit):
        raise AuditError(str(CHAIR_ONLY[doing]) % {"type": audit.program.program_type})


# -- Programs and their cycles ----------------------------------------------------------


def fix_standards(session: Session, audit: Audit, day: date) -> None:
    """Judge the audit against the standard versions in force on ``day``, its opening day.

    A version published later never changes what an open audit is judged against.
    """
    if audit.standard_versions:
        return
    versions = versions_for_program_type(session, audit.program.program_type, day)
    audit.standard_versions = [AuditStandardVersion(version=version) for version in versions]


def next_due_date(session: Session, program: Program) -> date:
    """Return when the program's next audit is due: two years on from its last completion."""
    done = completed_audits(session, program.id)
    return due_date(done[0].completed_on if done else program.recognised_on)


def schedule_audit(
    session: Session, program: Program, *, now: datetime, actor: User | None = None
) -> Audit | None:
    """Schedule the program's next audit, unless it has an open cycle or is withdrawn.

    Returns the new audit, or None when there was nothing to schedule. The partial unique
    index on open cycles makes a concurrent second scheduling fail rather than double.
    """
    if program.withdrawn_on is not None or open_cycle(session, program.id) is not None:
        return None
    audit = Audit(
        program=program,
        due_on=next_due_date(session, program),
        status=AuditStatus.SCHEDULED,
        scheduled_at=now,
    )
    try:
        with session.begin_nested():
            session.add(audit)
    except IntegrityError:
        return None
    log_audit(session, "audit.scheduled", audit, now=now, actor=actor, due_on=str(audit.due_on))
    return audit


def create_program(
    session: Session,
    organisation: Organisation,
    *,
    program_type: str,
    name: str,
    description: str,
    recognised_on: date,
    today: date,
    now: datetime,
    actor: User,
) -> Program:
    """Record a newly recognised program and schedule its first audit."""
    if program_type not in set(ProgramType):
        raise AuditError(_("Choose a known program type."))
    if recognised_on > today:
        raise AuditError(_("The recognition date cannot be in the future."))
    program = Program(
        organisation=organisation,
        program_type=program_type,
        name=text(name, what=_("The program's name"), limit=MAX_NAME_LENGTH),
        description=text(description, what=_("The description"), minimum=0),
        recognised_on=recognised_on,
    )
    session.add(program)
    session.flush()
    record_event(
        session,
        action="program.recognised",
        subject_type="program",
        subject_id=program.id,
        now=now,
        actor=actor,
        data={"organisation_id": organisation.id, "program_type": program_type},
    )
    schedule_audit(session, program, now=now, actor=actor)
    return program


def withdraw_program(
    session: Session, program: Program, *, reason: str, today: date, now: datetime, actor: User
) -> None:
    """Withdraw the program's recognition; its unopened audit is cancelled, an open one stays."""
    if program.withdrawn_on is not None:
        raise AuditError(_("This program's recognition is already withdrawn."))
    program.withdrawn_on = today
    program.withdrawal_reason = text(reason, what=_("The reason"))
    cycle = open_cycle(session, program.id)
    if cycle is not None and cycle.status == AuditStatus.SCHEDULED:
        session.delete(cycle)
    record_event(
        session,
        action="program.withdrawn",
        subject_type="program",
        subject_id=program.id,
        now=now,
        actor=actor,
        reason=program.withdrawal_reason,
    )
    session.flush()
