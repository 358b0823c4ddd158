"""Check a credential someone shows you: signature, issuer, dates, status lists, and today.

Every step is reported, in order, so a reader sees what holds and the first thing that does
not; a malformed, foreign, tampered, expired, suspended or revoked credential gets a plain
reason, never an error page. Used by ``/verify/credential`` and ``credentials verify``.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from registry.clock import local_date
from registry.credentials.issuing import issuer_profile
from registry.credentials.keys import keyring
from registry.credentials.models import StatusList, StatusPurpose
from registry.formatting import format_day
from registry.i18n import _l
from registry.search.verification import Verification, verify_certificate

# A credential is a few kilobytes; anything far larger is not one of ours.
MAX_LENGTH = 64_000
CREDENTIAL_TYPES = {"OpenBadgeCredential", "AchievementCredential"}
CLEAR = {
    StatusPurpose.REVOCATION: _l("Not revoked."),
    StatusPurpose.SUSPENSION: _l("Not suspended."),
}
_STATUS_PATH = re.compile(r"/credentials/status/(\d+)/(revocation|suspension)$")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class CredentialCheck:
    """The result: every step taken, and what the credential says once it is trusted."""

    checks: list[Check] = field(default_factory=list)
    claims: dict[str, Any] | None = None
    # What the registry says today about the certificate the credential names.
    today: Verification | None = None

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    @property
    def reason(self) -> str | None:
        """The first thing that does not hold."""
        return next((check.detail for check in self.checks if not check.ok), None)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok

    @property
    def holder(self) -> str | None:
        return (self.claims or {}).get("credentialSubject", {}).get("name")

    @property
    def certificate_number(self) -> str | None:
        return (self.claims or {}).get("credentialSubject", {}).get("licenseNumber")

    @property
    def achievement(self) -> str | None:
        subject = (self.claims or {}).get("credentialSubject", {})
        return subject.get("achievement", {}).get("name")


def verify_credential(session: Session, token: str, now: datetime) -> CredentialCheck:
    """Check ``token`` step by step; stop at the first step the others depend on."""
    result = CredentialCheck()
    token = "".join(token.split())
    header = _header(result, token)
    if header is None:
        return result
    claims = _signature(result, token, header)
    if claims is None:
        return result
    result.claims = claims
    if not _issuer_and_type(result, claims):
        return result
    _dates(result, claims, now)
    _statuses(result, session, claims)
    number = result.certificate_number
    if isinstance(number, str):
        result.today = verify_certificate(session, number, local_date(now))
    return result


def _header(result: CredentialCheck, token: str) -> dict[str, Any] | None:
    if not token:
        result.add("format", False, _("Nothing was given: paste a credential or choose its file."))
        return None
    if len(token) > MAX_LENGTH:
        result.add(
            "format", False, _("This is far larger than any credential the registry issues.")
        )
        return None
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        result.add(
            "format",
            False,
            _(
                "This is not a credential in JWT form (three dot-separated parts, as the registry "
                "issues them)."
            ),
        )
        return None
    if header.get("alg") != "EdDSA" or not isinstance(header.get("kid"), str):
        result.add("format", False, _("The credential is not signed the way the registry signs."))
        return None
    result.add("format", True, _("A signed credential (VC-JWT, EdDSA)."))
    return header


def _signature(result: CredentialCheck, token: str, header: dict[str, Any]) -> dict | None:
    keys = keyring()
    kid = header["kid"]
    if kid in keys.retired:
        result.add(
            "signature",
            False,
            _("It was signed with a key the registry has retired: it is no longer valid."),
        )
        return None
    key = keys.public_key(kid)
    if key is None:
        result.add("signature", False, _("It was not signed by any key the registry publishes."))
        return None
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["EdDSA"],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.InvalidSignatureError:
        result.add(
            "signature", False, _("The signature does not match: the credential was altered.")
        )
        return None
    except jwt.InvalidTokenError:
        result.add("signature", False, _("The credential cannot be read."))
        return None
    result.add("signature", True, _("Signed by the registry (key published, not retired)."))
    return claims


def _issuer_and_type(result: CredentialCheck, claims: dict[str, Any]) -> bool:
    issuer = claims.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if issuer_id != issuer_profile()["id"] or claims.get("iss") != issuer_id:
        return result.add("issuer", False, _("It names another issuer than this registry."))
    types = claims.get("type")
    if not isinstance(types, list) or not CREDENTIAL_TYPES & set(types):
        return result.add("issuer", False, _("It is not an Open Badges certification credential."))
    return result.add("issuer", True, _("Issued by %(name)s.", name=issuer_profile()["name"]))


def _dates(result: CredentialCheck, claims: dict[str, Any], now: datetime) -> None:
    try:
        starts = datetime.fromisoformat(claims["validFrom"])
        ends = datetime.fromisoformat(claims["validUntil"])
    except (KeyError, TypeError, ValueError):
        result.add("dates", False, _("Its validity dates cannot be read."))
        return
    if now < starts:
        result.add(
            "dates", False, _("It is not valid before %(day)s.", day=format_day(starts.date()))
        )
    elif now > ends:
        result.add("dates", False, _("It expired after %(day)s.", day=format_day(ends.date())))
    else:
        result.add(
            "dates",
            True,
            _(
                "Valid from %(start)s until %(end)s.",
                start=format_day(starts.date()),
                end=format_day(ends.date()),
            ),
        )


def _statuses(result: CredentialCheck, session: Session, claims: dict[str, Any]) -> None:
    entries = claims.get("credentialStatus")
    entries = entries if isinstance(entries, list) else [entries]
    seen = set()
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    for entry in entries:
        bit = _status_bit(session, entry, base)
        if bit is None:
            result.add("status", False, _("Its status list entry is not one of the registry's."))
            return
        purpose, is_set = bit
        seen.add(purpose)
        if is_set:
            message = {
                StatusPurpose.REVOCATION: _(
                    "It is revoked: the certification was struck off or revoked."
                ),
                StatusPurpose.SUSPENSION: _(
                    "It is suspended: the certification is lapsed, suspended or not in effect."
                ),
            }[purpose]
            result.add(purpose.value, False, message)
        else:
            result.add(purpose.value, True, str(CLEAR[purpose]))
    if seen != set(StatusPurpose):
        result.add("status", False, _("It does not carry both status list entries."))


def _status_bit(session: Session, entry: Any, base: str) -> tuple[StatusPurpose, bool] | None:
    if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
        return None
    url = entry.get("statusListCredential")
    match = _STATUS_PATH.search(url) if isinstance(url, str) and url.startswith(base) else None
    index = entry.get("statusListIndex")
    if match is None or not isinstance(index, str) or not index.isdigit():
        return None
    purpose = StatusPurpose(match.group(2))
    if entry.get("statusPurpose") != purpose.value:
        return None
    status_list = session.get(StatusList, (int(match.group(1)), purpose.value))
    position = int(index)
    if status_list is None or position >= len(status_list.bits) * 8:
        return None
    return purpose, bool(status_list.bits[position // 8] & (0x80 >> (position % 8)))
