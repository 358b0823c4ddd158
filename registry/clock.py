"""The registry's calendar: dates are days in REGISTRY_TIMEZONE, instants are aware UTC."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def registry_zone() -> ZoneInfo:
    """Return the time zone whose calendar decides "today" for the registry."""
    return ZoneInfo(current_app.config["REGISTRY_TIMEZONE"])


def local_today() -> date:
    """Return today's date in the registry's time zone."""
    return datetime.now(registry_zone()).date()


def local_date(instant: datetime) -> date:
    """Return the registry's calendar day of an aware instant (23:30 UTC may be tomorrow)."""
    return instant.astimezone(registry_zone()).date()


def add_years(day: date, years: int) -> date:
    """Return the same day ``years`` later; 29 February becomes 28 February in common years."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
