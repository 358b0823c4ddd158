"""What the public is told about one mediator or one certificate number, as of a day.

The answer never reads as valid unless the status is ``certified`` that day: every other
status says "not currently certified", and struck, suspended and revoked say since when and
why. The profile page, the verify page and the JSON API all ask here.
"""

import re
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.i18n import _l
from registry.mediators.models import Certification, Mediator, Status
from registry.mediators.outlook import Outlook, outlook
from registry.mediators.specialisations import PublicSpecialisation, public_specialisations
from registry.mediators.status import (
    Standing,
    certification_standing,
    mediator_standings,
    primary_standing,
)

# The longest public id and certificate number the register stores.
MAX_PUBLIC_ID = 16
MAX_CERTIFICATE_NUMBER = 32

STRUCK_REASON = _l(
    "The yearly listing contribution was not paid or waived by the end of the grace period."
)


@dataclass(frozen=True)
class Verification:
    """The public answer about one certification (or a person never granted one), as of a day."""

    mediator: Mediator
    certification: Certification | None
    standing: Standing
    # Why the mediator is not certified (struck, suspended, revoked); None otherwise.
    reason: str | None
    outlook: Outlook
    # The live granted specialisations, shown only while the certification is certified.
    specialisations: list[PublicSpecialisation]
    # The day the answer is for (today unless a past day was asked about).
    day: date
    # Every certification the answer covers: all the person's for a profile, one for a number.
    certifications: tuple["Verification", ...] = ()

    @property
    def status(self) -> Status:
        return self.standing.status

    @property
    def status_since(self) -> date:
        return self.standing.since

    @property
    def listed(self) -> bool:
        return self.status is Status.CERTIFIED

    @property
    def type_label(self) -> str | None:
        return self.certification.type_label if self.certification else None

    def held(self, kind: str | None) -> "Verification | None":
        """Return the answer for the certification of type ``kind`` the person holds.

        ``None`` asks for the first in type order (the mediator one, else the advocate one);
        None comes back when there is no such certification.
        """
        if kind is None:
            return self.certifications[0] if self.certifications else None
        return next(
            (v for v in self.certifications if v.certification.certification_type == kind), None
        )

    def as_json(self) -> dict[str, object]:
        """The API's verification object (product brief, "Public contracts")."""
        return {
            "public_id": self.mediator.public_id,
            "name": self.mediator.name,
            "as_of": self.day.isoformat(),
            **self._certificate_json(),
            "specialisations": [s.as_json() for s in self.specialisations],
            "certifications": [each._certificate_json() for each in self.certifications],
        }

    def _certificate_json(self) -> dict[str, object]:
        certification = self.certification
        return {
            "certificate_number": certification.certificate_number if certification else None,
            "certification_type": certification.certification_type if certification else None,
            "status": self.status.value,
            "listed": self.listed,
            "status_since": self.status_since.isoformat(),
            "reason": self.reason,
            **self.outlook.as_json(),
        }


def verify_mediator(session: Session, public_id: str, day: date) -> Verification | None:
    """Return where the mediator with ``public_id`` stood on ``day``, or None if there is none.

    A person holding both certifications is answered for each; the top-level answer is the
    one that speaks for them (``primary_standing``).
    """
    public_id = public_id.strip().upper()
    if not could_be_stored(public_id, MAX_PUBLIC_ID):
        return None
    mediator = session.scalar(select(Mediator).where(Mediator.public_id == public_id))
    if mediator is None:
        return None
    standings = mediator_standings(session, mediator, day)
    each = tuple(_verification(session, mediator, standing, day) for standing in standings)
    primary = each[standings.index(primary_standing(standings))]
    return replace(primary, certifications=tuple(v for v in each if v.certification))


def verify_certificate(session: Session, number: str, day: date) -> Verification | None:
    """Return the status on ``day`` of the certificate ``number`` (None if not granted by then).

    An old number stays not valid after a new grant under another number.
    """
    original, number = number, normal_number(number)
    if not could_be_stored(number, MAX_CERTIFICATE_NUMBER):
        return None
    # A number imported as written (say "MR-2024-12") is still found by what was typed.
    typed = "".join(original.split()).upper()
    certification = session.scalar(
        select(Certification)
        .where(Certification.certificate_number.in_({number, typed}))
        .order_by(Certification.certificate_number != number)
        .limit(1)
    )
    if certification is None or certification.granted_on > day:
        return None
    standing = certification_standing(session, certification, day)
    found = _verification(session, certification.mediator, standing, day)
    return replace(found, certifications=(found,))


def could_be_stored(key: str, longest: int) -> bool:
    """Say whether ``key`` could be a stored id at all (else it is unknown, not an error).

    PostgreSQL refuses NUL in a string parameter, so such input must not reach a query.
    """
    return 0 < len(key) <= longest and key.isprintable()


# The register's own numbers, however typed: "mr 2024 12", "MR2024-0012", "MR-2024-000012".
_REGISTER_NUMBER = re.compile(r"MR[\s\-_./]*(\d{4})[\s\-_./]*(\d{1,6})", re.IGNORECASE)


def normal_number(number: str) -> str:
    """Return a certificate number as stored: upper case, no spaces, "MR-<year>-<6 digits>".

    People type the register's numbers with spaces, in lower case or without the leading
    zeros ("mr 2024 12"); those are read as the stored form (MR-2024-000012). Any other
    number (an imported one) is only trimmed and put in upper case.
    """
    own = _REGISTER_NUMBER.fullmatch(number.strip())
    if own:
        return f"MR-{own[1]}-{int(own[2]):06d}"
    return "".join(number.split()).upper()


def _verification(
    session: Session, mediator: Mediator, standing: Standing, day: date
) -> Verification:
    certification, status = standing.certification, standing.status
    reason = None
    if certification is not None:
        reason = {
            Status.STRUCK: str(STRUCK_REASON),
            Status.SUSPENDED: certification.suspension_reason,
            Status.REVOKED: certification.revocation_reason,
        }.get(status)
    specialisations = public_specialisations(session, mediator, status, day)
    return Verification(
        mediator, certification, standing, reason, outlook(standing), specialisations, day
    )
