"""The requests page of an audit: asking for documents, uploading them, downloading them.

Who sees what (``audits.access``): the chair and the assigned appraisers see every request and
download its files; the organisation's administrators see their requests, upload and answer,
and see the names of the files they sent but cannot download them (files are served only to
the appraisers and the chair); staff see the requests and their state, not the files. Anyone
else, pool appraisers included, gets 404.
"""

from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from audits.access import AuditViewer, Standing, audit_page
from audits.documents import services
from audits.documents.forms import AnswerForm, RequestForm, UploadForm
from audits.documents.storage import KIND_NAMES, document_response, human_size
from audits.models import Audit, AuditDocument, DocumentRequest, RequestKind
from audits.services import AuditError
from registry.clock import local_today
from registry.database import utcnow
from registry.extensions import db
from registry.formatting import format_day
from registry.mediators.models import Mediator
from registry.web import submit_form

bp = Blueprint("audit_documents", __name__)

ASKERS = (Standing.CHAIR, Standing.APPRAISER)


def _request_or_404(audit: Audit, request_id: int) -> DocumentRequest:
    request = db.session.get(DocumentRequest, request_id)
    if request is None or request.audit_id != audit.id:
        abort(404)
    return request


def _back(audit: Audit) -> Response:
    return redirect(url_for("audit_documents.requests", audit_id=audit.id), 303)


def _render(
    audit: Audit, viewer: AuditViewer, request_form: RequestForm | None = None, status: int = 200
) -> ResponseReturnValue:
    today = local_today()
    context: dict[str, Any] = {
        "audit": audit,
        "viewer": viewer,
        "today": today,
        "requests": services.requests_of(db.session, audit.id),
        "sees_files": viewer.sees_confidential,
        "is_organisation": viewer.is_(Standing.ORGANISATION),
        "kind_labels": {kind.value: kind.label for kind in RequestKind},
        "size": human_size,
    }
    if viewer.is_(*ASKERS):
        refusal = services.request_refusal(db.session, audit, viewer.user)
        mediators = services.linked_mediators(db.session, audit.program_id)
        if request_form is None:
            due_on = today + timedelta(days=current_app.config["DOCUMENT_REQUEST_DAYS"])
            request_form = RequestForm(formdata=None, mediators=mediators, due_on=due_on)
        context.update(request_refusal=refusal, request_form=request_form)
    if context["is_organisation"]:
        context.update(
            upload_form=UploadForm(formdata=None),
            answer_form=AnswerForm(formdata=None),
            kind_names=KIND_NAMES,
            max_size=human_size(current_app.config["AUDIT_UPLOAD_MAX_BYTES"]),
            upload_refusals={
                request.id: services.upload_refusal(db.session, request, viewer.user)
                for request in context["requests"]
            },
        )
    return render_template("audits/documents/requests.html", **context), status


@bp.route("/audits/<int:audit_id>/requests")
@audit_page(Standing.CHAIR, Standing.APPRAISER, Standing.ORGANISATION, Standing.STAFF)
def requests(audit: Audit, viewer: AuditViewer) -> ResponseReturnValue:
    return _render(audit, viewer)


@bp.route("/audits/<int:audit_id>/requests", methods=["POST"])
@audit_page(*ASKERS)
def create_request(audit: Audit, viewer: AuditViewer) -> ResponseReturnValue:
    form = RequestForm(mediators=services.linked_mediators(db.session, audit.program_id))
    if not form.validate_on_submit():
        flash(_("Check the request: each problem is marked below."), "error")
        return _render(audit, viewer, form, 422)
    # The mediator's choice belongs to the spot check: it is hidden for a document request.
    spot_check = form.kind.data == RequestKind.SPOT_CHECK and form.mediator_id.data
    mediator = db.session.get(Mediator, form.mediator_id.data) if spot_check else None
    try:
        request = services.request_documents(
            db.session,
            audit,
            kind=form.kind.data,
            title=form.title.data,
            description=form.description.data,
            due_on=form.due_on.data,
            mediator=mediator,
            today=local_today(),
            now=utcnow(),
            actor=current_user,
        )
    except AuditError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _render(audit, viewer, form, 422)
    db.session.commit()
    flash(
        _(
            "“%(title)s” is sent to %(organisation)s's administrators, due %(due)s.",
            title=request.title,
            organisation=audit.program.organisation.name,
            due=format_day(request.due_on),
        ),
        "success",
    )
    return _back(audit)


@bp.route("/audits/<int:audit_id>/requests/<int:request_id>/documents", methods=["POST"])
@audit_page(Standing.ORGANISATION)
def upload(audit: Audit, viewer: AuditViewer, request_id: int) -> Response:
    request = _request_or_404(audit, request_id)
    form = UploadForm()

    def action() -> str:
        document = services.upload_document(
            db.session, request, form.file.data, now=utcnow(), actor=current_user
        )
        return _(
            "“%(file)s” is uploaded for “%(title)s”.",
            file=document.original_name,
            title=request.title,
        )

    return submit_form(form, _back(audit), action, AuditError)


@bp.route("/audits/<int:audit_id>/requests/<int:request_id>/answer", methods=["POST"])
@audit_page(Standing.ORGANISATION)
def answer(audit: Audit, viewer: AuditViewer, request_id: int) -> Response:
    request = _request_or_404(audit, request_id)
    form = AnswerForm()

    def action() -> str:
        services.answer_request(
            db.session, request, note=form.note.data, now=utcnow(), actor=current_user
        )
        return _("“%(title)s” is marked as answered; the appraisers are told.", title=request.title)

    return submit_form(form, _back(audit), action, AuditError)


@bp.route("/audits/<int:audit_id>/documents/<int:document_id>")
@audit_page(*ASKERS)
def download(audit: Audit, viewer: AuditViewer, document_id: int) -> Response:
    document = db.session.get(AuditDocument, document_id)
    if document is None:
        abort(404)
    request = db.session.get(DocumentRequest, document.request_id)
    if request is None or request.audit_id != audit.id:
        abort(404)
    return document_response(document) or abort(404)
