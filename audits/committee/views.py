"""The Appraisal Committee page, the appraiser's and the chair's home pages, and each audit's
appraisers page: declarations and assignments.

Who sees what on an audit's appraisers page: a pool appraiser sees the audit's name and dates
and their own declaration; the chair sees every declaration with its details and assigns or
removes appraisers; staff see who is assigned and how many declarations there are, never
their details.
"""

from dataclasses import dataclass
from datetime import timedelta

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import ColumnElement, func, select
from werkzeug.wrappers import Response

from audits import queries
from audits.access import AUDIT_STAFF, AuditViewer, Standing, audit_page
from audits.committee import services
from audits.committee.forms import (
    AssignForm,
    ConfirmForm,
    DeclarationForm,
    PersonForm,
    RemoveForm,
)
from audits.criteria import required_appraisers
from audits.models import (
    ACTIVE_STATUSES,
    Audit,
    AuditAssignment,
    AuditStatus,
    ConflictDeclaration,
    Subcommittee,
)
from audits.services import AuditError
from registry.accounts.models import Role, User
from registry.accounts.permissions import role_required
from registry.clock import local_today
from registry.database import utcnow
from registry.extensions import db
from registry.i18n import _l
from registry.organisations.models import Program, ProgramType
from registry.web import submit_form

bp = Blueprint("audit_committee", __name__)

# Who may read the committee page; only administrators change it.
COMMITTEE_READERS = (*AUDIT_STAFF, Role.COMMITTEE_MEMBER)
# How far back the chair's page lists completed audits.
RECENT_DAYS = 365


# -- The Appraisal Committee -----------------------------------------------------------------


def _type_or_404(program_type: str) -> str:
    if program_type not in set(ProgramType):
        abort(404)
    return program_type


def _subcommittees() -> list[Subcommittee]:
    order = list(ProgramType)
    rows = db.session.scalars(select(Subcommittee)).all()
    return sorted(rows, key=lambda row: order.index(ProgramType(row.program_type)))


def _chair_form(program_type: str, **kwargs: object) -> PersonForm:
    return PersonForm(
        prefix=f"chair-{program_type}",
        description=_("A committee member; the current chair, if any, is replaced."),
        **kwargs,
    )


def _member_form(program_type: str, **kwargs: object) -> PersonForm:
    return PersonForm(
        prefix=f"member-{program_type}",
        description=_("An appraiser; members of the pool declare and may be assigned."),
        **kwargs,
    )


@bp.route("/staff/appraisal-committee")
@role_required(*COMMITTEE_READERS)
def committee() -> str:
    subcommittees = _subcommittees()
    return render_template(
        "audits/committee/committee.html",
        subcommittees=subcommittees,
        chair_forms={
            s.program_type: _chair_form(s.program_type, formdata=None) for s in subcommittees
        },
        member_forms={
            s.program_type: _member_form(s.program_type, formdata=None) for s in subcommittees
        },
        can_edit=current_user.has_role(Role.ADMINISTRATOR),
    )


def _back_to_committee(program_type: str) -> Response:
    return redirect(url_for("audit_committee.committee", _anchor=program_type), 303)


@bp.route("/staff/appraisal-committee/<program_type>/chair", methods=["POST"])
@role_required(Role.ADMINISTRATOR)
def appoint_chair(program_type: str) -> Response:
    program_type = _type_or_404(program_type)
    form = _chair_form(program_type)

    def action() -> str:
        user = form.user
        services.appoint_chair(db.session, program_type, user, now=utcnow(), actor=current_user)
        return _(
            "%(name)s now chairs the %(type)s subcommittee and is told by e-mail.",
            name=user.name,
            type=program_type,
        )

    return submit_form(form, _back_to_committee(program_type), action, AuditError)


@bp.route("/staff/appraisal-committee/<program_type>/members", methods=["POST"])
@role_required(Role.ADMINISTRATOR)
def add_member(program_type: str) -> Response:
    program_type = _type_or_404(program_type)
    form = _member_form(program_type)

    def action() -> str:
        user = form.user
        services.add_member(db.session, program_type, user, now=utcnow(), actor=current_user)
        return _(
            "%(name)s is in the pool of %(type)s appraisers.", name=user.name, type=program_type
        )

    return submit_form(form, _back_to_committee(program_type), action, AuditError)


@bp.route(
    "/staff/appraisal-committee/<program_type>/members/<int:user_id>/remove", methods=["POST"]
)
@role_required(Role.ADMINISTRATOR)
def remove_member(program_type: str, user_id: int) -> Response:
    program_type = _type_or_404(program_type)
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)

    def action() -> str:
        services.remove_member(db.session, program_type, user, now=utcnow(), actor=current_user)
        return _(
            "%(name)s is no longer in the pool of %(type)s appraisers.",
            name=user.name,
            type=program_type,
        )

    return submit_form(ConfirmForm(), _back_to_committee(program_type), action, AuditError)


# -- The appraiser's and the chair's home pages ------------------------------------------------


def _audits(types: set[str], *conditions: ColumnElement[bool], newest: bool = False) -> list[Audit]:
    """Return the audits of programs of ``types`` meeting ``conditions``, soonest due first."""
    if not types:
        return []
    order = (Audit.completed_on.desc(), Audit.id.desc()) if newest else (Audit.due_on, Audit.id)
    return list(
        db.session.scalars(
            select(Audit)
            .join(Program, Program.id == Audit.program_id)
            .where(Program.program_type.in_(types), *conditions)
            .order_by(*order)
        )
    )


@dataclass(frozen=True)
class PoolRow:
    audit: Audit
    state: str  # a key of POOL_STATES


# The appraiser's state on an audit of their pool: its label and its badge's class.
POOL_STATES = {
    "declare": (_l("Declaration needed"), "status-audit_due"),
    "waiting": (_l("No conflict declared: waiting for the chair"), "status-under_audit"),
    "declared": (_l("No conflict declared"), "status-applicant"),
    "assigned": (_l("Assigned to you"), "status-certified"),
    "conflict": (_l("Conflict declared"), "status-struck"),
    "undeclared": (_l("Not declared"), "status-applicant"),
}


def _pool_state(audit: Audit, declaration: ConflictDeclaration | None, assigned: set[int]) -> str:
    is_open = audit.status == AuditStatus.OPEN
    if audit.id in assigned:
        return "assigned"
    if declaration is None:
        return "declare" if is_open else "undeclared"
    if declaration.has_conflict:
        return "conflict"
    return "waiting" if is_open else "declared"


def _assigned_audit_ids(user_id: int) -> set[int]:
    return set(
        db.session.scalars(
            select(AuditAssignment.audit_id).where(
                AuditAssignment.appraiser_id == user_id, AuditAssignment.removed_at.is_(None)
            )
        )
    )


@bp.route("/appraiser")
@role_required(Role.APPRAISER)
def appraiser_home() -> str:
    types = queries.pool_types(db.session, current_user.id)
    audits = _audits(types, Audit.status.in_(ACTIVE_STATUSES))
    mine = _assigned_audit_ids(current_user.id)
    declared = {
        d.audit_id: d
        for d in db.session.scalars(
            select(ConflictDeclaration).where(
                ConflictDeclaration.appraiser_id == current_user.id,
                ConflictDeclaration.audit_id.in_([a.id for a in audits]),
            )
        )
    }
    rows = [PoolRow(a, _pool_state(a, declared.get(a.id), mine)) for a in audits]
    assigned = db.session.scalars(
        select(Audit)
        .where(Audit.id.in_(mine), Audit.status != AuditStatus.COMPLETED)
        .order_by(Audit.due_on, Audit.id)
    ).all()
    return render_template(
        "audits/committee/appraiser_home.html",
        types=sorted(types, key=list(ProgramType).index),
        rows=rows,
        assigned=assigned,
        to_declare=sum(1 for row in rows if row.state == "declare"),
        states=POOL_STATES,
    )


def _counts(audit_ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Return per audit how many appraisers are assigned and how many declared no conflict."""
    if not audit_ids:
        return {}, {}
    assigned = db.session.execute(
        select(AuditAssignment.audit_id, func.count())
        .where(AuditAssignment.audit_id.in_(audit_ids), AuditAssignment.removed_at.is_(None))
        .group_by(AuditAssignment.audit_id)
    ).all()
    cleared = db.session.execute(
        select(ConflictDeclaration.audit_id, func.count())
        .where(ConflictDeclaration.audit_id.in_(audit_ids), ~ConflictDeclaration.has_conflict)
        .group_by(ConflictDeclaration.audit_id)
    ).all()
    return {row[0]: row[1] for row in assigned}, {row[0]: row[1] for row in cleared}


@bp.route("/committee/audits")
@role_required(Role.COMMITTEE_MEMBER)
def chair_home() -> str:
    types = queries.chaired_types(db.session, current_user.id)
    audits = _audits(types, Audit.status.in_(ACTIVE_STATUSES))
    completed = _audits(
        types,
        Audit.status == AuditStatus.COMPLETED,
        Audit.completed_on >= local_today() - timedelta(days=RECENT_DAYS),
        newest=True,
    )
    assigned, cleared = _counts([a.id for a in audits])
    groups = {status: [a for a in audits if a.status == status] for status in ACTIVE_STATUSES}
    return render_template(
        "audits/committee/chair_home.html",
        types=sorted(types, key=list(ProgramType).index),
        waiting=groups[AuditStatus.OPEN],
        in_progress=groups[AuditStatus.IN_PROGRESS],
        submitted=groups[AuditStatus.SUBMITTED],
        completed=completed,
        assigned=assigned,
        cleared=cleared,
        required=required_appraisers,
        recent_days=RECENT_DAYS,
    )


# -- An audit's appraisers: declarations and assignments ---------------------------------------


def _can_declare(audit: Audit, declaration: ConflictDeclaration | None) -> bool:
    return audit.status in services.DECLARABLE and (
        declaration is None or not declaration.has_conflict
    )


def _chair_context(audit: Audit, viewer: AuditViewer) -> dict[str, object]:
    """Return what the chair sees: every declaration, who can be assigned and who cannot."""
    filed = queries.declarations(db.session, audit.id)
    by_appraiser = {d.appraiser_id: d for d in filed}
    assigned = {a.appraiser_id for a in queries.active_assignments(db.session, audit.id)}
    pool = queries.pool(db.session, audit.program.program_type)
    eligible = [
        user
        for user in pool
        if user.id not in assigned
        and user.id != viewer.user.id
        and user.id in by_appraiser
        and not by_appraiser[user.id].has_conflict
    ]
    removed = db.session.scalars(
        select(AuditAssignment)
        .where(AuditAssignment.audit_id == audit.id, AuditAssignment.removed_at.is_not(None))
        .order_by(AuditAssignment.removed_at)
    ).all()
    return {
        "declarations": filed,
        "undeclared": [user for user in pool if user.id not in by_appraiser],
        "assign_form": AssignForm(formdata=None, appraisers=eligible),
        "removed": removed,
    }


@bp.route("/audits/<int:audit_id>/appraisers")
@audit_page(Standing.CHAIR, Standing.APPRAISER, Standing.POOL, Standing.STAFF)
def appraisers(audit: Audit, viewer: AuditViewer) -> str:
    assignments = queries.active_assignments(db.session, audit.id)
    context: dict[str, object] = {
        "audit": audit,
        "viewer": viewer,
        "Standing": Standing,
        "assignments": assignments,
        "required": required_appraisers(audit.program.program_type),
        "kinds": services.CONFLICT_KINDS,
        "assignable": audit.status in services.ASSIGNABLE,
    }
    if viewer.is_(Standing.POOL, Standing.APPRAISER):
        own = queries.declaration_of(db.session, audit.id, viewer.user.id)
        context["own"] = own
        if _can_declare(audit, own):
            context["declaration_form"] = DeclarationForm(formdata=None)
    if viewer.is_(Standing.CHAIR):
        context.update(_chair_context(audit, viewer))
        context["remove_forms"] = {
            a.id: RemoveForm(formdata=None, prefix=f"remove-{a.id}") for a in assignments
        }
    elif viewer.is_(Standing.STAFF):
        filed = queries.declarations(db.session, audit.id)
        context["conflict_count"] = sum(1 for d in filed if d.has_conflict)
        context["cleared_count"] = sum(1 for d in filed if not d.has_conflict)
    return render_template("audits/committee/appraisers.html", **context)


def _back_to_appraisers(audit: Audit) -> Response:
    return redirect(url_for("audit_committee.appraisers", audit_id=audit.id), 303)


@bp.route("/audits/<int:audit_id>/declaration", methods=["POST"])
@audit_page(Standing.APPRAISER, Standing.POOL)
def declare(audit: Audit, viewer: AuditViewer) -> Response:
    form = DeclarationForm()
    was_assigned = viewer.is_(Standing.APPRAISER)

    def action() -> str:
        declaration = services.declare_conflicts(
            db.session,
            audit,
            current_user,
            relationship=form.relationship.data,
            gifts=form.gifts.data,
            prior_work=form.prior_work.data,
            other=form.other.data,
            no_conflict=form.no_conflict.data,
            details=form.details.data,
            now=utcnow(),
        )
        if not declaration.has_conflict:
            return _(
                "Thank you: you declared no conflict of interest. The chair may now assign you."
            )
        if was_assigned:
            return _(
                "Your conflict is recorded and you are removed from this audit; the chair is told."
            )
        return _("Your conflict is recorded; you will not be assigned to this audit.")

    return submit_form(form, _back_to_appraisers(audit), action, AuditError)


@bp.route("/audits/<int:audit_id>/assignments", methods=["POST"])
@audit_page(Standing.CHAIR)
def assign(audit: Audit, viewer: AuditViewer) -> Response:
    form = AssignForm(appraisers=[])

    def action() -> str:
        appraiser = db.session.get(User, form.appraiser_id.data)
        if appraiser is None:
            raise AuditError(_("There is no such appraiser."))
        services.assign_appraiser(db.session, audit, appraiser, now=utcnow(), actor=current_user)
        message = _("%(name)s is assigned and told by e-mail.", name=appraiser.name)
        if audit.status == AuditStatus.IN_PROGRESS:
            message += " " + _("The audit has its appraisers and is in progress.")
        return message

    return submit_form(form, _back_to_appraisers(audit), action, AuditError)


@bp.route("/audits/<int:audit_id>/assignments/<int:assignment_id>/remove", methods=["POST"])
@audit_page(Standing.CHAIR)
def remove(audit: Audit, viewer: AuditViewer, assignment_id: int) -> Response:
    assignment = db.session.get(AuditAssignment, assignment_id)
    if assignment is None or assignment.audit_id != audit.id:
        abort(404)
    form = RemoveForm(prefix=f"remove-{assignment.id}")
    name = assignment.appraiser.name

    def action() -> str:
        reopened = services.remove_appraiser(
            db.session, audit, assignment, reason=form.reason.data, now=utcnow(), actor=current_user
        )
        message = _("%(name)s is removed from this audit and told by e-mail.", name=name)
        if reopened:
            message += " " + _("The audit is open again: assign another appraiser.")
        return message

    return submit_form(form, _back_to_appraisers(audit), action, AuditError)
