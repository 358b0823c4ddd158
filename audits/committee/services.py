"""Changes to the Appraisal Committee, appraisers' declarations and assignments: one function each.

Administrators appoint each subcommittee's chair and keep its pool of appraisers. For every
open audit, the pool's appraisers declare whether they have a conflict of interest with the
organisation; the chair assigns appraisers from those who declared none. A conflict declared
later is final: it removes the appraiser, and the audit goes back to open if it falls short of
appraisers. Functions that change an audit re-read it under a row lock (``locked``), so a
declaration and an assignment crossing each other take turns.
"""

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audits import queries
from audits.criteria import required_appraisers
from audits.models import (
    Audit,
    AuditAssignment,
    AuditStatus,
    ConflictDeclaration,
    Subcommittee,
    SubcommitteeMember,
)
from audits.notify import log_audit
from audits.services import AuditError, check_chair, locked, text
from registry.accounts.models import Role, User
from registry.events.services import record_event
from registry.i18n import _l
from registry.mail.services import queue_template_mail
from registry.organisations.models import Program

MAX_DETAILS_LENGTH = 2000
MAX_REASON_LENGTH = 2000
# Stored as the assignment's removal reason: never translated.
CONFLICT_REMOVAL_REASON = "Conflict of interest declared"

# The kinds of conflict of the appraiser code of conduct, as the chair reads them.
CONFLICT_KINDS = {
    "relationship": _l("A relationship or activities preventing impartiality"),
    "gifts": _l("Gifts or offers from the organisation"),
    "prior_work": _l("Prior work, or expertise, time or side activities offered to it"),
    "other": _l("Another interest, influence or relation"),
}

# Declarations are filed while the audit is under way; assignments only until the report is in.
DECLARABLE = frozenset({AuditStatus.OPEN, AuditStatus.IN_PROGRESS, AuditStatus.SUBMITTED})
ASSIGNABLE = frozenset({AuditStatus.OPEN, AuditStatus.IN_PROGRESS})


# -- The committee: chairs and pools ----------------------------------------------------------


def _subcommittee(session: Session, program_type: str) -> Subcommittee:
    found = queries.subcommittee_for(session, program_type)
    if found is None:
        raise AuditError(_("There is no subcommittee for %(type)s programs.", type=program_type))
    return found


def _log_subcommittee(
    session: Session,
    action: str,
    subcommittee: Subcommittee,
    *,
    now: datetime,
    actor: User,
    **data: object,
) -> None:
    record_event(
        session,
        action=f"subcommittee.{action}",
        subject_type="subcommittee",
        subject_id=subcommittee.program_type,
        now=now,
        actor=actor,
        data=data,
    )
    session.flush()


def _check_administrator(actor: User) -> None:
    if not actor.has_role(Role.ADMINISTRATOR):
        raise AuditError(_("Only administrators change the Appraisal Committee."))


def appoint_chair(
    session: Session, program_type: str, user: User, *, now: datetime, actor: User
) -> Subcommittee:
    """Make ``user`` (a committee member) the chair of ``program_type``'s subcommittee."""
    _check_administrator(actor)
    subcommittee = _subcommittee(session, program_type)
    if not user.is_active:
        raise AuditError(_("The account of %(email)s is disabled.", email=user.email))
    if not user.has_role(Role.COMMITTEE_MEMBER):
        raise AuditError(
            _(
                "%(name)s is not a committee member; give the account that role first.",
                name=user.name,
            )
        )
    if subcommittee.chair_id == user.id:
        raise AuditError(
            _(
                "%(name)s already chairs the %(type)s subcommittee.",
                name=user.name,
                type=program_type,
            )
        )
    previous = subcommittee.chair_id
    subcommittee.chair_id = user.id
    _log_subcommittee(
        session,
        "chair_appointed",
        subcommittee,
        now=now,
        actor=actor,
        user_id=user.id,
        previous_chair_id=previous,
    )
    queue_template_mail(
        session,
        "audit_committee_chair_appointed.txt",
        to=[user.email],
        now=now,
        user=user,
        program_type=program_type,
    )
    return subcommittee


def add_member(
    session: Session, program_type: str, user: User, *, now: datetime, actor: User
) -> SubcommitteeMember:
    """Add ``user`` (an appraiser) to the pool of ``program_type``'s subcommittee."""
    _check_administrator(actor)
    subcommittee = _subcommittee(session, program_type)
    if not user.is_active:
        raise AuditError(_("The account of %(email)s is disabled.", email=user.email))
    if not user.has_role(Role.APPRAISER):
        raise AuditError(
            _("%(name)s is not an appraiser; give the account that role first.", name=user.name)
        )
    already = _(
        "%(name)s is already in the %(type)s subcommittee.", name=user.name, type=program_type
    )
    if session.get(SubcommitteeMember, (subcommittee.id, user.id)) is not None:
        raise AuditError(already)
    member = SubcommitteeMember(subcommittee_id=subcommittee.id, user_id=user.id, joined_at=now)
    try:
        with session.begin_nested():  # a concurrent add of the same person: one wins
            session.add(member)
    except IntegrityError:
        raise AuditError(already) from None
    _log_subcommittee(session, "member_added", subcommittee, now=now, actor=actor, user_id=user.id)
    return member


def remove_member(
    session: Session, program_type: str, user: User, *, now: datetime, actor: User
) -> None:
    """Take ``user`` out of the pool of ``program_type``, unless they appraise an audit of it."""
    _check_administrator(actor)
    subcommittee = _subcommittee(session, program_type)
    member = session.get(SubcommitteeMember, (subcommittee.id, user.id))
    if member is None:
        raise AuditError(
            _("%(name)s is not in the %(type)s subcommittee.", name=user.name, type=program_type)
        )
    busy = _assigned_audit(session, program_type, user.id)
    if busy is not None:
        raise AuditError(
            _(
                "%(name)s is assigned to the audit of %(program)s;"
                " its chair removes that assignment first.",
                name=user.name,
                program=busy.program.title,
            )
        )
    subcommittee.members.remove(member)
    _log_subcommittee(
        session, "member_removed", subcommittee, now=now, actor=actor, user_id=user.id
    )


def _assigned_audit(session: Session, program_type: str, user_id: int) -> Audit | None:
    """Return an audit of ``program_type`` under way that ``user_id`` is assigned to."""
    return session.scalars(
        select(Audit)
        .join(Program, Program.id == Audit.program_id)
        .join(AuditAssignment, AuditAssignment.audit_id == Audit.id)
        .where(
            Program.program_type == program_type,
            Audit.status != AuditStatus.COMPLETED,
            AuditAssignment.appraiser_id == user_id,
            AuditAssignment.removed_at.is_(None),
        )
        .limit(1)
    ).first()


# -- Declarations ----------------------------------------------------------------------------


def _check_in_pool(session: Session, audit: Audit, appraiser: User, *, you: bool) -> None:
    program_type = audit.program.program_type
    if not appraiser.is_active or program_type not in queries.pool_types(session, appraiser.id):
        if you:
            raise AuditError(
                _(
                    "You are not in the pool of appraisers for %(type)s programs.",
                    type=program_type,
                )
            )
        raise AuditError(
            _(
                "%(name)s is not in the pool of appraisers for %(type)s programs.",
                name=appraiser.name,
                type=program_type,
            )
        )


def _check_declarable(audit: Audit) -> None:
    if audit.status == AuditStatus.SCHEDULED:
        raise AuditError(_("This audit is not open yet; declarations open with the audit."))
    if audit.status not in DECLARABLE:
        raise AuditError(_("This audit is completed; declarations are closed."))


def _kinds_and_details(kinds: dict[str, bool], no_conflict: bool, details: str | None) -> str:
    """Check that exactly one of "no conflict" and a conflict is declared; return the details."""
    has_kind = any(kinds.values())
    if no_conflict and has_kind:
        raise AuditError(
            _(
                "Tick either that you have no conflict of interest or the kinds of conflict you "
                "have, not both."
            )
        )
    if not no_conflict and not has_kind:
        raise AuditError(
            _(
                "Declare either that you have no conflict of interest, or the kinds of conflict "
                "you have with their details."
            )
        )
    if no_conflict:
        if (details or "").strip():
            raise AuditError(
                _(
                    "You wrote details of a conflict but ticked that you have none; tick the "
                    "kinds of conflict instead, or clear the details."
                )
            )
        return ""
    return text(details, what=_("The details of the conflict"), limit=MAX_DETAILS_LENGTH)


def declare_conflicts(
    session: Session,
    audit: Audit,
    appraiser: User,
    *,
    relationship: bool,
    gifts: bool,
    prior_work: bool,
    other: bool,
    no_conflict: bool,
    details: str | None,
    now: datetime,
) -> ConflictDeclaration:
    """Record the appraiser's declaration for ``audit``: no conflict, or a (final) conflict.

    A conflict declared after "no conflict" removes the appraiser if they are assigned.
    """
    audit = locked(session, audit)
    _check_in_pool(session, audit, appraiser, you=True)
    _check_declarable(audit)
    kinds = {
        "relationship": relationship,
        "gifts": gifts,
        "prior_work": prior_work,
        "other": other,
    }
    details = _kinds_and_details(kinds, no_conflict, details)
    declaration = queries.declaration_of(session, audit.id, appraiser.id)
    if declaration is not None and declaration.has_conflict:
        raise AuditError(
            _(
                "You have already declared a conflict of interest for this audit; "
                "that declaration is final."
            )
        )
    if declaration is not None and no_conflict:
        raise AuditError(
            _("You have already declared that you have no conflict of interest for this audit.")
        )
    if declaration is None:
        return _first_declaration(session, audit, appraiser, kinds, details, now=now)
    _later_conflict(session, audit, declaration, kinds, details, now=now)
    return declaration


def _set_conflict(
    declaration: ConflictDeclaration, kinds: dict[str, bool], details: str, now: datetime
) -> None:
    declaration.has_conflict = True
    declaration.has_relationship = kinds["relationship"]
    declaration.has_gifts = kinds["gifts"]
    declaration.has_prior_work = kinds["prior_work"]
    declaration.has_other = kinds["other"]
    declaration.details = details
    declaration.conflict_declared_at = now


def _first_declaration(
    session: Session,
    audit: Audit,
    appraiser: User,
    kinds: dict[str, bool],
    details: str,
    *,
    now: datetime,
) -> ConflictDeclaration:
    declaration = ConflictDeclaration(
        audit_id=audit.id, appraiser_id=appraiser.id, declared_at=now, has_conflict=False
    )
    if details:
        _set_conflict(declaration, kinds, details, now)
    try:
        with session.begin_nested():  # a double click: the second finds the first
            session.add(declaration)
    except IntegrityError:
        raise AuditError(_("You have already declared for this audit; reload the page.")) from None
    action = "audit.conflict_declared" if details else "audit.no_conflict_declared"
    log_audit(
        session,
        action,
        audit,
        now=now,
        actor=appraiser,
        appraiser_id=appraiser.id,
        **_kind_flags(kinds, details),
    )
    session.flush()
    return declaration


def _kind_flags(kinds: dict[str, bool], details: str) -> dict[str, object]:
    """Return the kinds ticked, for the event log (never the details: they are confidential)."""
    return {"kinds": [kind for kind, ticked in kinds.items() if ticked]} if details else {}


def _later_conflict(
    session: Session,
    audit: Audit,
    declaration: ConflictDeclaration,
    kinds: dict[str, bool],
    details: str,
    *,
    now: datetime,
) -> None:
    """Turn a "no conflict" declaration into a conflict; remove the appraiser if assigned."""
    appraiser = declaration.appraiser
    _set_conflict(declaration, kinds, details, now)
    assignment = _active_assignment(session, audit.id, appraiser.id)
    reopened = False
    if assignment is not None:
        reopened = _end_assignment(session, audit, assignment, CONFLICT_REMOVAL_REASON, now)
    log_audit(
        session,
        "audit.conflict_declared",
        audit,
        now=now,
        actor=appraiser,
        appraiser_id=appraiser.id,
        after_no_conflict=True,
        removed=assignment is not None,
        reopened=reopened,
        **_kind_flags(kinds, details),
    )
    if assignment is not None:
        _mail_chair_of_removal(session, audit, appraiser, reopened=reopened, now=now)
    session.flush()


def _mail_chair_of_removal(
    session: Session, audit: Audit, appraiser: User, *, reopened: bool, now: datetime
) -> None:
    chair = _subcommittee(session, audit.program.program_type).chair
    if chair is None or not chair.is_active:
        return
    queue_template_mail(
        session,
        "audit_conflict_removed.txt",
        to=[chair.email],
        now=now,
        audit=audit,
        appraiser=appraiser,
        chair=chair,
        reopened=reopened,
        remaining=len(queries.active_assignments(session, audit.id)),
        required=required_appraisers(audit.program.program_type),
    )


# -- Assignments -----------------------------------------------------------------------------


def _active_assignment(session: Session, audit_id: int, user_id: int) -> AuditAssignment | None:
    return session.scalars(
        select(AuditAssignment).where(
            AuditAssignment.audit_id == audit_id,
            AuditAssignment.appraiser_id == user_id,
            AuditAssignment.removed_at.is_(None),
        )
    ).first()


def _end_assignment(
    session: Session, audit: Audit, assignment: AuditAssignment, reason: str, now: datetime
) -> bool:
    """Remove the assignment; an audit in progress short of appraisers goes back to open.

    Returns whether the audit went back to open. A submitted report stays with the chair.
    """
    assignment.removed_at, assignment.removal_reason = now, reason
    session.flush()
    if audit.status == AuditStatus.IN_PROGRESS and not queries.is_staffed(session, audit):
        audit.status = AuditStatus.OPEN
        return True
    return False


def _check_assignable(audit: Audit) -> None:
    if audit.status == AuditStatus.SCHEDULED:
        raise AuditError(_("This audit is not open yet; appraisers are assigned once it opens."))
    if audit.status == AuditStatus.SUBMITTED:
        raise AuditError(_("The report of this audit is submitted; no appraiser can be added."))
    if audit.status not in ASSIGNABLE:
        raise AuditError(_("This audit is completed; no appraiser can be added."))


def _check_eligible(session: Session, audit: Audit, appraiser: User, actor: User) -> None:
    """Refuse an appraiser who is not in the pool, not cleared of conflicts, or already in."""
    if appraiser.id == actor.id:
        raise AuditError(_("You sign off this audit as its chair, so you cannot also appraise it."))
    _check_in_pool(session, audit, appraiser, you=False)
    if queries.is_assigned(session, appraiser.id, audit.id):
        raise AuditError(_("%(name)s is already assigned to this audit.", name=appraiser.name))
    declaration = queries.declaration_of(session, audit.id, appraiser.id)
    if declaration is None:
        raise AuditError(
            _(
                "%(name)s has not declared that they have no conflict of interest with "
                "this organisation; they declare first.",
                name=appraiser.name,
            )
        )
    if declaration.has_conflict:
        raise AuditError(
            _(
                "%(name)s declared a conflict of interest with this organisation and "
                "cannot be assigned.",
                name=appraiser.name,
            )
        )


def assign_appraiser(
    session: Session, audit: Audit, appraiser: User, *, now: datetime, actor: User
) -> AuditAssignment:
    """Assign ``appraiser`` (who declared no conflict) to ``audit``: the chair's decision.

    The audit is in progress once it has the appraisers its program type needs.
    """
    audit = locked(session, audit)
    check_chair(session, audit, actor, doing="assign appraisers")
    _check_assignable(audit)
    _check_eligible(session, audit, appraiser, actor)
    program_type = audit.program.program_type
    required = required_appraisers(program_type)
    assigned = len(queries.active_assignments(session, audit.id))
    if assigned >= required:
        raise AuditError(
            ngettext(
                "A %(type)s audit has %(num)d appraiser and this one has them already;"
                " remove one first.",
                "A %(type)s audit has %(num)d appraisers and this one has them already;"
                " remove one first.",
                required,
                type=program_type,
            )
        )
    assignment = AuditAssignment(
        audit_id=audit.id, appraiser_id=appraiser.id, assigned_at=now, assigned_by_id=actor.id
    )
    try:
        with session.begin_nested():  # the partial unique index settles a double click
            session.add(assignment)
    except IntegrityError:
        raise AuditError(
            _("%(name)s is already assigned to this audit.", name=appraiser.name)
        ) from None
    if assigned + 1 == required and audit.status == AuditStatus.OPEN:
        audit.status = AuditStatus.IN_PROGRESS
    log_audit(
        session,
        "audit.appraiser_assigned",
        audit,
        now=now,
        actor=actor,
        appraiser_id=appraiser.id,
        assignment_id=assignment.id,
    )
    queue_template_mail(
        session,
        "audit_assigned.txt",
        to=[appraiser.email],
        now=now,
        audit=audit,
        appraiser=appraiser,
        chair=actor,
    )
    session.flush()
    return assignment


def remove_appraiser(
    session: Session,
    audit: Audit,
    assignment: AuditAssignment,
    *,
    reason: str,
    now: datetime,
    actor: User,
) -> bool:
    """End an appraiser's assignment (the chair, with a reason); return whether it reopened.

    An audit in progress that falls short of appraisers goes back to open.
    """
    reason = text(reason, what=_("The reason"), limit=MAX_REASON_LENGTH)
    audit = locked(session, audit)
    check_chair(session, audit, actor, doing="remove appraisers")
    session.refresh(assignment)
    if assignment.audit_id != audit.id:
        raise AuditError(_("This assignment belongs to another audit."))
    if assignment.removed_at is not None:
        raise AuditError(
            _("%(name)s was already removed from this audit.", name=assignment.appraiser.name)
        )
    if audit.status == AuditStatus.COMPLETED:
        raise AuditError(_("This audit is completed; its appraisers stay on record."))
    reopened = _end_assignment(session, audit, assignment, f"Removed by the chair: {reason}", now)
    log_audit(
        session,
        "audit.appraiser_removed",
        audit,
        now=now,
        actor=actor,
        reason=reason,
        appraiser_id=assignment.appraiser_id,
        assignment_id=assignment.id,
        reopened=reopened,
    )
    queue_template_mail(
        session,
        "audit_committee_appraiser_removed.txt",
        to=[assignment.appraiser.email],
        now=now,
        audit=audit,
        appraiser=assignment.appraiser,
        reason=reason,
    )
    session.flush()
    return reopened
