"""The daily digest sweep: remind mediators before their digest expires, mark expired ones.

Each step selects everything due as of the date that has no mark yet, handles it, and leaves
its mark on the digest (``reminded_on``, ``expired_on``): a rerun finds nothing, and a missed
day is caught up by the next run, because the conditions are ranges of dates, not one day.
"""

from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, exists, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from registry.digests.models import Digest
from registry.events.models import Event
from registry.mail.models import MailStatus, OutboxMessage
from registry.mail.services import split_subject
from registry.mediators.models import Mediator

Newer = aliased(Digest)


def _is_latest() -> Any:
    """SQL: no later published digest of the same mediator exists."""
    return ~exists().where(
        Newer.mediator_id == Digest.mediator_id,
        Newer.published_on.is_not(None),
        or_(
            Newer.published_on > Digest.published_on,
            and_(Newer.published_on == Digest.published_on, Newer.id > Digest.id),
        ),
    )


def _has_current(as_of: date) -> Any:
    """SQL: the digest's mediator has a digest that is current on ``as_of``."""
    return exists().where(
        Newer.mediator_id == Digest.mediator_id,
        Newer.published_on <= as_of,
        Newer.valid_until >= as_of,
    )


def sweep_digests(session: Session, as_of: date, now: datetime) -> dict[str, Any]:
    """Send the reminders due as of ``as_of`` and mark the digests that expired before it."""
    return {"reminded": _remind(session, as_of, now), "expired": _expire(session, as_of, now)}


def _remind(session: Session, as_of: date, now: datetime) -> int:
    """Remind each mediator whose latest digest ends within the reminder window, once."""
    window_end = as_of + timedelta(days=current_app.config["DIGEST_REMINDER_DAYS"])
    due = session.execute(
        select(Digest.id, Digest.valid_until, Mediator.name, Mediator.email)
        .join(Mediator, Mediator.id == Digest.mediator_id)
        .where(
            Digest.published_on.is_not(None),
            Digest.reminded_on.is_(None),
            Digest.valid_until.between(as_of, window_end),
            _is_latest(),
        )
    ).all()
    if due:
        _queue(session, "digest_expiring.txt", due, now)
        _mark(session, [{"id": row.id, "reminded_on": as_of} for row in due])
    return len(due)


def _expire(session: Session, as_of: date, now: datetime) -> int:
    """Mark each digest whose last valid day is past; tell the mediator if nothing replaced it."""
    due = session.execute(
        select(
            Digest.id,
            Digest.valid_until,
            Mediator.public_id,
            Mediator.name,
            Mediator.email,
            (_is_latest() & ~_has_current(as_of)).label("is_uncovered"),
        )
        .join(Mediator, Mediator.id == Digest.mediator_id)
        .where(
            Digest.published_on.is_not(None),
            Digest.expired_on.is_(None),
            Digest.valid_until < as_of,
        )
    ).all()
    if not due:
        return 0
    marks = [{"id": row.id, "expired_on": row.valid_until + timedelta(days=1)} for row in due]
    _mark(session, marks)
    session.execute(insert(Event), [_expiry_event(row, as_of, now) for row in due])
    # An expiry found more than REMINDER_RECENT_DAYS late (a long catch-up, or digests carried
    # over from the days when staff recorded them) is marked without mailing old news.
    recent = as_of - timedelta(days=current_app.config["REMINDER_RECENT_DAYS"])
    uncovered = [
        row for row in due if row.is_uncovered and row.valid_until + timedelta(days=1) >= recent
    ]
    if uncovered:
        _queue(session, "digest_expired.txt", uncovered, now)
    return len(due)


def _expiry_event(row: Any, as_of: date, now: datetime) -> dict[str, Any]:
    return {
        "occurred_at": now,
        "actor_id": None,
        "action": "digest.expired",
        "subject_type": "mediator",
        "subject_id": row.public_id,
        "reason": None,
        "data": {
            "digest_id": row.id,
            "valid_until": row.valid_until.isoformat(),
            "as_of": as_of.isoformat(),
        },
    }


def _mark(session: Session, marks: list[dict[str, Any]]) -> None:
    session.execute(update(Digest), marks)


def _queue(session: Session, template_name: str, rows: list[Any], now: datetime) -> None:
    """Queue ``mail/<template_name>`` (first line "Subject: ...") to each row's mediator."""
    template = current_app.jinja_env.get_template(f"mail/{template_name}")
    messages = []
    for row in rows:
        text = template.render(row=row, config=current_app.config)
        subject, body = split_subject(text)
        messages.append(
            {
                "created_at": now,
                "to_address": row.email,
                "subject": subject,
                "body_text": body,
                "status": MailStatus.QUEUED.value,
                "attempts": 0,
            }
        )
    session.execute(insert(OutboxMessage), messages)
