"""The audit report page: the appraisers' draft, the chair's return or sign-off, and notes.

Who sees what (``audits.access``): the assigned appraisers write the report while the audit is
in progress and read it afterwards; the chair of the program type's subcommittee reads it and,
once it is submitted, returns or signs it off; both keep notes. The organisation sees only the
outcome, the summary and any conditions, after the sign-off. Staff, pool appraisers and
everyone else get 404.
"""

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from audits.access import AuditViewer, Standing, audit_page
from audits.models import Audit, AuditStatus
from audits.queries import standard_set
from audits.reports import services
from audits.reports.forms import NoteForm, ReportForm, ReturnForm, SignOffForm
from audits.services import AuditError
from registry.clock import local_today
from registry.database import utcnow
from registry.extensions import db
from registry.formatting import format_day
from registry.web import confirmation

bp = Blueprint("audit_reports", __name__)

READERS = (Standing.CHAIR, Standing.APPRAISER, Standing.ORGANISATION)
# The report's own people; the organisation gets 404 on every form of the page.
WRITERS = (Standing.CHAIR, Standing.APPRAISER)


def _back(audit: Audit) -> Response:
    return redirect(url_for("audit_reports.report", audit_id=audit.id), 303)


def _render(
    audit: Audit, viewer: AuditViewer, status: int = 200, **forms: Any
) -> ResponseReturnValue:
    """Render the page for the viewer: the report's people, or the organisation."""
    if not viewer.sees_confidential:
        completed = audit.status == AuditStatus.COMPLETED
        report = services.report_of(db.session, audit.id) if completed else None
        page = render_template(
            "audits/reports/organisation.html",
            audit=audit,
            report=report,
            standards=standard_set(db.session, audit),
        )
        return page, status
    standards = standard_set(db.session, audit)
    report = services.report_of(db.session, audit.id)
    context: dict[str, Any] = {
        "audit": audit,
        "viewer": viewer,
        "report": report,
        "standards": standards,
        "criteria": standards.criteria,
        "rules": {rule.code: rule for rule in standards.rules},
        "missing": services.missing_parts(report, standards),
        "notes": services.notes_of(db.session, audit.id),
        "note_form": forms.get("note_form") or NoteForm(formdata=None),
    }
    if viewer.is_(Standing.APPRAISER) and audit.status == AuditStatus.IN_PROGRESS:
        form = forms.get("report_form") or ReportForm.of_report(
            report, standards=standards, kind=audit.kind
        )
        form.add_blank_rows()
        context["report_form"] = form
    if viewer.is_(Standing.CHAIR) and audit.status == AuditStatus.SUBMITTED:
        context["return_form"] = forms.get("return_form") or ReturnForm(formdata=None)
        context["sign_off_form"] = SignOffForm(formdata=None)
        # The chair cannot sign off a report they wrote (services.sign_off refuses it too).
        context["may_sign_off"] = not viewer.is_(Standing.APPRAISER) and (
            report is None or report.submitted_by_id != viewer.user.id
        )
    return render_template("audits/reports/report.html", **context), status


def _submit(
    audit: Audit, viewer: AuditViewer, form: Any, form_name: str, action: Callable[[], str]
) -> ResponseReturnValue:
    """Run ``action`` if ``form`` is valid and commit; otherwise show the page with the input."""
    if form.validate_on_submit():
        try:
            message = action()
        except AuditError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(message, "success")
            return _back(audit)
    else:
        flash(_("Check the form: each problem is marked below."), "error")
    return _render(audit, viewer, 422, **{form_name: form})


@bp.route("/audits/<int:audit_id>/report")
@audit_page(*READERS)
def report(audit: Audit, viewer: AuditViewer) -> ResponseReturnValue:
    return _render(audit, viewer)


def _save_draft(audit: Audit, form: ReportForm) -> None:
    services.save_draft(
        db.session,
        audit,
        findings=form.findings_data(),
        deviations=form.deviations_data(),
        **form.texts(),
        now=utcnow(),
        actor=current_user,
    )


@bp.route("/audits/<int:audit_id>/report", methods=["POST"])
@audit_page(*WRITERS)
def save_draft(audit: Audit, viewer: AuditViewer) -> ResponseReturnValue:
    form = ReportForm(standards=standard_set(db.session, audit), kind=audit.kind)

    def action() -> str:
        _save_draft(audit, form)
        return _("Your draft is saved. The chair reads it only once you submit it.")

    return _submit(audit, viewer, form, "report_form", action)


@bp.route("/audits/<int:audit_id>/report/submit", methods=["POST"])
@audit_page(*WRITERS)
def submit(audit: Audit, viewer: AuditViewer) -> ResponseReturnValue:
    """Save the draft, then submit it: an incomplete report stays saved, with what it lacks."""
    form = ReportForm(standards=standard_set(db.session, audit), kind=audit.kind)
    if not form.validate_on_submit():
        flash(_("Check the form: each problem is marked below."), "error")
        return _render(audit, viewer, 422, report_form=form)
    try:
        _save_draft(audit, form)
    except AuditError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _render(audit, viewer, 422, report_form=form)
    db.session.commit()  # what was entered is kept, even when the report is not complete yet
    try:
        services.submit_report(db.session, audit, now=utcnow(), actor=current_user)
    except AuditError as error:
        db.session.rollback()
        flash(_("Your draft is saved, but not submitted. %(error)s", error=str(error)), "error")
        return _back(audit)
    db.session.commit()
    flash(_("The report is submitted; the chair is told by e-mail."), "success")
    return _back(audit)


@bp.route("/audits/<int:audit_id>/report/return", methods=["POST"])
@audit_page(*WRITERS)
def return_report(audit: Audit, viewer: AuditViewer) -> ResponseReturnValue:
    form = ReturnForm()

    def action() -> str:
        services.return_report(
            db.session, audit, comments=form.comments.data, now=utcnow(), actor=current_user
        )
        return _("The report is returned to the appraisers with your comments.")

    return _submit(audit, viewer, form, "return_form", action)


@bp.route("/audits/<int:audit_id>/report/sign-off", methods=["POST"])
@audit_page(*WRITERS)
def sign_off(audit: Audit, viewer: AuditViewer) -> ResponseReturnValue:
    form = SignOffForm()
    report = services.report_of(db.session, audit.id)
    page = confirmation(
        form,
        title=_("Sign off the audit of %(program)s?", program=audit.program.name),
        summary=lambda: [
            _(
                "make the recommendation, %(recommendation)s, the audit's outcome"
                " and the program's status",
                recommendation=report.recommendation_label if report else _("none"),
            ),
            _("send the organisation the outcome and the summary, and schedule the next audit"),
        ],
        button=_("Yes, sign off"),
        back=url_for("audit_reports.report", audit_id=audit.id),
    )
    if page is not None:
        return page

    def action() -> str:
        next_audit = services.sign_off(
            db.session, audit, today=local_today(), now=utcnow(), actor=current_user
        )
        outcome = _(
            "The audit is signed off: %(outcome)s. The organisation is told.",
            outcome=audit.outcome_label,
        )
        if next_audit is None:
            return f"{outcome} {_('No further audit is scheduled.')}"
        following = _("The next audit is due on %(due)s.", due=format_day(next_audit.due_on))
        return f"{outcome} {following}"

    return _submit(audit, viewer, form, "sign_off_form", action)


@bp.route("/audits/<int:audit_id>/notes", methods=["POST"])
@audit_page(*WRITERS)
def add_note(audit: Audit, viewer: AuditViewer) -> ResponseReturnValue:
    form = NoteForm()

    def action() -> str:
        services.add_note(db.session, audit, body=form.body.data, now=utcnow(), actor=current_user)
        return _("Your note is added.")

    return _submit(audit, viewer, form, "note_form", action)
