"""Pages of program recognition: apply, follow, decide, resubmit.

Who may do what: an administrator of the organisation applies and resubmits a declined
application; the application's page is shown to whoever has a standing on its appraisal
(``audits.access``: the subcommittee's chair and pool, the assigned appraisers, the
organisation's administrators, registry staff), and 404 to anyone else; the chair decides.
The appraisal itself runs on the audit pages.
"""

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from audits.access import AUDIT_PAGE_ROLES, AuditViewer, Standing, standings_on
from audits.queries import standard_set
from audits.reports.services import report_of
from recognition import queries, services
from recognition.forms import ApplicationForm, DecisionForm
from recognition.models import ProgramApplication
from registry.accounts.models import Role
from registry.accounts.permissions import role_required
from registry.clock import local_today
from registry.database import utcnow
from registry.extensions import db
from registry.organisations.models import Organisation
from registry.web import submit_form

bp = Blueprint("recognition", __name__)


def _application_or_404(application_id: int) -> tuple[ProgramApplication, AuditViewer]:
    """Return the application and the viewer's standing on it; 404 for anyone without one."""
    application = db.session.get(ProgramApplication, application_id)
    if application is None:
        abort(404)
    viewer = AuditViewer(current_user, standings_on(db.session, current_user, application.audit))
    if not viewer.standings:
        abort(404)
    return application, viewer


def _administered_or_404(organisation_id: int) -> Organisation:
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or not services.is_administrator(
        db.session, current_user, organisation_id
    ):
        abort(404)
    return organisation


@bp.route("/recognition/applications")
@role_required(*AUDIT_PAGE_ROLES)
def applications() -> str:
    return render_template(
        "recognition/list.html", applications=queries.applications_for(db.session, current_user)
    )


@bp.route("/recognition/applications/<int:application_id>")
@role_required(*AUDIT_PAGE_ROLES)
def application(application_id: int) -> str:
    application, viewer = _application_or_404(application_id)
    return _render_application(application, viewer)


def _render_application(
    application: ProgramApplication, viewer: AuditViewer, form: DecisionForm | None = None
) -> str:
    sees_documents = viewer.is_(Standing.CHAIR, Standing.APPRAISER, Standing.ORGANISATION)
    refusal = services.decision_refusal(db.session, application, viewer.user)
    report = report_of(db.session, application.audit_id)
    context: dict[str, Any] = {
        "application": application,
        "program": application.program,
        "standards": standard_set(db.session, application.audit),
        "viewer": viewer,
        "Standing": Standing,
        "requests": services.required_requests(db.session, application) if sees_documents else None,
        "shows_report": viewer.is_(Standing.CHAIR, Standing.APPRAISER) and report is not None,
        "decision_form": (form or DecisionForm(formdata=None)) if refusal is None else None,
        "resubmission": services.resubmission_of(db.session, application),
        "may_resubmit": viewer.is_(Standing.ORGANISATION) and application.decision == "decline",
    }
    return render_template("recognition/application.html", **context)


@bp.route("/recognition/appraisals/<int:audit_id>")
@role_required(*AUDIT_PAGE_ROLES)
def for_audit(audit_id: int) -> Response:
    application = services.application_of_audit(db.session, audit_id)
    if application is None:
        abort(404)
    _application_or_404(application.id)
    return redirect(url_for("recognition.application", application_id=application.id))


@bp.route("/recognition/applications/<int:application_id>/decision", methods=["POST"])
@role_required(Role.COMMITTEE_MEMBER)
def decide(application_id: int) -> Response:
    application, _viewer = _application_or_404(application_id)
    form = DecisionForm()

    def action() -> str:
        services.decide_application(
            db.session,
            application,
            decision=form.decision.data,
            reasons=form.reasons.data,
            conditions=form.conditions.data or "",
            today=local_today(),
            now=utcnow(),
            actor=current_user,
        )
        return _(
            "Decision recorded: %(decision)s. The organisation is told.",
            decision=application.decision_label,
        )

    back = redirect(url_for("recognition.application", application_id=application.id), code=303)
    return submit_form(form, back, action, services.RecognitionError)


@bp.route("/organisation/<int:organisation_id>/applications/new", methods=["GET", "POST"])
@role_required(Role.ORGANISATION_ADMIN)
def new_application(organisation_id: int) -> ResponseReturnValue:
    organisation = _administered_or_404(organisation_id)
    return _apply(organisation, ApplicationForm(), previous=None)


@bp.route("/recognition/applications/<int:application_id>/resubmit", methods=["GET", "POST"])
@role_required(Role.ORGANISATION_ADMIN)
def resubmit(application_id: int) -> ResponseReturnValue:
    previous, viewer = _application_or_404(application_id)
    if not viewer.is_(Standing.ORGANISATION):
        abort(404)
    if previous.decision != "decline" or services.resubmission_of(db.session, previous):
        flash(_("Only a declined application that was not resubmitted yet can be resubmitted."))
        return redirect(url_for("recognition.application", application_id=previous.id), code=303)
    form = ApplicationForm() if _posted() else ApplicationForm.prefilled(previous)
    form.program_type.data = previous.program.program_type  # fixed: shown, never posted
    return _apply(previous.organisation, form, previous=previous)


def _posted() -> bool:
    return request.method == "POST"


def _apply(
    organisation: Organisation, form: ApplicationForm, *, previous: ProgramApplication | None
) -> ResponseReturnValue:
    """Show the application form, or submit it and go to the new application's page."""
    context = {"organisation": organisation, "form": form, "previous": previous}
    if not _posted():
        # Each type it may apply for already under appraisal: say so rather than offer a form.
        refusals = services.pending_refusals(db.session, organisation, previous)
        return render_template("recognition/apply.html", refusals=refusals, **context)
    if not form.validate_on_submit():
        return render_template("recognition/apply.html", **context), 422
    try:
        application = services.submit_application(
            db.session,
            organisation,
            form.details(),
            form.documents(),  # type: ignore[arg-type]
            resubmission_of=previous,
            today=local_today(),
            now=utcnow(),
            actor=current_user,
        )
    except services.DocumentRefused as refused:
        db.session.rollback()  # nothing kept: neither the rows nor the files stored so far
        getattr(form, f"document_{refused.key}").errors.append(str(refused))
        return render_template("recognition/apply.html", **context), 422
    except services.RecognitionError as error:
        db.session.rollback()
        flash(str(error), "error")
        return render_template("recognition/apply.html", **context), 422
    db.session.commit()
    flash(_("Your application is submitted; its appraisal is open."), "success")
    return redirect(url_for("recognition.application", application_id=application.id), code=303)
