"""The daily complaint jobs: flag levels that missed a time limit; purge old closed complaints.

Time limits run from the day a complaint reached its level (``level_since``) in the registry's
calendar: a level that has not acknowledged the complaint ``COMPLAINT_ACK_DAYS`` days after
that day, or not responded ``COMPLAINT_RESPONSE_DAYS`` days after it, is overdue from the day
after. ``missed_limits`` says so for one complaint (the staff pages use it); the sweep selects
the same complaints in SQL, with the limit turned into the instant its day begins.

A level is flagged once per limit: an ``OverdueFlag`` row, whose primary key is (complaint,
level, kind), is inserted in a savepoint before anything else is done, and a runner whose
insert fails (another one got there first) skips the complaint. Each complaint is re-read
under a row lock first, so a handler acknowledging it at that moment is seen, and two runners
take turns on it. The conditions are ranges of dates, so a missed day is caught up.

Purging removes a closed complaint, its timeline, flags and files once ``COMPLAINT_RETENTION_DAYS``
have passed since the day it closed, and counts it in ``ComplaintStatistic``. The e-mails sent
to its complainant (each names the receipt code in its subject) are redacted first; the event
log keeps its entries, which hold no content. Files are removed only once the deletion is
committed, so a failed run leaves complaints with their files.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from flask import current_app
from flask_babel.speaklater import LazyString
from sqlalchemy import delete, event, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from complaints import queries
from complaints.models import (
    CommitteeMember,
    Complaint,
    ComplaintEntry,
    ComplaintStatistic,
    EntryKind,
    Level,
    OverdueFlag,
    Status,
    Tracking,
)
from complaints.services import FILE_SETTINGS, locked, tell_complainant
from registry.accounts.models import Role, User, UserRole
from registry.clock import local_date, registry_zone
from registry.events.services import record_event
from registry.i18n import _l
from registry.mail.models import OutboxMessage
from registry.mail.services import queue_template_mail, redact_message
from registry.uploads import files_dir

ACKNOWLEDGE = "acknowledge"
RESPOND = "respond"
# The statuses in which a level still owes each step.
OWING = {
    ACKNOWLEDGE: (Status.OPEN,),
    RESPOND: (Status.OPEN, Status.ACKNOWLEDGED),
}
LIMIT_SETTINGS = {ACKNOWLEDGE: "COMPLAINT_ACK_DAYS", RESPOND: "COMPLAINT_RESPONSE_DAYS"}
VERBS = {ACKNOWLEDGE: "acknowledge the complaint", RESPOND: "respond"}
# Who handles each level, as the timeline names them (the committee's own name at level 3).
HANDLER_NAMES = {
    Level.SUPPORT: "Support",
    Level.EXECUTIVE_DIRECTOR: "the Executive Director",
    Level.BOARD: "the Board",
}
# The same names as the complainant's e-mail reads them, in the complainant's language: at the
# start of a sentence, and inside one.
LEADING_HANDLER_NAMES = {
    Level.SUPPORT: _l("Support"),
    Level.EXECUTIVE_DIRECTOR: _l("The Executive Director"),
    Level.BOARD: _l("The Board"),
}
INNER_HANDLER_NAMES = {
    Level.SUPPORT: _l("Support"),
    Level.EXECUTIVE_DIRECTOR: _l("the Executive Director"),
    Level.BOARD: _l("the Board"),
}
PURGED_FILES = "complaint_files_purged"
REDACTED_BECAUSE = "the complaint it was about was purged after the retention period"


# -- Time limits -----------------------------------------------------------------------------


def day_start(day: date) -> datetime:
    """Return the instant (UTC) at which the registry's calendar day ``day`` begins."""
    return datetime.combine(day, time.min, tzinfo=registry_zone()).astimezone(UTC)


def limit_days(kind: str) -> int:
    """Return the days a level has for ``kind`` ("acknowledge" or "respond")."""
    return current_app.config[LIMIT_SETTINGS[kind]]


def missed_limits(complaint: Complaint, today: date) -> list[str]:
    """Return the limits the complaint's current level has missed as of ``today``."""
    reached = local_date(complaint.level_since)
    return [
        kind
        for kind, statuses in OWING.items()
        if complaint.status in statuses and reached + timedelta(days=limit_days(kind)) < today
    ]


# -- The overdue job -----------------------------------------------------------------------


def flag_overdue_complaints(session: Session, today: date, now: datetime) -> dict[str, int]:
    """Flag, once, every level that missed a time limit as of ``today``; return how many."""
    flagged = {}
    for kind, statuses in OWING.items():
        # Equivalent to missed_limits: local_date(level_since) + days < today.
        started_before = day_start(today - timedelta(days=limit_days(kind)))
        already = exists().where(
            OverdueFlag.complaint_id == Complaint.id,
            OverdueFlag.level == Complaint.level,
            OverdueFlag.kind == kind,
        )
        due = session.scalars(
            select(Complaint)
            .where(Complaint.status.in_(statuses), Complaint.level_since < started_before, ~already)
            .order_by(Complaint.id)
        ).all()
        flagged[kind] = sum(_flag(session, complaint, kind, today, now) for complaint in due)
    return flagged


def _flag(session: Session, complaint: Complaint, kind: str, today: date, now: datetime) -> bool:
    """Flag the complaint's level as overdue for ``kind`` unless done already; tell everyone."""
    complaint = locked(session, complaint)
    if kind not in missed_limits(complaint, today):
        return False  # acted on since it was selected
    try:
        with session.begin_nested():
            session.add(
                OverdueFlag(
                    complaint_id=complaint.id, level=complaint.level, kind=kind, flagged_at=now
                )
            )
    except IntegrityError:
        return False  # another runner flagged it
    overdue_since = local_date(complaint.level_since) + timedelta(days=limit_days(kind) + 1)
    recent = today - timedelta(days=current_app.config["REMINDER_RECENT_DAYS"])
    _tell_overdue(session, complaint, kind, now, mail=overdue_since >= recent)
    return True


def _handler_name(session: Session, complaint: Complaint, level: int) -> str:
    if level == Level.COMMITTEE:
        committee = (
            complaint.committee
            if complaint.level == Level.COMMITTEE
            else queries.routed_committee(session, complaint.subject)
        )
        return f"the {committee.name}" if committee is not None else "the committee"
    return HANDLER_NAMES[Level(level)]


def _lazy_handler_name(
    session: Session, complaint: Complaint, level: int, *, leading: bool
) -> LazyString:
    """Return ``_handler_name`` in the language of the e-mail it is written in."""
    if level == Level.COMMITTEE:
        committee = (
            complaint.committee
            if complaint.level == Level.COMMITTEE
            else queries.routed_committee(session, complaint.subject)
        )
        if committee is None:
            return _l("The committee") if leading else _l("the committee")
        if leading:
            return _l("The %(committee)s", committee=committee.name)
        return _l("the %(committee)s", committee=committee.name)
    names = LEADING_HANDLER_NAMES if leading else INNER_HANDLER_NAMES
    return names[Level(level)]


def _overdue_change(session: Session, complaint: Complaint, kind: str) -> LazyString:
    """Return the note of ``_overdue_note`` (when mailed) as the complainant's e-mail says it."""
    level = complaint.level
    who = _lazy_handler_name(session, complaint, level, leading=True)
    days = limit_days(kind)
    if level == Level.BOARD:
        if kind == ACKNOWLEDGE:
            return _l(
                "%(who)s did not acknowledge the complaint within %(days)s days; its members"
                " have been reminded",
                who=who,
                days=days,
            )
        return _l(
            "%(who)s did not respond within %(days)s days; its members have been reminded",
            who=who,
            days=days,
        )
    above = _lazy_handler_name(session, complaint, level + 1, leading=False)
    if kind == ACKNOWLEDGE:
        return _l(
            "%(who)s did not acknowledge the complaint within %(days)s days; %(above)s has been"
            " told",
            who=who,
            days=days,
            above=above,
        )
    return _l(
        "%(who)s did not respond within %(days)s days; %(above)s has been told",
        who=who,
        days=days,
        above=above,
    )


def _overdue_note(session: Session, complaint: Complaint, kind: str, *, mail: bool) -> str:
    """Return the timeline's note: who missed what, and who was told."""
    level = complaint.level
    who = _handler_name(session, complaint, level)
    missed = f"{who[0].upper()}{who[1:]} did not {VERBS[kind]} within {limit_days(kind)} days"
    if not mail:
        return f"{missed}; this was found too late to tell anyone by e-mail."
    if level == Level.BOARD:
        return f"{missed}; its members have been reminded."
    return f"{missed}; {_handler_name(session, complaint, level + 1)} has been told."


def _tell_overdue(
    session: Session, complaint: Complaint, kind: str, now: datetime, *, mail: bool
) -> None:
    """Note the missed limit; e-mail the handlers and complainant unless it is old news.

    A limit missed more than ``REMINDER_RECENT_DAYS`` ago (a first run, a first import) is
    flagged and logged, so it is never mailed later, but nobody is mailed about the past.
    """
    note = _overdue_note(session, complaint, kind, mail=mail)
    session.add(
        ComplaintEntry(
            complaint=complaint, at=now, kind=EntryKind.OVERDUE, level=complaint.level, body=note
        )
    )
    record_event(
        session,
        action="complaint.overdue",
        subject_type="complaint",
        subject_id=complaint.id,
        now=now,
        data={"level": complaint.level, "status": complaint.status, "kind": kind, "mailed": mail},
    )
    if not mail:
        session.flush()
        return
    context = {"complaint": complaint, "kind": kind, "days": limit_days(kind), "note": note}
    current = [user.email for user in queries.handlers_of(session, complaint, complaint.level)]
    if complaint.level < Level.BOARD:
        above = [user.email for user in _handlers_above(session, complaint)]
        queue_template_mail(session, "complaint_overdue.txt", to=above, now=now, **context)
    queue_template_mail(session, "complaint_overdue_reminder.txt", to=current, now=now, **context)
    # The note is kept in English; the complainant reads it in their own language.
    tell_complainant(session, complaint, _overdue_change(session, complaint, kind), now=now)
    session.flush()


def _handlers_above(session: Session, complaint: Complaint) -> Sequence[User]:
    """Return the handlers of the level above: at level 2, the committee routed for the subject."""
    above = complaint.level + 1
    if above != Level.COMMITTEE:
        return queries.handlers_of(session, complaint, above)
    committee = queries.routed_committee(session, complaint.subject)
    if committee is None:
        return []
    return session.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .join(CommitteeMember, CommitteeMember.user_id == User.id)
        .where(
            UserRole.role == Role.COMMITTEE_MEMBER,
            User.disabled_at.is_(None),
            CommitteeMember.committee_id == committee.id,
        )
        .order_by(User.name, User.id)
    ).all()


# -- The purge job -------------------------------------------------------------------------


def purge_closed_complaints(session: Session, today: date, now: datetime) -> dict[str, int]:
    """Purge the complaints closed more than the retention period before ``today``."""
    retention = current_app.config["COMPLAINT_RETENTION_DAYS"]
    closed_before = day_start(today - timedelta(days=retention))
    due = session.scalars(
        select(Complaint)
        .where(Complaint.status == Status.CLOSED, Complaint.closed_at < closed_before)
        .order_by(Complaint.id)
    ).all()
    summary = {"purged": 0, "files": 0, "deferred": 0}
    for complaint in due:
        if not _redact_mail(session, complaint):
            summary["deferred"] += 1  # a message is being sent: purged on a later day
            continue
        files = [attachment.storage_name for attachment in complaint.attachments]
        if not _delete(session, complaint, closed_before, now):
            continue  # another runner purged it
        summary["purged"] += 1
        summary["files"] += len(files)
        folder = files_dir(**FILE_SETTINGS)
        session.info.setdefault(PURGED_FILES, []).extend(folder / name for name in files)
    return summary


def _redact_mail(session: Session, complaint: Complaint) -> bool:
    """Redact the e-mails to the complainant; return False if one is being sent right now."""
    if not complaint.complainant_email:
        return True
    messages = session.scalars(
        select(OutboxMessage.id).where(
            OutboxMessage.to_address == complaint.complainant_email,
            OutboxMessage.subject.contains(complaint.receipt_code, autoescape=True),
        )
    ).all()
    results = [redact_message(session, id_, reason=REDACTED_BECAUSE) for id_ in messages]
    return all(results)


def _delete(session: Session, complaint: Complaint, closed_before: datetime, now: datetime) -> bool:
    """Delete the complaint (entries, flags and attachment rows go with it); count it."""
    cell = {
        "closed_year": local_date(complaint.closed_at).year,
        "subject": complaint.subject,
        "final_level": complaint.level,
        "closed_as": complaint.closed_as,
    }
    complaint_id = complaint.id
    deleted = session.execute(
        delete(Complaint)
        .where(Complaint.id == complaint.id, Complaint.closed_at < closed_before)
        .execution_options(synchronize_session=False)
    )
    session.expunge(complaint)
    if deleted.rowcount != 1:
        return False
    _count(session, cell)
    record_event(
        session,
        action="complaint.purged",
        subject_type="complaint",
        subject_id=complaint_id,
        now=now,
        data=cell,
    )
    return True


def _count(session: Session, cell: dict[str, object]) -> None:
    """Add one to the statistic's cell, creating it when it is the first."""
    where = [getattr(ComplaintStatistic, column) == value for column, value in cell.items()]

    def bump() -> int:
        return session.execute(
            update(ComplaintStatistic)
            .where(*where)
            .values(count=ComplaintStatistic.count + 1)
            .execution_options(synchronize_session="fetch")
        ).rowcount

    if bump():
        return
    try:
        with session.begin_nested():
            session.add(ComplaintStatistic(**cell, count=1))
    except IntegrityError:  # another runner created the cell meanwhile
        bump()


@event.listens_for(Session, "after_commit")
def _remove_purged_files(session: Session) -> None:
    for path in session.info.pop(PURGED_FILES, []):
        Path(path).unlink(missing_ok=True)


@event.listens_for(Session, "after_transaction_end")
def _keep_files_of_a_failed_purge(session: Session, transaction: SessionTransaction) -> None:
    """Forget the files of a purge that was not committed: their complaints are still there."""
    if transaction.parent is None:
        session.info.pop(PURGED_FILES, None)


def purge_tracking(session: Session, today: date, now: datetime) -> dict[str, int]:
    """Delete the tracking tokens that expired before ``now`` (they open nothing any more)."""
    result = session.execute(delete(Tracking).where(Tracking.expires_at < now))
    return {"purged": result.rowcount}
