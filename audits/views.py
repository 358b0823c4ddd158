"""The audit hub, the staff schedule and program pages, the public program page and the
organisation's audits page.

Who sees what: the hub lets in everyone with a standing on the audit (``audits.access``), and
shows each only their part: pool appraisers the organisation, program, type and dates; the
organisation its schedule, never who appraises; the chair, the assigned appraisers and staff
also who is assigned. The organisation's page shows the outcome, summary and conditions of
its own signed-off audits; staff see the schedule and outcomes there, never the summary. The
public program page shows the public status and dates only.
"""

from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import lazyload
from werkzeug.wrappers import Response

from audits import queries
from audits.access import AUDIT_STAFF, AuditViewer, Standing, audit_page
from audits.forms import ProgramForm, ScheduleFilterForm, WithdrawProgramForm
from audits.models import Audit, AuditReport, AuditStatus
from audits.schedule import ProgramStatus
from audits.services import AuditError, create_program, withdraw_program
from registry.accounts.models import Role
from registry.accounts.permissions import public, role_required
from registry.clock import local_date, local_today
from registry.database import utcnow
from registry.extensions import db
from registry.formatting import format_day
from registry.organisations.models import Organisation, Program
from registry.organisations.views import organisation_access
from registry.web import submit_form

bp = Blueprint("audits", __name__)

SCHEDULE_READERS = (*AUDIT_STAFF, Role.COMMITTEE_MEMBER)
# Those who see who appraises an audit.
SEES_ASSIGNMENTS = (Standing.CHAIR, Standing.APPRAISER, Standing.STAFF)


def register(app: Flask) -> None:
    """Register the audit blueprints: the core pages, the committee, documents and reports."""
    from audits.committee.views import bp as committee
    from audits.documents.views import bp as documents
    from audits.reports.views import bp as reports

    for blueprint in (bp, committee, documents, reports):
        app.register_blueprint(blueprint)


def _lead_days() -> int:
    return current_app.config["AUDIT_LEAD_DAYS"]


def _program_or_404(program_id: int) -> Program:
    program = db.session.get(Program, program_id)
    if program is None or not program.is_recognised:  # one applied for: see its application
        abort(404)
    return program


def _row(program: Program, today: date) -> queries.ProgramRow:
    return queries.program_rows(db.session, [program], today, _lead_days())[0]


# -- The audit hub ---------------------------------------------------------------------------


def _timeline(
    audit: Audit, report: AuditReport | None, *, pool_only: bool
) -> list[tuple[str, date]]:
    """Return the dates the audit has passed, in order; a pool appraiser sees only the first two.

    (What the work has reached tells a pool appraiser more than they may know before they are
    assigned.)
    """
    submitted = report.submitted_at if report is not None else None
    steps = [
        (_("Scheduled"), local_date(audit.scheduled_at)),
        (_("Opened"), audit.opened_on),
        (_("Reminded"), audit.reminded_on),
        (_("Marked overdue"), audit.overdue_marked_on),
        (_("Report submitted"), local_date(submitted) if submitted else None),
        (_("Decision") if audit.is_recognition else _("Signed off"), audit.completed_on),
    ]
    return [(label, day) for label, day in steps[: 2 if pool_only else None] if day]


@bp.route("/audits/<int:audit_id>")
@audit_page(*Standing)
def audit(audit: Audit, viewer: AuditViewer) -> str:
    today = local_today()
    report = db.session.get(AuditReport, audit.id)
    sees_assignments = viewer.is_(*SEES_ASSIGNMENTS)
    # Pool appraisers (with no other standing) see only the audit's name and dates.
    pool_only = viewer.standings == {Standing.POOL}
    subcommittee = queries.subcommittee_for(db.session, audit.program.program_type)
    return render_template(
        "audits/audit.html",
        audit=audit,
        program=audit.program,
        viewer=viewer,
        Standing=Standing,
        today=today,
        is_overdue=audit.is_overdue_on(today),
        pool_only=pool_only,
        timeline=_timeline(audit, report, pool_only=pool_only),
        assignments=queries.active_assignments(db.session, audit.id) if sees_assignments else None,
        chair=subcommittee.chair if sees_assignments and subcommittee else None,
        shows_report=viewer.is_(Standing.CHAIR, Standing.APPRAISER)
        or (viewer.is_(Standing.ORGANISATION) and audit.status == AuditStatus.COMPLETED),
    )


# -- The staff schedule ----------------------------------------------------------------------


@bp.route("/staff/audits")
@role_required(*SCHEDULE_READERS)
def schedule() -> ResponseReturnValue:
    form = ScheduleFilterForm(request.args)
    if not form.validate():
        return render_template("audits/schedule.html", form=form, rows=None), 400
    today = local_today()
    programs = db.session.scalars(
        select(Program).where(Program.is_recognised).options(lazyload(Program.locations))
    ).all()
    rows = queries.program_rows(db.session, list(programs), today, _lead_days())
    if form.type.data:
        rows = [row for row in rows if row.program.program_type == form.type.data]
    counts = {status: 0 for status in ProgramStatus}
    for row in rows:
        counts[row.status] += 1
    if form.status.data:
        rows = [row for row in rows if row.status == form.status.data]
    rows.sort(key=lambda r: (r.due_on or date.max, r.program.organisation.name, r.program.name))
    is_staff = current_user.has_role(*AUDIT_STAFF)
    return render_template(
        "audits/schedule.html",
        form=form,
        rows=rows,
        counts=counts,
        today=today,
        is_staff=is_staff,
        # Committee members open the hubs of the types they chair; staff open every hub.
        hub_types=None if is_staff else queries.chaired_types(db.session, current_user.id),
    )


# -- Staff: programs -------------------------------------------------------------------------


def _program_form(**kwargs: Any) -> ProgramForm:
    organisations = db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    return ProgramForm(organisations=list(organisations), today=local_today(), **kwargs)


@bp.route("/staff/programs/new", methods=["GET", "POST"])
@role_required(Role.ADMINISTRATOR)
def staff_new_program() -> ResponseReturnValue:
    form = _program_form()
    if form.validate_on_submit():
        organisation = db.session.get(Organisation, form.organisation_id.data)
        try:
            program = create_program(
                db.session,
                organisation,
                program_type=form.program_type.data,
                name=form.name.data,
                description=form.description.data,
                recognised_on=form.recognised_on.data,
                today=local_today(),
                now=utcnow(),
                actor=current_user,
            )
        except AuditError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            due = _row(program, local_today()).due_on
            if due:
                message = _(
                    "%(program)s of %(organisation)s is recognised;"
                    " its first audit is due on %(due)s.",
                    program=program.name,
                    organisation=organisation.name,
                    due=format_day(due),
                )
            else:
                message = _(
                    "%(program)s of %(organisation)s is recognised.",
                    program=program.name,
                    organisation=organisation.name,
                )
            flash(message, "success")
            return redirect(url_for("audits.staff_program", program_id=program.id), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("audits/program_new.html", form=form), status


@bp.route("/staff/programs/<int:program_id>")
@role_required(*AUDIT_STAFF)
def staff_program(program_id: int) -> str:
    program = _program_or_404(program_id)
    today = local_today()
    return render_template(
        "audits/staff_program.html",
        program=program,
        row=_row(program, today),
        today=today,
        audits=queries.program_audits(db.session, program.id),
        withdraw_form=WithdrawProgramForm(formdata=None),
    )


@bp.route("/staff/programs/<int:program_id>/withdraw", methods=["POST"])
@role_required(Role.ADMINISTRATOR)
def staff_withdraw_program(program_id: int) -> Response:
    program = _program_or_404(program_id)
    form = WithdrawProgramForm()

    def action() -> str:
        withdraw_program(
            db.session,
            program,
            reason=form.reason.data,
            today=local_today(),
            now=utcnow(),
            actor=current_user,
        )
        return _(
            "The recognition of %(program)s is withdrawn; no further audit is scheduled.",
            program=program.name,
        )

    back = redirect(url_for("audits.staff_program", program_id=program.id), 303)
    return submit_form(form, back, action, AuditError)


# -- The public program page -----------------------------------------------------------------


@bp.route("/programs/<int:program_id>")
@public
def program(program_id: int) -> str:
    program = _program_or_404(program_id)
    today = local_today()
    return render_template(
        "audits/program.html", program=program, row=_row(program, today), today=today
    )


# -- The organisation's audits ---------------------------------------------------------------


@bp.route("/organisation/<int:organisation_id>/audits")
@organisation_access
def organisation_audits(organisation: Organisation) -> ResponseReturnValue:
    today = local_today()
    programs = organisation.programs
    rows = queries.program_rows(db.session, programs, today, _lead_days())
    cycles = [row.cycle for row in rows if row.cycle is not None]
    is_admin = queries.is_organisation_admin(db.session, current_user.id, organisation.id)
    return render_template(
        "audits/organisation.html",
        organisation=organisation,
        rows=rows,
        today=today,
        open_requests=queries.open_request_counts(db.session, [a.id for a in cycles]),
        completed=queries.signed_off_audits(db.session, [p.id for p in programs]),
        # The summary and conditions are the organisation's: staff see the outcome only.
        shows_summary=is_admin,
    )
