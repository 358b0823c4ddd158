"""The register's pages: what mediators and staff see, and every form's bad input."""

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from registry.accounts.models import Role
from registry.clock import local_today
from registry.contributions.models import FeeRate, Invoice, Payment, Waiver
from registry.events.models import Event
from registry.mediators.models import Certification, Mediator, Status
from tests.conftest import confirmation_page, csrf_token, post_form
from tests.factories import (
    PASSWORD,
    grant,
    make_digest,
    make_mediator,
    make_program,
    make_user,
    open_invoice,
    set_fees,
)


def sign_in(client, session, email, roles):
    user = make_user(session, email=email, name=email.split("@")[0].title(), roles=roles)
    post_form(client, "/login", {"email": email, "password": PASSWORD})
    return user


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def lapsed(app, session):
    """A mediator with an account, lapsed today: the first period ended 30 days ago."""
    with app.app_context():
        today = local_today()
        set_fees(session, years=range(today.year - 2, today.year + 2))
        user = make_user(session, email="marta@example.org", name="Marta Müller")
        mediator = make_mediator(session, name="Marta Müller", email="marta@example.org", user=user)
        granted = today - timedelta(days=395)
        grant(session, mediator, on=granted)
        open_invoice(session, mediator.current_certification)  # the unpaid second period
        session.flush()
    return mediator


def staff_in(client, session):
    return sign_in(client, session, "support@example.org", [Role.SUPPORT])


def test_a_mediator_starts_a_profile_and_sees_the_checklist(client, session):
    sign_in(client, session, "new@example.org", [Role.MEDIATOR])
    page = client.get("/my/certification").get_data(as_text=True)
    assert "Start your profile" in page
    response = post_form(
        client,
        "/my/profile",
        {"name": "Łukasz Nowak", "country": "PL", "languages": ["pl", "en"], "biography": "x"},
    )
    assert response.status_code == 303
    mediator = session.scalar(select(Mediator).where(Mediator.email == "new@example.org"))
    assert mediator.search_name == "lukasz nowak" and mediator.languages == ["en", "pl"]
    page = client.get("/my/certification").get_data(as_text=True)
    assert "Applicant" in page and "Write a biography of at least 50 characters" in page
    assert count(session, Event, Event.action == "mediator.created") == 1


def test_profile_form_refuses_bad_input(client, session):
    sign_in(client, session, "new@example.org", [Role.MEDIATOR])
    response = post_form(client, "/my/profile", {"name": "  ", "biography": "b" * 5001})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This field is required." in page and "5000 characters" in page
    assert count(session, Mediator) == 0


def test_mediator_sees_what_is_owed_and_asks_for_a_waiver(client, session, lapsed):
    client.post("/logout", data={"csrf_token": csrf_token(client, "/login")})
    post_form(client, "/login", {"email": "marta@example.org", "password": PASSWORD})
    page = client.get("/my/certification").get_data(as_text=True)
    assert "Lapsed (grace period)" in page and "You owe <strong>EUR 150.00</strong>" in page
    invoice = open_invoice(session, lapsed.current_certification)
    url = f"/my/invoices/{invoice.id}/waiver"
    for percent, message in [
        ("101", "between 1% and 100%"),
        ("abc", "Not a valid integer value"),
        ("0", "between 1% and 100%"),
    ]:
        response = post_form(
            client, url, {"percent": percent, "reason": "Hardship"}, form_url="/my/certification"
        )
        assert message in client.get("/my/certification").get_data(as_text=True)
    assert count(session, Waiver) == 0
    post_form(
        client, url, {"percent": "50", "reason": "Pro bono year"}, form_url="/my/certification"
    )
    assert count(session, Waiver, Waiver.status == "requested") == 1
    assert response.status_code == 303


def test_a_mediator_cannot_touch_another_mediators_invoice(client, session, lapsed):
    sign_in(client, session, "other@example.org", [Role.MEDIATOR])
    invoice = open_invoice(session, lapsed.current_certification)
    response = post_form(
        client,
        f"/my/invoices/{invoice.id}/waiver",
        {"percent": "100", "reason": "Mine now"},
        form_url="/my/profile",
    )
    assert response.status_code == 404
    assert count(session, Waiver) == 0


@pytest.mark.parametrize(
    ("amount", "received_on", "message"),
    [
        ("-5", None, "cannot be negative"),
        ("12.3456", None, "at most 2 decimals"),
        ("150,0001", None, "at most 2 decimals"),
        ("1,000", None, "1,000 is ambiguous: it could be a thousand or one."),
        ("1.000", None, "such as 1000 or 1000.00"),
        ("12.345", None, "is ambiguous"),
        (
            "abc",
            None,
            "Enter the amount in digits with one decimal point or comma, such as 150.00.",
        ),
        ("1e3", None, "Enter the amount in digits"),
        ("1E2", None, "Enter the amount in digits"),
        ("1,000.00", None, "Enter the amount in digits"),
        ("1.000,50", None, "Enter the amount in digits"),
        ("1,5,0", None, "Enter the amount in digits"),
        ("250,", None, "Enter the amount in digits"),
        ("+5", None, "Enter the amount in digits"),
        (".5", None, "Enter the amount in digits"),
        ("1 000", None, "Enter the amount in digits"),
        ("\u0661\u0665\u0660", None, "Enter the amount in digits"),  # Arabic-Indic 150
        ("NaN", None, "Enter the amount in digits"),
        ("Infinity", None, "Enter the amount in digits"),
        ("0", None, "more than zero"),
        ("99999999999999999999", None, "too large"),
        ("150.00", "2999-01-01", "cannot be received in the future"),
        ("150.00", "2026-02-30", "2026-02-30 is an impossible date: February 2026 has 28 days."),
        ("150.00", "2024-13-01", "2024-13-01 is an impossible date: there is no month 13."),
        ("150.00", "30/01/2026", "Enter a date as YYYY-MM-DD, for example 2026-02-28."),
    ],
)
def test_recording_a_payment_refuses_bad_input(
    client, session, lapsed, amount, received_on, message
):
    staff_in(client, session)
    invoice = open_invoice(session, lapsed.current_certification)
    page_url = f"/staff/mediators/{lapsed.public_id}"
    data = {"amount": amount, "currency": "EUR", "confirmed": "1"}
    with client.application.app_context():
        data["received_on"] = received_on or local_today().isoformat()
    response = post_form(client, f"/staff/invoices/{invoice.id}/payments", data, form_url=page_url)
    assert response.status_code == 303
    assert message in client.get(page_url).get_data(as_text=True)
    assert count(session, Payment, Payment.invoice_id == invoice.id) == 0


def test_payment_in_grace_restores_certification(client, app, session, lapsed):
    staff_in(client, session)
    invoice = open_invoice(session, lapsed.current_certification)
    page_url = f"/staff/mediators/{lapsed.public_id}"
    with app.app_context():
        today = local_today().isoformat()
    post_form(
        client,
        f"/staff/invoices/{invoice.id}/payments",
        {"amount": "100", "currency": "EUR", "received_on": today, "confirmed": "1"},
        form_url=page_url,
    )
    page = client.get(page_url).get_data(as_text=True)
    assert "Still owed: EUR 50.00" in page and "Lapsed (grace period)" in page
    post_form(
        client,
        f"/staff/invoices/{invoice.id}/payments",
        {"amount": "60", "currency": "EUR", "received_on": today, "confirmed": "1"},
        form_url=page_url,
    )
    page = client.get(page_url).get_data(as_text=True)
    assert "Overpaid by EUR 10.00" in page
    assert '<span class="status status-certified">Certified</span>' in page
    assert lapsed.current_certification.recorded_status == Status.CERTIFIED


@pytest.mark.parametrize(
    ("amount", "booked"), [("250,00", 25000), ("250.5", 25050), ("250", 25000)]
)
def test_amounts_take_a_decimal_comma_or_point(client, session, lapsed, amount, booked):
    staff_in(client, session)
    invoice = open_invoice(session, lapsed.current_certification)
    page_url = f"/staff/mediators/{lapsed.public_id}"
    with client.application.app_context():
        today = local_today()
    data = {"amount": amount, "currency": "EUR", "received_on": today.isoformat()}
    url = f"/staff/invoices/{invoice.id}/payments"
    # The confirmation step shows the amount as it was read, before anything is booked.
    response = post_form(client, url, data, form_url=page_url)
    shown = f"EUR {booked // 100}.{booked % 100:02d}"
    confirmation_page(response, "Yes, record the payment", f"record {shown} received on")
    assert count(session, Payment, Payment.invoice_id == invoice.id) == 0
    post_form(client, url, {**data, "confirmed": "1"}, form_url=page_url)
    payment = session.scalar(select(Payment).where(Payment.invoice_id == invoice.id))
    assert payment.amount_minor == booked


def _pay_in_full(client, session, mediator) -> Payment:
    invoice = open_invoice(session, mediator.current_certification)
    page_url = f"/staff/mediators/{mediator.public_id}"
    with client.application.app_context():
        today = local_today().isoformat()
    data = {"amount": "150", "currency": "EUR", "received_on": today, "confirmed": "1"}
    post_form(client, f"/staff/invoices/{invoice.id}/payments", data, form_url=page_url)
    return session.scalar(select(Payment).where(Payment.invoice_id == invoice.id))


def test_staff_void_a_payment_with_a_reason_after_confirming(client, session, lapsed):
    staff_in(client, session)
    payment = _pay_in_full(client, session, lapsed)
    assert lapsed.current_certification.recorded_status == Status.CERTIFIED
    page_url = f"/staff/mediators/{lapsed.public_id}"
    url = f"/staff/payments/{payment.id}/void"
    assert f'action="{url}"' in client.get(page_url).get_data(as_text=True)
    data = {"reason": "Booked for the wrong Marta"}
    response = post_form(client, url, data, form_url=page_url)
    confirmation_page(
        response,
        "Yes, void the payment",
        f"Void this payment for {lapsed.name}?",
        f"void the payment of EUR 150.00 received on {payment.received_on:%-d %B %Y}",
    )
    assert payment.voided_at is None
    response = post_form(client, url, {**data, "confirmed": "1"}, form_url=page_url)
    assert response.status_code == 303
    page = client.get(page_url).get_data(as_text=True)
    assert "EUR 150.00 on " in page and "voided. Still owed: EUR 150.00." in page
    assert "<del>EUR 150.00 on" in page and "Booked for the wrong Marta" in page
    assert f'action="{url}"' not in page
    assert "Lapsed (grace period)" in page
    session.expire_all()  # the requests changed the rows through their own sessions
    assert lapsed.current_certification.recorded_status == Status.LAPSED
    assert count(session, Event, Event.action == "payment.voided") == 1


def test_voiding_needs_a_reason_and_happens_once(client, session, lapsed):
    staff_in(client, session)
    payment = _pay_in_full(client, session, lapsed)
    page_url = f"/staff/mediators/{lapsed.public_id}"
    url = f"/staff/payments/{payment.id}/void"
    post_form(client, url, {"reason": "", "confirmed": "1"}, form_url=page_url)
    assert "Say why the payment is voided." in client.get(page_url).get_data(as_text=True)
    assert payment.voided_at is None
    post_form(client, url, {"reason": "Duplicate", "confirmed": "1"}, form_url=page_url)
    post_form(client, url, {"reason": "Again", "confirmed": "1"}, form_url=page_url)
    assert "voided already" in client.get(page_url).get_data(as_text=True)
    session.expire_all()
    assert payment.void_reason == "Duplicate"
    assert count(session, Event, Event.action == "payment.voided") == 1


def test_recording_a_payment_asks_for_confirmation_first(client, session, lapsed):
    staff_in(client, session)
    invoice = open_invoice(session, lapsed.current_certification)
    page_url = f"/staff/mediators/{lapsed.public_id}"
    with client.application.app_context():
        today = local_today()
    data = {"amount": "150.00", "currency": "EUR", "received_on": today.isoformat()}
    url = f"/staff/invoices/{invoice.id}/payments"
    response = post_form(client, url, data, form_url=page_url)
    html = confirmation_page(
        response,
        "Yes, record the payment",
        f"Record this payment for {lapsed.name}?",
        f"record EUR 150.00 received on {today:%-d %B %Y} against invoice {invoice.number}",
    )
    assert f'href="{page_url}"' in html
    assert count(session, Payment, Payment.invoice_id == invoice.id) == 0
    # "Yes" re-posts every field the first POST carried (its tokens too), and confirmed=1.
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)
    assert {"csrf_token", "submission_token", "confirmed"} <= {name for name, _ in fields}
    confirmed = client.post(url, data={name: unescape(value) for name, value in fields})
    assert confirmed.status_code == 303
    assert count(session, Payment, Payment.invoice_id == invoice.id) == 1


def test_granting_asks_for_confirmation_first(client, app, session):
    staff_in(client, session)
    with app.app_context():
        today = local_today()
        mediator = make_mediator(session, name="Ana Ready")
    url = f"/staff/mediators/{mediator.public_id}"
    data = {"certification_type": "mediator", "granted_on": today.isoformat()}
    response = post_form(client, f"{url}/grant", data, form_url=url)
    confirmation_page(
        response,
        "Yes, grant the certification",
        "Grant Ana Ready a certification?",
        f"Certified Mediator certification from {today:%-d %B %Y}, certificate number the next",
    )
    assert count(session, Certification, Certification.mediator_id == mediator.id) == 0


def test_grant_checks_the_prerequisites(client, app, session):
    staff_in(client, session)
    with app.app_context():
        today = local_today()
        set_fees(session, years=[today.year])
        mediator = make_mediator(session, name="Ana Ready")
    url = f"/staff/mediators/{mediator.public_id}"
    response = post_form(
        client,
        f"{url}/grant",
        {"certification_type": "mediator", "granted_on": today.isoformat(), "confirmed": "1"},
        form_url=url,
    )
    assert response.status_code == 422
    assert "Not yet eligible: assessment by a qap, current feedback digest missing" in (
        response.get_data(as_text=True)
    )
    program = make_program(session, program_type="QAP")
    post_form(
        client,
        f"{url}/assessment",
        {"assessment-program_id": program.id, "assessment-on": today.isoformat()},
        form_url=url,
    )
    make_digest(session, mediator, published_on=today)
    response = post_form(
        client,
        f"{url}/grant",
        {"certification_type": "mediator", "granted_on": today.isoformat(), "confirmed": "1"},
        form_url=url,
    )
    assert response.status_code == 303
    assert f"MR-{today.year}-000001" in client.get(url).get_data(as_text=True)
    assert count(session, Invoice) == 1


def test_suspension_needs_a_reason_and_a_sensible_date(client, app, session, lapsed):
    staff_in(client, session)
    number = lapsed.current_certification.certificate_number
    url = f"/staff/certifications/{number}/suspend"
    form_url = f"/staff/mediators/{lapsed.public_id}"
    response = post_form(
        client, url, {"suspend-on": "2020-01-01", "suspend-reason": ""}, form_url=form_url
    )
    assert response.status_code == 422 and "A reason is required." in response.text
    response = post_form(
        client, url, {"suspend-on": "2020-01-01", "suspend-reason": "Panel"}, form_url=form_url
    )
    assert response.status_code == 422 and "before the grant" in response.text
    assert lapsed.current_certification.suspended_on is None
    with app.app_context():
        today = local_today().isoformat()
    response = post_form(
        client, url, {"suspend-on": today, "suspend-reason": "Panel"}, form_url=form_url
    )
    assert response.status_code == 303
    assert "Suspended since" in client.get(form_url).text


def test_refusing_a_waiver_needs_a_note(client, session, lapsed):
    staff_in(client, session)
    invoice = open_invoice(session, lapsed.current_certification)
    waiver = Waiver(
        invoice=invoice,
        percent=50,
        reason="Hardship",
        status="requested",
        requested_at=lapsed.created_at,
    )
    session.add(waiver)
    session.flush()
    post_form(
        client,
        f"/staff/waivers/{waiver.id}",
        {"decision": "refuse", "note": ""},
        form_url="/staff/waivers",
    )
    assert "Say why the waiver is refused" in client.get("/staff/waivers").text
    assert waiver.status == "requested"
    post_form(
        client,
        f"/staff/waivers/{waiver.id}",
        {"decision": "grant", "note": ""},
        form_url="/staff/waivers",
    )
    session.refresh(waiver)
    assert waiver.status == "granted" and invoice.balance_minor == 7500


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rate-year": "1999", "rate-amount": "100", "rate-currency": "EUR"}, "Between 2000"),
        ({"rate-year": "2027", "rate-amount": "-1", "rate-currency": "EUR"}, "cannot be negative"),
        ({"rate-year": "2027", "rate-amount": "1.0001", "rate-currency": "EUR"}, "2 decimals"),
        ({"rate-year": "2027", "rate-amount": "1.001", "rate-currency": "EUR"}, "is ambiguous"),
        ({"rate-year": "2027", "rate-amount": "100", "rate-currency": "XYZ"}, "Unknown currency"),
    ],
)
def test_fee_schedule_refuses_bad_input(client, session, data, message):
    sign_in(client, session, "admin@example.org", [Role.ADMINISTRATOR])
    response = post_form(client, "/staff/fees/rates", data, form_url="/staff/fees")
    assert response.status_code == 422 and message in response.text
    assert count(session, FeeRate) == 0


def test_fee_schedule_and_tiers(client, session):
    sign_in(client, session, "admin@example.org", [Role.ADMINISTRATOR])
    post_form(
        client,
        "/staff/fees/rates",
        {"rate-year": "2027", "rate-amount": "250.00", "rate-currency": "eur"},
        form_url="/staff/fees",
    )
    post_form(
        client,
        "/staff/fees/tiers",
        {"tier-country": "KE", "tier-tier": "reduced_50"},
        form_url="/staff/fees",
    )
    page = client.get("/staff/fees").text
    assert "EUR 250.00" in page and "EUR 125.00" in page and "Kenya (KE): 50% reduction" in page


def test_staff_list_finds_names_without_accents_and_filters_by_status(client, session, lapsed):
    staff_in(client, session)
    make_mediator(session, name="Zoë Nowak", email="zoe@example.org")
    page = client.get("/staff/mediators?q=muller").text
    assert "Marta Müller" in page and "Zoë Nowak" not in page
    assert "Marta Müller" in client.get("/staff/mediators?q=mueller").text
    assert "Zoë Nowak" in client.get("/staff/mediators?q=zoe").text
    number = lapsed.current_certification.certificate_number
    assert "Marta Müller" in client.get(f"/staff/mediators?q={number.lower()}").text
    assert "Zoë Nowak" in client.get("/staff/mediators?status=applicant").text
    assert "Zoë Nowak" not in client.get("/staff/mediators?status=certified").text


def test_unknown_mediator_is_404(client, session):
    staff_in(client, session)
    assert client.get("/staff/mediators/MNOSUCH").status_code == 404


@pytest.mark.parametrize(
    ("granted_on", "message"),
    [
        ("2025-02-29", "2025-02-29 is an impossible date: February 2025 has 28 days."),
        ("2025-04-31", "2025-04-31 is an impossible date: April 2025 has 30 days."),
        ("", "This field is required."),
    ],
)
def test_a_grant_date_says_why_it_is_refused(client, session, granted_on, message):
    staff_in(client, session)
    mediator = make_mediator(session, name="Ana Ready")
    url = f"/staff/mediators/{mediator.public_id}"
    response = post_form(
        client,
        f"{url}/grant",
        {"certification_type": "mediator", "granted_on": granted_on},
        form_url=url,
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_the_language_picker_is_a_list_of_checkboxes_with_a_filter(client, session):
    sign_in(client, session, "new@example.org", [Role.MEDIATOR])
    html = client.get("/my/profile").get_data(as_text=True)
    assert '<input type="checkbox" name="languages" value="pl">' in html
    assert 'class="choice-filter"' in html and "choice-filter.js" in html
    assert "Hold Ctrl" not in html and '<select id="languages"' not in html
    post_form(
        client,
        "/my/profile",
        {"name": "Łukasz Nowak", "country": "PL", "languages": ["pl", "en"], "biography": "x"},
    )
    html = client.get("/my/profile").get_data(as_text=True)
    assert '<input type="checkbox" name="languages" value="pl" checked>' in html
    assert '<input type="checkbox" name="languages" value="de">' in html
    script = client.get("/static/choice-filter.js")
    try:
        assert script.status_code == 200 and "normalize" in script.get_data(as_text=True)
    finally:
        script.close()  # a static file is streamed from disk
