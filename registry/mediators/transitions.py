"""Keeping ``Certification.recorded_status`` in step with the computed status.

Services that change a fact (a payment, a suspension) call ``remember_status`` and describe the
change in their own event-log entry; the daily job finds the changes that time alone made
(lapse, strike) and logs each once (``registry.mediators.jobs``).
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.mediators.models import Certification, Status
from registry.mediators.status import Standing, certification_standing

# The event-log action for a certification arriving at each status.
TRANSITION_ACTIONS = {
    # Only when facts were corrected so that no contribution covers the grant any more.
    Status.APPLICANT: "certification.not_in_effect",
    Status.CERTIFIED: "certification.restored",
    Status.LAPSED: "certification.lapsed",
    Status.STRUCK: "certification.struck",
    Status.SUSPENDED: "certification.suspended",
    Status.REVOKED: "certification.revoked",
}


@dataclass(frozen=True)
class Change:
    before: Status
    after: Standing

    @property
    def changed(self) -> bool:
        return self.before is not self.after.status

    def as_data(self) -> dict[str, str]:
        """Return the change as event-log data."""
        return {
            "status_before": self.before.value,
            "status": self.after.status.value,
            "status_since": self.after.since.isoformat(),
        }


def remember_status(session: Session, certification: Certification, today: date) -> Change:
    """Recompute the status of ``certification`` for ``today`` and remember it."""
    session.flush()
    before = Status(certification.recorded_status)
    standing = certification_standing(session, certification, today)
    certification.recorded_status = standing.status.value
    certification.recorded_since = standing.since
    session.flush()
    return Change(before, standing)


def covered_certifications(session: Session, payer: Certification) -> list[Certification]:
    """Return ``payer`` and the certifications its invoices cover (one contribution each)."""
    covered = session.scalars(
        select(Certification).where(Certification.covered_by_id == payer.id)
    ).all()
    return [payer, *covered]


def remember_coverage(session: Session, payer: Certification, today: date) -> Change:
    """Remember the status of every certification ``payer``'s invoices cover; return its own."""
    first, *others = covered_certifications(session, payer)
    change = remember_status(session, first, today)
    for certification in others:
        remember_status(session, certification, today)
    return change
