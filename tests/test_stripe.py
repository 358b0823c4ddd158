"""Online payment through Stripe: Pay now, the verified webhook, refunds and receipts.

The SDK talks to ``tests.fake_stripe`` (a local fake of the endpoints used) through
``STRIPE_API_BASE``; webhook events are shaped as Stripe's and signed as Stripe signs them, and
the app verifies them with ``stripe.Webhook.construct_event``.
"""

import io
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from registry.accounts.models import Role
from registry.clock import local_date, local_today
from registry.contributions.models import HeldPayment, Invoice, Payment, Refund, StripeEvent
from registry.events.models import Event
from registry.formatting import format_day as long_date
from registry.mail.models import OutboxMessage
from registry.mediators.models import Status
from registry.mediators.status import certification_standing
from registry.reference import format_money
from tests import fake_stripe
from tests.conftest import confirmation_page, post_form
from tests.factories import PASSWORD, grant, make_mediator, make_user, open_invoice, set_fees

WEBHOOK = "/payments/stripe/webhook"


@pytest.fixture(scope="module")
def fake():
    server = fake_stripe.FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_on(app, monkeypatch, fake):
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", fake_stripe.API_KEY)
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", fake_stripe.WEBHOOK_SECRET)
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", fake.base)
    monkeypatch.setitem(app.config, "REGISTRY_ADDRESS", "Laan 1; 2500 AA Den Haag")
    fake.reset()
    return fake


def sign_in(client, session, email, roles):
    sign_out(client)
    make_user(session, email=email, name=email.split("@")[0].title(), roles=roles)
    post_form(client, "/login", {"email": email, "password": PASSWORD})


@pytest.fixture
def lapsed(app, session):
    """A mediator with an account, lapsed today with the second period's invoice open."""
    with app.app_context():
        today = local_today()
        set_fees(session, years=range(today.year - 2, today.year + 2))
        user = make_user(
            session, email="marta@example.org", name="Marta Müller", roles=[Role.MEDIATOR]
        )
        mediator = make_mediator(session, name="Marta Müller", email="marta@example.org", user=user)
        grant(session, mediator, on=today - timedelta(days=395))
        open_invoice(session, mediator.current_certification)
        session.flush()
    return mediator


def invoice_of(session, mediator) -> Invoice:
    return open_invoice(session, mediator.current_certification)


def status_today(app, session, mediator) -> Status:
    with app.app_context():
        return certification_standing(
            session, mediator.current_certification, local_today(), app.config["GRACE_PERIOD_DAYS"]
        ).status


def deliver(client, payload: dict, *, secret=fake_stripe.WEBHOOK_SECRET, timestamp=None):
    body = json.dumps(payload).encode()
    header = fake_stripe.sign(body, secret=secret, timestamp=timestamp)
    return client.post(
        WEBHOOK, data=body, headers={"Stripe-Signature": header}, content_type="application/json"
    )


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def pay_now(client, invoice):
    return post_form(client, f"/my/invoices/{invoice.id}/pay", {}, form_url="/my/certification")


def start_checkout(client, session, invoice, fake) -> str:
    sign_in_mediator(client)
    response = pay_now(client, invoice)
    assert response.status_code == 303
    return response.headers["Location"].rsplit("/", 1)[1]


def sign_out(client):
    if client.get("/account").status_code == 200:
        post_form(client, "/logout", {}, form_url="/account")


def sign_in_mediator(client):
    sign_out(client)
    post_form(client, "/login", {"email": "marta@example.org", "password": PASSWORD})


def paid_event(fake, session_id, intent="pi_test_1", **changes):
    return fake_stripe.event("checkout.session.completed", fake.paid(session_id, intent, **changes))


# -- Pay now --------------------------------------------------------------------------------


def test_without_keys_there_is_no_pay_now(client, session, lapsed):
    sign_in_mediator(client)
    page = client.get("/my/certification").get_data(as_text=True)
    assert "Online payment is not configured" in page
    assert "Pay now" not in page
    assert (
        "form-action 'self';" in client.get("/my/certification").headers["Content-Security-Policy"]
    )
    assert pay_now(client, invoice_of(session, lapsed)).status_code == 303


def test_pay_now_sends_the_mediator_to_one_checkout_session(client, session, lapsed, stripe_on):
    invoice = invoice_of(session, lapsed)
    sign_in_mediator(client)
    response = client.get("/my/certification")
    page = response.get_data(as_text=True)
    assert "Pay now" in page and "Online payment is not configured" not in page
    # Browsers hold the redirect after the form's POST to form-action: Checkout is let in.
    policy = response.headers["Content-Security-Policy"]
    assert f"form-action 'self' {stripe_on.base};" in policy
    first = pay_now(client, invoice)
    # A double click: a second form sent with its own token gets the same session.
    second = pay_now(client, invoice)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert first.headers["Location"].startswith(f"{stripe_on.base}/pay/cs_test_")
    assert len(stripe_on.sessions) == 1
    (method, path, params, key), again = stripe_on.requests
    assert again[3] == key and key.startswith(f"checkout-{invoice.number}-15000-EUR-")
    assert (method, path, params["mode"]) == ("POST", "/v1/checkout/sessions", "payment")
    item = params["line_items"]["0"]
    assert item["quantity"] == "1"
    assert item["price_data"]["unit_amount"] == "15000"
    assert item["price_data"]["currency"] == "eur"
    assert params["client_reference_id"] == invoice.number
    assert params["metadata"]["invoice"] == invoice.number
    assert params["customer_email"] == "marta@example.org"
    assert params["success_url"].startswith("http://registry.test/my/certification?checkout=paid")
    assert "checkout=cancelled" in params["cancel_url"]
    started = count(session, Event, Event.action == "payment.checkout_started")
    assert started == 2  # both clicks are on record, with the one session id
    assert count(session, Payment, Payment.invoice_id == invoice.id) == 0


def test_the_same_form_sent_twice_asks_stripe_once(client, session, lapsed, stripe_on):
    invoice = invoice_of(session, lapsed)
    sign_in_mediator(client)
    from tests.conftest import form_tokens

    tokens = form_tokens(client, "/my/certification")
    url = f"/my/invoices/{invoice.id}/pay"
    assert client.post(url, data=tokens).status_code == 303
    again = client.post(url, data=tokens, headers={"Referer": "http://localhost/my/certification"})
    assert again.status_code in (303, 409)
    assert len(stripe_on.requests) == 1


def test_a_struck_certification_cannot_pay(app, client, session, lapsed, stripe_on):
    with app.app_context():
        certification = lapsed.current_certification
        # Struck: the grace period after the covered year is over.
        certification.granted_on -= timedelta(days=800)
        for invoice in session.scalars(
            select(Invoice).where(Invoice.certification_id == certification.id)
        ):
            invoice.period_start -= timedelta(days=800)
            invoice.period_end -= timedelta(days=800)
            if invoice.settled_on:
                invoice.settled_on -= timedelta(days=800)
        for payment in session.scalars(select(Payment)):
            payment.received_on -= timedelta(days=800)
        session.flush()
    assert status_today(app, session, lapsed) is Status.STRUCK
    sign_in_mediator(client)
    page = client.get("/my/certification").get_data(as_text=True)
    assert "can no longer be paid, online or otherwise" in page
    assert ">Pay now</button>" not in page
    response = pay_now(client, invoice_of(session, lapsed))
    assert response.status_code == 303
    page = client.get("/my/certification").get_data(as_text=True)
    assert "Online payment is not possible now" in page and "only a new grant" in page
    assert stripe_on.requests == []


def test_stripe_refusing_the_session_is_said_and_nothing_changes(
    client, session, lapsed, stripe_on
):
    stripe_on.fail_next = "Amount must be at least €0.50 eur"
    sign_in_mediator(client)
    pay_now(client, invoice_of(session, lapsed))
    page = client.get("/my/certification").get_data(as_text=True)
    assert "Online payment is not possible now" in page
    assert count(session, Event, Event.action == "payment.checkout_started") == 0


# -- The webhook ----------------------------------------------------------------------------


def test_a_paid_checkout_is_recorded_and_certifies(app, client, session, lapsed, stripe_on):
    invoice = invoice_of(session, lapsed)
    session_id = start_checkout(client, session, invoice, stripe_on)
    assert status_today(app, session, lapsed) is Status.LAPSED
    created = int(time.time())
    response = deliver(client, paid_event(stripe_on, session_id, created=created))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "recorded"
    payment = session.scalars(select(Payment).where(Payment.invoice_id == invoice.id)).one()
    with app.app_context():
        day = local_date(datetime.fromtimestamp(created, UTC))
    assert (payment.source, payment.provider_reference, payment.stripe_checkout_session) == (
        "stripe",
        "pi_test_1",
        session_id,
    )
    assert (payment.amount_minor, payment.currency, payment.received_on) == (15000, "EUR", day)
    session.refresh(invoice)
    assert invoice.settled_on == day
    assert status_today(app, session, lapsed) is Status.CERTIFIED
    assert count(session, Event, Event.action == "stripe.recorded") == 1
    mail = session.scalars(
        select(OutboxMessage).where(OutboxMessage.subject.startswith("Payment received"))
    ).one()
    assert mail.to_address == "marta@example.org"
    (attachment,) = mail.attachments
    assert attachment.filename == f"receipt-RCT-{invoice.id:07d}.pdf"
    text = PdfReader(io.BytesIO(attachment.content)).pages[0].extract_text()
    assert "EUR 150.00" in text and invoice.number in text and "Stripe" in text


def test_a_completed_but_unpaid_checkout_waits_for_the_async_result(
    app, client, session, lapsed, stripe_on
):
    invoice = invoice_of(session, lapsed)
    session_id = start_checkout(client, session, invoice, stripe_on)
    unpaid = fake_stripe.event(
        "checkout.session.completed",
        {**stripe_on.paid(session_id, "pi_test_async"), "payment_status": "unpaid"},
    )
    assert deliver(client, unpaid).get_json()["status"] == "awaiting"
    assert count(session, Payment, Payment.invoice_id == invoice.id) == 0
    succeeded = fake_stripe.event(
        "checkout.session.async_payment_succeeded", stripe_on.paid(session_id, "pi_test_async")
    )
    assert deliver(client, succeeded).get_json()["status"] == "recorded"
    assert status_today(app, session, lapsed) is Status.CERTIFIED


def test_a_failed_async_payment_records_nothing(app, client, session, lapsed, stripe_on):
    invoice = invoice_of(session, lapsed)
    session_id = start_checkout(client, session, invoice, stripe_on)
    failed = fake_stripe.event(
        "checkout.session.async_payment_failed",
        {**stripe_on.paid(session_id, "pi_test_f"), "payment_status": "unpaid"},
    )
    assert deliver(client, failed).get_json()["status"] == "failed"
    assert count(session, Payment, Payment.invoice_id == invoice.id) == 0
    assert count(session, Event, Event.action == "stripe.failed") == 1
    assert status_today(app, session, lapsed) is Status.LAPSED
    (told,) = session.scalars(
        select(OutboxMessage).where(OutboxMessage.subject.contains("did not go through"))
    )
    assert told.to_address == "marta@example.org" and "EUR 150.00 is still owed" in told.body_text


def test_resent_and_out_of_order_events_count_once(app, client, session, lapsed, stripe_on):
    invoice = invoice_of(session, lapsed)
    session_id = start_checkout(client, session, invoice, stripe_on)
    completed = paid_event(stripe_on, session_id, "pi_test_once")
    assert deliver(client, completed).get_json()["status"] == "recorded"
    # The same event again (Stripe retries), and another event for the same PaymentIntent.
    assert deliver(client, completed).get_json()["status"] == "duplicate"
    late = fake_stripe.event(
        "checkout.session.async_payment_succeeded", stripe_on.paid(session_id, "pi_test_once")
    )
    assert deliver(client, late).get_json()["status"] == "duplicate"
    # An "unpaid" completion that arrives after the payment changes nothing.
    stale = fake_stripe.event(
        "checkout.session.completed",
        {**stripe_on.paid(session_id, "pi_test_once"), "payment_status": "unpaid"},
    )
    assert deliver(client, stale).get_json()["status"] == "awaiting"
    assert count(session, Payment, Payment.invoice_id == invoice.id) == 1
    assert count(session, StripeEvent) == 3
    assert status_today(app, session, lapsed) is Status.CERTIFIED


def test_a_session_the_registry_did_not_make_is_not_booked(client, session, lapsed, stripe_on):
    invoice = invoice_of(session, lapsed)
    session_id = start_checkout(client, session, invoice, stripe_on)
    foreign = paid_event(
        stripe_on, session_id, "pi_test_foreign", metadata={"invoice": invoice.number}
    )
    response = deliver(client, foreign)
    assert response.status_code == 200 and response.get_json()["status"] == "unmatched"
    assert count(session, Payment, Payment.invoice_id == invoice.id) == 0
    assert count(session, Event, Event.action == "stripe.unmatched") == 1


@pytest.mark.parametrize(
    ("amount", "currency", "outcome", "owed"),
    [
        (10000, "eur", "recorded", 5000),
        (20000, "eur", "held", 15000),
        (15000, "usd", "held", 15000),
    ],
)
def test_an_amount_or_currency_that_does_not_match(
    app, client, session, lapsed, stripe_on, amount, currency, outcome, owed
):
    invoice = invoice_of(session, lapsed)
    session_id = start_checkout(client, session, invoice, stripe_on)
    event = paid_event(stripe_on, session_id, "pi_test_odd", amount_total=amount, currency=currency)
    response = deliver(client, event)
    assert response.status_code == 200 and response.get_json()["status"] == outcome
    session.refresh(invoice)
    assert invoice.balance_minor == owed
    assert status_today(app, session, lapsed) is Status.LAPSED
    if outcome == "held":
        held = session.scalars(select(HeldPayment)).one()
        assert (held.source, held.stripe_checkout_session) == ("stripe", session_id)
        assert held.provider_reference == "pi_test_odd"
        # Shown to staff on the invoice page.
        sign_in(client, session, "support@example.org", [Role.SUPPORT])
        page = client.get(f"/staff/invoices/{invoice.id}").get_data(as_text=True)
        assert "Payments held for review" in page and held.reason in page
    else:
        assert "owes EUR 50.00" in client.get("/my/certification").get_data(as_text=True)


@pytest.mark.parametrize("case", ["forged", "stale", "missing"])
def test_a_bad_signature_is_refused_and_changes_nothing(client, session, lapsed, stripe_on, case):
    invoice = invoice_of(session, lapsed)
    session_id = start_checkout(client, session, invoice, stripe_on)
    event = paid_event(stripe_on, session_id)
    before = (count(session, Payment), count(session, Event), count(session, StripeEvent))
    if case == "forged":
        response = deliver(client, event, secret="whsec_someone_else")
    elif case == "stale":
        response = deliver(client, event, timestamp=int(time.time()) - 301)
    else:
        response = client.post(WEBHOOK, data=json.dumps(event), content_type="application/json")
    assert response.status_code == 400
    assert (count(session, Payment), count(session, Event), count(session, StripeEvent)) == before


def test_the_webhook_without_a_secret_is_unavailable(client, session):
    assert client.post(WEBHOOK, data=b"{}").status_code == 503


# -- Refunds --------------------------------------------------------------------------------


def paid_through_stripe(app, client, session, lapsed, fake, intent="pi_test_r"):
    invoice = invoice_of(session, lapsed)
    session_id = start_checkout(client, session, invoice, fake)
    assert deliver(client, paid_event(fake, session_id, intent)).status_code == 200
    sign_out(client)
    return session.scalars(select(Payment).where(Payment.provider_reference == intent)).one()


def refund(client, payment, amount: str):
    return post_form(
        client,
        f"/staff/payments/{payment.id}/refund",
        {"amount": amount, "currency": "EUR", "reason": "Paid twice by mistake", "confirmed": "1"},
        form_url=f"/staff/invoices/{payment.invoice_id}",
    )


@pytest.mark.parametrize(("amount", "minor"), [("150.00", 15000), ("40,00", 4000)])
def test_staff_refund_counts_once_stripe_confirms_it(
    app, client, session, lapsed, stripe_on, amount, minor
):
    payment = paid_through_stripe(app, client, session, lapsed, stripe_on)
    sign_in(client, session, "support@example.org", [Role.SUPPORT])
    page = client.get(f"/staff/invoices/{payment.invoice_id}").get_data(as_text=True)
    assert "Stripe" in page and "https://dashboard.stripe.com/test/payments/pi_test_r" in page
    first = post_form(
        client,
        f"/staff/payments/{payment.id}/refund",
        {"amount": amount, "currency": "EUR", "reason": "Paid twice by mistake"},
        form_url=f"/staff/invoices/{payment.invoice_id}",
    )
    confirmation_page(first, "Yes, refund through Stripe", "ask Stripe to refund")
    assert stripe_on.requests[-1][1] == "/v1/checkout/sessions"  # nothing asked yet
    assert refund(client, payment, amount).status_code == 303
    (_, path, params, _key) = stripe_on.requests[-1]
    assert (path, params["payment_intent"], params["amount"]) == (
        "/v1/refunds",
        "pi_test_r",
        str(minor),
    )
    asked = session.scalars(select(Refund)).one()
    assert (asked.status, asked.amount_minor) == ("requested", minor)
    # Not counted until Stripe confirms it.
    assert status_today(app, session, lapsed) is Status.CERTIFIED
    charge = fake_stripe.charge_refunded(
        "pi_test_r",
        amount=15000,
        refunded=minor,
        refunds=[{"id": asked.stripe_refund_id, "amount": minor, "status": "succeeded"}],
    )
    response = deliver(client, fake_stripe.event("charge.refunded", charge))
    assert response.get_json()["status"] == "refunded"
    session.expire_all()
    assert asked.status == "refunded" and asked.refunded_on == local_today_in(app)
    assert payment.invoice.balance_minor == minor
    assert payment.invoice.settled_on is None
    assert status_today(app, session, lapsed) is Status.LAPSED
    (told,) = session.scalars(
        select(OutboxMessage).where(OutboxMessage.subject.startswith("Refund"))
    )
    assert told.to_address == "marta@example.org"
    assert f"{format_money(minor, 'EUR')} of your payment of EUR 150.00" in told.body_text
    assert "Your status today: lapsed (grace period)." in told.body_text.replace("\n", " ")
    # The same confirmation again changes nothing.
    again = deliver(client, fake_stripe.event("charge.refunded", charge))
    assert again.get_json()["status"] == "duplicate"
    assert count(session, Refund) == 1
    page = client.get(f"/staff/invoices/{payment.invoice_id}").get_data(as_text=True)
    today = local_today_in(app)
    assert f"refunded {today.day} {today:%B %Y}" in page


def local_today_in(app):
    with app.app_context():
        return local_today()


def test_a_refund_made_in_stripes_dashboard_arrives_by_the_webhook(
    app, client, session, lapsed, stripe_on
):
    paid_through_stripe(app, client, session, lapsed, stripe_on, intent="pi_test_d")
    charge = fake_stripe.charge_refunded("pi_test_d", amount=15000, refunded=15000)
    assert deliver(client, fake_stripe.event("charge.refunded", charge)).status_code == 200
    made = session.scalars(select(Refund)).one()
    assert (made.amount_minor, made.requested_by, made.status) == (15000, None, "refunded")
    assert status_today(app, session, lapsed) is Status.LAPSED
    # An older, smaller total arriving late changes nothing.
    older = fake_stripe.charge_refunded("pi_test_d", amount=15000, refunded=5000)
    assert deliver(client, fake_stripe.event("charge.refunded", older)).get_json()["status"] == (
        "duplicate"
    )
    assert count(session, Refund) == 1


def test_a_refund_before_its_payment_is_deferred_until_stripe_resends_it(
    app, client, session, lapsed, stripe_on
):
    charge = fake_stripe.charge_refunded("pi_test_early", amount=15000, refunded=15000)
    early = fake_stripe.event("charge.refunded", charge)
    response = deliver(client, early)
    assert response.status_code == 409
    assert count(session, StripeEvent) == 0 and count(session, Refund) == 0
    paid_through_stripe(app, client, session, lapsed, stripe_on, intent="pi_test_early")
    assert deliver(client, early).get_json()["status"] == "refunded"
    assert status_today(app, session, lapsed) is Status.LAPSED


def test_a_refund_stripe_could_not_make_is_marked_failed(app, client, session, lapsed, stripe_on):
    payment = paid_through_stripe(app, client, session, lapsed, stripe_on)
    sign_in(client, session, "support@example.org", [Role.SUPPORT])
    assert refund(client, payment, "150").status_code == 303
    asked = session.scalars(select(Refund)).one()
    failed = {"id": asked.stripe_refund_id, "object": "refund", "status": "failed",
              "failure_reason": "expired_or_canceled_card", "amount": 15000}  # fmt: skip
    response = deliver(client, fake_stripe.event("refund.failed", failed))
    assert response.get_json()["status"] == "refund_failed"
    session.expire_all()
    assert asked.status == "failed" and payment.refundable_minor == 15000
    assert status_today(app, session, lapsed) is Status.CERTIFIED
    page = client.get(f"/staff/invoices/{payment.invoice_id}").get_data(as_text=True)
    assert "failed at Stripe" in page


def test_a_refund_cannot_exceed_what_is_left(app, client, session, lapsed, stripe_on):
    payment = paid_through_stripe(app, client, session, lapsed, stripe_on)
    sign_in(client, session, "support@example.org", [Role.SUPPORT])
    refund(client, payment, "150.01")
    page = client.get(f"/staff/invoices/{payment.invoice_id}").get_data(as_text=True)
    assert "At most EUR 150.00 of this payment can be refunded" in page
    assert count(session, Refund) == 0
    assert stripe_on.requests[-1][1] == "/v1/checkout/sessions"


# -- Receipts -------------------------------------------------------------------------------


def test_the_mediator_downloads_the_receipt_of_a_settled_invoice(
    app, client, session, lapsed, stripe_on
):
    payment = paid_through_stripe(app, client, session, lapsed, stripe_on)
    sign_in_mediator(client)
    page = client.get("/my/certification").get_data(as_text=True)
    url = f"/my/invoices/{payment.invoice_id}/receipt.pdf"
    assert url in page
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    invoice = payment.invoice
    for expected in (
        f"RECEIPT NUMBER RCT-{invoice.id:07d}",
        "Mediator Registry\nLaan 1\n2500 AA Den Haag",
        "RECEIVED FROM Marta Müller <marta@example.org>",
        f"FOR Listing contribution, invoice {invoice.number}",
        f"PERIOD COVERED {long_date(invoice.period_start)} to {long_date(invoice.period_end)}",
        "CONTRIBUTION EUR 150.00",
        "WAIVER none",
        "CURRENCY EUR",
        "pi_test_r EUR 150.00",
        "(Stripe)",
        "Total received EUR 150.00",
    ):
        assert expected in text, expected
    # The first period, settled by staff long ago, has its receipt too; another's is 404.
    first = session.scalars(
        select(Invoice).where(Invoice.settled_on.is_not(None), Invoice.id != invoice.id)
    ).first()
    assert client.get(f"/my/invoices/{first.id}/receipt.pdf").status_code == 200
    sign_in(client, session, "other@example.org", [Role.MEDIATOR])
    assert client.get(url).status_code == 404


def test_an_unsettled_invoice_has_no_receipt(client, session, lapsed):
    sign_in_mediator(client)
    invoice = invoice_of(session, lapsed)
    assert client.get(f"/my/invoices/{invoice.id}/receipt.pdf").status_code == 404


def test_a_payment_staff_record_is_mailed_with_the_receipt(app, client, session, lapsed):
    invoice = invoice_of(session, lapsed)
    sign_in(client, session, "support@example.org", [Role.SUPPORT])
    today = local_today_in(app).isoformat()
    url = f"/staff/invoices/{invoice.id}/payments"
    form_url = f"/staff/mediators/{lapsed.public_id}"
    data = {"amount": "100", "currency": "EUR", "received_on": today, "confirmed": "1"}
    post_form(client, url, data, form_url=form_url)
    partial = session.scalars(
        select(OutboxMessage).where(OutboxMessage.subject.startswith("Payment received"))
    ).one()
    assert (
        partial.attachments == [] and "Still owed on this invoice: EUR 50.00" in partial.body_text
    )
    post_form(client, url, {**data, "amount": "50"}, form_url=form_url)
    settled = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.subject.startswith("Payment received"))
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert "The invoice is settled. Your receipt is attached" in settled.body_text
    (attachment,) = settled.attachments
    text = PdfReader(io.BytesIO(attachment.content)).pages[0].extract_text()
    assert "Bank transfer or other payment recorded by the registry" in text.replace("\n", " ")
    assert "Total received EUR 150.00" in text
    page = client.get(f"/staff/invoices/{invoice.id}").get_data(as_text=True)
    assert "Recorded by staff" in page and "Refund through Stripe" not in page
