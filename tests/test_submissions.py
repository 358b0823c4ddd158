"""One-time form tokens: every form behind a role does what it asks once."""

import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from registry.accounts.models import Role
from registry.clock import local_today
from registry.contributions.models import Payment
from registry.database import db, utcnow
from registry.submissions.jobs import purge_submissions
from registry.submissions.models import FormSubmission
from registry.submissions.services import issue_token
from tests.conftest import csrf_token, form_tokens, post_form
from tests.factories import PASSWORD, grant, make_mediator, make_user, open_invoice, set_fees

ALREADY_SENT = "This form was already sent, and what it asked for was done then"
EXPIRED = "The form had expired or was sent from elsewhere"


def role_actions(app) -> list[str]:
    """Every POST route that requires a role, with made-up values for its arguments."""
    actions = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if "POST" in rule.methods and isinstance(getattr(view, "access", None), frozenset):
            path = re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", rule.rule)  # its first choice
            actions.append(re.sub(r"<(?:[^:>]+:)?([^>]+)>", "0", path))
    return sorted(actions)


def test_there_are_forms_behind_roles(app):
    assert "/staff/invoices/0/payments" in role_actions(app)
    assert len(role_actions(app)) > 40


@pytest.fixture
def everyone(client, session):
    """Signed in as someone holding every role."""
    make_user(session, email="all@example.org", roles=list(Role))
    post_form(client, "/login", {"email": "all@example.org", "password": PASSWORD})
    return client


def test_every_form_behind_a_role_needs_a_one_time_token(app, everyone, session):
    csrf = {"csrf_token": csrf_token(everyone, "/account")}
    for action in role_actions(app):
        response = everyone.post(action, data=csrf)
        assert response.status_code == 400, action
        assert EXPIRED in response.get_data(as_text=True), action
    assert session.scalar(select(func.count()).select_from(FormSubmission)) == 0


@pytest.mark.parametrize(
    "token",
    ["", "forged", "InRvby1zaG9ydCI.aaaa.bbbb"],
)
def test_a_token_the_site_did_not_sign_is_refused(everyone, token):
    tokens = form_tokens(everyone, "/account")
    response = everyone.post(
        "/staff/invoices/0/payments", data={**tokens, "submission_token": token}
    )
    assert response.status_code == 400


def test_an_expired_token_is_refused(app, everyone, monkeypatch):
    with app.app_context():
        token = issue_token()
    monkeypatch.setitem(app.config, "WTF_CSRF_TIME_LIMIT", -1)
    csrf = csrf_token(everyone, "/account")
    response = everyone.post(
        "/staff/invoices/0/payments", data={"csrf_token": csrf, "submission_token": token}
    )
    assert response.status_code == 400


@pytest.fixture
def invoice(app, session):
    with app.app_context():
        today = local_today()
        set_fees(session, years=range(today.year - 2, today.year + 2))
        mediator = make_mediator(session, name="Marta Müller", email="marta@example.org")
        grant(session, mediator, on=today - timedelta(days=395))
        invoice = open_invoice(session, mediator.current_certification)
        session.flush()
    return invoice


def payments(session, invoice) -> int:
    return session.scalar(select(func.count(Payment.id)).where(Payment.invoice_id == invoice.id))


def test_a_double_click_books_one_payment(app, client, session, invoice):
    make_user(session, email="support@example.org", roles=[Role.SUPPORT])
    post_form(client, "/login", {"email": "support@example.org", "password": PASSWORD})
    page = f"/staff/mediators/{invoice.certification.mediator.public_id}"
    with app.app_context():
        today = local_today().isoformat()
    data = {
        **form_tokens(client, page),
        "amount": "250.00",
        "currency": "EUR",
        "received_on": today,
        "confirmed": "1",  # past the confirmation step
    }
    first = client.post(f"/staff/invoices/{invoice.id}/payments", data=data)
    assert first.status_code == 303
    # The second click, sent from the staff page: back to it, saying what happened.
    second = client.post(
        f"/staff/invoices/{invoice.id}/payments",
        data=data,
        headers={"Referer": f"http://localhost{page}"},
    )
    assert second.status_code == 303 and second.headers["Location"] == page
    assert ALREADY_SENT in client.get(page).get_data(as_text=True)
    # A replay without the page to go back to.
    replay = client.post(f"/staff/invoices/{invoice.id}/payments", data=data)
    assert replay.status_code == 409
    assert ALREADY_SENT in replay.get_data(as_text=True)
    assert payments(session, invoice) == 1


def test_a_refused_form_keeps_its_token_for_the_corrected_one(app, client, session, invoice):
    make_user(session, email="support@example.org", roles=[Role.SUPPORT])
    post_form(client, "/login", {"email": "support@example.org", "password": PASSWORD})
    page = f"/staff/mediators/{invoice.certification.mediator.public_id}"
    with app.app_context():
        today = local_today().isoformat()
    tokens = form_tokens(client, page)
    url = f"/staff/invoices/{invoice.id}/payments"
    refused = client.post(
        url, data={**tokens, "amount": "1e3", "currency": "EUR", "confirmed": "1"}
    )
    assert refused.status_code == 303 and payments(session, invoice) == 0
    corrected = {
        **tokens,
        "amount": "250.00",
        "currency": "EUR",
        "received_on": today,
        "confirmed": "1",
    }
    assert client.post(url, data=corrected).status_code == 303
    assert payments(session, invoice) == 1


def test_used_tokens_are_purged_once_they_would_have_expired(app, ctx, session):
    lifetime = timedelta(seconds=app.config["WTF_CSRF_TIME_LIMIT"])
    now = utcnow()
    for name, age in (("old", lifetime + timedelta(minutes=1)), ("new", timedelta(minutes=1))):
        session.add(FormSubmission(token=name.ljust(43, "x"), endpoint="x", submitted_at=now - age))
    session.flush()
    assert purge_submissions(session, local_today(), now) == {"purged": 1}


def test_twenty_parallel_copies_of_a_payment_book_it_once(fresh_app):
    """Twenty identical POSTs at the same moment, each in its own request and transaction."""
    with db.transaction() as session:
        today = local_today()
        set_fees(session, years=range(today.year - 2, today.year + 2))
        make_user(session, email="support@example.org", roles=[Role.SUPPORT])
        mediator = make_mediator(session, name="Marta Müller", email="marta@example.org")
        grant(session, mediator, on=today - timedelta(days=395))
        invoice_id = open_invoice(session, mediator.current_certification).id
        page = f"/staff/mediators/{mediator.public_id}"
    signed_in = fresh_app.test_client()
    post_form(signed_in, "/login", {"email": "support@example.org", "password": PASSWORD})
    data = {
        **form_tokens(signed_in, page),
        "amount": "250.00",
        "currency": "EUR",
        "received_on": today.isoformat(),
        "confirmed": "1",  # past the confirmation step
    }
    cookie = signed_in.get_cookie("session").value
    # These requests ran in fresh_app's context and share its session: end its transaction.
    db.session.close()
    start = threading.Barrier(20)
    codes: list[int] = []

    def click() -> None:
        browser = fresh_app.test_client()
        browser.set_cookie("session", cookie)
        start.wait()
        try:
            response = browser.post(f"/staff/invoices/{invoice_id}/payments", data=data)
            codes.append(response.status_code)
        except Exception as error:
            codes.append(repr(error))
            raise

    threads = [threading.Thread(target=click) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(codes) == [303] + [409] * 19
    with db.transaction() as session:
        booked = session.scalar(
            select(func.count(Payment.id)).where(Payment.invoice_id == invoice_id)
        )
    assert booked == 1


# Templates whose forms post to no view behind a role (sign-in, the public complaint pages...).
OPEN_FORMS = {"base.html", "feedback/questionnaire.html"}
OPEN_FOLDERS = {"accounts", "search", "complaints/public", "credentials"}
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def role_form_templates() -> list[Path]:
    return [
        path
        for path in sorted(TEMPLATES.rglob("*.html"))
        if (relative := path.relative_to(TEMPLATES).as_posix()) not in OPEN_FORMS
        and not any(relative.startswith(f"{folder}/") for folder in OPEN_FOLDERS)
    ]


@pytest.mark.parametrize("path", role_form_templates(), ids=lambda path: path.name)
def test_every_form_on_a_staff_or_role_page_carries_a_one_time_token(path):
    forms = re.findall(r"<form\b[^>]*>(.*?)</form>", path.read_text(), re.S | re.I)
    for form in forms:
        if "csrf_token" in form:  # a POST form (GET forms carry no CSRF token)
            assert "submission_field()" in form, f"{path.name}: a form without submission_field()"
