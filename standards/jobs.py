"""The daily standards sweep: close the consultations whose closing date has passed."""

from datetime import date, datetime

from sqlalchemy.orm import Session

from standards.queries import due_consultations
from standards.services import close_consultation


def sweep_standards(session: Session, today: date, now: datetime) -> dict[str, int]:
    """Close every open consultation whose last day for comments is before ``today``."""
    due = due_consultations(session, today)
    for consultation in due:
        close_consultation(session, consultation, today=today, now=now)
    return {"consultations_closed": len(due)}
