"""The public pages of standards: the list, a standard, a published version, a consultation.

Anyone reads them. While a consultation is open anyone may comment on it (named with their
account, named with a confirmed e-mail address, or anonymously), at most
``STANDARD_COMMENT_RATE_LIMIT`` comments per network address; the limiter's count is kept in its
own storage for the window and is never linked to a comment. Once closed, the consultation's
page is its report. The Taskforce chair and registry staff hide comments.
"""

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from registry.accounts.permissions import public, signed_in
from registry.clock import local_today
from registry.database import utcnow
from registry.extensions import db, limiter
from registry.web import render_error, submit_form
from standards import comments, public_queries
from standards.comments import CommentError
from standards.feedback import standard_feedback_count
from standards.models import Consultation, ConsultationComment, Standard
from standards.public_forms import CommentForm, ConfirmCommentForm, HideCommentForm
from standards.queries import (
    current_taskforce,
    published_versions,
    standard_by_code,
    version_in_force,
)

bp = Blueprint("standards_public", __name__)


@bp.errorhandler(TooManyRequests)
def _too_many(_error: TooManyRequests) -> ResponseReturnValue:
    return render_error(429, _("Too many comments were sent from your network. Try again later."))


def _comment_rate_limit() -> str:
    return current_app.config["STANDARD_COMMENT_RATE_LIMIT"]


def _accepted(response: Response) -> bool:
    """Count only what was written: a form sent back with an error costs nothing."""
    return response.status_code < 400


def _standard_or_404(code: str) -> Standard:
    standard = standard_by_code(db.session, code)
    if standard is None or not public_queries.is_public(db.session, standard, local_today()):
        abort(404)
    return standard


def _user() -> Any:
    return current_user if current_user.is_authenticated else None


@bp.route("/standards")
@public
def index() -> str:
    """Every standard with a published version, with its version in force."""
    rows = public_queries.published_standards(db.session, local_today())
    return render_template("standards/public/index.html", rows=rows)


@bp.route("/standards/<code>")
@public
def standard(code: str) -> str:
    standard = _standard_or_404(code)
    today = local_today()
    return render_template(
        "standards/public/standard.html",
        standard=standard,
        today=today,
        in_force=version_in_force(db.session, standard.id, today),
        versions=list(reversed(published_versions(db.session, standard.id))),
        taskforce=current_taskforce(db.session, standard.id, today),
        consultations=public_queries.consultations_of(db.session, standard, today),
        history=public_queries.standard_history(db.session, standard),
        feedback_count=standard_feedback_count(db.session, standard.id),
        # The Taskforce and staff read the feedback: a way to their inbox.
        reads_feedback=comments.may_read_hidden(db.session, _user(), standard, today),
        is_closed=comments.is_closed,
    )


@bp.route("/standards/<code>/<int:number>")
@public
def version(code: str, number: int) -> str:
    """A published version: its rules, when it is in force, and what changed."""
    standard = _standard_or_404(code)
    version = public_queries.published_version(db.session, standard, number)
    if version is None:
        abort(404)
    today = local_today()
    return render_template(
        "standards/public/version.html",
        standard=standard,
        version=version,
        place=public_queries.version_place(db.session, version),
        in_force=version_in_force(db.session, standard.id, today),
        reports=public_queries.reports_of(db.session, version, today),
    )


# -- Consultations -------------------------------------------------------------------------


def _consultation_or_404(code: str, number: int, round_: int) -> Consultation:
    standard = standard_by_code(db.session, code)
    consultation = (
        public_queries.consultation_at(db.session, standard, number, round_, local_today())
        if standard
        else None
    )
    if consultation is None:
        abort(404)
    return consultation


def _consultation_url(consultation: Consultation) -> str:
    version = consultation.version
    return url_for(
        ".consultation",
        code=version.standard.code,
        number=version.number,
        round_=consultation.round,
    )


def _comment_form(consultation: Consultation, **kwargs: Any) -> CommentForm:
    return CommentForm(
        rule_codes=comments.rule_codes(consultation), signed_in=_user() is not None, **kwargs
    )


def _render_consultation(
    consultation: Consultation, form: CommentForm | None = None, status: int = 200
) -> ResponseReturnValue:
    today = local_today()
    standard = consultation.version.standard
    closed = comments.is_closed(consultation, today)
    moderator = comments.may_moderate(db.session, _user(), standard, today)
    context: dict[str, Any] = {
        "standard": standard,
        "consultation": consultation,
        "version": consultation.version,
        "is_open": consultation.is_open_on(today),
        "is_closed": closed,
        "shown": public_queries.published_comments(consultation),
        "report": public_queries.consultation_report(consultation) if closed else None,
        "reads_hidden": comments.may_read_hidden(db.session, _user(), standard, today),
        "moderator": moderator,
        "form": form or (_comment_form(consultation, formdata=None) if not closed else None),
    }
    if moderator:
        context["hide_forms"] = {
            comment.id: HideCommentForm(formdata=None, prefix=f"hide-{comment.id}")
            for comment in consultation.comments
            if comment.hidden_at is None
        }
    return render_template("standards/public/consultation.html", **context), status


@bp.route("/standards/<code>/<int:number>/consultations/<int:round_>")
@public
def consultation(code: str, number: int, round_: int) -> ResponseReturnValue:
    """The draft as consulted on, its comments, the comment form while open, or the report."""
    return _render_consultation(_consultation_or_404(code, number, round_))


@bp.route("/standards/<code>/<int:number>/consultations/<int:round_>/comments", methods=["POST"])
@limiter.limit(_comment_rate_limit, deduct_when=_accepted)
@public
def post_comment(code: str, number: int, round_: int) -> ResponseReturnValue:
    consultation = _consultation_or_404(code, number, round_)
    form = _comment_form(consultation)
    if not form.validate_on_submit():
        flash(_("Your comment is not posted yet: see the marked fields."), "error")
        return _render_consultation(consultation, form, 422)
    try:
        identity = comments.identity_of(
            form.signature.data, user=_user(), name=form.name.data, email=form.email.data
        )
        posted = comments.post_comment(
            db.session,
            consultation,
            body=form.body.data,
            rule_code=form.rule_code.data,
            identity=identity,
            today=local_today(),
            now=utcnow(),
        )
    except CommentError as error:
        db.session.rollback()
        flash(_("Your comment is not posted: %(error)s", error=error), "error")
        return _render_consultation(consultation, form, 422)
    db.session.commit()
    flash(_posted_message(posted.comment), "success")
    return redirect(_consultation_url(consultation), 303)


def _posted_message(comment: ConsultationComment) -> str:
    if comment.author_email is not None:
        return _(
            "Thank you. We sent a link to %(email)s: your comment is shown once you follow it.",
            email=comment.author_email,
        )
    if comment.is_anonymous:
        return _(
            "Thank you. Your anonymous comment is posted; nothing that identifies you is kept."
        )
    return _("Thank you. Your comment is posted with your name.")


@bp.route("/standards/comments/confirm/<token>", methods=["GET", "POST"])
@public
def confirm_comment(token: str) -> ResponseReturnValue:
    """A mailed link: confirm with a button (so that a mail scanner's visit confirms nothing)."""
    form = ConfirmCommentForm()
    if request.method == "GET":
        try:
            comment = comments.comment_to_confirm(db.session, token, today=local_today())
        except CommentError as error:
            return render_error(404, str(error))
        return render_template("standards/public/confirm.html", form=form, comment=comment)
    if not form.validate_on_submit():
        return render_error(400, _("The form had expired. Open the link again."))
    try:
        comment = comments.confirm_comment(db.session, token, today=local_today(), now=utcnow())
    except CommentError as error:
        db.session.rollback()
        return render_error(404, str(error))
    db.session.commit()
    flash(_("Your comment is confirmed and shown on the consultation."), "success")
    return redirect(_consultation_url(comment.consultation), 303)


@bp.route(
    "/standards/<code>/<int:number>/consultations/<int:round_>/comments/<int:comment_id>/hide",
    methods=["POST"],
)
@signed_in
def hide_comment(code: str, number: int, round_: int, comment_id: int) -> Response:
    """The Taskforce chair or registry staff hide a comment, with a reason."""
    consultation = _consultation_or_404(code, number, round_)
    comment = db.session.get(ConsultationComment, comment_id)
    if comment is None or comment.consultation_id != consultation.id:
        abort(404)
    today = local_today()
    if not comments.may_moderate(db.session, current_user, consultation.version.standard, today):
        abort(403)
    form = HideCommentForm(prefix=f"hide-{comment_id}")
    back = redirect(_consultation_url(consultation), 303)

    def action() -> str:
        comments.hide_comment(
            db.session,
            comment,
            reason=form.reason.data,
            actor=current_user,
            today=today,
            now=utcnow(),
        )
        return _("The comment is hidden; the public sees your reason in its place.")

    return submit_form(form, back, action, CommentError)
