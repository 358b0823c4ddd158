"""Peer reviewer assignments, conflict declarations and digest publishing: one function each.

Every function that changes an assignment first re-reads it under a row lock (``_locked``), so
two requests on the same assignment (a double click on "Publish", a withdrawal crossing a
declaration) take turns, and the second sees the state the first left. SQLite has no row locks;
there the write transaction itself is exclusive (``BEGIN IMMEDIATE``).
"""

from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.accounts.models import Role, User
from registry.digests.models import AssignmentStatus, Digest, DigestScore, ReviewerAssignment
from registry.digests.queries import (
    aggregate,
    draft_of,
    has_declared_conflict,
    open_assignment,
    waiting_answers,
)
from registry.events.services import record_event
from registry.feedback.models import FeedbackAnswer
from registry.i18n import in_sentence
from registry.mail.services import queue_template_mail
from registry.mediators.models import Mediator
from registry.validation import checked_text

MIN_SUMMARY_LENGTH = 50
MAX_SUMMARY_LENGTH = 5000
MAX_DETAILS_LENGTH = 2000
MAX_REASON_LENGTH = 2000
PUBLISHED_REASON = "Digest published"
CONFLICT_REASON = "Conflict of interest declared"
LATER_CONFLICT_REASON = "Conflict of interest declared after the review started"


class DigestError(ValueError):
    """A reviewer assignment or digest change that the rules do not allow."""


def _text(value: str | None, *, what: str, limit: int, minimum: int = 1) -> str:
    return checked_text(value, what=what, limit=limit, error=DigestError, minimum=minimum)


def _mail(session: Session, template: str, *, to: str, now: datetime, **context: object) -> None:
    """Queue ``mail/<template>``, whose first line is "Subject: ...", to ``to``."""
    queue_template_mail(session, template, to=[to], now=now, **context)


def _event(
    session: Session,
    action: str,
    assignment: ReviewerAssignment,
    *,
    now: datetime,
    actor: User | None,
    reason: str | None = None,
    **data: object,
) -> None:
    """Log ``action`` on the assignment's mediator, so the profile's event log shows it."""
    record_event(
        session,
        action=action,
        subject_type="mediator",
        subject_id=assignment.mediator.public_id,
        now=now,
        actor=actor,
        reason=reason,
        data={"assignment_id": assignment.id, "reviewer_id": assignment.reviewer_id, **data},
    )


def _locked(session: Session, assignment: ReviewerAssignment) -> ReviewerAssignment:
    """Re-read ``assignment`` under a row lock, so concurrent changes to it take turns."""
    return session.scalars(
        select(ReviewerAssignment)
        .where(ReviewerAssignment.id == assignment.id)
        .with_for_update(of=ReviewerAssignment)
        .execution_options(populate_existing=True)
    ).one()


def _closed(assignment: ReviewerAssignment) -> DigestError:
    return DigestError(
        _("This assignment is closed (%(status)s).", status=in_sentence(assignment.status_label))
    )


def _check_reviewer(assignment: ReviewerAssignment, actor: User) -> None:
    if actor.id != assignment.reviewer_id:
        raise DigestError(_("Only the assigned peer reviewer can do this."))


def _check_active(assignment: ReviewerAssignment) -> None:
    if assignment.status == AssignmentStatus.AWAITING_DECLARATION:
        raise DigestError(_("Declare whether you have a conflict of interest first."))
    if assignment.status != AssignmentStatus.ACTIVE:
        raise _closed(assignment)


def _discard_draft(session: Session, assignment: ReviewerAssignment) -> bool:
    """Delete the unpublished digest the assignment's reviewer wrote; return whether one was."""
    draft = draft_of(session, assignment.mediator_id)
    if draft is None or draft.assignment_id != assignment.id:
        return False
    session.delete(draft)
    return True


def assign_reviewer(
    session: Session, mediator: Mediator, reviewer: User, *, now: datetime, actor: User
) -> ReviewerAssignment:
    """Assign ``reviewer`` to compile the mediator's digest; they must declare conflicts first."""
    if not reviewer.has_role(Role.PEER_REVIEWER):
        raise DigestError(_("%(name)s is not a peer reviewer.", name=reviewer.name))
    if not reviewer.is_active:
        raise DigestError(_("The account of %(name)s is disabled.", name=reviewer.name))
    if reviewer.id == mediator.user_id:
        raise DigestError(_("%(name)s is this mediator's own account.", name=reviewer.name))
    current = open_assignment(session, mediator.id)
    if current is not None:
        raise DigestError(
            _(
                "%(name)s is already assigned; withdraw that assignment first.",
                name=current.reviewer.name,
            )
        )
    if has_declared_conflict(session, mediator.id, reviewer.id):
        raise DigestError(
            _(
                "%(name)s declared a conflict with this mediator; choose another reviewer.",
                name=reviewer.name,
            )
        )
    assignment = ReviewerAssignment(
        mediator=mediator,
        reviewer=reviewer,
        status=AssignmentStatus.AWAITING_DECLARATION.value,
        assigned_at=now,
        assigned_by_id=actor.id,
    )
    try:
        # The partial unique index settles two staff members assigning at the same moment.
        with session.begin_nested():
            session.add(assignment)
    except IntegrityError:
        raise DigestError(
            _("%(name)s already has a reviewer; reload the page to see who.", name=mediator.name)
        ) from None
    _event(session, "digest.reviewer_assigned", assignment, now=now, actor=actor)
    _mail(session, "digest_assignment.txt", to=reviewer.email, now=now, assignment=assignment)
    session.flush()
    return assignment


def declare_conflict(
    session: Session,
    assignment: ReviewerAssignment,
    *,
    has_conflict: bool,
    details: str,
    now: datetime,
    actor: User,
) -> ReviewerAssignment:
    """Record the reviewer's declaration: no conflict starts the review, a conflict ends it."""
    assignment = _locked(session, assignment)
    _check_reviewer(assignment, actor)
    if has_conflict:
        _declare_a_conflict(session, assignment, details=details, now=now, actor=actor)
    else:
        if assignment.status == AssignmentStatus.ACTIVE:
            raise DigestError(_("You have already declared no conflict with this mediator."))
        if assignment.status != AssignmentStatus.AWAITING_DECLARATION:
            raise _closed(assignment)
        assignment.status = AssignmentStatus.ACTIVE.value
        assignment.declared_at, assignment.has_conflict = now, False
        _event(session, "digest.no_conflict_declared", assignment, now=now, actor=actor)
    _mail_assigner(session, assignment, now=now)
    session.flush()
    return assignment


def _declare_a_conflict(
    session: Session, assignment: ReviewerAssignment, *, details: str, now: datetime, actor: User
) -> None:
    """Block an assignment awaiting its declaration, or end an active one."""
    details = _text(details, what="The conflict's details", limit=MAX_DETAILS_LENGTH)
    if assignment.status == AssignmentStatus.AWAITING_DECLARATION:
        assignment.declared_at, reason = now, CONFLICT_REASON
    elif assignment.status == AssignmentStatus.ACTIVE:
        reason = LATER_CONFLICT_REASON  # declared_at keeps the earlier "no conflict"
    else:
        raise _closed(assignment)
    assignment.status = AssignmentStatus.CONFLICTED.value
    assignment.has_conflict, assignment.conflict_details = True, details
    assignment.ended_at, assignment.end_reason = now, reason
    discarded = _discard_draft(session, assignment)
    _event(
        session,
        "digest.conflict_declared",
        assignment,
        now=now,
        actor=actor,
        reason=details,
        draft_discarded=discarded,
    )


def _mail_assigner(session: Session, assignment: ReviewerAssignment, *, now: datetime) -> None:
    assigner = session.get(User, assignment.assigned_by_id) if assignment.assigned_by_id else None
    if assigner is not None and assigner.is_active:
        _mail(session, "digest_declaration.txt", to=assigner.email, now=now, assignment=assignment)


def withdraw_assignment(
    session: Session, assignment: ReviewerAssignment, *, reason: str, now: datetime, actor: User
) -> None:
    """End an open assignment (staff), declared or not; ``reason`` says why."""
    reason = _text(reason, what="The reason", limit=MAX_REASON_LENGTH)
    assignment = _locked(session, assignment)
    if assignment.status not in (AssignmentStatus.AWAITING_DECLARATION, AssignmentStatus.ACTIVE):
        raise _closed(assignment)
    undeclared = assignment.status == AssignmentStatus.AWAITING_DECLARATION
    discarded = _discard_draft(session, assignment)
    _event(
        session,
        "digest.assignment_withdrawn",
        assignment,
        now=now,
        actor=actor,
        reason=reason,
        before_declaration=undeclared,
        draft_discarded=discarded,
    )
    _mail(
        session,
        "digest_withdrawn.txt",
        to=assignment.reviewer.email,
        now=now,
        assignment=assignment,
        reason=reason,
    )
    assignment.status = AssignmentStatus.ENDED.value
    assignment.ended_at, assignment.end_reason = now, f"Withdrawn: {reason}"
    session.flush()


def save_draft(
    session: Session, assignment: ReviewerAssignment, *, summary: str, now: datetime, actor: User
) -> Digest:
    """Save the reviewer's summary in the mediator's one unpublished digest."""
    assignment = _locked(session, assignment)
    _check_reviewer(assignment, actor)
    _check_active(assignment)
    summary = (summary or "").strip()
    if len(summary) > MAX_SUMMARY_LENGTH:
        raise DigestError(
            _(
                "The summary is %(length)s characters long; the limit is %(limit)s.",
                length=len(summary),
                limit=MAX_SUMMARY_LENGTH,
            )
        )
    draft = _draft_for(session, assignment, now)
    draft.summary, draft.updated_at = summary, now
    _event(session, "digest.draft_saved", assignment, now=now, actor=actor, length=len(summary))
    session.flush()
    return draft


def _draft_for(session: Session, assignment: ReviewerAssignment, now: datetime) -> Digest:
    """Return the mediator's draft, taken over by ``assignment``, or a new one."""
    draft = draft_of(session, assignment.mediator_id)
    if draft is None:
        draft = Digest(mediator_id=assignment.mediator_id, created_at=now, updated_at=now)
        session.add(draft)
    draft.assignment_id = assignment.id
    return draft


def _too_few(count: int, minimum: int) -> DigestError:
    there = (
        ngettext("there is %(num)d", "there are %(num)d", count) if count else _("there are none")
    )
    return DigestError(
        ngettext(
            "%(num)d answer is needed before a digest can be published; %(there)s.",
            "%(num)d answers are needed before a digest can be published; %(there)s.",
            minimum,
            there=there,
        )
    )


def publish_digest(
    session: Session,
    assignment: ReviewerAssignment,
    *,
    summary: str,
    today: date,
    now: datetime,
    actor: User,
) -> Digest:
    """Publish the mediator's digest from the answers waiting for one, and end the assignment."""
    assignment = _locked(session, assignment)
    _check_reviewer(assignment, actor)
    _check_active(assignment)
    summary = _text(
        summary, what="The summary", limit=MAX_SUMMARY_LENGTH, minimum=MIN_SUMMARY_LENGTH
    )
    answers = _enough_answers(session, assignment.mediator_id)
    digest = _draft_for(session, assignment, now)
    _fill(digest, answers, summary=summary, today=today, now=now)
    session.flush()
    _take_answers(session, digest, answers)
    assignment.status = AssignmentStatus.ENDED.value
    assignment.ended_at, assignment.end_reason = now, PUBLISHED_REASON
    _announce(session, assignment, digest, now=now, actor=actor)
    session.flush()
    return digest


def _enough_answers(session: Session, mediator_id: int) -> list[FeedbackAnswer]:
    """Return the answers waiting for a digest, or refuse when there are too few."""
    answers = waiting_answers(session, mediator_id)
    # A digest of no answers would have no scores, whatever the setting says.
    minimum = max(1, current_app.config["DIGEST_MIN_ANSWERS"])
    if len(answers) < minimum:
        raise _too_few(len(answers), minimum)
    return answers


def _announce(
    session: Session, assignment: ReviewerAssignment, digest: Digest, *, now: datetime, actor: User
) -> None:
    """Log the publication and tell the mediator where to see it."""
    _event(
        session,
        "digest.published",
        assignment,
        now=now,
        actor=actor,
        digest_id=digest.id,
        answer_count=digest.answer_count,
        valid_until=digest.valid_until.isoformat(),  # type: ignore[union-attr]
    )
    _mail(
        session,
        "digest_published.txt",
        to=assignment.mediator.email,
        now=now,
        digest=digest,
        mediator=assignment.mediator,
    )


def _fill(
    digest: Digest, answers: list[FeedbackAnswer], *, summary: str, today: date, now: datetime
) -> None:
    """Give ``digest`` its summary, the system's scores and its validity."""
    scores = aggregate(answers)
    digest.summary, digest.answer_count, digest.updated_at = summary, scores.count, now
    digest.scores = [DigestScore(dimension=d, mean_centi=m) for d, m in scores.means.items()]
    valid_days = current_app.config["DIGEST_VALID_DAYS"]
    digest.published_on, digest.published_at = today, now
    digest.valid_until = today + timedelta(days=valid_days - 1)


def _take_answers(session: Session, digest: Digest, answers: list[FeedbackAnswer]) -> None:
    """Mark ``answers`` as used by ``digest``; refuse if another digest took one meanwhile."""
    ids = [answer.id for answer in answers]
    taken = 0
    for start in range(0, len(ids), 500):  # keep under every database's parameter limit
        result = session.execute(
            update(FeedbackAnswer)
            .where(
                FeedbackAnswer.id.in_(ids[start : start + 500]), FeedbackAnswer.digest_id.is_(None)
            )
            .values(digest_id=digest.id)
            .execution_options(synchronize_session="fetch")
        )
        taken += result.rowcount
    if taken != len(ids):
        raise DigestError(_("Some answers were used by another digest meanwhile; reload the page."))
