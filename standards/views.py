"""The standard-setting pages: proposing a standard, the Board's desk, the taskforce workspace.

Who sees what: anyone signed in proposes a standard and follows their proposals; the Board
(board_member) decides proposals, publications and founding proposals, appoints taskforces and
starts revisions; a taskforce's current members (and the Board, to read what it decides on)
open the standard's workspace, where the members draft and answer comments and the chair
consults, proposes publication and proposes founding. The public pages of standards are in
``standards.public``.
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from registry.accounts.models import Role, User, UserRole
from registry.accounts.permissions import role_required, signed_in
from registry.clock import local_today
from registry.database import utcnow
from registry.extensions import db
from registry.formatting import format_day
from registry.web import render_error, submit_form
from standards import queries, services
from standards.forms import (
    AcceptProposalForm,
    ActionForm,
    AnswerForm,
    AppointForm,
    ConsultationForm,
    EndMembershipForm,
    FoundingForm,
    MoveForm,
    ProposalForm,
    ReasonForm,
    RuleForm,
    SummaryForm,
)
from standards.models import (
    Consultation,
    ConsultationComment,
    FoundingKind,
    FoundingProposal,
    Standard,
    StandardProposal,
    StandardRule,
    StandardVersion,
    TaskforceMember,
    VersionStatus,
)
from standards.services import StandardError

bp = Blueprint("standard_setting", __name__)

BOARD = Role.BOARD_MEMBER


def _get_or_404(model: type, ident: int) -> Any:
    row = db.session.get(model, ident)
    if row is None:
        abort(404)
    return row


def _standard_or_404(code: str) -> Standard:
    standard = queries.standard_by_code(db.session, code)
    if standard is None:
        abort(404)
    return standard


# -- Step 1: proposing -----------------------------------------------------------------------


@bp.route("/standards/propose", methods=["GET", "POST"])
@signed_in
def propose() -> ResponseReturnValue:
    form = ProposalForm()
    if form.validate_on_submit():
        try:
            services.propose_standard(
                db.session,
                title=form.title.data,
                purpose=form.purpose.data,
                scope=form.scope.data,
                actor=current_user,
                now=utcnow(),
            )
        except StandardError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("Your proposal is with the Board; you will hear of its decision."), "success")
            return redirect(url_for("standard_setting.my_proposals"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("standards/setting/propose.html", form=form), status


@bp.route("/my/standard-proposals")
@signed_in
def my_proposals() -> str:
    return render_template(
        "standards/setting/my_proposals.html",
        proposals=queries.proposals_by(db.session, current_user.id),
    )


# -- The Board's desk ------------------------------------------------------------------------


@bp.route("/board/standards")
@role_required(BOARD)
def board_home() -> str:
    standards = queries.all_standards(db.session)
    published = {s.id: queries.published_versions(db.session, s.id) for s in standards}
    return render_template(
        "standards/setting/board.html",
        proposals=queries.pending_proposals(db.session),
        publications=queries.versions_in(db.session, VersionStatus.PROPOSED),
        foundings=queries.pending_foundings(db.session),
        standards=standards,
        latest={code: versions[-1] if versions else None for code, versions in published.items()},
        in_making={s.id: queries.version_in_making(db.session, s.id) for s in standards},
        action_form=ActionForm(formdata=None),
        reason_form=ReasonForm(formdata=None),
    )


@bp.route("/board/standard-proposals/<int:proposal_id>")
@role_required(BOARD)
def proposal(proposal_id: int) -> str:
    return render_template(
        "standards/setting/proposal.html",
        proposal=_get_or_404(StandardProposal, proposal_id),
        accept_form=AcceptProposalForm(formdata=None),
        decline_form=ReasonForm(formdata=None),
    )


@bp.route("/board/standard-proposals/<int:proposal_id>/accept", methods=["POST"])
@role_required(BOARD)
def accept_proposal(proposal_id: int) -> Response:
    proposal = _get_or_404(StandardProposal, proposal_id)
    form = AcceptProposalForm()
    created: list[Standard] = []

    def action() -> str:
        standard = services.accept_proposal(
            db.session,
            proposal,
            code=form.code.data,
            kind=form.kind.data,
            program_types=form.program_types.data or [],
            actor=current_user,
            now=utcnow(),
        )
        created.append(standard)
        return _(
            "Accepted: %(code)s exists, with version 1 in drafting. Appoint its taskforce.",
            code=standard.code,
        )

    back = redirect(url_for("standard_setting.proposal", proposal_id=proposal.id), 303)
    response = submit_form(form, back, action, StandardError)
    if created:  # on to the new standard's taskforce
        return redirect(url_for("standard_setting.taskforce", code=created[0].code), 303)
    return response


@bp.route("/board/standard-proposals/<int:proposal_id>/decline", methods=["POST"])
@role_required(BOARD)
def decline_proposal(proposal_id: int) -> Response:
    proposal = _get_or_404(StandardProposal, proposal_id)
    form = ReasonForm()

    def action() -> str:
        services.decline_proposal(
            db.session, proposal, reason=form.reason.data, actor=current_user, now=utcnow()
        )
        return _("The proposal is declined; its author is told your reason.")

    back = redirect(url_for("standard_setting.proposal", proposal_id=proposal.id), 303)
    return submit_form(form, back, action, StandardError)


@bp.route("/board/standards/<code>/revision", methods=["POST"])
@role_required(BOARD)
def start_revision(code: str) -> Response:
    standard = _standard_or_404(code)
    form = ActionForm()

    def action() -> str:
        version = services.start_revision(db.session, standard, actor=current_user, now=utcnow())
        return _("%(label)s is open for drafting by the taskforce.", label=version.label)

    back = redirect(url_for("standard_setting.workspace", code=standard.code), 303)
    return submit_form(form, back, action, StandardError)


@bp.route("/board/standards/<code>/publication/approve", methods=["POST"])
@role_required(BOARD)
def approve_publication(code: str) -> Response:
    version = _proposed_version(code)
    form = ActionForm()

    def action() -> str:
        services.approve_publication(
            db.session, version, today=local_today(), now=utcnow(), actor=current_user
        )
        return _("%(label)s is published, in force from today.", label=version.label)

    back = redirect(url_for("standard_setting.board_home"), 303)
    return submit_form(form, back, action, StandardError)


@bp.route("/board/standards/<code>/publication/decline", methods=["POST"])
@role_required(BOARD)
def decline_publication(code: str) -> Response:
    version = _proposed_version(code)
    form = ReasonForm()

    def action() -> str:
        services.decline_publication(
            db.session, version, reason=form.reason.data, now=utcnow(), actor=current_user
        )
        return _("%(label)s goes back to its taskforce with your reason.", label=version.label)

    back = redirect(url_for("standard_setting.workspace", code=version.standard.code), 303)
    return submit_form(form, back, action, StandardError)


def _proposed_version(code: str) -> StandardVersion:
    version = queries.version_in_making(db.session, _standard_or_404(code).id)
    if version is None:
        abort(404)
    return version


@bp.route("/board/founding-proposals/<int:founding_id>/approve", methods=["POST"])
@role_required(BOARD)
def approve_founding(founding_id: int) -> Response:
    founding = _get_or_404(FoundingProposal, founding_id)
    form = ActionForm()

    def action() -> str:
        services.approve_founding(db.session, founding, now=utcnow(), actor=current_user)
        if founding.kind == FoundingKind.SPECIALISATION:
            return _(
                "Approved: the specialisation %(name)s can now be granted.", name=founding.name
            )
        return _(
            "Approved: the program type %(code)s is recorded; a release of the registry adds it.",
            code=founding.code,
        )

    return submit_form(
        form, redirect(url_for("standard_setting.board_home"), 303), action, StandardError
    )


@bp.route("/board/founding-proposals/<int:founding_id>/decline", methods=["POST"])
@role_required(BOARD)
def decline_founding(founding_id: int) -> Response:
    founding = _get_or_404(FoundingProposal, founding_id)
    form = ReasonForm()

    def action() -> str:
        services.decline_founding(
            db.session, founding, reason=form.reason.data, now=utcnow(), actor=current_user
        )
        return _("The founding proposal is declined.")

    return submit_form(
        form, redirect(url_for("standard_setting.board_home"), 303), action, StandardError
    )


# -- Step 2: the Board appoints the taskforce ------------------------------------------------


def _committee_members() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(UserRole)
            .where(UserRole.role == Role.COMMITTEE_MEMBER, User.disabled_at.is_(None))
            .order_by(User.name)
        )
    )


@bp.route("/board/standards/<code>/taskforce")
@role_required(BOARD)
def taskforce(code: str) -> str:
    standard = _standard_or_404(code)
    members = queries.taskforce_history(db.session, standard.id)
    seated = {member.user_id for member in members if member.ended_at is None}
    candidates = [user for user in _committee_members() if user.id not in seated]
    return render_template(
        "standards/setting/taskforce.html",
        standard=standard,
        members=members,
        today=local_today(),
        form=AppointForm(formdata=None, candidates=candidates),
        action_form=ActionForm(formdata=None),
        end_form=EndMembershipForm(formdata=None),
    )


@bp.route("/board/standards/<code>/taskforce", methods=["POST"])
@role_required(BOARD)
def appoint(code: str) -> Response:
    standard = _standard_or_404(code)
    form = AppointForm(candidates=_committee_members())

    def action() -> str:
        user = db.session.get(User, form.user_id.data)
        if user is None:
            raise StandardError(_("Choose a committee member."))
        services.appoint_member(
            db.session,
            standard,
            user,
            is_chair=form.is_chair.data,
            term_starts_on=form.term_starts_on.data,
            term_ends_on=form.term_ends_on.data,
            today=local_today(),
            now=utcnow(),
            actor=current_user,
        )
        return _("%(name)s is appointed to the %(code)s taskforce.", name=user.name, code=code)

    back = redirect(url_for("standard_setting.taskforce", code=standard.code), 303)
    return submit_form(form, back, action, StandardError)


def _member_back(member: TaskforceMember) -> Response:
    standard = db.session.get(Standard, member.standard_id)
    return redirect(url_for("standard_setting.taskforce", code=standard.code), 303)


@bp.route("/board/taskforce-members/<int:member_id>/chair", methods=["POST"])
@role_required(BOARD)
def name_chair(member_id: int) -> Response:
    member = _get_or_404(TaskforceMember, member_id)
    form = ActionForm()

    def action() -> str:
        services.name_chair(db.session, member, now=utcnow(), actor=current_user)
        return _("%(name)s chairs the taskforce.", name=member.user.name)

    return submit_form(form, _member_back(member), action, StandardError)


@bp.route("/board/taskforce-members/<int:member_id>/end", methods=["POST"])
@role_required(BOARD)
def end_membership(member_id: int) -> Response:
    member = _get_or_404(TaskforceMember, member_id)
    form = EndMembershipForm()

    def action() -> str:
        services.end_membership(
            db.session, member, reason=form.reason.data, now=utcnow(), actor=current_user
        )
        return _("%(name)s has left the taskforce.", name=member.user.name)

    return submit_form(form, _member_back(member), action, StandardError)


# -- The taskforce's workspace ---------------------------------------------------------------


@bp.route("/my/taskforces")
@role_required(Role.COMMITTEE_MEMBER)
def my_taskforces() -> str:
    return render_template(
        "standards/setting/my_taskforces.html",
        seats=queries.seats_of(db.session, current_user.id, local_today()),
    )


def workspace_access(view: Callable[..., ResponseReturnValue]) -> Callable[..., Any]:
    """Let in the standard's current taskforce members and the Board; the view gets the standard."""

    @wraps(view)
    def guarded(code: str, **kwargs: Any) -> ResponseReturnValue:
        standard = _standard_or_404(code)
        seat = queries.taskforce_standing(db.session, current_user.id, standard.id, local_today())
        if seat is None and not current_user.has_role(BOARD):
            return render_error(
                403, _("The workspace is open to the members of the %(code)s taskforce.", code=code)
            )
        return view(standard, **kwargs)

    return role_required(Role.COMMITTEE_MEMBER, BOARD)(guarded)


def _grouped(consultation: Consultation) -> list[tuple[str | None, list[ConsultationComment]]]:
    """Return the consultation's comments by rule (the whole draft first), hidden ones included."""
    groups: dict[str | None, list[ConsultationComment]] = defaultdict(list)
    for comment in consultation.comments:
        if comment.hidden_at is not None or comment.is_shown:
            groups[comment.rule_code].append(comment)
    order = [None, *(rule["code"] for rule in consultation.rules)]
    return [(code, groups[code]) for code in order if groups.get(code)] + [
        (code, comments) for code, comments in groups.items() if code not in order
    ]


@bp.route("/standards/<code>/workspace")
@workspace_access
def workspace(standard: Standard) -> str:
    today = local_today()
    version = queries.version_in_making(db.session, standard.id)
    seat = queries.taskforce_standing(db.session, current_user.id, standard.id, today)
    consultations = queries.consultations_of(db.session, version.id) if version else []
    published = queries.published_versions(db.session, standard.id)
    return render_template(
        "standards/setting/workspace.html",
        standard=standard,
        version=version,
        latest=published[-1] if published else None,
        seat=seat,
        is_board=current_user.has_role(BOARD),
        can_edit=seat is not None and version is not None and version.status in services.EDITABLE,
        today=today,
        taskforce=queries.current_taskforce(db.session, standard.id, today),
        consultations=consultations,
        grouped={c.id: _grouped(c) for c in consultations if c.closed_at is not None},
        # The closed consultations with a shown comment still to answer: only these get the
        # answer form (hidden comments need no answer).
        waiting={
            c.id
            for c in consultations
            if c.closed_at is not None
            and any(comment.is_shown and comment.answer_id is None for comment in c.comments)
        },
        unanswered=queries.unanswered_comments(db.session, version.id) if version else [],
        foundings=queries.foundings_of(db.session, standard.id),
        rule_forms={
            rule.id: RuleForm(formdata=None, prefix=f"rule-{rule.id}", body=rule.body)
            for rule in (version.rules if version else [])
        },
        new_rule_form=RuleForm(formdata=None, prefix="new"),
        summary_form=SummaryForm(
            formdata=None, change_summary=version.change_summary if version else ""
        ),
        consultation_form=ConsultationForm(formdata=None),
        answer_form=AnswerForm(formdata=None),
        founding_form=FoundingForm(formdata=None),
        action_form=ActionForm(formdata=None),
        reason_form=ReasonForm(formdata=None),
        min_closing=today + timedelta(days=services.MIN_CONSULTATION_DAYS),
    )


def _back(standard: Standard, anchor: str | None = None) -> Response:
    return redirect(url_for("standard_setting.workspace", code=standard.code, _anchor=anchor), 303)


def _version_in_making(standard: Standard) -> StandardVersion:
    version = queries.version_in_making(db.session, standard.id)
    if version is None:
        abort(404)
    return version


def _rule_or_404(standard: Standard, rule_id: int) -> StandardRule:
    rule = db.session.get(StandardRule, rule_id)
    if rule is None or rule.version.standard_id != standard.id:
        abort(404)
    return rule


def _clock() -> dict[str, Any]:
    return {"today": local_today(), "now": utcnow(), "actor": current_user}


@bp.route("/standards/<code>/workspace/rules", methods=["POST"])
@workspace_access
def add_rule(standard: Standard) -> Response:
    version = _version_in_making(standard)
    form = RuleForm(prefix="new")

    def action() -> str:
        rule = services.add_rule(db.session, version, body=form.body.data, **_clock())
        return _("%(code)s is added to the draft.", code=rule.code)

    return submit_form(form, _back(standard, "rules"), action, StandardError)


@bp.route("/standards/<code>/workspace/rules/<int:rule_id>", methods=["POST"])
@workspace_access
def edit_rule(standard: Standard, rule_id: int) -> Response:
    rule = _rule_or_404(standard, rule_id)
    form = RuleForm(prefix=f"rule-{rule.id}")

    def action() -> str:
        services.edit_rule(db.session, rule, body=form.body.data, **_clock())
        return _("%(code)s is saved.", code=rule.code)

    return submit_form(form, _back(standard, f"rule-{rule.id}"), action, StandardError)


@bp.route("/standards/<code>/workspace/rules/<int:rule_id>/move", methods=["POST"])
@workspace_access
def move_rule(standard: Standard, rule_id: int) -> Response:
    rule = _rule_or_404(standard, rule_id)
    form = MoveForm()

    def action() -> str:
        services.move_rule(db.session, rule, up=form.direction.data == "up", **_clock())
        return _("%(code)s is moved.", code=rule.code)

    return submit_form(form, _back(standard, "rules"), action, StandardError)


@bp.route("/standards/<code>/workspace/rules/<int:rule_id>/remove", methods=["POST"])
@workspace_access
def remove_rule(standard: Standard, rule_id: int) -> Response:
    rule = _rule_or_404(standard, rule_id)
    form = ActionForm()

    def action() -> str:
        code = rule.code
        services.remove_rule(db.session, rule, **_clock())
        return _("%(code)s is removed from the draft; its code is not reused.", code=code)

    return submit_form(form, _back(standard, "rules"), action, StandardError)


@bp.route("/standards/<code>/workspace/summary", methods=["POST"])
@workspace_access
def save_summary(standard: Standard) -> Response:
    version = _version_in_making(standard)
    form = SummaryForm()

    def action() -> str:
        services.save_change_summary(
            db.session, version, summary=form.change_summary.data, **_clock()
        )
        return _("The summary of changes is saved.")

    return submit_form(form, _back(standard, "summary"), action, StandardError)


@bp.route("/standards/<code>/workspace/consultation", methods=["POST"])
@workspace_access
def open_consultation(standard: Standard) -> Response:
    version = _version_in_making(standard)
    form = ConsultationForm()

    def action() -> str:
        consultation = services.open_consultation(
            db.session, version, closes_on=form.closes_on.data, **_clock()
        )
        return _(
            "The draft is in public consultation (round %(round)s) until %(day)s.",
            round=consultation.round,
            day=format_day(consultation.closes_on),
        )

    return submit_form(form, _back(standard, "consultations"), action, StandardError)


@bp.route("/standards/<code>/workspace/consultations/<int:round>/close", methods=["POST"])
@workspace_access
def close_consultation(standard: Standard, round: int) -> Response:
    version = _version_in_making(standard)
    consultation = db.session.scalar(
        select(Consultation).where(
            Consultation.version_id == version.id, Consultation.round == round
        )
    )
    if consultation is None:
        abort(404)
    form = ActionForm()

    def action() -> str:
        services.close_consultation(db.session, consultation, **_clock())
        return _("The consultation is closed: answer its comments, then revise.")

    return submit_form(form, _back(standard, "consultations"), action, StandardError)


@bp.route("/standards/<code>/workspace/answers", methods=["POST"])
@workspace_access
def answer_comments(standard: Standard) -> Response:
    version = _version_in_making(standard)
    form = AnswerForm()

    def action() -> str:
        ident = form.consultation_id.data
        consultation = db.session.get(Consultation, int(ident)) if ident.isdigit() else None
        if consultation is None or consultation.version_id != version.id:
            raise StandardError(_("Choose the comments of one of this draft's consultations."))
        comments = [db.session.get(ConsultationComment, i) for i in form.comment_ids.data or []]
        if None in comments:
            raise StandardError(_("Choose the comments this answer is for."))
        services.answer_comments(
            db.session,
            consultation,
            comments,
            verdict=form.verdict.data,
            body=form.body.data,
            **_clock(),
        )
        return ngettext("%(num)d comment answered.", "%(num)d comments answered.", len(comments))

    return submit_form(form, _back(standard, "comments"), action, StandardError)


@bp.route("/standards/<code>/workspace/publication", methods=["POST"])
@workspace_access
def propose_publication(standard: Standard) -> Response:
    version = _version_in_making(standard)
    form = ActionForm()

    def action() -> str:
        services.propose_publication(db.session, version, **_clock())
        return _("%(label)s is proposed to the Board for publication.", label=version.label)

    return submit_form(form, _back(standard), action, StandardError)


@bp.route("/standards/<code>/workspace/founding", methods=["POST"])
@workspace_access
def propose_founding(standard: Standard) -> Response:
    form = FoundingForm()

    def action() -> str:
        services.propose_founding(
            db.session,
            standard,
            kind=form.kind.data,
            code=form.code.data,
            name=form.name.data,
            rationale=form.rationale.data,
            **_clock(),
        )
        return _("Your founding proposal is with the Board.")

    return submit_form(form, _back(standard, "founding"), action, StandardError)
