"""The staff page of a mediator's digests and reviewers, and the peer reviewer's pages.

Who sees what: staff see the digests, the assignments and their declarations, and only how
many answers are waiting; the assigned reviewer sees the answers once they have declared no
conflict. Anyone but the assignment's own reviewer gets 404 on its pages, as for a missing id.
"""

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from registry.accounts.models import Role, User
from registry.accounts.permissions import role_required
from registry.clock import local_today
from registry.database import utcnow
from registry.digests import services
from registry.digests.forms import AssignReviewerForm, DeclarationForm, SummaryForm, WithdrawForm
from registry.digests.models import AssignmentStatus, ReviewerAssignment
from registry.digests.queries import (
    aggregate,
    assignments_of_mediator,
    assignments_of_reviewer,
    conflicted_reviewer_ids,
    current_digest,
    digest_of_assignment,
    draft_of,
    peer_reviewers,
    published_digests,
    waiting_answer_count,
    waiting_answers,
)
from registry.extensions import db
from registry.formatting import format_day
from registry.mediators.models import Mediator
from registry.mediators.views import REGISTRY_STAFF, mediator_or_404
from registry.web import confirmation, submit_form

bp = Blueprint("digests", __name__)

# Staff pass the role check of a reviewer's assignment pages and then get 404 like anyone
# who is not the assignment's reviewer; mediators and organisation admins get 403.
ASSIGNMENT_PAGE_ROLES = (Role.PEER_REVIEWER, *REGISTRY_STAFF)


# -- Staff ---------------------------------------------------------------------------------


def _assignable(mediator: Mediator) -> tuple[list[User], list[User]]:
    """Return the reviewers staff may assign to ``mediator``, and those who declared a conflict."""
    blocked = conflicted_reviewer_ids(db.session, mediator.id)
    reviewers = [user for user in peer_reviewers(db.session) if user.id != mediator.user_id]
    offered = [user for user in reviewers if user.id not in blocked]
    return offered, [user for user in reviewers if user.id in blocked]


def _users(ids: set[int | None]) -> dict[int, User]:
    wanted = [i for i in ids if i is not None]
    return {user.id: user for user in (db.session.get(User, i) for i in wanted) if user}


@bp.route("/staff/mediators/<public_id>/digest")
@role_required(*REGISTRY_STAFF)
def staff_mediator(public_id: str) -> str:
    mediator = mediator_or_404(public_id)
    today = local_today()
    offered, conflicted = _assignable(mediator)
    assignments = assignments_of_mediator(db.session, mediator.id)
    return render_template(
        "digests/staff_mediator.html",
        mediator=mediator,
        today=today,
        current=current_digest(db.session, mediator.id, today),
        history=published_digests(db.session, mediator.id),
        draft=draft_of(db.session, mediator.id),
        waiting=waiting_answer_count(db.session, mediator.id),
        minimum=_minimum(),
        assignments=assignments,
        assigners=_users({a.assigned_by_id for a in assignments}),
        assign_form=AssignReviewerForm(reviewers=offered),
        conflicted=conflicted,
        withdraw_form=WithdrawForm(),
    )


@bp.route("/staff/mediators/<public_id>/reviewers", methods=["POST"])
@role_required(*REGISTRY_STAFF)
def assign_reviewer(public_id: str) -> Response:
    mediator = mediator_or_404(public_id)
    form = AssignReviewerForm(reviewers=peer_reviewers(db.session))

    def action() -> str:
        reviewer = db.session.get(User, form.reviewer_id.data)
        if reviewer is None:
            raise services.DigestError(_("There is no such peer reviewer."))
        services.assign_reviewer(db.session, mediator, reviewer, now=utcnow(), actor=current_user)
        return _(
            "%(name)s is assigned and asked by e-mail to declare any conflict.", name=reviewer.name
        )

    back = redirect(url_for("digests.staff_mediator", public_id=public_id), 303)
    return submit_form(form, back, action, services.DigestError)


@bp.route("/staff/reviewer-assignments/<int:assignment_id>/withdraw", methods=["POST"])
@role_required(*REGISTRY_STAFF)
def withdraw_assignment(assignment_id: int) -> Response:
    assignment = db.session.get(ReviewerAssignment, assignment_id)
    if assignment is None:
        abort(404)
    form = WithdrawForm()
    name = assignment.reviewer.name

    def action() -> str:
        services.withdraw_assignment(
            db.session, assignment, reason=form.reason.data, now=utcnow(), actor=current_user
        )
        return _("The assignment of %(name)s is withdrawn; they are told by e-mail.", name=name)

    back = redirect(url_for("digests.staff_mediator", public_id=assignment.mediator.public_id), 303)
    return submit_form(form, back, action, services.DigestError)


# -- Peer reviewers ------------------------------------------------------------------------


@bp.route("/reviewer")
@role_required(Role.PEER_REVIEWER)
def reviewer_home() -> str:
    groups: dict[str, list[ReviewerAssignment]] = {"awaiting": [], "active": [], "past": []}
    for assignment in assignments_of_reviewer(db.session, current_user.id):
        groups[_group(assignment)].append(assignment)
    return render_template("digests/reviewer_home.html", **groups)


def _group(assignment: ReviewerAssignment) -> str:
    if assignment.status == AssignmentStatus.AWAITING_DECLARATION:
        return "awaiting"
    return "active" if assignment.status == AssignmentStatus.ACTIVE else "past"


def _own_assignment_or_404(assignment_id: int) -> ReviewerAssignment:
    """Return the assignment if the signed-in person is its reviewer; 404 otherwise."""
    assignment = db.session.get(ReviewerAssignment, assignment_id)
    if assignment is None or assignment.reviewer_id != current_user.id:
        abort(404)
    return assignment


def _minimum() -> int:
    return max(1, current_app.config["DIGEST_MIN_ANSWERS"])


def _render_assignment(
    assignment: ReviewerAssignment, status: int = 200, **forms: Any
) -> ResponseReturnValue:
    """Render the assignment page for its state: the declaration, the review, or the record."""
    context: dict[str, Any] = {"assignment": assignment, "minimum": _minimum()}
    state = AssignmentStatus(assignment.status)
    if state in (AssignmentStatus.AWAITING_DECLARATION, AssignmentStatus.ACTIVE):
        later = state == AssignmentStatus.ACTIVE
        context["declaration_form"] = forms.get("declaration_form") or DeclarationForm(
            formdata=None, later=later
        )
    if state == AssignmentStatus.ACTIVE:
        answers = waiting_answers(db.session, assignment.mediator_id)
        draft = draft_of(db.session, assignment.mediator_id)
        context.update(
            answers=answers,
            scores=aggregate(answers),
            draft=draft,
            summary_form=forms.get("summary_form")
            or SummaryForm(formdata=None, data={"summary": draft.summary if draft else ""}),
        )
    else:
        context["digest"] = digest_of_assignment(db.session, assignment.id)
    return render_template("digests/assignment.html", **context), status


@bp.route("/reviewer/assignments/<int:assignment_id>")
@role_required(*ASSIGNMENT_PAGE_ROLES)
def assignment(assignment_id: int) -> ResponseReturnValue:
    return _render_assignment(_own_assignment_or_404(assignment_id))


def _submit(
    assignment: ReviewerAssignment, form: Any, form_name: str, action: Callable[[], str]
) -> ResponseReturnValue:
    """Run ``action`` if ``form`` is valid and commit; otherwise show the page with the input."""
    if form.validate_on_submit():
        try:
            message = action()
        except services.DigestError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(message, "success")
            return redirect(url_for("digests.assignment", assignment_id=assignment.id), 303)
    else:
        flash(_("Check the form: each problem is marked below."), "error")
    fresh = db.session.get(ReviewerAssignment, assignment.id)
    if fresh is None:
        abort(404)
    return _render_assignment(fresh, 422, **{form_name: form})


@bp.route("/reviewer/assignments/<int:assignment_id>/declaration", methods=["POST"])
@role_required(*ASSIGNMENT_PAGE_ROLES)
def declare(assignment_id: int) -> ResponseReturnValue:
    assignment = _own_assignment_or_404(assignment_id)
    form = DeclarationForm(later=assignment.status == AssignmentStatus.ACTIVE)

    def action() -> str:
        services.declare_conflict(
            db.session,
            assignment,
            has_conflict=form.has_conflict,
            details=form.conflict_details(),
            now=utcnow(),
            actor=current_user,
        )
        if form.has_conflict:
            return _("Your conflict is recorded and the assignment has ended. Registry staff know.")
        return _("Thank you. You can now read the feedback and prepare the digest.")

    return _submit(assignment, form, "declaration_form", action)


@bp.route("/reviewer/assignments/<int:assignment_id>/draft", methods=["POST"])
@role_required(*ASSIGNMENT_PAGE_ROLES)
def save_draft(assignment_id: int) -> ResponseReturnValue:
    assignment = _own_assignment_or_404(assignment_id)
    form = SummaryForm()

    def action() -> str:
        services.save_draft(
            db.session, assignment, summary=form.summary.data, now=utcnow(), actor=current_user
        )
        return _("Your draft is saved. Nothing is published yet.")

    return _submit(assignment, form, "summary_form", action)


@bp.route("/reviewer/assignments/<int:assignment_id>/publish", methods=["POST"])
@role_required(*ASSIGNMENT_PAGE_ROLES)
def publish(assignment_id: int) -> ResponseReturnValue:
    assignment = _own_assignment_or_404(assignment_id)
    form = SummaryForm()
    page = confirmation(
        form,
        title=_("Publish this Feedback Digest?"),
        summary=lambda: [
            _(
                "publish your summary on %(name)s's public profile",
                name=assignment.mediator.name,
            ),
            _("tell the mediator; a published digest cannot be edited"),
        ],
        button=_("Yes, publish the digest"),
        back=url_for("digests.assignment", assignment_id=assignment.id),
    )
    if page is not None:
        return page

    def action() -> str:
        digest = services.publish_digest(
            db.session,
            assignment,
            summary=form.summary.data,
            today=local_today(),
            now=utcnow(),
            actor=current_user,
        )
        valid = format_day(digest.valid_until)
        return _(
            "The digest is published on the mediator's profile, valid until %(day)s.", day=valid
        )

    return _submit(assignment, form, "summary_form", action)
