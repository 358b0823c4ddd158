"""Changes to complaints: filing, the handlers' actions level by level, the complainant's.

One function per state change. It checks the starting state and who acts (raising
``ComplaintError``, with nothing changed, otherwise), changes the complaint, adds a
``ComplaintEntry`` to its timeline, writes the event log, tells the complainant when an address
was kept, and flushes; the request or the job commits. Functions that change a complaint re-read
it under a row lock (``locked``), so two requests on one complaint take turns.

The event log is read by administrators, who may not read complaints: it gets the kind of
change and the levels only, never a description, message, reason or the complainant's identity
(the complainant's own actions are logged without an actor). E-mails say that something
changed and where to read it, never what was written.
"""

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from flask_babel.speaklater import LazyString
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from complaints import access, queries
from complaints.models import (
    CONDUCT_LEVEL_LABELS,
    GENERAL_LEVEL_LABELS,
    ClosedAs,
    Committee,
    Complaint,
    ComplaintAttachment,
    ComplaintEntry,
    ConductOutcome,
    EntryKind,
    Level,
    Status,
    Subject,
    Tracking,
)
from registry.accounts.models import User
from registry.accounts.services import normalise_email
from registry.events.services import record_event
from registry.i18n import _l, current_language, in_sentence
from registry.mail.services import queue_template_mail
from registry.mediators.models import Certification, Mediator
from registry.mediators.services import (
    REGRANTABLE,
    MediatorError,
    lift_suspension,
    revoke_certification,
    suspend_certification,
)
from registry.mediators.status import certification_standing
from registry.organisations.models import Organisation, Program
from registry.uploads import StoredFile, UploadRefused, discard, store_upload
from registry.validation import checked_text

MIN_DESCRIPTION_LENGTH = 20
MAX_DESCRIPTION_LENGTH = 10_000
MAX_TEXT_LENGTH = 10_000
MAX_NAME_LENGTH = 200
MAX_REASON_LENGTH = 2000
# Letters and digits nobody confuses when reading them aloud or copying them (no 0/O, 1/I).
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
SECRET_GROUPS = 4  # of five characters: 100 random bits
# Where complaint files live; the pages that serve them pass the same settings.
FILE_SETTINGS = {
    "folder_setting": "COMPLAINT_FILES_DIR",
    "default_folder": "complaint-files",
}
TRACK_PATH = "/complaints/track"
# Why the Board lifts a suspension when its appeal decision is "no action" and none is given.
LIFTED_ON_APPEAL = "The suspension is lifted: on appeal, the Board decided that no action is due."


class ComplaintError(ValueError):
    """A complaint change that the rules do not allow."""


@dataclass(frozen=True)
class Filed:
    complaint: Complaint
    receipt_code: str
    secret: str  # shown once; only its SHA-256 is kept


def text(value: str | None, *, what: str, limit: int = MAX_TEXT_LENGTH, minimum: int = 1) -> str:
    """Return ``value`` trimmed, or raise ComplaintError if it is empty or too long."""
    return checked_text(value, what=what, limit=limit, error=ComplaintError, minimum=minimum)


def locked(session: Session, complaint: Complaint) -> Complaint:
    """Re-read ``complaint`` under a row lock, so concurrent changes to it take turns."""
    return session.scalars(
        select(Complaint)
        .where(Complaint.id == complaint.id)
        .with_for_update(of=Complaint)
        .execution_options(populate_existing=True)
    ).one()


def stage(complaint: Complaint) -> str:
    """Return where the complaint is, as people read it: "level 2 (Executive Director)"."""
    return _("level %(level)s (%(label)s)", level=complaint.level, label=complaint.level_label)


def lazy_stage(complaint: Complaint) -> LazyString:
    """Return ``stage`` in the language it is read in (an e-mail's, not the page's)."""
    labels = CONDUCT_LEVEL_LABELS if complaint.is_conduct else GENERAL_LEVEL_LABELS
    return _l(
        "level %(level)s (%(label)s)", level=complaint.level, label=labels[Level(complaint.level)]
    )


# -- Receipt codes and secrets ------------------------------------------------------------


def _random(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def new_receipt_code(session: Session) -> str:
    """Return an unused receipt code such as "C7KQ2-M9XDP"."""
    while True:
        code = f"C{_random(4)}-{_random(5)}"
        if queries.by_receipt_code(session, code) is None:
            return code


def new_secret() -> str:
    """Return a secret such as "K7M2Q-XD9PB-4HTWN-C8RZA" (100 random bits)."""
    return "-".join(_random(5) for _ in range(SECRET_GROUPS))


def normalise_code(value: str | None) -> str:
    """Return a receipt code or secret as stored: upper case, without spaces or dashes."""
    return re.sub(r"[\s\-]+", "", value or "").upper()


def secret_hash(secret: str) -> str:
    """Return the SHA-256 (hex) of a secret, as kept in ``Complaint.secret_hash``."""
    return hashlib.sha256(normalise_code(secret).encode()).hexdigest()


def find_tracked(session: Session, receipt_code: str, secret: str) -> Complaint | None:
    """Return the complaint the receipt code and secret open, or None (the same for both errors).

    Codes are read forgivingly (case, spaces and dashes do not matter); the secret's hash is
    compared in constant time, and compared even for an unknown code.
    """
    code = normalise_code(receipt_code)
    # Anything outside the codes' alphabet (a NUL byte, say) matches nothing and never reaches
    # the database.
    readable = bool(code) and all(char in ALPHABET for char in code)
    complaint = queries.by_receipt_code(session, f"{code[:5]}-{code[5:]}") if readable else None
    expected = complaint.secret_hash if complaint is not None else "0" * 64
    if not hmac.compare_digest(expected, secret_hash(secret)):
        return None
    return complaint


def open_tracking(
    session: Session, complaint: Complaint, *, now: datetime, lifetime: timedelta
) -> str:
    """Let a browser follow ``complaint`` for ``lifetime``; return the token its session keeps."""
    token = secrets.token_urlsafe(32)
    session.add(
        Tracking(
            token_hash=secret_hash(token),
            complaint=complaint,
            opened_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return token


def tracked_by(session: Session, token: object, now: datetime) -> Complaint | None:
    """Return the complaint a browser's tracking ``token`` opens, while it has not expired."""
    if not isinstance(token, str) or not token:
        return None
    tracking = session.scalar(select(Tracking).where(Tracking.token_hash == secret_hash(token)))
    if tracking is None or tracking.expires_at <= now:
        return None
    return tracking.complaint


def forget_tracking(session: Session, token: object) -> None:
    """End a browser's tracking: its token, and any copy of it, opens nothing any more."""
    if isinstance(token, str) and token:
        session.execute(delete(Tracking).where(Tracking.token_hash == secret_hash(token)))


# -- Writing: entries, event log, e-mail --------------------------------------------------


def _entry(
    session: Session,
    complaint: Complaint,
    kind: EntryKind,
    *,
    now: datetime,
    author: User | None = None,
    body: str | None = None,
) -> ComplaintEntry:
    entry = ComplaintEntry(
        complaint=complaint, at=now, kind=kind, level=complaint.level, author=author, body=body
    )
    session.add(entry)
    return entry


def _log(
    session: Session,
    action: str,
    complaint: Complaint,
    *,
    now: datetime,
    actor: User | None,
    **data: object,
) -> None:
    """Log ``action`` on the complaint: its kind and levels only (see the module docstring)."""
    record_event(
        session,
        action=f"complaint.{action}",
        subject_type="complaint",
        subject_id=complaint.id,
        now=now,
        actor=actor,
        data={"level": complaint.level, "status": complaint.status, **data},
    )


def tell_complainant(
    session: Session, complaint: Complaint, change: str | LazyString, *, now: datetime
) -> int:
    """E-mail the complainant (if an address was kept) that ``change`` happened.

    The mail is written in the complainant's language: ``change`` is best a lazy string, so it
    is translated when the mail is rendered in that language.
    """
    if not complaint.complainant_email:
        return 0
    return queue_template_mail(
        session,
        "complaint_changed.txt",
        to=[complaint.complainant_email],
        now=now,
        locale=complaint.locale,
        complaint=complaint,
        change=change,
        track_url=current_app.config["PUBLIC_URL"] + TRACK_PATH,
    )


def tell_handlers(
    session: Session, complaint: Complaint, template: str, *, now: datetime, **context: object
) -> int:
    """E-mail the handlers of the complaint's current level."""
    handlers = queries.handlers_of(session, complaint, complaint.level)
    return queue_template_mail(
        session,
        template,
        to=[handler.email for handler in handlers],
        now=now,
        complaint=complaint,
        **context,
    )


# -- Filing ------------------------------------------------------------------------------


def _subject(value: str) -> Subject:
    try:
        return Subject(value)
    except ValueError:
        raise ComplaintError(_("Choose what the complaint is about from the list.")) from None


def _complainant(is_anonymous: bool, name: str | None, email: str | None) -> tuple[str, str]:
    """Return the complainant's name and address, or ("", "") for an anonymous complaint."""
    name, email = (name or "").strip(), (email or "").strip()
    if is_anonymous:
        if name or email:
            raise ComplaintError(
                _(
                    "An anonymous complaint keeps no name or e-mail address: leave both empty,"
                    " or file the complaint with your name."
                )
            )
        return "", ""
    name = text(name, what=_("Your name"), limit=MAX_NAME_LENGTH)
    if not email:
        raise ComplaintError(
            _(
                "Give an e-mail address so that we can tell you of each change,"
                " or file the complaint anonymously."
            )
        )
    email = normalise_email(email)
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        raise ComplaintError(
            _("%(email)s is not a valid e-mail address.", email=repr(email))
        ) from None
    return name, email


def _check_about(
    subject: Subject,
    mediator: Mediator | None,
    program: Program | None,
    organisation: Organisation | None,
) -> Organisation | None:
    """Check what the complaint names against its subject; return the organisation to keep."""
    if subject == Subject.MEDIATOR:
        if mediator is None:
            raise ComplaintError(_("Choose the certified mediator or advocate you complain about."))
        if mediator.current_certification is None:
            raise ComplaintError(
                _(
                    "%(name)s has never been certified; a complaint about a mediator is"
                    " about a certified mediator or advocate. Choose another subject.",
                    name=mediator.name,
                )
            )
    elif mediator is not None:
        raise ComplaintError(_("Only a complaint about a mediator or advocate names a mediator."))
    if subject != Subject.PROGRAM and (program is not None or organisation is not None):
        raise ComplaintError(
            _("Only a complaint about a program or organisation names a program or organisation.")
        )
    if program is not None:
        if organisation is not None and organisation.id != program.organisation_id:
            raise ComplaintError(
                _(
                    "%(program)s is not a program of %(organisation)s.",
                    program=program.name,
                    organisation=organisation.name,
                )
            )
        return program.organisation
    return organisation


def _present(uploads: Sequence[FileStorage]) -> list[FileStorage]:
    """Return the uploads that carry a file (a form's empty file field sends a nameless one)."""
    files = [upload for upload in uploads if upload is not None and upload.filename]
    limit = current_app.config["COMPLAINT_MAX_FILES"]
    if len(files) > limit:
        raise ComplaintError(
            _(
                "You attached %(count)s files; attach at most %(limit)s.",
                count=len(files),
                limit=limit,
            )
        )
    return files


def _store(session: Session, uploads: list[FileStorage]) -> list[StoredFile]:
    """Store every upload, or none: raise ComplaintError on the first refused file."""
    stored: list[StoredFile] = []
    try:
        for upload in uploads:
            stored.append(
                store_upload(
                    session,
                    upload.stream,
                    upload.filename,
                    max_bytes_setting="COMPLAINT_UPLOAD_MAX_BYTES",
                    **FILE_SETTINGS,
                )
            )
    except UploadRefused as error:
        for done in stored:
            discard(session, done)
        raise ComplaintError(str(error)) from None
    return stored


def _attach(
    complaint: Complaint, stored: list[StoredFile], entry: ComplaintEntry, now: datetime
) -> None:
    for file in stored:
        complaint.attachments.append(
            ComplaintAttachment(
                entry_id=entry.id,
                original_name=file.original_name,
                content_type=file.content_type,
                size_bytes=file.size_bytes,
                sha256=file.sha256,
                storage_name=file.storage_name,
                uploaded_at=now,
            )
        )


def file_complaint(
    session: Session,
    *,
    subject: str,
    description: str,
    is_anonymous: bool,
    name: str | None,
    email: str | None,
    mediator: Mediator | None = None,
    program: Program | None = None,
    organisation: Organisation | None = None,
    uploads: Sequence[FileStorage] = (),
    now: datetime,
) -> Filed:
    """File a complaint at the first level; return it with its receipt code and secret.

    An anonymous complaint keeps no name or address, and its event has no actor.
    """
    about = _subject(subject)
    description = text(
        description,
        what=_("The description"),
        limit=MAX_DESCRIPTION_LENGTH,
        minimum=MIN_DESCRIPTION_LENGTH,
    )
    name, email = _complainant(is_anonymous, name, email)
    organisation = _check_about(about, mediator, program, organisation)
    stored = _store(session, _present(uploads))
    receipt_code, secret = new_receipt_code(session), new_secret()
    complaint = Complaint(
        receipt_code=receipt_code,
        secret_hash=secret_hash(secret),
        subject=about,
        mediator=mediator,
        program=program,
        organisation=organisation,
        description=description,
        is_anonymous=is_anonymous,
        complainant_name=name or None,
        complainant_email=email or None,
        level=Level.SUPPORT,
        status=Status.OPEN,
        filed_at=now,
        level_since=now,
        # Later mail to the complainant, sent from staff pages, is written in this language.
        locale=current_language(),
    )
    session.add(complaint)
    entry = _entry(session, complaint, EntryKind.FILED, now=now)
    session.flush()
    _attach(complaint, stored, entry, now)
    _log(session, "filed", complaint, now=now, actor=None, subject=about.value)
    _mail_receipt(session, complaint, now=now)
    tell_handlers(session, complaint, "complaint_arrived.txt", now=now, escalated=False)
    session.flush()
    return Filed(complaint=complaint, receipt_code=receipt_code, secret=secret)


def _mail_receipt(session: Session, complaint: Complaint, *, now: datetime) -> None:
    if complaint.complainant_email:
        queue_template_mail(
            session,
            "complaint_filed.txt",
            to=[complaint.complainant_email],
            now=now,
            locale=complaint.locale,
            complaint=complaint,
            track_url=current_app.config["PUBLIC_URL"] + TRACK_PATH,
        )


# -- The handlers' actions ----------------------------------------------------------------


def _acting(session: Session, complaint: Complaint, actor: User, *, doing: str) -> Complaint:
    """Lock the complaint; refuse unless it is open and ``actor`` handles its level."""
    complaint = locked(session, complaint)
    if complaint.is_closed:
        raise ComplaintError(
            _(
                "This complaint is closed (%(closed_as)s); nobody can %(doing)s any more.",
                closed_as=in_sentence(ClosedAs(complaint.closed_as).label),
                doing=doing,
            )
        )
    if not access.handles_level(session, actor, complaint, complaint.level):
        raise ComplaintError(
            _(
                "The complaint is at %(stage)s; only its handlers can %(doing)s.",
                stage=stage(complaint),
                doing=doing,
            )
        )
    return complaint


def acknowledge_complaint(
    session: Session, complaint: Complaint, *, actor: User, now: datetime
) -> None:
    """Acknowledge receipt of the complaint at its level."""
    complaint = _acting(session, complaint, actor, doing=_("acknowledge it"))
    if complaint.status != Status.OPEN:
        raise ComplaintError(_("The complaint is already acknowledged at this level."))
    complaint.status, complaint.acknowledged_at = Status.ACKNOWLEDGED, now
    _entry(session, complaint, EntryKind.ACKNOWLEDGED, now=now, author=actor)
    _log(session, "acknowledged", complaint, now=now, actor=actor)
    told = _l("it was acknowledged at %(stage)s", stage=lazy_stage(complaint))
    tell_complainant(session, complaint, told, now=now)
    session.flush()


def send_message(
    session: Session, complaint: Complaint, *, body: str, actor: User, now: datetime
) -> None:
    """Send the complainant a message (read on the tracking page)."""
    complaint = _acting(session, complaint, actor, doing=_("write to the complainant"))
    body = text(body, what=_("The message"))
    _entry(session, complaint, EntryKind.MESSAGE, now=now, author=actor, body=body)
    _log(session, "message_sent", complaint, now=now, actor=actor)
    told = _l("you have a new message from %(stage)s", stage=lazy_stage(complaint))
    tell_complainant(session, complaint, told, now=now)
    session.flush()


def respond_to_complaint(
    session: Session, complaint: Complaint, *, body: str, actor: User, now: datetime
) -> None:
    """Answer the complaint at its level; the complainant may then ask to escalate it."""
    complaint = _acting(session, complaint, actor, doing=_("respond to it"))
    if complaint.status == Status.RESPONDED:
        raise ComplaintError(
            _(
                "This level has responded already: send a message, resolve or escalate the"
                " complaint."
            )
        )
    body = text(body, what=_("The response"))
    complaint.status, complaint.responded_at = Status.RESPONDED, now
    complaint.acknowledged_at = complaint.acknowledged_at or now
    _entry(session, complaint, EntryKind.RESPONDED, now=now, author=actor, body=body)
    _log(session, "responded", complaint, now=now, actor=actor)
    told = _l("it was answered at %(stage)s", stage=lazy_stage(complaint))
    tell_complainant(session, complaint, told, now=now)
    session.flush()


def _next_committee(session: Session, complaint: Complaint) -> Committee | None:
    """Check the complaint can move up a level; return the committee it reaches at level 3."""
    if complaint.level >= Level.BOARD:
        raise ComplaintError(
            _(
                "The complaint is at the Board, the last level: the Board's decision is final"
                " and cannot be escalated."
            )
        )
    if complaint.level + 1 != Level.COMMITTEE:
        return complaint.committee
    committee = queries.routed_committee(session, complaint.subject)
    if committee is None:
        raise ComplaintError(
            _(
                "No committee or taskforce is chosen for complaints about %(subject)s; staff"
                " must route the subject before the complaint can reach the third level.",
                subject=in_sentence(Subject(complaint.subject).label),
            )
        )
    return committee


def _move_up(complaint: Complaint, committee: Committee | None, *, now: datetime) -> None:
    """Move the complaint to the next level, received there anew."""
    complaint.committee = committee
    complaint.level += 1
    complaint.status, complaint.level_since = Status.OPEN, now
    complaint.acknowledged_at = complaint.responded_at = None


def _after_move(
    session: Session, complaint: Complaint, action: str, *, now: datetime, actor: User | None
) -> None:
    """Log, tell the complainant and the handlers of the new level, and flush."""
    session.flush()
    _log(session, action, complaint, now=now, actor=actor, from_level=complaint.level - 1)
    told = _l("it moved up to %(stage)s", stage=lazy_stage(complaint))
    tell_complainant(session, complaint, told, now=now)
    tell_handlers(session, complaint, "complaint_arrived.txt", now=now, escalated=True)
    session.flush()


def escalate_complaint(
    session: Session, complaint: Complaint, *, reason: str, actor: User, now: datetime
) -> None:
    """Pass the complaint up one level, with a reason the complainant reads."""
    complaint = _acting(session, complaint, actor, doing=_("escalate it"))
    reason = text(reason, what=_("The reason for escalating"))
    committee = _next_committee(session, complaint)
    _entry(session, complaint, EntryKind.ESCALATED, now=now, author=actor, body=reason)
    _move_up(complaint, committee, now=now)
    _after_move(session, complaint, "escalated", now=now, actor=actor)


def _conduct(
    session: Session,
    complaint: Complaint,
    value: str | None,
    *,
    public_reason: str | None,
    certificate: str | None,
    actor: User,
    now: datetime,
    today: date,
) -> ConductOutcome | None:
    """Check and apply a conduct outcome to the mediator's certification (None: none given)."""
    if not value:
        return None
    if not complaint.is_conduct:
        raise ComplaintError(
            _("Only a complaint about a certified mediator or advocate has a conduct outcome.")
        )
    if complaint.level not in (Level.COMMITTEE, Level.BOARD):
        raise ComplaintError(_("A conduct outcome is decided at assessment or on appeal."))
    try:
        outcome = ConductOutcome(value)
    except ValueError:
        raise ComplaintError(_("Choose a conduct outcome from the list.")) from None
    try:
        for certification in _conduct_targets(session, complaint.mediator, certificate, today):
            _apply_conduct(
                session,
                complaint,
                certification,
                outcome,
                public_reason=public_reason,
                actor=actor,
                now=now,
                today=today,
            )
    except MediatorError as error:
        raise ComplaintError(
            _("The certification cannot be changed: %(error)s", error=error)
        ) from None
    return outcome


# The conduct outcome's choice of certification when the person holds several.
ALL_CERTIFICATIONS = "all"


def live_certifications(session: Session, mediator: Mediator, today: date) -> list[Certification]:
    """Return the certifications of ``mediator`` that a conduct outcome can still change."""
    return [
        certification
        for certification in mediator.latest_certifications(today)
        # Struck and revoked certifications are closed: only a new grant follows them.
        if certification_standing(session, certification, today).status not in REGRANTABLE
    ]


def _conduct_targets(
    session: Session, mediator: Mediator | None, certificate: str | None, today: date
) -> list[Certification]:
    """Return the certifications a conduct outcome applies to.

    A person holding a mediator and an advocate certification answers for each separately:
    the outcome names one of them, or all.
    """
    if mediator is None or not mediator.certifications:
        raise ComplaintError(_("The mediator or their certification is no longer in the register."))
    live = live_certifications(session, mediator, today) or [mediator.certifications[-1]]
    if certificate == ALL_CERTIFICATIONS:
        return live
    if certificate:
        chosen = [c for c in live if c.certificate_number == certificate]
        if not chosen:
            raise ComplaintError(
                _(
                    "%(name)s holds no live certificate %(certificate)s.",
                    name=mediator.name,
                    certificate=certificate,
                )
            )
        return chosen
    if len(live) > 1:
        numbers = ", ".join(c.certificate_number for c in live)
        raise ComplaintError(
            _(
                "%(name)s holds %(count)s certifications (%(numbers)s): say which one the"
                " outcome applies to, or all of them.",
                name=mediator.name,
                count=len(live),
                numbers=numbers,
            )
        )
    return live


def _apply_conduct(
    session: Session,
    complaint: Complaint,
    certification: Certification,
    outcome: ConductOutcome,
    *,
    public_reason: str | None,
    actor: User,
    now: datetime,
    today: date,
) -> None:
    """Suspend or revoke ``certification``, or on appeal lift its suspension ("no action")."""
    if outcome in (ConductOutcome.SUSPEND, ConductOutcome.REVOKE):
        suspends = outcome == ConductOutcome.SUSPEND
        change = suspend_certification if suspends else revoke_certification
        reason = text(public_reason, what=_("The public reason"), limit=MAX_REASON_LENGTH)
        change(session, certification, on=today, reason=reason, today=today, now=now, actor=actor)
    elif complaint.level == Level.BOARD and _suspended(certification):
        reason = (public_reason or "").strip() or LIFTED_ON_APPEAL
        lift_suspension(
            session, certification, on=today, reason=reason, today=today, now=now, actor=actor
        )


def _suspended(certification: Certification) -> bool:
    """Return whether a suspension of ``certification`` is in force (not lifted or revoked)."""
    return (
        certification.suspended_on is not None
        and certification.suspension_lifted_on is None
        and certification.revoked_on is None
    )


def _close(
    session: Session,
    complaint: Complaint,
    closed_as: ClosedAs,
    *,
    now: datetime,
    outcome: str | None = None,
    conduct: ConductOutcome | None = None,
) -> None:
    complaint.status, complaint.closed_as, complaint.closed_at = Status.CLOSED, closed_as, now
    complaint.outcome = outcome
    complaint.conduct_outcome = conduct


def resolve_complaint(
    session: Session,
    complaint: Complaint,
    *,
    outcome: str,
    actor: User,
    now: datetime,
    today: date,
    conduct_outcome: str | None = None,
    public_reason: str | None = None,
    certificate: str | None = None,
) -> None:
    """Close the complaint at levels 1-3 with a written outcome (at assessment, a conduct one)."""
    complaint = _acting(session, complaint, actor, doing=_("resolve it"))
    if complaint.level == Level.BOARD:
        raise ComplaintError(_("The Board does not resolve a complaint: it decides it, finally."))
    _finish(
        session,
        complaint,
        ClosedAs.RESOLVED,
        text(outcome, what=_("The outcome")),
        conduct_outcome=conduct_outcome,
        public_reason=public_reason,
        certificate=certificate,
        told=_l("it was resolved at %(stage)s", stage=lazy_stage(complaint)),
        actor=actor,
        now=now,
        today=today,
    )


def decide_complaint(
    session: Session,
    complaint: Complaint,
    *,
    decision: str,
    actor: User,
    now: datetime,
    today: date,
    conduct_outcome: str | None = None,
    public_reason: str | None = None,
    certificate: str | None = None,
) -> None:
    """Close the complaint with the Board's final decision (on appeal, maybe a conduct one).

    On appeal, "no action" lifts a suspension of the mediator's certification in force.
    """
    complaint = _acting(session, complaint, actor, doing=_("decide it"))
    if complaint.level != Level.BOARD:
        raise ComplaintError(
            _(
                "Only the Board decides a complaint; at %(stage)s it is resolved or escalated.",
                stage=stage(complaint),
            )
        )
    _finish(
        session,
        complaint,
        ClosedAs.DECIDED,
        text(decision, what=_("The decision")),
        conduct_outcome=conduct_outcome,
        public_reason=public_reason,
        certificate=certificate,
        told=_l("the Board decided it; its decision is final"),
        actor=actor,
        now=now,
        today=today,
    )


def _finish(
    session: Session,
    complaint: Complaint,
    closed_as: ClosedAs,
    outcome: str,
    *,
    conduct_outcome: str | None,
    public_reason: str | None,
    certificate: str | None,
    told: LazyString,
    actor: User,
    now: datetime,
    today: date,
) -> None:
    """Close a complaint with its written outcome (and any conduct outcome); tell the parties."""
    conduct = _conduct(
        session,
        complaint,
        conduct_outcome,
        public_reason=public_reason,
        certificate=certificate,
        actor=actor,
        now=now,
        today=today,
    )
    _close(session, complaint, closed_as, now=now, outcome=outcome, conduct=conduct)
    kind = EntryKind.RESOLVED if closed_as == ClosedAs.RESOLVED else EntryKind.DECIDED
    _entry(session, complaint, kind, now=now, author=actor, body=outcome)
    _log(session, closed_as.value, complaint, now=now, actor=actor, conduct_outcome=conduct)
    tell_complainant(session, complaint, told, now=now)
    session.flush()


# -- The complainant's actions -------------------------------------------------------------


def _open_to_complainant(session: Session, complaint: Complaint, *, doing: str) -> Complaint:
    complaint = locked(session, complaint)
    if complaint.is_closed:
        raise ComplaintError(
            _(
                "This complaint is closed (%(closed_as)s); you can no longer %(doing)s.",
                closed_as=in_sentence(ClosedAs(complaint.closed_as).label),
                doing=doing,
            )
        )
    return complaint


def reply_to_complaint(
    session: Session,
    complaint: Complaint,
    *,
    body: str,
    uploads: Sequence[FileStorage] = (),
    now: datetime,
) -> None:
    """Add the complainant's reply (and files) to the timeline; its handlers are told."""
    complaint = _open_to_complainant(session, complaint, doing=_("reply"))
    body = text(body, what=_("Your reply"))
    stored = _store(session, _present(uploads))
    entry = _entry(session, complaint, EntryKind.REPLY, now=now, body=body)
    session.flush()
    _attach(complaint, stored, entry, now)
    _log(session, "replied", complaint, now=now, actor=None, attachments=len(stored))
    tell_handlers(session, complaint, "complaint_complainant.txt", now=now, change="replied")
    session.flush()


def request_escalation(
    session: Session, complaint: Complaint, *, reason: str, now: datetime
) -> None:
    """Move the complaint up one level at once, at the complainant's request after a response."""
    complaint = _open_to_complainant(session, complaint, doing=_("ask for escalation"))
    if complaint.level >= Level.BOARD:
        raise ComplaintError(
            _(
                "Your complaint is at the Board, the last level: its decision is final and"
                " cannot be escalated."
            )
        )
    if complaint.status != Status.RESPONDED:
        raise ComplaintError(
            _(
                "You can ask for escalation once your complaint is answered at %(stage)s.",
                stage=stage(complaint),
            )
        )
    reason = text(reason, what=_("Your reason"))
    committee = _next_committee(session, complaint)
    _entry(session, complaint, EntryKind.ESCALATION_REQUESTED, now=now, body=reason)
    _move_up(complaint, committee, now=now)
    _after_move(session, complaint, "escalation_requested", now=now, actor=None)


def withdraw_complaint(session: Session, complaint: Complaint, *, now: datetime) -> None:
    """Close the complaint at the complainant's wish."""
    complaint = _open_to_complainant(session, complaint, doing=_("withdraw it"))
    _close(session, complaint, ClosedAs.WITHDRAWN, now=now)
    _entry(session, complaint, EntryKind.WITHDRAWN, now=now)
    _log(session, "withdrawn", complaint, now=now, actor=None)
    tell_complainant(session, complaint, _l("you withdrew it"), now=now)
    tell_handlers(session, complaint, "complaint_complainant.txt", now=now, change="withdrew")
    session.flush()
