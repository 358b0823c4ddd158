"""Credentials checked as an outsider would: PyJWT and the JWKS, 1EdTech's JSON schema, and
the status lists decoded by hand (bit 0 is the most significant bit of the first byte)."""

import base64
import gzip
import io
import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jsonschema import Draft201909Validator

from registry.clock import local_today
from registry.credentials.keys import keyring, retire_key, rotate_key
from registry.credentials.models import LIST_SIZE, StatusEntry
from registry.credentials.status import rebuild_status_lists
from registry.credentials.verifying import verify_credential
from registry.database import utcnow
from registry.mediators.jobs import run_lifecycle
from registry.mediators.models import CertificationType
from registry.mediators.services import (
    grant_certification,
    lift_suspension,
    revoke_certification,
    suspend_certification,
)
from tests.conftest import post_form
from tests.factories import grant, make_mediator, pay, set_fees, specialise, staff_user

SCHEMA = json.loads(
    (
        Path(__file__).parent / "vendor" / "ob_v3p0" / "ob_v3p0_achievementcredential_schema.json"
    ).read_text(encoding="utf-8")
)
VALIDATOR = Draft201909Validator(SCHEMA)
STATUS_VALIDATOR = Draft201909Validator({**SCHEMA, **SCHEMA["$defs"]["CredentialStatus"]})


@pytest.fixture
def keys(app, tmp_path, monkeypatch):
    """A key directory of this test's own (rotations and retirements stay here)."""
    monkeypatch.setitem(app.config, "SIGNING_KEYS_DIR", str(tmp_path / "keys"))
    return tmp_path / "keys"


@pytest.fixture
def today(ctx, keys):
    return local_today()


@pytest.fixture
def certified(session, today):
    """Cora, certified 100 days ago for a year, with a granted specialisation."""
    set_fees(session, years=range(today.year - 4, today.year + 3))
    cora = make_mediator(session, name="Cora Ćosić")
    grant(session, cora, on=today - timedelta(days=100))
    specialise(session, cora, "intercultural", on=today - timedelta(days=50), today=today)
    session.commit()
    return cora


def jwks(client) -> dict:
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    return response.get_json()


def decode(client, token: str) -> dict:
    """Verify ``token`` with PyJWT against the published JWKS, as any verifier would."""
    kid = jwt.get_unverified_header(token)["kid"]
    keys = {key["kid"]: key for key in jwks(client)["keys"]}
    if kid not in keys:
        raise jwt.InvalidKeyError(f"kid {kid} is not published")
    key = jwt.PyJWK(keys[kid])
    return jwt.decode(token, key.key, algorithms=["EdDSA"], options={"verify_aud": False})


def credential_of(client, number: str) -> str:
    response = client.get(f"/api/v1/verify/{number}/credential")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/vc+jwt"
    assert "no-store" in response.headers["Cache-Control"]
    return response.get_data(as_text=True)


def status_bit(client, entry: dict) -> bool:
    """Fetch the entry's status list, verify it, and read the entry's bit by hand."""
    path = entry["statusListCredential"].removeprefix("http://registry.test")
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "application/vc+jwt"
    status_list = decode(client, response.get_data(as_text=True))
    assert "BitstringStatusListCredential" in status_list["type"]
    subject = status_list["credentialSubject"]
    assert subject["statusPurpose"] == entry["statusPurpose"]
    encoded = subject["encodedList"]
    assert encoded.startswith("u")  # multibase base64url, no padding
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert len(raw) * 8 >= 131_072
    index = int(entry["statusListIndex"])
    return bool(raw[index // 8] >> (7 - index % 8) & 1)


def bits(client, claims: dict) -> dict[str, bool]:
    return {
        entry["statusPurpose"]: status_bit(client, entry) for entry in claims["credentialStatus"]
    }


def test_an_issued_credential_verifies_and_meets_the_ob3_schema(client, session, certified):
    number = certified.current_certification.certificate_number
    token = credential_of(client, number)
    header = jwt.get_unverified_header(token)
    assert (header["alg"], header["typ"]) == ("EdDSA", "vc+jwt")
    claims = decode(client, token)
    assert claims["@context"][:2] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert {"VerifiableCredential", "OpenBadgeCredential"} <= set(claims["type"])
    # VC 2.0 allows several status entries; the OB 3.0 schema shows one: each must fit it.
    statuses = claims.pop("credentialStatus")
    assert [s["statusPurpose"] for s in statuses] == ["revocation", "suspension"]
    for entry in statuses:
        assert not list(STATUS_VALIDATOR.iter_errors(entry))
        assert entry["type"] == "BitstringStatusListEntry"
    assert not [error.message for error in VALIDATOR.iter_errors(claims)]
    subject = claims["credentialSubject"]
    assert subject["name"] == "Cora Ćosić" and subject["licenseNumber"] == number
    assert subject["id"] == f"http://registry.test/mediators/{certified.public_id}"
    assert subject["achievement"]["name"] == "Certified Mediator"
    assert subject["achievement"]["achievementType"] == "Certification"
    alignment = subject["result"][0]["alignment"]
    assert [a["targetName"] for a in alignment] == ["Intercultural"]
    granted = certified.current_certification.granted_on
    assert claims["validFrom"].startswith(granted.isoformat())
    found = client.get(f"/api/v1/verify/{number}").get_json()
    assert claims["validUntil"].startswith(found["valid_until"])
    assert claims["iss"] == claims["issuer"]["id"] == "http://registry.test/credentials/issuer"
    assert claims["exp"] > claims["nbf"]


def test_the_issuer_profile_and_jwks_publish_the_key(client, session, certified):
    token = credential_of(client, certified.current_certification.certificate_number)
    kid = jwt.get_unverified_header(token)["kid"]
    assert [key["kid"] for key in jwks(client)["keys"]] == [kid]
    profile = client.get("/credentials/issuer").get_json()
    assert profile["type"] == ["Profile"] and profile["jwks"]["keys"][0]["kid"] == kid
    assert client.get("/.well-known/jwks.json").headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("status", ["lapsed", "suspended", "struck", "revoked", "applicant"])
def test_no_credential_for_a_certification_that_is_not_certified(client, session, today, status):
    set_fees(session, years=range(today.year - 4, today.year + 3))
    person = make_mediator(session, name="Nora Notvalid")
    days_ago = {"lapsed": 400, "struck": 800, "applicant": 10}.get(status, 100)
    certification = grant(
        session, person, on=today - timedelta(days=days_ago), paid=status != "applicant"
    )
    if status in ("suspended", "revoked"):
        action = suspend_certification if status == "suspended" else revoke_certification
        action(
            session,
            certification,
            on=today,
            reason="Panel.",
            today=today,
            now=utcnow(),
            actor=staff_user(session),
        )
    session.commit()
    response = client.get(f"/api/v1/verify/{certification.certificate_number}/credential")
    assert response.status_code == 404
    assert "not currently certified" in response.get_json()["error"]["message"]


def test_a_dual_holder_gets_each_certification(client, session, certified, today):
    advocate = grant_certification(
        session,
        certified,
        certification_type=CertificationType.ADVOCATE,
        granted_on=today - timedelta(days=20),
        today=today,
        now=utcnow(),
        actor=staff_user(session),
        check_prerequisites=False,
    )
    session.commit()
    base = f"/api/v1/mediators/{certified.public_id}/credential"
    as_mediator = decode(client, client.get(base).get_data(as_text=True))
    as_advocate = decode(client, client.get(f"{base}?type=advocate").get_data(as_text=True))
    assert as_advocate["credentialSubject"]["licenseNumber"] == advocate.certificate_number
    assert as_advocate["credentialSubject"]["achievement"]["name"] == (
        "Certified Mediation Advocate"
    )
    assert as_mediator["credentialSubject"]["achievement"]["name"] == "Certified Mediator"
    # Each certification has its own entries in the lists.
    assert as_mediator["credentialStatus"][0]["id"] != as_advocate["credentialStatus"][0]["id"]
    assert client.get(f"{base}?type=judge").status_code == 400


def test_status_bits_follow_the_lifecycle(client, session, today):
    """Certified, lapsed, renewed, suspended, lifted, struck, revoked and re-granted."""
    set_fees(session, years=range(today.year - 5, today.year + 3))
    staff = staff_user(session)
    lena = make_mediator(session, name="Lena Lifecycle")
    first = grant(session, lena, on=today - timedelta(days=100))
    session.commit()
    claims = decode(client, credential_of(client, first.certificate_number))
    assert bits(client, claims) == {"revocation": False, "suspension": False}
    suspend_certification(
        session, first, on=today, reason="Panel.", today=today, now=utcnow(), actor=staff
    )
    session.commit()
    assert bits(client, claims) == {"revocation": False, "suspension": True}
    lift_suspension(
        session, first, on=today, reason="Cleared.", today=today, now=utcnow(), actor=staff
    )
    session.commit()
    assert bits(client, claims) == {"revocation": False, "suspension": False}
    revoke_certification(
        session, first, on=today, reason="Breach.", today=today, now=utcnow(), actor=staff
    )
    session.commit()
    assert bits(client, claims) == {"revocation": True, "suspension": False}
    # A new grant is a new credential with its own clear bits; the old one stays revoked.
    second = grant(session, lena, on=today)
    session.commit()
    renewed = decode(client, credential_of(client, second.certificate_number))
    assert bits(client, renewed) == {"revocation": False, "suspension": False}
    assert bits(client, claims) == {"revocation": True, "suspension": False}


def test_the_daily_job_sets_the_bits_of_lapse_and_strike(client, session, today):
    set_fees(session, years=range(today.year - 5, today.year + 3))
    granted = today - timedelta(days=360)
    mara = make_mediator(session, name="Mara Lapse")
    certification = grant(session, mara, on=granted)
    session.commit()
    claims = decode(client, credential_of(client, certification.certificate_number))
    covered = date.fromisoformat(claims["validUntil"][:10])
    run_lifecycle(session, covered + timedelta(days=1), utcnow())
    session.commit()
    assert bits(client, claims) == {"revocation": False, "suspension": True}
    pay(session, certification, on=today)  # renewal inside grace
    session.commit()
    assert bits(client, claims) == {"revocation": False, "suspension": False}
    run_lifecycle(session, covered + timedelta(days=400 + 366), utcnow())
    session.commit()
    assert bits(client, claims) == {"revocation": True, "suspension": False}


def test_rebuilding_the_lists_gives_the_same_bits(client, session, certified, today):
    claims = decode(
        client, credential_of(client, certified.current_certification.certificate_number)
    )
    suspend_certification(
        session,
        certified.current_certification,
        on=today,
        reason="Panel.",
        today=today,
        now=utcnow(),
        actor=staff_user(session),
    )
    session.commit()
    before = bits(client, claims)
    assert rebuild_status_lists(session) >= 1
    session.commit()
    assert bits(client, claims) == before == {"revocation": False, "suspension": True}


def test_indexes_are_drawn_at_random_not_in_grant_order(session, today):
    set_fees(session, years=range(today.year - 1, today.year + 2))
    people = [make_mediator(session, name=f"Person {n}") for n in range(12)]
    for person in people:
        grant(session, person, on=today - timedelta(days=10))
    session.commit()
    indexes = [
        session.get(StatusEntry, person.current_certification.id).status_index for person in people
    ]
    assert len(set(indexes)) == len(indexes)
    assert all(0 <= i < LIST_SIZE for i in indexes)
    assert indexes != sorted(indexes)  # 12 draws in order by chance: 1 in 479 million


def test_status_lists_are_cheap_to_poll(client, session, certified):
    claims = decode(
        client, credential_of(client, certified.current_certification.certificate_number)
    )
    path = claims["credentialStatus"][0]["statusListCredential"].removeprefix(
        "http://registry.test"
    )
    first = client.get(path)
    assert "max-age=300" in first.headers["Cache-Control"] and first.headers["ETag"]
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/credentials/status/0/unknown").status_code == 404
    assert client.get("/credentials/status/999/revocation").status_code == 404


def test_rotation_keeps_old_credentials_and_retirement_ends_them(
    app, client, session, certified, keys
):
    number = certified.current_certification.certificate_number
    old = credential_of(client, number)
    old_kid = jwt.get_unverified_header(old)["kid"]
    new_kid = rotate_key(keys)
    new = credential_of(client, number)
    assert jwt.get_unverified_header(new)["kid"] == new_kid != old_kid
    assert {key["kid"] for key in jwks(client)["keys"]} == {old_kid, new_kid}
    assert decode(client, old)["credentialSubject"]["licenseNumber"] == number
    retire_key(keys, old_kid)
    assert [key["kid"] for key in jwks(client)["keys"]] == [new_kid]
    with pytest.raises(jwt.InvalidKeyError):
        decode(client, old)
    assert decode(client, new)["credentialSubject"]["licenseNumber"] == number
    result = verify_credential(session, old, utcnow())
    assert not result.valid and "retired" in result.reason


# -- Checking a credential someone shows you ------------------------------------------------


def tampered(token: str) -> str:
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["name"] = "Someone Else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{signature}"


def foreign(token: str) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": "x"})


def test_the_verify_page_says_plainly_what_holds(client, session, certified, today):
    token = credential_of(client, certified.current_certification.certificate_number)
    page = post_form(client, "/verify/credential", {"token": token}).get_data(as_text=True)
    assert "A valid credential" in page and "Cora Ćosić" in page
    assert "Not revoked." in page and "Not suspended." in page and "Certified today" in page
    for bad, reason in [
        (tampered(token), "the credential was altered"),
        (foreign(token), "not signed by any key the registry publishes"),
        ("not a credential", "not a credential in JWT form"),
        ("", "Nothing was given"),
    ]:
        response = post_form(client, "/verify/credential", {"token": bad})
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert "Not a valid credential" in html and reason in html, reason


def test_an_uploaded_file_is_checked_too(client, session, certified):
    token = credential_of(client, certified.current_certification.certificate_number)
    response = post_form(
        client,
        "/verify/credential",
        {"upload": (io.BytesIO(token.encode()), "credential.jwt")},
    )
    assert response.status_code == 200 and "A valid credential" in response.get_data(as_text=True)


def test_suspension_and_expiry_are_reasons(client, session, certified, today):
    token = credential_of(client, certified.current_certification.certificate_number)
    claims = decode(client, token)
    later = date.fromisoformat(claims["validUntil"][:10]) + timedelta(days=2)
    expired = verify_credential(session, token, datetime.combine(later, time(12), UTC))
    assert not expired.valid and expired.reason.startswith("It expired after")
    suspend_certification(
        session,
        certified.current_certification,
        on=today,
        reason="Panel.",
        today=today,
        now=utcnow(),
        actor=staff_user(session),
    )
    session.commit()
    suspended = verify_credential(session, token, utcnow())
    assert not suspended.valid and "It is suspended" in suspended.reason
    assert suspended.today.status.value == "suspended"


def test_the_keyring_is_reread_after_a_rotation(ctx, keys):
    first = keyring().current_kid
    rotate_key(keys)
    assert keyring().current_kid != first
