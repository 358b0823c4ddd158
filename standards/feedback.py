"""360 feedback: anyone says what they think of a standard, a program or an initiative.

Feedback reaches the body responsible for its subject (``recipients_of``): a standard's current
Taskforce; the appraisal subcommittee of a program's type (its chair and members); the Board
(everyone holding the board_member role) for an initiative of the registry. They are told by
e-mail, see it in their inbox, and one of them acknowledges it with a short message, mailed to
a named sender in the language of the page they wrote on. Registry staff see all feedback.

Anonymous feedback keeps nothing that identifies its sender (no name, address, account or
network address; its event has no actor), and the e-mail to the recipients says only that it is
anonymous: the same protection as an anonymous complaint.
"""

from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from audits.models import Subcommittee
from audits.queries import subcommittee_for
from registry.accounts.models import Role, User, UserRole
from registry.events.services import record_event
from registry.i18n import current_language
from registry.mail.services import queue_template_mail
from registry.organisations.models import Program
from registry.validation import checked_text
from standards.comments import MODERATING_STAFF, Identity
from standards.models import FeedbackSubject, OpenFeedback, Standard, TaskforceMember
from standards.queries import current_taskforce

MAX_FEEDBACK_LENGTH = 5000
MAX_INITIATIVE_LENGTH = 200
MAX_ACKNOWLEDGEMENT_LENGTH = 2000


class FeedbackError(ValueError):
    """360 feedback, or its acknowledgement, that the rules do not allow."""


def give_feedback(
    session: Session,
    *,
    subject: str,
    standard: Standard | None = None,
    program: Program | None = None,
    initiative: str | None = None,
    body: str | None,
    identity: Identity,
    now: datetime,
    today: date,
) -> OpenFeedback:
    """Record feedback and tell the body responsible for its subject."""
    feedback = OpenFeedback(
        subject=_subject(subject),
        body=checked_text(
            body, what=_("Your feedback"), limit=MAX_FEEDBACK_LENGTH, error=FeedbackError
        ),
        received_at=now,
        is_anonymous=identity.is_anonymous,
        sender_id=identity.user.id if identity.user else None,
        sender_name=identity.name,
        sender_email=identity.email,
        # Only a named sender is written to (the acknowledgement).
        locale=None if identity.is_anonymous else current_language(),
    )
    _about(feedback, standard, program, initiative)
    session.add(feedback)
    session.flush()
    record_event(
        session,
        action="open_feedback.received",
        subject_type="open_feedback",
        subject_id=feedback.id,
        now=now,
        actor=identity.user,
        data={"subject": feedback.subject},
    )
    _tell_recipients(session, feedback, now=now, today=today)
    return feedback


def _subject(subject: str) -> FeedbackSubject:
    try:
        return FeedbackSubject(subject)
    except ValueError:
        raise FeedbackError(_("Choose what your feedback is about.")) from None


def _about(
    feedback: OpenFeedback,
    standard: Standard | None,
    program: Program | None,
    initiative: str | None,
) -> None:
    """Set the one subject the feedback is about, or refuse when it is missing."""
    if feedback.subject == FeedbackSubject.STANDARD:
        if standard is None:
            raise FeedbackError(_("Choose the standard your feedback is about."))
        feedback.standard_id = standard.id
    elif feedback.subject == FeedbackSubject.PROGRAM:
        if program is None or program.withdrawn_on is not None:
            raise FeedbackError(_("Choose the recognised program your feedback is about."))
        feedback.program_id = program.id
    else:
        feedback.initiative = checked_text(
            initiative,
            what=_("The initiative"),
            limit=MAX_INITIATIVE_LENGTH,
            error=FeedbackError,
        )


def subject_title(session: Session, feedback: OpenFeedback) -> str:
    """Return what the feedback is about, as its pages and e-mails name it."""
    if feedback.subject == FeedbackSubject.STANDARD:
        return f"{feedback.standard.code}: {feedback.standard.title}"
    if feedback.subject == FeedbackSubject.PROGRAM:
        return session.get(Program, feedback.program_id).title
    return feedback.initiative or ""


def recipients_of(session: Session, feedback: OpenFeedback, today: date) -> list[User]:
    """Return the people the feedback reaches: the body responsible for its subject."""
    if feedback.subject == FeedbackSubject.STANDARD:
        people = [member.user for member in current_taskforce(session, feedback.standard_id, today)]
    elif feedback.subject == FeedbackSubject.PROGRAM:
        program = session.get(Program, feedback.program_id)
        people = _subcommittee_of(session, program.program_type)
    else:
        people = list(
            session.scalars(
                select(User)
                .join(UserRole, UserRole.user_id == User.id)
                .where(UserRole.role == Role.BOARD_MEMBER)
                .order_by(User.name, User.id)
            )
        )
    enabled = {person.id: person for person in people if person.disabled_at is None}
    return list(enabled.values())


def _subcommittee_of(session: Session, program_type: str) -> list[User]:
    subcommittee = subcommittee_for(session, program_type)
    if subcommittee is None:
        return []
    people = [subcommittee.chair] if subcommittee.chair else []
    return people + sorted((member.user for member in subcommittee.members), key=lambda u: u.name)


def _tell_recipients(
    session: Session, feedback: OpenFeedback, *, now: datetime, today: date
) -> None:
    recipients = recipients_of(session, feedback, today)
    if not recipients:
        return
    queue_template_mail(
        session,
        "open_feedback_arrived.txt",
        to=[person.email for person in recipients],
        now=now,
        feedback=feedback,
        about=subject_title(session, feedback),
        inbox_url=f"{current_app.config['PUBLIC_URL']}/open-feedback/{feedback.id}",
    )


def may_read(session: Session, user: User, feedback: OpenFeedback, today: date) -> bool:
    """Return whether ``user`` sees the feedback: a recipient, or registry staff."""
    if user.has_role(*MODERATING_STAFF):
        return True
    return any(person.id == user.id for person in recipients_of(session, feedback, today))


def acknowledge_feedback(
    session: Session,
    feedback: OpenFeedback,
    *,
    message: str | None,
    actor: User,
    now: datetime,
    today: date,
) -> None:
    """Acknowledge feedback for the body responsible; a named sender gets the message by mail."""
    if not may_read(session, actor, feedback, today):
        raise PermissionError("only the body responsible and staff acknowledge feedback")
    # Two members acknowledging at once: the second waits for the first, then is refused.
    feedback = session.scalars(
        select(OpenFeedback)
        .where(OpenFeedback.id == feedback.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if feedback.acknowledged_at is not None:
        raise FeedbackError(_("This feedback is already acknowledged."))
    feedback.acknowledgement = checked_text(
        message,
        what=_("The acknowledgement"),
        limit=MAX_ACKNOWLEDGEMENT_LENGTH,
        error=FeedbackError,
    )
    feedback.acknowledged_at = now
    feedback.acknowledged_by_id = actor.id
    record_event(
        session,
        action="open_feedback.acknowledged",
        subject_type="open_feedback",
        subject_id=feedback.id,
        now=now,
        actor=actor,
    )
    address = feedback.sender.email if feedback.sender else feedback.sender_email
    if address:
        queue_template_mail(
            session,
            "open_feedback_acknowledged.txt",
            to=[address],
            now=now,
            locale=feedback.locale,
            feedback=feedback,
            about=subject_title(session, feedback),
        )
    session.flush()


def inbox(session: Session, user: User, today: date) -> list[OpenFeedback]:
    """Return the feedback ``user`` sees, newest first: all of it for staff."""
    query = select(OpenFeedback).order_by(OpenFeedback.received_at.desc(), OpenFeedback.id.desc())
    if user.has_role(*MODERATING_STAFF):
        return list(session.scalars(query))
    seats = session.scalars(
        select(TaskforceMember).where(
            TaskforceMember.user_id == user.id, TaskforceMember.ended_at.is_(None)
        )
    )
    standard_ids = [seat.standard_id for seat in seats if seat.serves_on(today)]
    program_types = [
        subcommittee.program_type
        for subcommittee in session.scalars(select(Subcommittee))
        if subcommittee.chair_id == user.id
        or any(member.user_id == user.id for member in subcommittee.members)
    ]
    scopes = [
        OpenFeedback.standard_id.in_(standard_ids),
        OpenFeedback.program_id.in_(
            select(Program.id).where(Program.program_type.in_(program_types))
        ),
    ]
    if user.has_role(Role.BOARD_MEMBER):
        scopes.append(OpenFeedback.subject == FeedbackSubject.INITIATIVE)
    return list(session.scalars(query.where(or_(*scopes))))


def standard_feedback_count(session: Session, standard_id: int) -> int:
    return session.scalar(
        select(func.count(OpenFeedback.id)).where(OpenFeedback.standard_id == standard_id)
    )


def program_feedback_counts(session: Session, program_ids: list[int]) -> dict[int, int]:
    """Return how much feedback each program received (programs without any are left out)."""
    if not program_ids:
        return {}
    rows = session.execute(
        select(OpenFeedback.program_id, func.count(OpenFeedback.id))
        .where(OpenFeedback.program_id.in_(program_ids))
        .group_by(OpenFeedback.program_id)
    )
    return {program_id: count for program_id, count in rows}
