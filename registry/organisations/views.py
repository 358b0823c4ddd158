"""The public directory of organisations, their profiles, and reviews with their moderation."""

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from registry.accounts.models import Role
from registry.accounts.permissions import public, role_required, signed_in
from registry.database import utcnow
from registry.extensions import db
from registry.mediators.views import REGISTRY_STAFF
from registry.organisations import services
from registry.organisations.forms import (
    DirectoryForm,
    HideReviewForm,
    PageForm,
    RestoreReviewForm,
    ReviewForm,
)
from registry.organisations.models import Organisation, Review
from registry.organisations.queries import (
    DirectoryFilter,
    directory_options,
    directory_page,
    directory_rows,
    rating_of,
    reviews_query,
    signed_review_by,
)
from registry.pagination import paginate
from registry.web import flash_form_errors, render_error, submit_form

bp = Blueprint("organisations", __name__)

DIRECTORY_PAGE_SIZE = 25
REVIEWS_PAGE_SIZE = 20


@bp.route("/organisations")
@public
def directory() -> tuple[str, int]:
    form = DirectoryForm(request.args, options=directory_options(db.session))
    if not form.validate():
        return render_template("organisations/directory.html", form=form, result=None), 400
    wanted = DirectoryFilter(
        q=form.q.data or None,
        country=form.country.data or None,
        program_type=form.program.data or None,
        account_type=form.account.data or None,
        location=form.location.data or None,
    )
    result = directory_page(db.session, wanted, form.page.data or 1, DIRECTORY_PAGE_SIZE)
    rows = directory_rows(db.session, result.items)
    page = render_template("organisations/directory.html", form=form, result=result, rows=rows)
    return page, 200


def _organisation_or_404(organisation_id: int) -> Organisation:
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        abort(404)
    return organisation


def _is_moderator() -> bool:
    return current_user.is_authenticated and current_user.has_role(*REGISTRY_STAFF)


def _review_form() -> ReviewForm:
    anonymous = current_user.is_authenticated and current_user.has_role(Role.SUPPORT)
    return ReviewForm(can_post_anonymously=anonymous)


def _render_profile(
    organisation: Organisation, review_form: ReviewForm | None = None, status: int = 200
) -> ResponseReturnValue:
    pages = PageForm(request.args)
    if not pages.validate():
        return render_error(400, "There is no such page of reviews.")
    moderator = _is_moderator()
    query = reviews_query(organisation, include_hidden=moderator)
    reviews = paginate(db.session, query, pages.page.data or 1, REVIEWS_PAGE_SIZE)
    user = current_user if current_user.is_authenticated else None
    context: dict[str, Any] = {
        "organisation": organisation,
        "reviews": reviews,
        "rating": rating_of(db.session, organisation),
        "own_review": signed_review_by(db.session, organisation, user) if user else None,
        "review_form": review_form or (_review_form() if user else None),
        "moderator": moderator,
    }
    if moderator:
        context["hide_forms"] = {
            review.id: HideReviewForm(formdata=None, prefix=f"hide-{review.id}")
            for review in reviews.items
            if review.hidden_at is None
        }
        context["restore_form"] = RestoreReviewForm(formdata=None)
    return render_template("organisations/profile.html", **context), status


@bp.route("/organisations/<int:organisation_id>")
@public
def profile(organisation_id: int) -> ResponseReturnValue:
    return _render_profile(_organisation_or_404(organisation_id))


@bp.route("/organisations/<int:organisation_id>/reviews", methods=["POST"])
@signed_in
def post_review(organisation_id: int) -> ResponseReturnValue:
    organisation = _organisation_or_404(organisation_id)
    form = _review_form()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _render_profile(organisation, form, 422)
    try:
        review = services.post_review(
            db.session,
            organisation,
            rating=int(form.rating.data),
            body=form.body.data,
            is_anonymous=form.is_anonymous.data,
            actor=current_user,
            now=utcnow(),
        )
    except services.ReviewError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _render_profile(organisation, form, 422)
    db.session.commit()
    what = "Your anonymous feedback" if review.is_anonymous else "Your review"
    flash(f"{what} on {organisation.name} is published.", "success")
    return redirect(url_for("organisations.profile", organisation_id=organisation_id), 303)


def _review_or_404(organisation_id: int, review_id: int) -> Review:
    review = db.session.get(Review, review_id)
    if review is None or review.organisation_id != organisation_id:
        abort(404)
    return review


def _moderate(review: Review, form: FlaskForm, action: Callable[[], str]) -> Response:
    back = redirect(url_for("organisations.profile", organisation_id=review.organisation_id), 303)
    return submit_form(form, back, action, services.ReviewError)


@bp.route("/organisations/<int:organisation_id>/reviews/<int:review_id>/hide", methods=["POST"])
@role_required(*REGISTRY_STAFF)
def hide_review(organisation_id: int, review_id: int) -> Response:
    review = _review_or_404(organisation_id, review_id)
    form = HideReviewForm(prefix=f"hide-{review_id}")

    def action() -> str:
        services.hide_review(
            db.session, review, reason=form.reason.data, actor=current_user, now=utcnow()
        )
        return "The review is hidden from the public. Staff still see it, with your reason."

    return _moderate(review, form, action)


@bp.route("/organisations/<int:organisation_id>/reviews/<int:review_id>/restore", methods=["POST"])
@role_required(*REGISTRY_STAFF)
def restore_review(organisation_id: int, review_id: int) -> Response:
    review = _review_or_404(organisation_id, review_id)

    def action() -> str:
        services.restore_review(db.session, review, actor=current_user, now=utcnow())
        return "The review is published again."

    return _moderate(review, RestoreReviewForm(), action)
