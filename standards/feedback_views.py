"""360 feedback pages: the public form, and the inbox of the bodies that receive feedback.

``/open-feedback`` (not under ``/feedback``, whose ``/feedback/<token>`` links are the
mediators' peer feedback questionnaires) takes feedback on a standard, a program or an
initiative, at most ``OPEN_FEEDBACK_RATE_LIMIT`` per network address; the limiter's count is
never linked to the feedback. Anyone signed in has an inbox: the feedback routed to them
(registry staff: all of it); anyone else gets 404 on a piece of feedback.
"""

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from registry.accounts.permissions import public, signed_in
from registry.clock import local_today
from registry.database import utcnow
from registry.extensions import db, limiter
from registry.organisations.models import Program
from registry.web import render_error, submit_form
from standards import feedback as services
from standards.comments import Identity, identity_of
from standards.feedback import FeedbackError
from standards.models import FEEDBACK_SUBJECT_LABELS, OpenFeedback, Standard
from standards.public_forms import AcknowledgeForm, FeedbackForm
from standards.public_queries import published_standards

bp = Blueprint("open_feedback", __name__)


@bp.errorhandler(TooManyRequests)
def _too_many(_error: TooManyRequests) -> ResponseReturnValue:
    return render_error(429, _("Too much feedback was sent from your network. Try again later."))


def _rate_limit() -> str:
    return current_app.config["OPEN_FEEDBACK_RATE_LIMIT"]


def _accepted(response: Response) -> bool:
    return response.status_code < 400


def _user() -> Any:
    return current_user if current_user.is_authenticated else None


def _recognised_programs() -> list[Program]:
    programs = db.session.scalars(
        select(Program).where(Program.is_recognised, Program.withdrawn_on.is_(None))
    )
    return sorted(programs, key=lambda program: program.title.casefold())


def _form(**kwargs: Any) -> FeedbackForm:
    standards = [
        (row.standard.code, f"{row.standard.code}: {row.standard.title}")
        for row in published_standards(db.session, local_today())
    ]
    programs = [(str(program.id), program.title) for program in _recognised_programs()]
    return FeedbackForm(
        standards=standards, programs=programs, signed_in=_user() is not None, **kwargs
    )


def _preselected(form: FeedbackForm) -> None:
    """Fill the subject from the link that led here ("Give feedback" on a standard or program)."""
    if code := request.args.get("standard"):
        form.subject.data, form.standard.data = "standard", code
    elif program := request.args.get("program"):
        form.subject.data, form.program.data = "program", program


def _render(form: FeedbackForm, status: int = 200) -> ResponseReturnValue:
    return render_template("standards/public/feedback_form.html", form=form), status


def _subject_of(form: FeedbackForm) -> dict[str, Any]:
    standard = program = None
    if form.standard.data:
        standard = db.session.scalar(select(Standard).where(Standard.code == form.standard.data))
    if form.program.data and form.program.data.isdigit():
        program = db.session.get(Program, int(form.program.data))
        program = program if program is not None and program.is_recognised else None
    return {"standard": standard, "program": program, "initiative": form.initiative.data}


@bp.route("/open-feedback", methods=["GET", "POST"])
@limiter.limit(_rate_limit, methods=["POST"], deduct_when=_accepted)
@public
def give() -> ResponseReturnValue:
    """The 360 feedback form."""
    form = _form()
    if not form.is_submitted():
        _preselected(form)
        return _render(form)
    if not form.validate():
        flash(_("Your feedback is not sent yet: see the marked fields."), "error")
        return _render(form, 422)
    try:
        identity: Identity = identity_of(
            form.signature.data,
            user=_user(),
            name=form.name.data,
            email=form.email.data,
            error=FeedbackError,
        )
        feedback = services.give_feedback(
            db.session,
            subject=form.subject.data,
            body=form.body.data,
            identity=identity,
            now=utcnow(),
            today=local_today(),
            **_subject_of(form),
        )
    except FeedbackError as error:
        db.session.rollback()
        flash(_("Your feedback is not sent: %(error)s", error=error), "error")
        return _render(form, 422)
    db.session.commit()
    if feedback.is_anonymous:
        flash(
            _("Thank you. Your anonymous feedback is sent; nothing that identifies you is kept."),
            "success",
        )
    else:
        flash(
            _("Thank you. Your feedback is sent; you will receive its acknowledgement by e-mail."),
            "success",
        )
    return redirect(url_for(".give"), 303)


@bp.route("/open-feedback/inbox")
@signed_in
def inbox() -> str:
    """The feedback routed to the signed-in person (all of it for registry staff)."""
    items = services.inbox(db.session, current_user, local_today())
    titles = {feedback.id: services.subject_title(db.session, feedback) for feedback in items}
    return render_template(
        "standards/public/feedback_inbox.html",
        items=items,
        titles=titles,
        subject_labels=FEEDBACK_SUBJECT_LABELS,
    )


def _readable_or_404(feedback_id: int) -> OpenFeedback:
    feedback = db.session.get(OpenFeedback, feedback_id)
    if feedback is None or not services.may_read(db.session, current_user, feedback, local_today()):
        abort(404)
    return feedback


@bp.route("/open-feedback/<int:feedback_id>")
@signed_in
def detail(feedback_id: int) -> str:
    feedback = _readable_or_404(feedback_id)
    return render_template(
        "standards/public/feedback_detail.html",
        feedback=feedback,
        about=services.subject_title(db.session, feedback),
        form=AcknowledgeForm(formdata=None) if feedback.acknowledged_at is None else None,
    )


@bp.route("/open-feedback/<int:feedback_id>/acknowledge", methods=["POST"])
@signed_in
def acknowledge(feedback_id: int) -> Response:
    feedback = _readable_or_404(feedback_id)
    form = AcknowledgeForm()

    def action() -> str:
        services.acknowledge_feedback(
            db.session,
            feedback,
            message=form.message.data,
            actor=current_user,
            now=utcnow(),
            today=local_today(),
        )
        return _("The feedback is acknowledged.")

    back = redirect(url_for(".detail", feedback_id=feedback_id), 303)
    return submit_form(form, back, action, FeedbackError)
