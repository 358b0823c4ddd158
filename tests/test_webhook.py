"""The payment provider's webhook: signatures, validation, recording each payment once."""

import json
import time
from collections.abc import Callable
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.accounts.models import Role
from registry.contributions import services, webhook
from registry.contributions.models import HeldPayment, Invoice, Payment
from registry.contributions.services import issue_invoice
from registry.contributions.webhook import SignatureError, sign, verify_signature
from registry.database import utcnow
from registry.events.models import Event
from registry.mail.models import OutboxMessage
from registry.mediators.models import Status
from registry.mediators.status import certification_standing
from registry.reference import format_money
from tests.conftest import post_form
from tests.factories import PASSWORD, grant, make_mediator, make_user, open_invoice, set_fees

D = date.fromisoformat
URL = "/payments/webhook"
SECRET = "whsec-test"
GRANTED = D("2024-01-01")
# The 2024 period is paid; the 2025 one is not, so on TODAY the certification is lapsed.
TODAY = D("2025-03-01")
PAID_ON = D("2025-02-20")


@pytest.fixture
def configured(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "PAYMENT_WEBHOOK_SECRET", SECRET)
    monkeypatch.setattr(webhook, "local_today", lambda: TODAY)


@pytest.fixture
def invoice(app: Flask, session: Session, configured: None) -> Invoice:
    """The open 2025 invoice of a lapsed certification, flushed for the app to see."""
    with app.app_context():
        set_fees(session)
        certification = grant(session, make_mediator(session), on=GRANTED)
        invoice = open_invoice(session, certification)
        session.flush()
    return invoice


def notice(invoice: Invoice, /, **changes: object) -> dict[str, object]:
    return {
        "reference": "pay_3Nf8x",
        "invoice": invoice.number,
        "amount_minor": invoice.balance_minor,
        "currency": "EUR",
        "paid_on": PAID_ON.isoformat(),
        **changes,
    }


def post(client: FlaskClient, body: bytes, signature: str | None):  # type: ignore[no-untyped-def]
    headers = {} if signature is None else {"Registry-Signature": signature}
    return client.post(URL, data=body, headers=headers, content_type="application/json")


def deliver(client: FlaskClient, payload: dict | bytes, *, secret: str = SECRET):  # type: ignore[no-untyped-def]
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return post(client, body, sign(secret, body, int(time.time())))


def row_counts(session: Session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count(Payment.id))),
        session.scalar(select(func.count(Event.id))),
    )


def status_on(session: Session, app: Flask, invoice: Invoice, day: date) -> Status:
    grace = app.config["GRACE_PERIOD_DAYS"]
    return certification_standing(session, invoice.certification, day, grace).status


def test_signed_payment_is_recorded_and_restores_certification(app, client, session, invoice):
    assert status_on(session, app, invoice, TODAY) is Status.LAPSED
    response = deliver(client, notice(invoice))
    assert response.status_code == 201
    payment = session.scalars(select(Payment).where(Payment.invoice_id == invoice.id)).one()
    assert response.get_json() == {
        "status": "recorded",
        "payment_id": payment.id,
        "invoice": invoice.number,
        "balance_minor": 0,
        "certification_status": "certified",
    }
    assert (payment.source, payment.provider_reference) == ("provider", "pay_3Nf8x")
    assert (payment.amount_minor, payment.received_on, payment.recorded_by) == (
        15000,
        PAID_ON,
        None,
    )
    session.refresh(invoice)
    assert invoice.settled_on == PAID_ON
    assert status_on(session, app, invoice, TODAY) is Status.CERTIFIED
    event = session.scalars(select(Event).where(Event.action == "payment.recorded")).all()[-1]
    assert (event.subject_id, event.actor, event.data["source"]) == (
        invoice.number,
        None,
        "provider",
    )


def test_the_same_reference_again_is_a_duplicate(client, session, invoice):
    first = deliver(client, notice(invoice)).get_json()
    counts = row_counts(session)
    again = deliver(client, notice(invoice, amount_minor=99))
    assert again.status_code == 200
    assert again.get_json() == {"status": "duplicate", "payment_id": first["payment_id"]}
    assert row_counts(session) == counts
    assert (
        session.scalar(select(func.count(Payment.id)).where(Payment.invoice_id == invoice.id)) == 1
    )


def test_a_delivery_that_loses_the_race_is_a_duplicate(client, session, invoice, monkeypatch):
    first = deliver(client, notice(invoice)).get_json()
    counts = row_counts(session)
    lookup, lookups = services.recorded_with_reference, []

    def blind(session: Session, reference: str) -> Payment | None:
        """Miss, as a delivery does whose twin commits just after its checks."""
        lookups.append(reference)
        return None

    # Both the webhook's early check and the payment service's own look blind.
    monkeypatch.setattr(webhook, "recorded_with_reference", blind)
    monkeypatch.setattr(services, "recorded_with_reference", blind)
    again = deliver(client, notice(invoice))
    assert again.status_code == 200
    assert again.get_json() == {"status": "duplicate", "payment_id": first["payment_id"]}
    assert lookups == ["pay_3Nf8x", "pay_3Nf8x"]
    assert lookup(session, "pay_3Nf8x").id == first["payment_id"]
    assert row_counts(session) == counts
    assert session.scalar(select(func.count(HeldPayment.id))) == 0


@pytest.mark.parametrize("case", ["100 times the amount owed", "an invoice already paid"])
def test_an_overpayment_or_a_paid_invoice_is_held_for_staff(app, client, session, invoice, case):
    make_user(session, email="support@example.org", roles=[Role.SUPPORT])
    make_user(session, email="admin@example.org", roles=[Role.ADMINISTRATOR])
    make_user(session, email="board@example.org", roles=[Role.BOARD_MEMBER])
    owed = invoice.balance_minor
    if case == "an invoice already paid":
        assert deliver(client, notice(invoice, reference="pay_first")).status_code == 201
        amount, reason = owed, f"Invoice {invoice.number} is already settled"
    else:
        amount = owed * 100
        reason = f"It pays {format_money(amount, 'EUR')} where {format_money(owed, 'EUR')} is owed"
    booked = session.scalar(select(func.count(Payment.id)))
    response = deliver(client, notice(invoice, reference="pay_big", amount_minor=amount))
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "held" and reason in body["reason"]
    assert session.scalar(select(func.count(Payment.id))) == booked  # nothing more is booked
    held = session.scalar(select(HeldPayment))
    assert (held.provider_reference, held.amount_minor, held.status) == ("pay_big", amount, "held")
    # Payment staff are told, each by a message of their own.
    told = session.scalars(
        select(OutboxMessage).where(OutboxMessage.subject.startswith("A payment is held"))
    ).all()
    addresses = [message.to_address for message in told]
    assert {"admin@example.org", "support@example.org"} <= set(addresses)
    assert "board@example.org" not in addresses and len(set(addresses)) == len(addresses)
    assert "pay_big" in told[0].body_text and reason in told[0].body_text
    # The same notice again is a duplicate, not a second hold.
    again = deliver(client, notice(invoice, reference="pay_big", amount_minor=amount))
    assert again.status_code == 200
    assert again.get_json() == {"status": "duplicate", "held_payment_id": held.id}
    assert session.scalar(select(func.count(HeldPayment.id))) == 1


def held_payment(client, session, invoice) -> HeldPayment:
    make_user(session, email="support@example.org", roles=[Role.SUPPORT])
    amount = invoice.balance_minor * 100
    assert deliver(client, notice(invoice, amount_minor=amount)).status_code == 202
    post_form(client, "/login", {"email": "support@example.org", "password": PASSWORD})
    return session.scalar(select(HeldPayment))


def test_staff_book_a_held_payment(client, session, invoice):
    held = held_payment(client, session, invoice)
    page = client.get("/staff/held-payments").get_data(as_text=True)
    assert held.provider_reference in page and held.reason in page
    response = post_form(
        client,
        f"/staff/held-payments/{held.id}",
        {"decision": "book", "note": "Credit for the next period"},
        form_url="/staff/held-payments",
    )
    assert response.status_code == 303
    payment = session.scalar(select(Payment).where(Payment.provider_reference == "pay_3Nf8x"))
    assert payment.amount_minor == held.amount_minor
    session.refresh(held)
    assert held.status == "booked" and held.decided_by.email == "support@example.org"
    assert "Overpaid by" in client.get("/staff/held-payments").get_data(as_text=True)


def test_staff_return_a_held_payment_saying_how(client, session, invoice):
    held = held_payment(client, session, invoice)
    url = f"/staff/held-payments/{held.id}"
    post_form(client, url, {"decision": "return", "note": ""}, form_url="/staff/held-payments")
    assert "Say how the money goes back" in client.get("/staff/held-payments").get_data(
        as_text=True
    )
    session.refresh(held)
    assert held.status == "held"
    note = "Refunded through the provider, ref re_81"
    post_form(client, url, {"decision": "return", "note": note}, form_url="/staff/held-payments")
    session.refresh(held)
    assert (held.status, held.decision_note) == ("returned", note)
    assert session.scalar(select(Payment).where(Payment.provider_reference == "pay_3Nf8x")) is None
    assert "No payments are held." in client.get("/staff/held-payments").get_data(as_text=True)


SIGNATURES: dict[str, tuple[Callable[[bytes, int], str | None], str]] = {
    "forged MAC": (lambda body, now: sign(SECRET, b"{}", now), "signature does not match"),
    "wrong secret": (lambda body, now: sign("whsec-other", body, now), "signature does not match"),
    "missing header": (lambda body, now: None, "missing Registry-Signature header"),
    "malformed header": (lambda body, now: f"v1={'0' * 64}", "malformed Registry-Signature"),
    "replay, 10 minutes old": (lambda body, now: sign(SECRET, body, now - 600), "300 seconds"),
    "10 minutes in the future": (lambda body, now: sign(SECRET, body, now + 600), "300 seconds"),
}


@pytest.mark.parametrize("case", list(SIGNATURES))
def test_untrusted_signature_is_refused_and_nothing_written(client, session, invoice, caplog, case):
    make_signature, reason = SIGNATURES[case]
    body = json.dumps(notice(invoice)).encode()
    now = int(time.time())
    counts = row_counts(session)
    response = post(client, body, make_signature(body, now))
    assert response.status_code == 400
    assert reason in response.get_json()["error"]
    expected_mac = sign(SECRET, body, now).split("v1=")[1]
    assert expected_mac not in response.get_data(as_text=True)
    assert row_counts(session) == counts
    assert f"refused from 127.0.0.1: {response.get_json()['error']}" in caplog.text


def test_unconfigured_webhook_is_unavailable(app, client, session, invoice, monkeypatch):
    monkeypatch.setitem(app.config, "PAYMENT_WEBHOOK_SECRET", "")
    counts = row_counts(session)
    response = deliver(client, notice(invoice), secret="")
    assert response.status_code == 503
    assert response.get_json() == {"error": "webhook not configured"}
    assert row_counts(session) == counts


def test_notice_must_be_sent_as_json(client, session, invoice):
    body = json.dumps(notice(invoice)).encode()
    response = client.post(
        URL,
        data=body,
        headers={"Registry-Signature": sign(SECRET, body, int(time.time()))},
        content_type="text/plain",
    )
    assert response.status_code == 415


MISSING = object()
INVALID_NOTICES: dict[str, tuple[object, str]] = {
    "malformed JSON": (b'{"reference": "pay_1",', "the body is not valid JSON"),
    "not an object": (b'["pay_1"]', "the body must be a JSON object"),
    "missing field": ({"currency": MISSING}, "currency is missing"),
    "null field": ({"reference": None}, "reference must be a string"),
    "amount as string": ({"amount_minor": "15000"}, "amount_minor must be an integer"),
    "amount as float": ({"amount_minor": 15000.0}, "amount_minor must be an integer"),
    "amount as bool": ({"amount_minor": True}, "amount_minor must be an integer"),
    "negative amount": ({"amount_minor": -15000}, "amount_minor must be more than zero"),
    "zero amount": ({"amount_minor": 0}, "amount_minor must be more than zero"),
    "huge amount": ({"amount_minor": 2**31}, "amount_minor must be at most 2147483647"),
    "unknown currency": ({"currency": "ZZZ"}, "unknown currency 'ZZZ'"),
    "lower-case currency": ({"currency": "eur"}, "unknown currency 'eur'"),
    "future paid_on": ({"paid_on": "2025-03-02"}, "paid_on 2025-03-02 is in the future"),
    "impossible paid_on": ({"paid_on": "2025-02-30"}, "is not a date like 2026-11-20"),
    "paid_on not ISO": ({"paid_on": "20/02/2025"}, "is not a date like 2026-11-20"),
    "empty reference": ({"reference": ""}, "reference must be 1 to 100 characters"),
    "long reference": ({"reference": "x" * 101}, "reference must be 1 to 100 characters"),
    "not an invoice number": ({"invoice": "ABC"}, "invoice 'ABC' is not an invoice number"),
    "unknown invoice": ({"invoice": "INV-9999999"}, "unknown invoice INV-9999999"),
    "huge invoice number": ({"invoice": "INV-999999999999"}, "unknown invoice INV-999999999999"),
    "wrong currency": ({"currency": "USD"}, " is in EUR, not USD."),
}


@pytest.mark.parametrize("case", list(INVALID_NOTICES))
def test_invalid_notice_is_refused_and_nothing_written(client, session, invoice, case):
    payload, message = INVALID_NOTICES[case]
    if isinstance(payload, dict):
        payload = {
            key: value for key, value in notice(invoice, **payload).items() if value is not MISSING
        }
    counts = row_counts(session)
    response = deliver(client, payload)
    assert response.status_code == 422
    assert message in response.get_json()["error"]
    assert row_counts(session) == counts
    session.refresh(invoice)
    assert invoice.settled_on is None


def test_refused_payment_says_why_and_writes_nothing(app, client, session, invoice):
    with app.app_context():
        later = issue_invoice(
            session,
            invoice.certification,
            period_start=D("2026-01-01"),
            today=TODAY,
            now=utcnow(),
        )
        session.flush()
    counts = row_counts(session)
    response = deliver(client, notice(later))
    assert response.status_code == 422
    assert response.get_json() == {
        "error": f"Invoice {invoice.number} for an earlier period is still open; settle it first."
    }
    assert row_counts(session) == counts


BODY = b'{"reference": "pay_1"}'
NOW = 1_790_000_000


def test_verify_signature_accepts_what_sign_makes():
    verify_signature(SECRET, sign(SECRET, BODY, NOW), BODY, NOW, 300)


@pytest.mark.parametrize("age", [-300, 300])
def test_verify_signature_accepts_the_edges_of_the_tolerance(age):
    verify_signature(SECRET, sign(SECRET, BODY, NOW - age), BODY, NOW, 300)


def test_verify_signature_reads_spaces_upper_case_and_extra_fields():
    timestamp, mac = sign(SECRET, BODY, NOW).split(",v1=")
    verify_signature(SECRET, f"{timestamp}, v1={mac.upper()},v0=x", BODY, NOW, 300)


@pytest.mark.parametrize(
    ("header", "body", "now", "reason"),
    [
        (None, BODY, NOW, "missing Registry-Signature header"),
        ("", BODY, NOW, "missing Registry-Signature header"),
        ("t=1790000000", BODY, NOW, "malformed"),
        (f"v1={'0' * 64}", BODY, NOW, "malformed"),
        (f"t=1790000000,v1={'0' * 63}", BODY, NOW, "malformed"),
        (f"t=1790000000,t=1790000000,v1={'0' * 64}", BODY, NOW, "malformed"),
        (f"t=١٧٩٠٠٠٠٠٠٠,v1={'0' * 64}", BODY, NOW, "malformed"),
        ("garbage", BODY, NOW, "malformed"),
        (sign(SECRET, BODY, NOW), BODY + b" ", NOW, "signature does not match"),
        (sign(SECRET, BODY, NOW - 301), BODY, NOW, "more than 300 seconds from now"),
        (sign(SECRET, BODY, NOW + 301), BODY, NOW, "more than 300 seconds from now"),
        (sign("whsec-other", BODY, NOW), BODY, NOW, "signature does not match"),
    ],
)
def test_verify_signature_refuses(header, body, now, reason):
    with pytest.raises(SignatureError, match=reason):
        verify_signature(SECRET, header, body, now, 300)


def test_verify_signature_needs_a_secret():
    with pytest.raises(ValueError, match="no webhook secret"):
        verify_signature("", sign("", BODY, NOW), BODY, NOW, 300)
