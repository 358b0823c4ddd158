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
