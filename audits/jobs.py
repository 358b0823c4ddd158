"""The daily audit sweep (written next)."""

from datetime import date, datetime

from sqlalchemy.orm import Session


def sweep_audits(session: Session, today: date, now: datetime) -> dict[str, int]:
    return {}
