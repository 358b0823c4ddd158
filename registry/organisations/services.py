"""Changes to organisations, each logged in the event log: reviews and their moderation, the
organisation's administrators, the links between its programs and mediators, and the reminders
it sends from its dashboard.
"""

from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.accounts.models import Role, User
from registry.accounts.services import find_user, grant_role
from registry.events.services import record_event
from registry.formatting import format_day
from registry.i18n import _l, in_sentence
from registry.mail.services import queue_template_mail
from registry.mediators.models import Mediator, ProgramLink
from registry.organisations.dashboard import (
    REMINDABLE,
    dashboard_rows,
    last_day_number,
    last_reminder_day,
)
from registry.organisations.models import (
    DashboardReminder,
    Organisation,
    OrganisationAdmin,
    Program,
    Review,
)
from registry.organisations.queries import find_mediator, is_organisation_admin, signed_review_by
from registry.validation import checked_text

MAX_REVIEW_LENGTH = 2000
MAX_REASON_LENGTH = 2000


class ReviewError(ValueError):
    """A review change that the rules do not allow."""


def _check_text(text: str | None, *, what: str, limit: int) -> str:
    return checked_text(text, what=what, limit=limit, error=ReviewError)


def _check_rating(rating: object) -> int:
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ReviewError(_("The rating is a whole number from 1 to 5."))
    return rating


# Reviews tell others what an organisation is like; its own administrators cannot write them.
def own_organisation(name: str) -> str:
    """Say why an organisation's own administrator cannot review it."""
    return _("You administer %(name)s; its reviews come from the people it serves.", name=name)


def post_review(
    session: Session,
    organisation: Organisation,
    *,
    rating: int,
    body: str,
    is_anonymous: bool,
    actor: User,
    now: datetime,
) -> Review:
    """Publish ``actor``'s review of ``organisation`` (anonymous feedback only by support)."""
    if is_organisation_admin(session, organisation.id, actor):
        raise ReviewError(own_organisation(organisation.name))
    rating = _check_rating(rating)
    body = _check_text(body, what=_("The review"), limit=MAX_REVIEW_LENGTH)
    if is_anonymous and not actor.has_role(Role.SUPPORT):
        raise ReviewError(_("Only registry support can post anonymous feedback."))
    if not is_anonymous and signed_review_by(session, organisation, actor) is not None:
        raise ReviewError(
            f"You have already reviewed {organisation.name}; each person posts one review."
        )
    review = Review(
        organisation_id=organisation.id,
        author_id=actor.id,
        is_anonymous=is_anonymous,
        rating=rating,
        body=body,
        created_at=now,
    )
    try:
        # The unique index settles a race between two requests posting at once; the savepoint
        # (begun before the review is added) keeps the rest of the transaction usable.
        with session.begin_nested():
            session.add(review)
    except IntegrityError:
        raise ReviewError(
            f"You have already reviewed {organisation.name}; each person posts one review."
        ) from None
    record_event(
        session,
        action="review.posted",
        subject_type="review",
        subject_id=review.id,
        now=now,
        actor=actor,
        data={"organisation_id": organisation.id, "rating": rating, "is_anonymous": is_anonymous},
    )
    session.flush()
    return review


def hide_review(
    session: Session, review: Review, *, reason: str, actor: User, now: datetime
) -> None:
    """Hide a published review from the public; ``reason`` says why (staff see it)."""
    if review.hidden_at is not None:
        raise ReviewError(_("This review is already hidden."))
    reason = _check_text(reason, what=_("The reason"), limit=MAX_REASON_LENGTH)
    review.hidden_at, review.hidden_by_id, review.hidden_reason = now, actor.id, reason
    record_event(
        session,
        action="review.hidden",
        subject_type="review",
        subject_id=review.id,
        now=now,
        actor=actor,
        reason=reason,
        data={"organisation_id": review.organisation_id},
    )
    session.flush()


def restore_review(session: Session, review: Review, *, actor: User, now: datetime) -> None:
    """Publish a hidden review again."""
    if review.hidden_at is None:
        raise ReviewError(_("This review is not hidden."))
    reason = review.hidden_reason
    review.hidden_at = review.hidden_by_id = review.hidden_reason = None
    record_event(
        session,
        action="review.restored",
        subject_type="review",
        subject_id=review.id,
        now=now,
        actor=actor,
        data={"organisation_id": review.organisation_id, "hidden_reason": reason},
    )
    session.flush()


# -- Organisation accounts: administrators, program links, dashboard reminders ---------------


class OrganisationError(ValueError):
    """An organisation account change that the rules do not allow."""


NOT_LINKED = _l("This mediator is not linked to a program of your organisation.")


def _already_admin(user: User, organisation: Organisation) -> str:
    return _(
        "%(email)s is already an administrator of %(organisation)s.",
        email=user.email,
        organisation=organisation.name,
    )


def add_organisation_admin(
    session: Session, organisation: Organisation, *, email: str, actor: User, now: datetime
) -> OrganisationAdmin:
    """Make the account with ``email`` an administrator of ``organisation``.

    The person gets the organisation admin role if they do not hold it yet.
    """
    user = find_user(session, email)
    if user is None:
        raise OrganisationError(
            _(
                "There is no account with the e-mail address %(email)s;"
                " the person registers first.",
                email=email.strip(),
            )
        )
    if not user.is_active:
        raise OrganisationError(_("The account of %(email)s is disabled.", email=user.email))
    if session.get(OrganisationAdmin, (organisation.id, user.id)) is not None:
        raise OrganisationError(_already_admin(user, organisation))
    if not user.has_role(Role.ORGANISATION_ADMIN):
        grant_role(
            session,
            user=user,
            role=Role.ORGANISATION_ADMIN,
            actor=actor,
            reason=f"Administrator of {organisation.name}",
            now=now,
        )
    admin = OrganisationAdmin(
        organisation_id=organisation.id, user_id=user.id, added_at=now, added_by_id=actor.id
    )
    _add_once(session, admin, _already_admin(user, organisation))
    _log_organisation(session, organisation, "admin_added", actor, now, user_id=user.id)
    return admin


def _add_once(session: Session, row: object, refusal: str) -> None:
    """Add ``row``; a concurrent request that added it first makes this a refusal."""
    try:
        # The savepoint keeps the rest of the transaction usable if the key exists already.
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise OrganisationError(refusal) from None


def _log_organisation(
    session: Session,
    organisation: Organisation,
    action: str,
    actor: User,
    now: datetime,
    **data: object,
) -> None:
    record_event(
        session,
        action=f"organisation.{action}",
        subject_type="organisation",
        subject_id=organisation.id,
        now=now,
        actor=actor,
        data=data,
    )
    session.flush()


def remove_organisation_admin(
    session: Session, organisation: Organisation, *, user_id: int, actor: User, now: datetime
) -> User:
    """Stop the account ``user_id`` administering ``organisation``; return that account.

    The role stays: the person may administer other organisations, and staff revoke roles on
    the account itself.
    """
    admin = session.get(OrganisationAdmin, (organisation.id, user_id))
    if admin is None:
        raise OrganisationError(
            _(
                "This person is not an administrator of %(organisation)s.",
                organisation=organisation.name,
            )
        )
    user = admin.user
    session.delete(admin)
    _log_organisation(session, organisation, "admin_removed", actor, now, user_id=user_id)
    return user


def _own_program(session: Session, organisation: Organisation, program_id: int) -> Program:
    program = session.get(Program, program_id)
    if program is None or not program.is_recognised or program.organisation_id != organisation.id:
        raise OrganisationError(
            _("Choose one of the programs of %(organisation)s.", organisation=organisation.name)
        )
    return program


def link_mediator_to_program(
    session: Session,
    organisation: Organisation,
    *,
    program_id: int,
    mediator_reference: str,
    linked_on: date,
    today: date,
    now: datetime,
    actor: User,
) -> ProgramLink:
    """Link a mediator (by public id or e-mail address) to one of the organisation's programs."""
    program = _own_program(session, organisation, program_id)
    mediator = find_mediator(session, mediator_reference)
    if mediator is None:
        raise OrganisationError(
            _(
                "No mediator has the public id or e-mail address %(reference)r.",
                reference=mediator_reference.strip(),
            )
        )
    if linked_on > today:
        raise OrganisationError(_("A link cannot be dated in the future."))
    refusal = _(
        "%(name)s is already linked to %(program)s.", name=mediator.name, program=program.name
    )
    if session.get(ProgramLink, (program.id, mediator.id)) is not None:
        raise OrganisationError(refusal)
    link = ProgramLink(
        program_id=program.id, mediator_id=mediator.id, linked_on=linked_on, linked_by_id=actor.id
    )
    _add_once(session, link, refusal)
    _log_organisation(
        session,
        organisation,
        "mediator_linked",
        actor,
        now,
        program=program.title,
        mediator=mediator.public_id,
        linked_on=linked_on.isoformat(),
    )
    return link


def unlink_mediator_from_program(
    session: Session,
    organisation: Organisation,
    *,
    program_id: int,
    mediator: Mediator,
    now: datetime,
    actor: User,
) -> None:
    """Remove the link between ``mediator`` and one of the organisation's programs."""
    program = _own_program(session, organisation, program_id)
    link = session.get(ProgramLink, (program.id, mediator.id))
    if link is None:
        raise OrganisationError(
            _("%(name)s is not linked to %(program)s.", name=mediator.name, program=program.name)
        )
    session.delete(link)
    _log_organisation(
        session,
        organisation,
        "mediator_unlinked",
        actor,
        now,
        program=program.title,
        mediator=mediator.public_id,
        linked_on=link.linked_on.isoformat(),
    )


def send_reminder(
    session: Session,
    organisation: Organisation,
    mediator: Mediator,
    *,
    today: date,
    now: datetime,
    actor: User,
) -> DashboardReminder:
    """E-mail ``mediator`` their next steps on behalf of ``organisation`` (rate-limited)."""
    rows = dashboard_rows(session, organisation, today, mediator_ids=[mediator.id])
    if not rows:
        raise OrganisationError(str(NOT_LINKED))
    row = rows[0]
    if row.bucket not in REMINDABLE:
        raise OrganisationError(
            _(
                "Reminders go to mediators nearing certification, nearing lapse or in grace;"
                " %(name)s is %(bucket)s.",
                name=mediator.name,
                bucket=in_sentence(row.bucket.label),
            )
        )
    day_number = _check_reminder_limits(session, organisation, mediator, today)
    reminder = DashboardReminder(
        organisation_id=organisation.id,
        mediator_id=mediator.id,
        sent_at=now,
        sent_on=today,
        day_number=day_number,
        sent_by_id=actor.id,
    )
    try:
        # The unique constraints settle two reminders sent at once; the savepoint keeps the
        # rest of the transaction usable.
        with session.begin_nested():
            session.add(reminder)
    except IntegrityError:
        raise OrganisationError(
            _("Another reminder was sent at the same moment; reload the dashboard to see it.")
        ) from None
    queue_template_mail(
        session,
        "organisation_reminder.txt",
        to=[mediator.email],
        now=now,
        organisation=organisation,
        row=row,
        config=current_app.config,
    )
    _log_organisation(
        session,
        organisation,
        "reminder_sent",
        actor,
        now,
        mediator=mediator.public_id,
        bucket=row.bucket.value,
        missing=[step.label for step in row.missing],
    )
    return reminder


def _check_reminder_limits(
    session: Session, organisation: Organisation, mediator: Mediator, today: date
) -> int:
    """Refuse a reminder too soon after the last one, or beyond the organisation's daily limit.

    Return the reminder's number among the organisation's reminders of ``today``.
    """
    config = current_app.config
    days, per_day = config["ORGANISATION_REMINDER_DAYS"], config["ORGANISATION_REMINDERS_PER_DAY"]
    last = last_reminder_day(session, organisation, mediator)
    if last is not None and today < last + timedelta(days=days):
        raise OrganisationError(
            _(
                "A reminder was sent on %(day)s; the next can be sent from %(next)s.",
                day=format_day(last),
                next=format_day(last + timedelta(days=days)),
            )
        )
    day_number = last_day_number(session, organisation, today) + 1
    if day_number > per_day:
        raise OrganisationError(
            ngettext(
                "%(organisation)s has sent %(num)s reminder today, the daily limit;"
                " more can be sent tomorrow.",
                "%(organisation)s has sent %(num)s reminders today, the daily limit;"
                " more can be sent tomorrow.",
                per_day,
                organisation=organisation.name,
            )
        )
    return day_number
