"""Reading "status on a past day" (``as_of``) from a request: a real day the records cover.

The answer for a day is what the rules said on it, from the same status computation over the
facts recorded with their dates; a day before the registry's records or after today has no
answer, and an impossible day (2026-02-30) is refused, never guessed at.
"""

import re
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.clock import local_date
from registry.mediators.models import Certification, Mediator

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class AsOfError(ValueError):
    """The day asked about cannot be answered; the message says why."""


def records_begin(session: Session, today: date) -> date:
    """Return the first day the register has records of (its earliest grant or profile)."""
    granted = session.scalar(select(func.min(Certification.granted_on)))
    created = session.scalar(select(func.min(Mediator.created_at)))
    days = [day for day in (granted, local_date(created) if created else None) if day]
    return min(days, default=today)


def parse_as_of(raw: str | None, session: Session, today: date) -> date:
    """Return the day ``raw`` names (today when empty); raise ``AsOfError`` when it cannot be."""
    text = (raw or "").strip()
    if not text:
        return today
    if not _ISO_DATE.fullmatch(text):
        raise AsOfError(
            _("as_of must be a date in the form YYYY-MM-DD, not %(text)r", text=text[:20])
        )
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise AsOfError(_("as_of %(text)s is not a day of the calendar", text=text)) from None
    if day > today:
        raise AsOfError(
            _(
                "as_of %(text)s is after today (%(today)s): statuses are not foretold",
                text=text,
                today=today.isoformat(),
            )
        )
    begin = records_begin(session, today)
    if day < begin:
        raise AsOfError(
            _(
                "as_of %(text)s is before the registry's records, which begin on %(begin)s",
                text=text,
                begin=begin.isoformat(),
            )
        )
    return day
