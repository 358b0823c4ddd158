"""The handlers' complaint pages: the queue, a complaint with its timeline and the actions of its
current level, its files; and the committees page (committees, members, subject routes).

Who sees what (``complaints.access``): the queue lists the complaints at the levels the person
handles, those they handled at an earlier level and those closed lately; a complaint's page
shows it to the handlers of its current and earlier levels, with the forms of the current
level for its handlers. Anyone else gets 404, as for a missing id, whatever their role: the
complaint pages let in every staff role, so that an administrator meets the same 404 as
anyone outside the complaint.

Every staff view of a complaint and every download of one of its files is written to the event
log before the page or the file is sent (``_log_view``).
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, lazyload
from werkzeug.wrappers import Response

from complaints import access, services
from complaints import committees as committee_services
from complaints.jobs import ACKNOWLEDGE, RESPOND, missed_limits
from complaints.models import (
    CONDUCT_LEVEL_LABELS,
    GENERAL_LEVEL_LABELS,
    SUBJECT_LABELS,
    ClosedAs,
    Committee,
    Complaint,
    ComplaintAttachment,
    ComplaintEntry,
    EntryKind,
    Level,
    Status,
    Subject,
    SubjectRoute,
)
from complaints.services import FILE_SETTINGS, ComplaintError
from complaints.staff_forms import (
    CONDUCT_OUTCOME_LABELS,
    CommitteeForm,
    ConfirmForm,
    DecideForm,
    EscalateForm,
    MessageForm,
    PersonForm,
    ResolveForm,
    RespondForm,
    RouteForm,
)
from registry.accounts.models import STAFF_ROLES, Role, User
from registry.accounts.permissions import role_required
from registry.clock import local_date, local_today
from registry.database import utcnow
from registry.events.services import record_event
from registry.extensions import db
from registry.i18n import _l
from registry.mediators.models import Certification
from registry.uploads import human_size, stored_file_response
from registry.web import confirmation, submit_form

bp = Blueprint("complaint_staff", __name__)

# The roles that handle a level (``complaints.queries.LEVEL_ROLES``): they have a queue.
HANDLER_ROLES = (Role.SUPPORT, Role.EXECUTIVE_DIRECTOR, Role.COMMITTEE_MEMBER, Role.BOARD_MEMBER)
# A complaint's pages: every staff role passes the role check, then the complaint's own guard.
COMPLAINT_PAGE_ROLES = tuple(sorted(STAFF_ROLES))
# Who reads the committees page; only administrators change it.
COMMITTEE_READERS = (Role.ADMINISTRATOR, Role.SUPPORT, Role.EXECUTIVE_DIRECTOR)
# How long closed complaints stay in the queue's "recently closed" list.
RECENT_CLOSED_DAYS = 90

ENTRY_LABELS = {
    EntryKind.FILED: _l("Filed"),
    EntryKind.ACKNOWLEDGED: _l("Acknowledged"),
    EntryKind.MESSAGE: _l("Message to the complainant"),
    EntryKind.REPLY: _l("Reply from the complainant"),
    EntryKind.RESPONDED: _l("Response"),
    EntryKind.ESCALATION_REQUESTED: _l("Escalation asked for by the complainant"),
    EntryKind.ESCALATED: _l("Escalated"),
    EntryKind.RESOLVED: _l("Resolved"),
    EntryKind.DECIDED: _l("Decided by the Board (final)"),
    EntryKind.WITHDRAWN: _l("Withdrawn by the complainant"),
    EntryKind.OVERDUE: _l("Time limit missed"),
}
# Entries the complainant made (they have no author account).
BY_COMPLAINANT = {
    EntryKind.FILED,
    EntryKind.REPLY,
    EntryKind.ESCALATION_REQUESTED,
    EntryKind.WITHDRAWN,
}
MISSED_LABELS = {
    ACKNOWLEDGE: _l("Not acknowledged in time"),
    RESPOND: _l("Not answered in time"),
}


@bp.after_request
def _no_store(response: Response) -> Response:
    # Complaints are confidential: no copy in a browser's or a proxy's cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def status_label(complaint: Complaint) -> str:
    """Return the complaint's status as people read it ("Resolved" once closed)."""
    if complaint.closed_as is not None:
        return ClosedAs(complaint.closed_as).label
    return Status(complaint.status).label


def level_name(level: int) -> str:
    """Return a level's name on both tracks: "Support (discussion)"."""
    general, conduct = GENERAL_LEVEL_LABELS[Level(level)], CONDUCT_LEVEL_LABELS[Level(level)]
    return _("%(general)s (%(conduct)s)", general=general, conduct=str(conduct).lower())


# -- The queue -----------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    complaint: Complaint
    days_filed: int
    days_at_level: int
    missed: list[str]


def _row(complaint: Complaint, today: date) -> QueueRow:
    return QueueRow(
        complaint=complaint,
        days_filed=(today - local_date(complaint.filed_at)).days,
        days_at_level=(today - local_date(complaint.level_since)).days,
        missed=missed_limits(complaint, today),
    )


def _handles_now(levels: dict[int, set[int] | None], complaint: Complaint) -> bool:
    """Return whether the complaint is at a level of ``levels`` (``access.handled_levels``).

    The queue's counterpart of ``access.can_handle``, without a query per complaint.
    """
    if complaint.level not in levels:
        return False
    committees_there = levels[complaint.level]
    return committees_there is None or complaint.committee_id in committees_there


@bp.route("/staff/complaints")
@role_required(*HANDLER_ROLES)
def queue() -> str:
    today = local_today()
    levels = access.handled_levels(db.session, current_user)
    recent = utcnow() - timedelta(days=RECENT_CLOSED_DAYS)
    complaints = db.session.scalars(
        select(Complaint)
        .where(
            access.viewable_by(db.session, current_user),
            (Complaint.status != Status.CLOSED) | (Complaint.closed_at >= recent),
        )
        .options(joinedload(Complaint.committee).options(lazyload(Committee.members)))
        .order_by(Complaint.level_since, Complaint.id)
    ).all()
    current = [_row(c, today) for c in complaints if not c.is_closed and _handles_now(levels, c)]
    earlier = [
        _row(c, today) for c in complaints if not c.is_closed and not _handles_now(levels, c)
    ]
    closed = sorted((c for c in complaints if c.is_closed), key=lambda c: c.closed_at, reverse=True)
    counts = Counter((row.complaint.level, row.complaint.status) for row in current)
    overdue = Counter(row.complaint.level for row in current if row.missed)
    return render_template(
        "complaints/staff/queue.html",
        levels=levels,
        committee_names=_committee_names(levels),
        current=current,
        earlier=earlier,
        closed=closed,
        counts=counts,
        overdue=overdue,
        open_statuses=[Status.OPEN, Status.ACKNOWLEDGED, Status.RESPONDED],
        level_name=level_name,
        status_label=status_label,
        subject_labels=SUBJECT_LABELS,
        missed_labels=MISSED_LABELS,
        recent_days=RECENT_CLOSED_DAYS,
    )


def _committee_names(levels: dict[int, set[int] | None]) -> list[str]:
    ids = levels.get(Level.COMMITTEE) or set()
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Committee.name).where(Committee.id.in_(ids)).order_by(Committee.name)
        )
    )


# -- A complaint ---------------------------------------------------------------------------


def _viewable_or_404(complaint_id: int) -> Complaint:
    """Return the complaint if the signed-in person may read it; 404 otherwise."""
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None or not access.can_view(db.session, current_user, complaint):
        abort(404)
    return complaint


def _log_view(complaint: Complaint, action: str = "complaint.viewed", **data: object) -> None:
    """Write the view to the event log and commit it, before anything is shown.

    A GET's session reads (on SQLite, in a deferred transaction). A write after its reads
    would have to upgrade a read snapshot, which fails at once, without waiting, if another
    process wrote meanwhile; so the read transaction is ended first and the new one starts
    with the INSERT, which waits its turn like any writer. (A separate ``db.transaction()``
    would commit apart from the request, but tests bind every session to one connection and
    roll the request's back at teardown, which would take the entry with it.)
    """
    db.session.commit()
    record_event(
        db.session,
        action=action,
        subject_type="complaint",
        subject_id=complaint.id,
        now=utcnow(),
        actor=current_user,
        data={"level": complaint.level, **data},
    )
    db.session.commit()


def _author(entry: ComplaintEntry) -> str:
    if entry.author is not None:
        return entry.author.name
    if entry.kind in BY_COMPLAINANT:
        return _("The complainant")
    return _("The registry")


def _forms(complaint: Complaint) -> dict[str, Any]:
    """Return the forms of the current level's handlers (none for anyone else)."""
    if not access.can_handle(db.session, current_user, complaint):
        return {}
    forms: dict[str, Any] = {"message": MessageForm(formdata=None)}
    if complaint.status == Status.OPEN:
        forms["acknowledge"] = ConfirmForm(formdata=None)
    if complaint.status != Status.RESPONDED:
        forms["respond"] = RespondForm(formdata=None)
    certificates = _live_certifications(complaint)
    if complaint.level == Level.BOARD:
        forms["decide"] = DecideForm(
            formdata=None, conduct=complaint.is_conduct, certificates=certificates
        )
    else:
        conduct = complaint.is_conduct and complaint.level == Level.COMMITTEE
        forms["resolve"] = ResolveForm(formdata=None, conduct=conduct, certificates=certificates)
        forms["escalate"] = EscalateForm(formdata=None)
    return forms


@bp.route("/staff/complaints/<int:complaint_id>")
@role_required(*COMPLAINT_PAGE_ROLES)
def complaint(complaint_id: int) -> str:
    found = _viewable_or_404(complaint_id)
    _log_view(found)
    entries = db.session.scalars(
        select(ComplaintEntry)
        .where(ComplaintEntry.complaint_id == found.id)
        .options(joinedload(ComplaintEntry.author))
        .order_by(ComplaintEntry.at, ComplaintEntry.id)
    ).all()
    # The files sent with the complaint go with its description (key None), a reply's with it.
    filed = {entry.id for entry in entries if entry.kind == EntryKind.FILED}
    files: dict[int | None, list[ComplaintAttachment]] = {}
    for attachment in found.attachments:
        key = None if attachment.entry_id in filed else attachment.entry_id
        files.setdefault(key, []).append(attachment)
    today = local_today()
    return render_template(
        "complaints/staff/complaint.html",
        complaint=found,
        subject_label=Subject(found.subject).label,
        entries=entries,
        files=files,
        row=_row(found, today),
        forms=_forms(found),
        author=_author,
        entry_labels=ENTRY_LABELS,
        status_label=status_label,
        subject_labels=SUBJECT_LABELS,
        missed_labels=MISSED_LABELS,
        outcome_labels=CONDUCT_OUTCOME_LABELS,
        handles_now=access.can_handle(db.session, current_user, found),
        size=human_size,
    )


@bp.route("/staff/complaints/<int:complaint_id>/attachments/<int:attachment_id>")
@role_required(*COMPLAINT_PAGE_ROLES)
def attachment(complaint_id: int, attachment_id: int) -> ResponseReturnValue:
    found = _viewable_or_404(complaint_id)
    row = db.session.get(ComplaintAttachment, attachment_id)
    if row is None or row.complaint_id != found.id:
        abort(404)
    _log_view(found, "complaint.attachment_downloaded", attachment_id=row.id)
    return stored_file_response(row, **FILE_SETTINGS) or abort(404)


# -- The handlers' actions -----------------------------------------------------------------


def _act(complaint_id: int, form: Any, action: Callable[[Complaint], str]) -> Response:
    """Run ``action`` on the complaint through ``form``; flash the outcome and go back to it."""
    found = _viewable_or_404(complaint_id)
    back = redirect(url_for("complaint_staff.complaint", complaint_id=found.id), 303)
    return submit_form(form, back, lambda: action(found), ComplaintError)


def _told(complaint: Complaint, by_mail: str, on_tracking_page: str) -> str:
    """Return the message that says how the complainant learns of the change."""
    return by_mail if complaint.complainant_email else on_tracking_page


@bp.route("/staff/complaints/<int:complaint_id>/acknowledge", methods=["POST"])
@role_required(*COMPLAINT_PAGE_ROLES)
def acknowledge(complaint_id: int) -> Response:
    def action(found: Complaint) -> str:
        services.acknowledge_complaint(db.session, found, actor=current_user, now=utcnow())
        code = found.receipt_code
        return _told(
            found,
            _("Complaint %(code)s is acknowledged; the complainant is told by e-mail.", code=code),
            _(
                "Complaint %(code)s is acknowledged; the complainant sees it on the tracking page.",
                code=code,
            ),
        )

    return _act(complaint_id, ConfirmForm(), action)


@bp.route("/staff/complaints/<int:complaint_id>/message", methods=["POST"])
@role_required(*COMPLAINT_PAGE_ROLES)
def message(complaint_id: int) -> Response:
    form = MessageForm()

    def action(found: Complaint) -> str:
        services.send_message(
            db.session, found, body=form.body.data, actor=current_user, now=utcnow()
        )
        return _told(
            found,
            _("Your message is on the complaint's timeline; the complainant is told by e-mail."),
            _(
                "Your message is on the complaint's timeline; the complainant sees it on the"
                " tracking page."
            ),
        )

    return _act(complaint_id, form, action)


@bp.route("/staff/complaints/<int:complaint_id>/respond", methods=["POST"])
@role_required(*COMPLAINT_PAGE_ROLES)
def respond(complaint_id: int) -> Response:
    form = RespondForm()

    def action(found: Complaint) -> str:
        services.respond_to_complaint(
            db.session, found, body=form.body.data, actor=current_user, now=utcnow()
        )
        return _told(
            found,
            _(
                "The response is sent; the complainant is told by e-mail. The complainant may"
                " now ask for the complaint to go to the next level."
            ),
            _(
                "The response is sent; the complainant sees it on the tracking page. The"
                " complainant may now ask for the complaint to go to the next level."
            ),
        )

    return _act(complaint_id, form, action)


def _conduct_done(found: Complaint) -> str:
    outcome = found.conduct_outcome
    if outcome is None:
        return ""
    label = str(CONDUCT_OUTCOME_LABELS[outcome]).lower()
    return " " + _("Conduct outcome: %(outcome)s.", outcome=label)


@bp.route("/staff/complaints/<int:complaint_id>/resolve", methods=["POST"])
@role_required(*COMPLAINT_PAGE_ROLES)
def resolve(complaint_id: int) -> Response:
    def action(found: Complaint) -> str:
        services.resolve_complaint(
            db.session,
            found,
            outcome=form.outcome.data,
            conduct_outcome=form.chosen_outcome,
            public_reason=form.chosen_reason,
            certificate=form.chosen_certificate,
            actor=current_user,
            now=utcnow(),
            today=local_today(),
        )
        done = _("Complaint %(code)s is resolved and closed.", code=found.receipt_code)
        return done + _conduct_done(found)

    form = ResolveForm(conduct=_conduct_at(complaint_id, Level.COMMITTEE))
    return _act(complaint_id, form, action)


@bp.route("/staff/complaints/<int:complaint_id>/escalate", methods=["POST"])
@role_required(*COMPLAINT_PAGE_ROLES)
def escalate(complaint_id: int) -> Response:
    form = EscalateForm()

    def action(found: Complaint) -> str:
        services.escalate_complaint(
            db.session, found, reason=form.reason.data, actor=current_user, now=utcnow()
        )
        return _(
            "Complaint %(code)s is now at level %(level)s (%(label)s); its handlers and the"
            " complainant are told.",
            code=found.receipt_code,
            level=found.level,
            label=found.level_label,
        )

    return _act(complaint_id, form, action)


@bp.route("/staff/complaints/<int:complaint_id>/decide", methods=["POST"])
@role_required(*COMPLAINT_PAGE_ROLES)
def decide(complaint_id: int) -> ResponseReturnValue:
    def action(found: Complaint) -> str:
        services.decide_complaint(
            db.session,
            found,
            decision=form.decision.data,
            conduct_outcome=form.chosen_outcome,
            public_reason=form.chosen_reason,
            certificate=form.chosen_certificate,
            actor=current_user,
            now=utcnow(),
            today=local_today(),
        )
        done = _(
            "The Board's decision is recorded: complaint %(code)s is closed for good.",
            code=found.receipt_code,
        )
        return done + _conduct_done(found)

    form = DecideForm(conduct=_conduct_at(complaint_id, Level.BOARD))
    page = confirmation(
        form,
        title=_("Record the Board's decision?"),
        summary=lambda: [
            _(
                "record the Board's decision and close the complaint for good (it cannot be "
                "escalated again)"
            ),
            _("tell the complainant and the handlers"),
        ],
        button=_("Yes, record the decision"),
        back=url_for("complaint_staff.complaint", complaint_id=complaint_id),
    )
    if page is not None:
        return page
    return _act(complaint_id, form, action)


def _live_certifications(complaint: Complaint) -> list[Certification]:
    """Return the certifications a conduct outcome on ``complaint`` may change."""
    if not complaint.is_conduct or complaint.mediator is None:
        return []
    return services.live_certifications(db.session, complaint.mediator, local_today())


def _conduct_at(complaint_id: int, level: Level) -> bool:
    """Return whether the complaint is on the conduct process at ``level`` (its form's fields)."""
    found = db.session.get(Complaint, complaint_id)
    return found is not None and found.is_conduct and found.level == level


# -- Committees and subject routes ---------------------------------------------------------


def _committee_or_404(committee_id: int) -> Committee:
    found = db.session.get(Committee, committee_id)
    if found is None:
        abort(404)
    return found


def _back_to_committees(anchor: str | None = None) -> Response:
    return redirect(url_for("complaint_staff.committees", _anchor=anchor), 303)


@bp.route("/staff/complaint-committees")
@role_required(*COMMITTEE_READERS)
def committees() -> str:
    all_committees = db.session.scalars(select(Committee).order_by(Committee.name)).all()
    routes = {route.subject: route for route in db.session.scalars(select(SubjectRoute))}
    at_level = dict(
        db.session.execute(
            select(Complaint.committee_id, func.count())
            .where(Complaint.level == Level.COMMITTEE, Complaint.status != Status.CLOSED)
            .group_by(Complaint.committee_id)
        ).all()
    )
    return render_template(
        "complaints/staff/committees.html",
        committees=all_committees,
        subjects=list(Subject),
        routes=routes,
        at_level=at_level,
        can_edit=current_user.has_role(Role.ADMINISTRATOR),
        new_form=CommitteeForm(formdata=None, prefix="new"),
        member_forms={
            c.id: PersonForm(formdata=None, prefix=f"member-{c.id}") for c in all_committees
        },
        route_forms={
            subject: RouteForm(
                formdata=None,
                prefix=f"route-{subject.value}",
                committees=list(all_committees),
                committee_id=routes[subject].committee_id if subject in routes else None,
            )
            for subject in Subject
        },
    )


@bp.route("/staff/complaint-committees", methods=["POST"])
@role_required(Role.ADMINISTRATOR)
def create_committee() -> Response:
    form = CommitteeForm(prefix="new")

    def action() -> str:
        created = committee_services.create_committee(
            db.session,
            name=form.name.data,
            description=form.description.data or "",
            now=utcnow(),
            actor=current_user,
        )
        return _(
            "The %(committee)s is created: add its members, then route subjects to it.",
            committee=created.name,
        )

    return submit_form(form, _back_to_committees(), action, ComplaintError)


@bp.route("/staff/complaint-committees/<int:committee_id>/members", methods=["POST"])
@role_required(Role.ADMINISTRATOR)
def add_member(committee_id: int) -> Response:
    committee = _committee_or_404(committee_id)
    form = PersonForm(prefix=f"member-{committee.id}")

    def action() -> str:
        user = form.user
        committee_services.add_member(db.session, committee, user, now=utcnow(), actor=current_user)
        return _("%(name)s sits on the %(committee)s.", name=user.name, committee=committee.name)

    return submit_form(
        form, _back_to_committees(f"committee-{committee.id}"), action, ComplaintError
    )


@bp.route(
    "/staff/complaint-committees/<int:committee_id>/members/<int:user_id>/remove",
    methods=["POST"],
)
@role_required(Role.ADMINISTRATOR)
def remove_member(committee_id: int, user_id: int) -> Response:
    committee = _committee_or_404(committee_id)
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)

    def action() -> str:
        committee_services.remove_member(
            db.session, committee, user, now=utcnow(), actor=current_user
        )
        return _(
            "%(name)s no longer sits on the %(committee)s.",
            name=user.name,
            committee=committee.name,
        )

    return submit_form(
        ConfirmForm(), _back_to_committees(f"committee-{committee.id}"), action, ComplaintError
    )


@bp.route("/staff/complaint-committees/routes/<subject>", methods=["POST"])
@role_required(Role.ADMINISTRATOR)
def route_subject(subject: str) -> Response:
    if subject not in set(Subject):
        abort(404)
    about = Subject(subject)
    options = db.session.scalars(select(Committee).order_by(Committee.name)).all()
    form = RouteForm(prefix=f"route-{about.value}", committees=list(options))

    def action() -> str:
        committee_services.route_subject(
            db.session, about, form.committee, now=utcnow(), actor=current_user
        )
        return _(
            "%(subject)s: complaints that reach the third level from now on go to the"
            " %(committee)s.",
            subject=about.label,
            committee=form.committee.name,
        )

    return submit_form(form, _back_to_committees("routes"), action, ComplaintError)
