"""Reading the event log: filtered, newest first, a page at a time."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from registry.accounts.models import User
from registry.accounts.services import normalise_email
from registry.clock import registry_zone
from registry.events.models import Event
from registry.pagination import Page, paginate

PAGE_SIZE = 50


@dataclass(frozen=True)
class EventFilter:
    action: str | None = None
    actor_email: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    since: date | None = None
    until: date | None = None


def known_actions(session: Session) -> list[str]:
    """Return every action that occurs in the log, sorted."""
    return list(session.scalars(select(Event.action).distinct().order_by(Event.action)))


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=registry_zone())


def _filtered(query: Select, wanted: EventFilter) -> Select:
    if wanted.action:
        query = query.where(Event.action == wanted.action)
    if wanted.actor_email:
        actor_ids = select(User.id).where(User.email == normalise_email(wanted.actor_email))
        query = query.where(Event.actor_id.in_(actor_ids))
    if wanted.subject_type:
        query = query.where(Event.subject_type == wanted.subject_type.strip())
    if wanted.subject_id:
        query = query.where(Event.subject_id == wanted.subject_id.strip())
    if wanted.since:
        query = query.where(Event.occurred_at >= _start_of(wanted.since))
    if wanted.until:
        query = query.where(Event.occurred_at < _start_of(wanted.until + timedelta(days=1)))
    return query


def find_events(session: Session, wanted: EventFilter, page: int = 1) -> Page[Event]:
    """Return one page of the events matching ``wanted``, newest first."""
    query = _filtered(select(Event), wanted).order_by(Event.occurred_at.desc(), Event.id.desc())
    return paginate(session, query, page, PAGE_SIZE)


def events_about(
    session: Session, subject_type: str, subject_id: object, actions: Iterable[str]
) -> list[Event]:
    """Return the events of ``actions`` on one subject, oldest first (a public history)."""
    return list(
        session.scalars(
            select(Event)
            .where(
                Event.subject_type == subject_type,
                Event.subject_id == str(subject_id),
                Event.action.in_(list(actions)),
            )
            .order_by(Event.occurred_at, Event.id)
        )
    )
