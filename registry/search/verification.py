"""What the public is told about one mediator or one certificate number, as of a day.

The answer never reads as valid unless the status is ``certified`` that day: every other
status says "not currently certified", and struck, suspended and revoked say since when and
why. The profile page, the verify page and the JSON API all ask here.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.mediators.models import Certification, Mediator, Status
from registry.mediators.status import certification_standing, mediator_standing

# The longest public id and certificate number the register stores.
MAX_PUBLIC_ID = 16
MAX_CERTIFICATE_NUMBER = 32

STRUCK_REASON = (
    "The yearly listing contribution was not paid or waived by the end of the grace period."
)


@dataclass(frozen=True)
class Verification:
    mediator: Mediator
    certification: Certification | None
    status: Status
    status_since: date
    # Why the mediator is not certified (struck, suspended, revoked); None otherwise.
    reason: str | None

    @property
    def listed(self) -> bool:
        return self.status is Status.CERTIFIED

    def as_json(self) -> dict[str, object]:
        """The API's verification object (product brief, "Public contracts")."""
        return {
            "public_id": self.mediator.public_id,
            "name": self.mediator.name,
            "certificate_number": self.certification.certificate_number
            if self.certification
            else None,
            "status": self.status.value,
            "listed": self.listed,
            "status_since": self.status_since.isoformat(),
            "reason": self.reason,
        }


def verify_mediator(session: Session, public_id: str, today: date) -> Verification | None:
    """Return where the mediator with ``public_id`` stands today, or None if there is none."""
    public_id = public_id.strip().upper()
    if not could_be_stored(public_id, MAX_PUBLIC_ID):
        return None
    mediator = session.scalar(select(Mediator).where(Mediator.public_id == public_id))
    if mediator is None:
        return None
    standing = mediator_standing(session, mediator, today)
    return _verification(mediator, standing.certification, standing.status, standing.since)


def verify_certificate(session: Session, number: str, today: date) -> Verification | None:
    """Return the status today of the certificate ``number`` (an old number stays not valid)."""
    number = normal_number(number)
    if not could_be_stored(number, MAX_CERTIFICATE_NUMBER):
        return None
    certification = session.scalar(
        select(Certification).where(Certification.certificate_number == number)
    )
    if certification is None or certification.granted_on > today:
        return None
    standing = certification_standing(session, certification, today)
    return _verification(certification.mediator, certification, standing.status, standing.since)


def could_be_stored(key: str, longest: int) -> bool:
    """Say whether ``key`` could be a stored id at all (else it is unknown, not an error).

    PostgreSQL refuses NUL in a string parameter, so such input must not reach a query.
    """
    return 0 < len(key) <= longest and key.isprintable()


def normal_number(number: str) -> str:
    """Return a certificate number as stored: trimmed, upper case."""
    return "".join(number.split()).upper()


def _verification(
    mediator: Mediator, certification: Certification | None, status: Status, since: date
) -> Verification:
    reason = None
    if certification is not None:
        reason = {
            Status.STRUCK: STRUCK_REASON,
            Status.SUSPENDED: certification.suspension_reason,
            Status.REVOKED: certification.revocation_reason,
        }.get(status)
    return Verification(mediator, certification, status, since, reason)
