"""When a program's audit is due, and the program's public status: pure functions of facts."""

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from registry.clock import add_years
from registry.i18n import _l

AUDIT_INTERVAL_YEARS = 2


def due_date(start: date) -> date:
    """Return the next 30 June or 31 December on or after two years from ``start``.

    ``start`` is the program's recognition or its last completed audit. Two years from
    29 February is 28 February.
    """
    anchor = add_years(start, AUDIT_INTERVAL_YEARS)
    mid_year = date(anchor.year, 6, 30)
    return mid_year if anchor <= mid_year else date(anchor.year, 12, 31)


def opening_date(due_on: date, lead_days: int) -> date:
    """Return the day the job opens an audit due on ``due_on``."""
    return due_on - timedelta(days=lead_days)


class ProgramStatus(StrEnum):
    RECOGNISED = "recognised"
    AUDIT_DUE = "audit_due"
    UNDER_AUDIT = "under_audit"
    OVERDUE = "overdue"
    WITH_CONDITIONS = "with_conditions"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return str(PROGRAM_STATUS_LABELS[self])


PROGRAM_STATUS_LABELS = {
    ProgramStatus.RECOGNISED: _l("Recognised"),
    ProgramStatus.AUDIT_DUE: _l("Audit due"),
    ProgramStatus.UNDER_AUDIT: _l("Under audit"),
    ProgramStatus.OVERDUE: _l("Audit overdue"),
    ProgramStatus.WITH_CONDITIONS: _l("Recognised with conditions"),
    ProgramStatus.SUSPENDED: _l("Suspended"),
    ProgramStatus.WITHDRAWN: _l("Withdrawn"),
}


@dataclass(frozen=True)
class ProgramFacts:
    """What a program's public status is computed from."""

    recognised_on: date
    withdrawn_on: date | None
    # The open cycle's audit: its status and due date (None before the job scheduled it).
    cycle_status: str | None
    cycle_due_on: date | None
    # The last completed audit's outcome and completion day.
    last_outcome: str | None
    last_completed_on: date | None


def program_status(facts: ProgramFacts, today: date, lead_days: int) -> ProgramStatus:
    """Return the program's public status on ``today``.

    Withdrawal and suspension outrank the audit cycle; an audit past its due date reads
    "overdue" until signed off; an audit the appraisers work on reads "under audit"; one that
    is open, or within the lead time of its due date, reads "audit due".
    """
    if facts.withdrawn_on is not None and facts.withdrawn_on <= today:
        return ProgramStatus.WITHDRAWN
    if facts.last_outcome == "suspend":
        return ProgramStatus.SUSPENDED
    due_on = facts.cycle_due_on or due_date(facts.last_completed_on or facts.recognised_on)
    if today > due_on:
        return ProgramStatus.OVERDUE
    if facts.cycle_status in ("in_progress", "submitted"):
        return ProgramStatus.UNDER_AUDIT
    if facts.cycle_status == "open" or today >= opening_date(due_on, lead_days):
        return ProgramStatus.AUDIT_DUE
    if facts.last_outcome == "renew_with_conditions":
        return ProgramStatus.WITH_CONDITIONS
    return ProgramStatus.RECOGNISED
