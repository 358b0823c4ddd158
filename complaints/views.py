"""The public complaint pages: filing, and following a complaint with its receipt code and secret.

No account is needed. Filing shows the receipt code and the secret once, on the page that
answers the form (never behind a redirect, so they are not in an address or a history entry).
Entering both on the tracking form gives this browser's session a random tracking token for an
hour (``TRACKED``; the complaint it opens is kept on the server, never in the cookie); the
tracked page and its actions work only on that complaint, and "forget" ends the token. A wrong code
and a wrong secret get the same answer, and tracking attempts are rate-limited per client.

Anonymity: an anonymous complaint keeps no name, e-mail or network address. The rate limiter
counts requests per network address in its own storage (memory or Redis), for the length of the
limit's window, and that count is never linked to a complaint.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from complaints import queries, services
from complaints.forms import (
    EscalationForm,
    ForgetForm,
    IntakeForm,
    ReplyForm,
    TrackForm,
    WithdrawForm,
)
from complaints.models import (
    CONDUCT_LEVEL_LABELS,
    GENERAL_LEVEL_LABELS,
    ClosedAs,
    Complaint,
    ComplaintEntry,
    EntryKind,
    Level,
    Status,
    Subject,
)
from complaints.services import ComplaintError
from complaints.staff_views import bp as staff
from registry.accounts.permissions import public
from registry.clock import local_date, local_today
from registry.database import utcnow
from registry.extensions import db, limiter
from registry.formatting import format_day, format_number
from registry.i18n import _l
from registry.uploads import KIND_NAMES, human_size
from registry.web import flash_form_errors, render_error

bp = Blueprint("complaints", __name__)

# The tracking token in this browser's session (services.open_tracking).
TRACKED = "tracked_complaint"
TRACKING_LIFETIME = timedelta(hours=1)
# The English text of the answer to a wrong code or secret (the page shows it translated).
NO_MATCH = "No complaint matches this receipt code and secret."
# Every page but the empty intake form: nothing about a complaint may be kept by a cache,
# leak through a Referer header or reach a search engine.
OPEN_PAGES = {"complaints.new"}


def register(app: Flask) -> None:
    """Register the complaint blueprints: the public pages here, the handlers' pages."""
    app.register_blueprint(bp)
    app.register_blueprint(staff)


@bp.after_request
def _protect_private_pages(response: Response) -> Response:
    if request.endpoint not in OPEN_PAGES or request.method != "GET":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.errorhandler(TooManyRequests)
def _too_many(_error: TooManyRequests) -> ResponseReturnValue:
    if request.endpoint == "complaints.track":
        message = _("Too many attempts to open a complaint from your network. Wait a minute.")
    else:
        message = _("Too many complaints or replies were sent from your network. Try again later.")
    return render_error(429, message)


def _file_rate_limit() -> str:
    return current_app.config["COMPLAINT_FILE_RATE_LIMIT"]


def _track_rate_limit() -> str:
    return current_app.config["COMPLAINT_TRACK_RATE_LIMIT"]


def _accepted(response: Response) -> bool:
    """Count only what was written: a form sent back with an error costs nothing."""
    return response.status_code < 400


# -- Filing --------------------------------------------------------------------------------


def _limits() -> dict[str, Any]:
    """Return the settings the pages tell the complainant: time limits, retention, files."""
    config = current_app.config
    return {
        "ack_days": config["COMPLAINT_ACK_DAYS"],
        "response_days": config["COMPLAINT_RESPONSE_DAYS"],
        "retention_days": config["COMPLAINT_RETENTION_DAYS"],
        "attachments_hint": _(
            "Up to %(count)s files of at most %(size)s each: %(kinds)s.",
            count=format_number(config["COMPLAINT_MAX_FILES"]),
            size=human_size(config["COMPLAINT_UPLOAD_MAX_BYTES"]),
            kinds=KIND_NAMES,
        ),
    }


# How the committees' subjects read in "what happens next".
SUBJECT_SHORT = {
    Subject.MEDIATOR: _l("mediators and advocates"),
    Subject.PROGRAM: _l("programs and organisations"),
    Subject.REGISTRY: _l("the registry"),
    Subject.OTHER: _l("anything else"),
}


@dataclass(frozen=True)
class LevelInfo:
    name: str
    conduct_name: str
    committees: str = ""  # at the third level: which committee takes which subjects


def levels() -> list[LevelInfo]:
    """Return the four levels as the public pages explain them."""
    subjects_of: dict[str, list[str]] = {}
    for subject in Subject:
        committee = queries.routed_committee(db.session, subject)
        if committee is not None:
            subjects_of.setdefault(committee.name, []).append(str(SUBJECT_SHORT[subject]))
    committees = _("; ").join(
        _("the %(committee)s for %(subjects)s", committee=name, subjects=_(" and ").join(s))
        for name, s in subjects_of.items()
    )
    return [
        LevelInfo(
            str(GENERAL_LEVEL_LABELS[level]),
            str(CONDUCT_LEVEL_LABELS[level]),
            committees if level == Level.COMMITTEE else "",
        )
        for level in Level
    ]


def _render_intake(form: IntakeForm, status: int = 200) -> ResponseReturnValue:
    limits = _limits()
    form.attachments.description = limits["attachments_hint"]
    page = render_template("complaints/public/new.html", form=form, levels=levels(), **limits)
    return page, status


@bp.route("/complaints/new", methods=["GET", "POST"])
@limiter.limit(_file_rate_limit, methods=["POST"], deduct_when=_accepted)
@public
def new() -> ResponseReturnValue:
    """The intake form; a filed complaint answers with its receipt, shown once."""
    form = IntakeForm(session=db.session, today=local_today())
    if not form.is_submitted():
        return _render_intake(form)
    if not form.validate():
        flash(_("The complaint is not filed yet: see the marked fields."), "error")
        return _render_intake(form, 422)
    try:
        filed = services.file_complaint(
            db.session,
            subject=form.subject.data,
            description=form.description.data,
            is_anonymous=form.is_anonymous,
            name=form.name.data,
            email=form.email.data,
            mediator=form.mediator,
            program=form.program_chosen,
            organisation=form.organisation_chosen,
            uploads=form.attachments.data or (),
            now=utcnow(),
        )
    except ComplaintError as error:
        db.session.rollback()
        flash(_("The complaint is not filed yet: %(error)s", error=error), "error")
        return _render_intake(form, 422)
    db.session.commit()
    return render_template("complaints/public/receipt.html", filed=filed, **_limits())


# -- Tracking ------------------------------------------------------------------------------


@bp.route("/complaints/track", methods=["GET", "POST"])
@limiter.limit(_track_rate_limit, methods=["POST"])
@public
def track() -> ResponseReturnValue:
    """Open a complaint with its receipt code and secret (the same answer for either mistake)."""
    form = TrackForm()
    if not form.is_submitted():
        return render_template("complaints/public/track.html", form=form)
    if not form.validate():
        return render_template("complaints/public/track.html", form=form), 422
    complaint = services.find_tracked(db.session, form.receipt_code.data, form.secret.data)
    if complaint is None:
        error = _("No complaint matches this receipt code and secret.")
        return render_template("complaints/public/track.html", form=form, error=error), 404
    services.forget_tracking(db.session, session.get(TRACKED))
    session[TRACKED] = services.open_tracking(
        db.session, complaint, now=utcnow(), lifetime=TRACKING_LIFETIME
    )
    db.session.commit()
    return redirect(url_for("complaints.tracked"), 303)


def _tracked_complaint() -> Complaint | None:
    """Return the complaint this browser opened less than an hour ago, or None."""
    complaint = services.tracked_by(db.session, session.get(TRACKED), utcnow())
    if complaint is None:  # expired, forgotten or purged
        session.pop(TRACKED, None)
    return complaint


def _to_track_form() -> Response:
    flash(
        _(
            "Enter your receipt code and secret to see your complaint. For your privacy, this"
            " browser shows it for an hour at a time."
        ),
        "info",
    )
    return redirect(url_for("complaints.track"), 303)


@dataclass
class Step:
    """One line of the complainant's timeline."""

    at: datetime
    title: str
    body: str | None
    by_complainant: bool
    attachments: list[str] = field(default_factory=list)


def _level_names(complaint: Complaint) -> dict[Level, str]:
    labels = CONDUCT_LEVEL_LABELS if complaint.is_conduct else GENERAL_LEVEL_LABELS
    return {level: str(label) for level, label in labels.items()}


def _title(complaint: Complaint, entry: ComplaintEntry) -> str:
    """Say what happened, naming levels, never the people who handled the complaint."""
    names = _level_names(complaint)
    level = names[Level(entry.level)]
    above = names.get(Level(entry.level + 1)) if entry.level < Level.BOARD else None
    titles = {
        EntryKind.FILED: _l(
            "You filed the complaint; the %(level)s level received it", level=level
        ),
        EntryKind.ACKNOWLEDGED: _l("The %(level)s level acknowledged it", level=level),
        EntryKind.MESSAGE: _l("Message from the %(level)s level", level=level),
        EntryKind.REPLY: _l("Your reply"),
        EntryKind.RESPONDED: _l("Response from the %(level)s level", level=level),
        EntryKind.ESCALATION_REQUESTED: _l(
            "You asked for escalation; it moved up to %(above)s", above=above
        ),
        EntryKind.ESCALATED: _l(
            "The %(level)s level escalated it to %(above)s", level=level, above=above
        ),
        EntryKind.RESOLVED: _l("The %(level)s level resolved it", level=level),
        EntryKind.DECIDED: _l("Final decision (%(level)s)", level=level),
        EntryKind.WITHDRAWN: _l("You withdrew the complaint"),
        EntryKind.OVERDUE: _l(
            "The %(level)s level missed a time limit; the level above was told", level=level
        ),
    }
    return str(titles.get(EntryKind(entry.kind), _l("Updated")))


def timeline(complaint: Complaint) -> list[Step]:
    """Return the complaint's timeline as its complainant reads it, oldest first."""
    files: dict[int | None, list[str]] = {}
    for attachment in complaint.attachments:
        files.setdefault(attachment.entry_id, []).append(attachment.original_name)
    by_complainant = {
        EntryKind.FILED,
        EntryKind.REPLY,
        EntryKind.ESCALATION_REQUESTED,
        EntryKind.WITHDRAWN,
    }
    return [
        Step(
            at=entry.at,
            title=_title(complaint, entry),
            body=complaint.description if entry.kind == EntryKind.FILED else entry.body,
            by_complainant=entry.kind in by_complainant,
            attachments=files.get(entry.id, []),
        )
        for entry in complaint.entries
    ]


def _day(moment: datetime) -> str:
    """Return the registry's calendar day of ``moment`` as people read it: "29 November 2026"."""
    return format_day(local_date(moment))


def _render_tracked(complaint: Complaint, status: int = 200, **forms: Any) -> ResponseReturnValue:
    config = current_app.config
    forms.setdefault("reply_form", ReplyForm(formdata=None))
    forms.setdefault("escalation_form", EscalationForm(formdata=None))
    forms.setdefault("withdraw_form", WithdrawForm(formdata=None))
    limits = _limits()
    forms["reply_form"].attachments.description = limits["attachments_hint"]
    page = render_template(
        "complaints/public/tracked.html",
        complaint=complaint,
        subject_label=Subject(complaint.subject).label,
        status_label=(
            ClosedAs(complaint.closed_as).label
            if complaint.is_closed
            else Status(complaint.status).label
        ),
        steps=timeline(complaint),
        can_escalate=not complaint.is_closed
        and complaint.status == Status.RESPONDED
        and complaint.level < Level.BOARD,
        next_level=_level_names(complaint).get(complaint.level + 1),
        ack_due=_day(complaint.level_since + timedelta(days=config["COMPLAINT_ACK_DAYS"])),
        response_due=_day(
            complaint.level_since + timedelta(days=config["COMPLAINT_RESPONSE_DAYS"])
        ),
        forget_form=ForgetForm(formdata=None),
        **limits,
        **forms,
    )
    return page, status


@bp.route("/complaints/tracked")
@public
def tracked() -> ResponseReturnValue:
    """The complaint this browser opened: status, level, timeline, and what can be done."""
    complaint = _tracked_complaint()
    if complaint is None:
        return _to_track_form()
    return _render_tracked(complaint)


def _act(
    form_name: str, form: Any, action: Callable[[Complaint, Any], None], done: str
) -> ResponseReturnValue:
    """Run the complainant's ``action`` on the tracked complaint, or show why not."""
    complaint = _tracked_complaint()
    if complaint is None:
        return _to_track_form()
    if form.validate_on_submit():
        try:
            action(complaint, form)
        except ComplaintError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(done, "success")
            return redirect(url_for("complaints.tracked"), 303)
    else:
        flash_form_errors(form)
    complaint = db.session.get(Complaint, complaint.id)
    return _render_tracked(complaint, 422, **{form_name: form})


@bp.route("/complaints/tracked/reply", methods=["POST"])
@limiter.limit(_file_rate_limit, deduct_when=_accepted)
@public
def reply() -> ResponseReturnValue:
    def action(complaint: Complaint, form: ReplyForm) -> None:
        services.reply_to_complaint(
            db.session,
            complaint,
            body=form.body.data,
            uploads=form.attachments.data or (),
            now=utcnow(),
        )

    return _act("reply_form", ReplyForm(), action, _("Your reply is added to the complaint."))


@bp.route("/complaints/tracked/escalate", methods=["POST"])
@public
def escalate() -> ResponseReturnValue:
    def action(complaint: Complaint, form: EscalationForm) -> None:
        services.request_escalation(db.session, complaint, reason=form.reason.data, now=utcnow())

    return _act(
        "escalation_form", EscalationForm(), action, _("Your complaint moved up to the next level.")
    )


@bp.route("/complaints/tracked/withdraw", methods=["POST"])
@public
def withdraw() -> ResponseReturnValue:
    def action(complaint: Complaint, _form: WithdrawForm) -> None:
        services.withdraw_complaint(db.session, complaint, now=utcnow())

    return _act(
        "withdraw_form", WithdrawForm(), action, _("Your complaint is withdrawn and closed.")
    )


@bp.route("/complaints/tracked/forget", methods=["POST"])
@public
def forget() -> ResponseReturnValue:
    """Stop showing the complaint in this browser, and to any copy of its cookie (the code and
    secret still open it)."""
    if ForgetForm().validate_on_submit():
        services.forget_tracking(db.session, session.pop(TRACKED, None))
        db.session.commit()
        flash(
            _(
                "This browser no longer shows your complaint. Your receipt code and secret still"
                " open it."
            ),
            "success",
        )
    return redirect(url_for("complaints.track"), 303)
