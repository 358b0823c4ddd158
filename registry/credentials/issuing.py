"""Certifications as Open Badges 3.0 credentials, signed by the registry (VC-JWT, EdDSA).

A credential is an ``OpenBadgeCredential`` (VC Data Model 2.0 + the OB 3.0 context) in the
JOSE form of "Securing Verifiable Credentials using JOSE and COSE": a compact JWS whose payload
is the credential itself (media type ``application/vc+jwt``), with the registered JWT claims
``iss``, ``sub``, ``jti``, ``iat``, ``nbf`` and ``exp`` beside it so that any JOSE library checks
the dates. Its ``credentialStatus`` names the certification's entries in the two Bitstring
Status Lists (revocation and suspension), which are credentials of the same form.
"""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

import jwt
from flask import current_app
from sqlalchemy.orm import Session

from registry.clock import registry_zone
from registry.credentials.keys import keyring
from registry.credentials.models import StatusEntry, StatusList, StatusPurpose
from registry.credentials.status import encoded_list, update_status_bits
from registry.mediators.models import CertificationType
from registry.search.verification import Verification

MEDIA_TYPE = "application/vc+jwt"
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
ISSUER_NAME = "Mediator Registry"

ACHIEVEMENTS = {
    CertificationType.MEDIATOR: (
        "Certified Mediator",
        "Certification as a mediator by the registry: competence assessed by a recognised "
        "Qualifying Assessment Program, a current Feedback Digest, and the yearly listing "
        "contribution paid, under the registry's code of conduct.",
    ),
    CertificationType.ADVOCATE: (
        "Certified Mediation Advocate",
        "Certification as a mediation advocate by the registry: competence in representing "
        "parties in mediation assessed by a recognised program, and the yearly listing "
        "contribution paid, under the registry's code of conduct.",
    ),
}


class NotIssuable(ValueError):
    """The certification is not certified today, so no credential says it is."""


def absolute(endpoint: str, **values: Any) -> str:
    """Return the public address of ``endpoint`` under ``PUBLIC_URL``, in or out of a request."""
    base = urlsplit(current_app.config["PUBLIC_URL"].rstrip("/"))
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)


def issuer_profile() -> dict[str, Any]:
    """Return the registry's issuer Profile (served at its id, embedded in credentials)."""
    return {
        "id": absolute("credentials.issuer"),
        "type": ["Profile"],
        "name": ISSUER_NAME,
        "url": current_app.config["PUBLIC_URL"],
        "description": "Accreditation and quality-assurance registry for mediator certification.",
    }


def _start_of(day: date) -> str:
    return datetime.combine(day, time(), registry_zone()).isoformat()


def _end_of(day: date) -> str:
    return datetime.combine(day, time(23, 59, 59), registry_zone()).isoformat()


def build_credential(session: Session, found: Verification, now: datetime) -> dict[str, Any]:
    """Return the unsigned credential of a certification that is certified (``found``)."""
    certification = found.certification
    if certification is None or not found.listed or found.outlook.valid_until is None:
        raise NotIssuable("Only a certification that is certified today has a credential.")
    kind = CertificationType(certification.certification_type)
    name, description = ACHIEVEMENTS[kind]
    issuer = issuer_profile()
    profile_url = absolute("search.profile", public_id=found.mediator.public_id)
    subject: dict[str, Any] = {
        "id": profile_url,
        "type": ["AchievementSubject"],
        "name": found.mediator.name,
        "identifier": [
            {
                "type": "IdentityObject",
                "identityType": "name",
                "hashed": False,
                "identityHash": found.mediator.name,
            }
        ],
        "licenseNumber": certification.certificate_number,
        "achievement": {
            "id": absolute("credentials.achievement", kind=kind.value),
            "type": ["Achievement"],
            "achievementType": "Certification",
            "name": name,
            "description": description,
            "criteria": {
                "id": absolute("credentials.achievement", kind=kind.value),
                "narrative": description,
            },
            "creator": issuer,
        },
    }
    if found.specialisations:
        # Granted specialisations, each aligned to the registry's page about it.
        subject["result"] = [
            {"type": ["Result"], "alignment": [_alignment(s) for s in found.specialisations]}
        ]
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"{name}: {found.mediator.name}",
        "issuer": issuer,
        "validFrom": _start_of(certification.granted_on),
        "validUntil": _end_of(found.outlook.valid_until),
        "credentialSubject": subject,
        "credentialStatus": status_entries(session, certification.id),
        "credentialSchema": [{"id": OB_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
    }


def _alignment(specialisation: Any) -> dict[str, Any]:
    granted = f"granted {specialisation.granted_on.isoformat()}"
    if specialisation.valid_until:
        granted += f", valid until {specialisation.valid_until.isoformat()}"
    return {
        "type": ["Alignment"],
        "targetName": specialisation.name,
        "targetCode": specialisation.code,
        "targetDescription": f"Specialisation {granted} by the registry.",
        "targetUrl": absolute("credentials.specialisation", code=specialisation.code),
    }


def status_entries(session: Session, certification_id: int) -> list[dict[str, str]]:
    """Return the certification's two ``BitstringStatusListEntry`` objects."""
    entry = session.get(StatusEntry, certification_id)
    if entry is None:  # made before the lists existed and not touched since
        update_status_bits(session, [certification_id])
        entry = session.get(StatusEntry, certification_id)
    entries = []
    for purpose in StatusPurpose:
        url = absolute("credentials.status_list", list_id=entry.list_id, purpose=purpose.value)
        entries.append(
            {
                "id": f"{url}#{entry.status_index}",
                "type": "BitstringStatusListEntry",
                "statusPurpose": purpose.value,
                "statusListIndex": str(entry.status_index),
                "statusListCredential": url,
            }
        )
    return entries


def status_list_credential(status_list: StatusList) -> dict[str, Any]:
    """Return the unsigned ``BitstringStatusListCredential`` of one list and purpose."""
    url = absolute(
        "credentials.status_list", list_id=status_list.list_id, purpose=status_list.purpose
    )
    return {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_profile()["id"],
        "validFrom": status_list.updated_at.astimezone(UTC).isoformat(),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": status_list.purpose,
            "encodedList": encoded_list(status_list.bits),
        },
    }


def sign(credential: dict[str, Any], now: datetime, subject: str | None = None) -> str:
    """Sign ``credential`` as a VC-JWT with the current key."""
    keys = keyring()
    claims = {
        **credential,
        "iss": credential["issuer"]["id"]
        if isinstance(credential["issuer"], dict)
        else credential["issuer"],
        "jti": credential["id"],
        "iat": int(now.timestamp()),
        "nbf": int(datetime.fromisoformat(credential["validFrom"]).timestamp()),
    }
    if subject:
        claims["sub"] = subject
    if "validUntil" in credential:
        claims["exp"] = int(
            (datetime.fromisoformat(credential["validUntil"]) + timedelta(seconds=1)).timestamp()
        )
    headers = {"kid": keys.current_kid, "typ": "vc+jwt", "cty": "vc"}
    return jwt.encode(claims, keys.signing_key, algorithm="EdDSA", headers=headers)


def issue_credential(session: Session, found: Verification, now: datetime) -> str:
    """Return the signed credential of the certification ``found`` is about."""
    credential = build_credential(session, found, now)
    return sign(credential, now, subject=credential["credentialSubject"]["id"])
