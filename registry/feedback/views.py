"""The mediator's feedback page and the parties' questionnaire behind their one-time links."""

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from registry.accounts.models import Role
from registry.accounts.permissions import public, role_required
from registry.clock import local_today
from registry.database import utcnow
from registry.digests.queries import current_digest, latest_digest
from registry.extensions import db, limiter
from registry.feedback import services
from registry.feedback.forms import QuestionnaireForm, RequestFeedbackForm
from registry.feedback.models import FeedbackInvitation
from registry.mediators.models import Mediator
from registry.mediators.queries import profile_of
from registry.web import flash_form_errors

bp = Blueprint("feedback", __name__)

# Pages reached through a one-time link: the link must not leak through a Referer header,
# a cache or a search engine.
LINK_PAGES = {"feedback.questionnaire", "feedback.thanks"}


@bp.after_request
def _protect_link_pages(response: Response) -> Response:
    """Keep link pages (their errors included) out of caches, Referer headers and indexes."""
    if request.endpoint in LINK_PAGES:
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex"
    return response


def _link_rate_limit() -> str:
    return current_app.config["FEEDBACK_LINK_RATE_LIMIT"]


# -- The mediator's page --------------------------------------------------------------------


def _overview(mediator: Mediator) -> dict[str, Any]:
    """What the mediator's feedback page shows: digest status and counts, never answers."""
    today, now = local_today(), utcnow()
    digest = current_digest(db.session, mediator.id, today)
    return {
        "mediator": mediator,
        "digest": digest,
        "last_digest": None if digest else latest_digest(db.session, mediator.id),
        "waiting": services.waiting_answer_count(db.session, mediator),
        "requests": services.request_counts(db.session, mediator, now),
        "open_links": services.open_invitation_count(db.session, mediator, now),
        "min_answers": current_app.config.get("DIGEST_MIN_ANSWERS", 3),
    }


def _render_page(form: RequestFeedbackForm, status: int = 200) -> ResponseReturnValue:
    mediator = profile_of(db.session, current_user)
    if mediator is None:
        return render_template("feedback/my_feedback.html", mediator=None), status
    context = _overview(mediator)
    return render_template("feedback/my_feedback.html", form=form, **context), status


@bp.route("/my/feedback")
@role_required(Role.MEDIATOR)
def my_feedback() -> ResponseReturnValue:
    return _render_page(RequestFeedbackForm(formdata=None))


@bp.route("/my/feedback/requests", methods=["POST"])
@role_required(Role.MEDIATOR)
def request_feedback() -> ResponseReturnValue:
    mediator = profile_of(db.session, current_user)
    if mediator is None:
        flash(_("Create your mediator profile before asking for feedback."), "error")
        return redirect(url_for("feedback.my_feedback"), 303)
    form = RequestFeedbackForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _render_page(form, 422)
    try:
        feedback_request = services.request_feedback(
            db.session,
            mediator,
            month=form.month_start,
            kind=form.kind.data,
            emails=form.addresses,
            now=utcnow(),
            actor=current_user,
        )
    except services.FeedbackError as error:
        db.session.rollback()
        _show_error(form, error)
        return _render_page(form, 422)
    invited = len(feedback_request.invitations)
    db.session.commit()
    flash(
        ngettext(
            "Feedback links are on their way to %(num)d party.",
            "Feedback links are on their way to %(num)d parties.",
            invited,
        ),
        "success",
    )
    return redirect(url_for("feedback.my_feedback"), 303)


def _show_error(form: RequestFeedbackForm, error: services.FeedbackError) -> None:
    """Show a refusal beside its field (and at the top, where the page begins)."""
    flash(str(error), "error")
    if error.field:
        form[error.field].errors = [*form[error.field].errors, str(error)]


# -- The parties' questionnaire -------------------------------------------------------------


def _invalid_link() -> ResponseReturnValue:
    return render_template(
        "feedback/invalid_link.html", message=services.invalid_link_message()
    ), 404


@bp.route("/feedback/thanks")
@public
def thanks() -> str:
    return render_template("feedback/thanks.html")


@bp.route("/feedback/<token>", methods=["GET", "POST"])
@limiter.limit(_link_rate_limit)
@public
def questionnaire(token: str) -> ResponseReturnValue:
    try:
        invitation = services.find_open_invitation(db.session, token, utcnow())
    except services.InvalidLinkError:
        return _invalid_link()
    form = QuestionnaireForm()
    if form.validate_on_submit():
        return _submit_answer(token, form, invitation)
    if form.is_submitted():
        flash(_("Some answers are missing or not valid; see the marked questions."), "error")
        return _render_questionnaire(form, invitation, 422)
    return _render_questionnaire(form, invitation)


def _render_questionnaire(
    form: QuestionnaireForm, invitation: FeedbackInvitation, status: int = 200
) -> ResponseReturnValue:
    page = render_template(
        "feedback/questionnaire.html", form=form, feedback_request=invitation.request
    )
    return page, status


def _submit_answer(
    token: str, form: QuestionnaireForm, invitation: FeedbackInvitation
) -> ResponseReturnValue:
    try:
        services.submit_answer(
            db.session,
            token,
            scores=form.scores(),
            went_well=form.went_well.data,
            could_improve=form.could_improve.data,
            today=local_today(),
            now=utcnow(),
        )
    except services.InvalidLinkError:
        db.session.rollback()
        return _invalid_link()
    except services.FeedbackError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _render_questionnaire(form, invitation, 422)
    db.session.commit()
    # The thank-you page has no token in its address, so nothing can leak from it.
    return redirect(url_for("feedback.thanks"), 303)
