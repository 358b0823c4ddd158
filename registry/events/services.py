"""Writing to the event log. Every service that changes state calls ``record_event``."""

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from registry.accounts.models import User
from registry.events.models import Event


def record_event(
    session: Session,
    *,
    action: str,
    subject_type: str,
    subject_id: object,
    now: datetime,
    actor: User | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """Append an entry to the event log in the caller's transaction."""
    entry = Event(
        occurred_at=now,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        reason=reason,
        data=data or {},
    )
    session.add(entry)
    return entry
