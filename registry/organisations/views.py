"""The public directory of organisations, their profiles, and reviews with their moderation;
the staff pages for organisation administrators and program links; the organisation dashboard.
"""

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from registry.accounts.models import Role
from registry.accounts.permissions import public, role_required, signed_in
from registry.clock import local_today
from registry.database import utcnow
from registry.extensions import db
from registry.i18n import _l
from registry.mediators.names import fold_text
from registry.mediators.views import REGISTRY_STAFF
from registry.organisations import services
from registry.organisations.dashboard import (
    REMINDABLE,
    csv_chunks,
    dashboard_page,
    export_rows,
    recent_reminders,
    step_labels,
)
from registry.organisations.forms import (
    AddAdminForm,
    ConfirmForm,
    DashboardForm,
    DirectoryForm,
    HideReviewForm,
    LinkFilterForm,
    LinkMediatorForm,
    PageForm,
    RestoreReviewForm,
    ReviewForm,
)
from registry.organisations.models import Organisation, Program, Review
from registry.organisations.queries import (
    DirectoryFilter,
    administered_organisations,
    directory_options,
    directory_page,
    directory_rows,
    find_mediator,
    is_organisation_admin,
    link_counts,
    organisation_admins,
    program_links_query,
    rating_of,
    reviews_query,
    signed_review_by,
    staff_organisation_rows,
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


def program_statuses(programs: list[Program]) -> dict[int, Any]:
    """Return each program's public status, from the audits package's ``program_statuses`` hook.

    Without the hook (an app built without audits) no status is shown.
    """
    hook = current_app.extensions.get("program_statuses")
    if hook is None or not programs:
        return {}
    return hook(db.session, [program.id for program in programs], local_today())


def program_feedback_counts(programs: list[Program]) -> dict[int, int]:
    """Return each program's count of 360 feedback, from the standards package's hook."""
    hook = current_app.extensions.get("program_feedback_counts")
    if hook is None or not programs:
        return {}
    return hook(db.session, [program.id for program in programs])


def program_applications(organisation: Organisation) -> list[Any] | None:
    """Return the organisation's applications for recognition, from the recognition package's
    ``organisation_applications`` hook; None without it."""
    hook = current_app.extensions.get("organisation_applications")
    return None if hook is None else hook(db.session, organisation.id)


def _render_profile(
    organisation: Organisation, review_form: ReviewForm | None = None, status: int = 200
) -> ResponseReturnValue:
    pages = PageForm(request.args)
    if not pages.validate():
        return render_error(400, _("There is no such page of reviews."))
    moderator = _is_moderator()
    query = reviews_query(organisation, include_hidden=moderator)
    reviews = paginate(db.session, query, pages.page.data or 1, REVIEWS_PAGE_SIZE)
    user = current_user if current_user.is_authenticated else None
    context: dict[str, Any] = {
        "organisation": organisation,
        "reviews": reviews,
        "rating": rating_of(db.session, organisation),
        "own_review": signed_review_by(db.session, organisation, user) if user else None,
        "administers": bool(user and is_organisation_admin(db.session, organisation.id, user)),
        "own_organisation": services.own_organisation(organisation.name),
        "review_form": review_form or (_review_form() if user else None),
        "moderator": moderator,
        "program_statuses": program_statuses(organisation.programs),
        "program_feedback": program_feedback_counts(organisation.programs),
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
    if review.is_anonymous:
        message = _(
            "Your anonymous feedback on %(organisation)s is published.",
            organisation=organisation.name,
        )
    else:
        message = _("Your review on %(organisation)s is published.", organisation=organisation.name)
    flash(message, "success")
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
        return _("The review is hidden from the public. Staff still see it, with your reason.")

    return _moderate(review, form, action)


@bp.route("/organisations/<int:organisation_id>/reviews/<int:review_id>/restore", methods=["POST"])
@role_required(*REGISTRY_STAFF)
def restore_review(organisation_id: int, review_id: int) -> Response:
    review = _review_or_404(organisation_id, review_id)

    def action() -> str:
        services.restore_review(db.session, review, actor=current_user, now=utcnow())
        return _("The review is published again.")

    return _moderate(review, RestoreReviewForm(), action)


# -- Staff: organisation administrators and program links -----------------------------------

LINKS_PAGE_SIZE = 50


@bp.route("/staff/organisations")
@role_required(*REGISTRY_STAFF)
def staff_list() -> str:
    return render_template(
        "organisations/staff_list.html", rows=staff_organisation_rows(db.session)
    )


@bp.route("/staff/organisations/<int:organisation_id>")
@role_required(*REGISTRY_STAFF)
def staff_detail(organisation_id: int) -> ResponseReturnValue:
    organisation = _organisation_or_404(organisation_id)
    filters = LinkFilterForm(request.args)
    if not filters.validate():
        return render_error(400, _("There is no such page of linked mediators."))
    query = program_links_query(organisation, filters.q.data)
    links = paginate(db.session, query, filters.page.data or 1, LINKS_PAGE_SIZE)
    return render_template(
        "organisations/staff_detail.html",
        organisation=organisation,
        admins=organisation_admins(db.session, organisation),
        link_counts=link_counts(db.session, organisation),
        links=links,
        filters=filters,
        admin_form=AddAdminForm(formdata=None),
        link_form=LinkMediatorForm(
            formdata=None, programs=organisation.programs, data={"linked_on": local_today()}
        ),
    )


def _back_to_staff_detail(organisation: Organisation) -> Response:
    return redirect(url_for("organisations.staff_detail", organisation_id=organisation.id), 303)


@bp.route("/staff/organisations/<int:organisation_id>/admins", methods=["POST"])
@role_required(Role.ADMINISTRATOR)
def add_admin(organisation_id: int) -> Response:
    organisation = _organisation_or_404(organisation_id)
    form = AddAdminForm()

    def action() -> str:
        admin = services.add_organisation_admin(
            db.session, organisation, email=form.email.data, actor=current_user, now=utcnow()
        )
        return _(
            "%(name)s (%(email)s) now administers %(organisation)s.",
            name=admin.user.name,
            email=admin.user.email,
            organisation=organisation.name,
        )

    back = _back_to_staff_detail(organisation)
    return submit_form(form, back, action, services.OrganisationError)


@bp.route(
    "/staff/organisations/<int:organisation_id>/admins/<int:user_id>/remove", methods=["POST"]
)
@role_required(Role.ADMINISTRATOR)
def remove_admin(organisation_id: int, user_id: int) -> Response:
    organisation = _organisation_or_404(organisation_id)

    def action() -> str:
        user = services.remove_organisation_admin(
            db.session, organisation, user_id=user_id, actor=current_user, now=utcnow()
        )
        return _(
            "%(name)s no longer administers %(organisation)s.",
            name=user.name,
            organisation=organisation.name,
        )

    back = _back_to_staff_detail(organisation)
    return submit_form(ConfirmForm(), back, action, services.OrganisationError)


@bp.route("/staff/organisations/<int:organisation_id>/links", methods=["POST"])
@role_required(*REGISTRY_STAFF)
def link_mediator(organisation_id: int) -> Response:
    organisation = _organisation_or_404(organisation_id)
    form = LinkMediatorForm(programs=organisation.programs)

    def action() -> str:
        link = services.link_mediator_to_program(
            db.session,
            organisation,
            program_id=form.program_id.data,
            mediator_reference=form.mediator.data,
            linked_on=form.linked_on.data,
            today=local_today(),
            now=utcnow(),
            actor=current_user,
        )
        return _(
            "%(name)s is linked to %(program)s.", name=link.mediator.name, program=link.program.name
        )

    back = _back_to_staff_detail(organisation)
    return submit_form(form, back, action, services.OrganisationError)


@bp.route(
    "/staff/organisations/<int:organisation_id>/programs/<int:program_id>"
    "/mediators/<public_id>/unlink",
    methods=["POST"],
)
@role_required(*REGISTRY_STAFF)
def unlink_mediator(organisation_id: int, program_id: int, public_id: str) -> Response:
    organisation = _organisation_or_404(organisation_id)
    mediator = find_mediator(db.session, public_id) if public_id.isalnum() else None
    if mediator is None:
        abort(404)

    def action() -> str:
        services.unlink_mediator_from_program(
            db.session,
            organisation,
            program_id=program_id,
            mediator=mediator,
            now=utcnow(),
            actor=current_user,
        )
        return _("%(name)s is no longer linked to that program.", name=mediator.name)

    back = _back_to_staff_detail(organisation)
    return submit_form(ConfirmForm(), back, action, services.OrganisationError)


# -- The organisation dashboard --------------------------------------------------------------

DASHBOARD_PAGE_SIZE = 100
NOT_AN_ADMINISTRATOR = _l("You are not an administrator of this organisation.")
# The dashboard's query arguments: a reminder sent from a filtered view returns to it.
DASHBOARD_ARGS = ("q", "bucket", "program", "step", "sort", "page")


def organisation_access(view: Callable[..., ResponseReturnValue]) -> Callable[..., Any]:
    """Let in the organisation's administrators and registry staff: every dashboard route.

    The view gets the organisation instead of its id. Anyone else is refused before the
    organisation is looked up, so the refusal tells nothing about it.
    """

    @wraps(view)
    def guarded(organisation_id: int, **kwargs: Any) -> ResponseReturnValue:
        staff = current_user.has_role(*REGISTRY_STAFF)
        if not staff and not is_organisation_admin(db.session, organisation_id, current_user):
            return render_error(403, str(NOT_AN_ADMINISTRATOR))
        return view(_organisation_or_404(organisation_id), **kwargs)

    return role_required(Role.ORGANISATION_ADMIN, *REGISTRY_STAFF)(guarded)


@bp.route("/organisation")
@role_required(Role.ORGANISATION_ADMIN)
def my_organisations() -> ResponseReturnValue:
    organisations = administered_organisations(db.session, current_user)
    if len(organisations) == 1:
        return redirect(url_for("organisations.dashboard", organisation_id=organisations[0].id))
    return render_template("organisations/mine.html", organisations=organisations)


def _dashboard_form(organisation: Organisation, today: date) -> DashboardForm:
    return DashboardForm(request.args, programs=organisation.programs, steps=step_labels(today))


def _dashboard_args() -> dict[str, str]:
    return {key: value for key in DASHBOARD_ARGS if (value := request.args.get(key, ""))}


@bp.route("/organisation/<int:organisation_id>/dashboard")
@organisation_access
def dashboard(organisation: Organisation) -> ResponseReturnValue:
    today = local_today()
    form = _dashboard_form(organisation, today)
    context: dict[str, Any] = {
        "organisation": organisation,
        "form": form,
        "today": today,
        "applications": program_applications(organisation),
        "may_apply": is_organisation_admin(db.session, organisation.id, current_user),
    }
    if not form.validate():
        return render_template("organisations/dashboard.html", board=None, **context), 400
    number = form.page.data or 1
    board, page = dashboard_page(
        db.session, organisation, form.wanted(), today, number, DASHBOARD_PAGE_SIZE
    )
    days = current_app.config["ORGANISATION_REMINDER_DAYS"]
    return render_template(
        "organisations/dashboard.html",
        board=board,
        page=page,
        linked=board.linked,
        reminded=recent_reminders(db.session, organisation, today, days),
        reminder_days=days,
        remindable=REMINDABLE,
        args=_dashboard_args(),
        **context,
    )


@bp.route("/organisation/<int:organisation_id>/dashboard.csv")
@organisation_access
def dashboard_csv(organisation: Organisation) -> ResponseReturnValue:
    today = local_today()
    form = _dashboard_form(organisation, today)
    if not form.validate():
        return render_error(400, _("These filters cannot be used; go back to the dashboard."))
    bom = request.args.get("bom", "0")
    if bom not in ("0", "1"):
        return render_error(400, "bom is 1 (a UTF-8 byte order mark, for Excel) or 0.")
    rows = export_rows(db.session, organisation, form.wanted(), today)
    slug = fold_text(organisation.name).replace(" ", "-") or f"organisation-{organisation.id}"
    # Streamed: the rows are computed a batch at a time while the response is sent.
    response = Response(stream_with_context(csv_chunks(rows, bom=bom == "1")), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{slug}-mediators-{today.isoformat()}.csv"'
    )
    return response


@bp.route("/organisation/<int:organisation_id>/mediators/<public_id>/remind", methods=["POST"])
@organisation_access
def remind(organisation: Organisation, public_id: str) -> Response:
    mediator = find_mediator(db.session, public_id) if public_id.isalnum() else None

    def action() -> str:
        if mediator is None:  # the same refusal as for another organisation's mediator
            raise services.OrganisationError(str(services.NOT_LINKED))
        services.send_reminder(
            db.session,
            organisation,
            mediator,
            today=local_today(),
            now=utcnow(),
            actor=current_user,
        )
        return _("A reminder is on its way to %(name)s.", name=mediator.name)

    back = url_for("organisations.dashboard", organisation_id=organisation.id, **_dashboard_args())
    return submit_form(ConfirmForm(), redirect(back, 303), action, services.OrganisationError)
