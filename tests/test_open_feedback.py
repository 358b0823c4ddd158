"""360 feedback: routing to the body responsible, acknowledgement, anonymity, counts, access."""

import html
import re

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from audits.models import SubcommitteeMember
from registry.accounts.models import Role, User
from registry.clock import local_date
from registry.database import Base, utcnow
from registry.events.models import Event
from registry.formatting import format_day
from registry.mail.models import OutboxMessage
from standards.models import OpenFeedback
from tests.audit_factories import make_appraiser, make_chair, subcommittee
from tests.conftest import csrf_token, post_form
from tests.factories import PASSWORD, make_program, make_user
from tests.standards_public_factories import APPOINTER, seat, two_versions

ADDRESS = "203.0.113.77"
FORM = "/open-feedback"


def text_of(response) -> str:
    return html.unescape(
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
    )


def today_of(app):
    from registry.clock import local_today

    with app.app_context():
        return local_today()


def sign_in(client, session, email: str, roles=(Role.MEDIATOR,), name: str = "Pat Person"):
    user = make_user(session, email=email, name=name, roles=roles)
    post_form(client, "/login", {"email": email, "password": PASSWORD})
    return user


def sign_out(client) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client, FORM)})


def give(client, **fields):
    data = {
        "subject": "initiative",
        "initiative": "The annual conference",
        "body": "Too dear.",
        "signature": "anonymous",
        **fields,
    }
    return client.post(FORM, data={"csrf_token": csrf_token(client, FORM), **data})


def mails_to(session, address: str) -> list[OutboxMessage]:
    return list(
        session.scalars(sa.select(OutboxMessage).where(OutboxMessage.to_address == address))
    )


def only_feedback(session) -> OpenFeedback:
    session.expire_all()
    return session.scalars(sa.select(OpenFeedback)).one()


@pytest.fixture
def bodies(app, session):
    """A standard with its taskforce, a QAP program with its subcommittee, and a Board."""
    standard, _first, _second = two_versions(session)
    today = today_of(app)
    seat(
        session, standard, email="chair@example.org", name="Chloe Chair", is_chair=True, today=today
    )
    seat(session, standard, email="member@example.org", name="Mo Member", today=today)
    make_chair(session, "QAP", email="qapchair@example.org")
    make_appraiser(session, "QAP", email="qapappraiser@example.org")
    make_appraiser(session, "MAQAP", email="maqap@example.org", name="Max Other")
    make_user(session, email="board@example.org", name="Bo Board", roles=[Role.BOARD_MEMBER])
    program = make_program(session, program_type="QAP")
    return {"standard": standard, "program": program}


ROUTES = {
    "standard": {"chair@example.org", "member@example.org"},
    "program": {"qapchair@example.org", "qapappraiser@example.org"},
    "initiative": {"board@example.org", APPOINTER},
}
EVERYONE = set().union(*ROUTES.values()) | {"maqap@example.org"}


def subject_fields(kind: str, bodies) -> dict[str, str]:
    if kind == "standard":
        return {"subject": "standard", "standard": "TST"}
    if kind == "program":
        return {"subject": "program", "program": str(bodies["program"].id)}
    return {"subject": "initiative", "initiative": "The annual conference"}


@pytest.mark.parametrize("kind", list(ROUTES))
def test_feedback_reaches_the_body_responsible(client, session, bodies, kind):
    response = give(client, **subject_fields(kind, bodies))
    assert response.status_code == 303 and response.headers["Location"] == FORM
    feedback = only_feedback(session)
    assert feedback.subject == kind
    told = {address for address in EVERYONE if mails_to(session, address)}
    assert told == ROUTES[kind]
    mail = mails_to(session, next(iter(ROUTES[kind])))[0]
    assert "anonymous" in mail.body_text and f"/open-feedback/{feedback.id}" in mail.body_text
    # Each one responsible finds it in their inbox; the others do not.
    for address in EVERYONE:
        reader = session.scalars(sa.select(User).where(User.email == address)).one()
        post_form(client, "/login", {"email": address, "password": PASSWORD})
        shown = f"/open-feedback/{feedback.id}" in client.get("/open-feedback/inbox").get_data(
            as_text=True
        )
        assert shown == (address in ROUTES[kind]), (address, reader.name)
        expected = 200 if address in ROUTES[kind] else 404
        assert client.get(f"/open-feedback/{feedback.id}").status_code == expected
        sign_out(client)


def test_the_form_is_preselected_from_a_standard_or_program(client, bodies):
    page = client.get(f"{FORM}?standard=TST").get_data(as_text=True)
    assert re.search(r'value="standard"[^>]*checked|checked[^>]*value="standard"', page)
    assert re.search(r'<option selected value="TST"|<option value="TST" selected', page)
    assert "pieces of feedback" not in page


def test_anonymous_feedback_keeps_nothing_identifying(app, session, bodies):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ADDRESS
    give(client, name="Whistle Blower", email="whistle@example.org", body="The chair bullies.")
    feedback = only_feedback(session)
    assert feedback.is_anonymous and feedback.locale is None
    assert (feedback.sender_id, feedback.sender_name, feedback.sender_email) == (None, None, None)
    values = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(sa.select(table)):
            values.extend(str(value) for value in row)
    stored = "\n".join(values)
    for identifying in (ADDRESS, "Whistle Blower", "whistle@example.org"):
        assert identifying not in stored
    event = session.scalars(sa.select(Event).where(Event.action == "open_feedback.received")).one()
    assert event.actor_id is None
    # The Board member reads it as anonymous, and acknowledging it mails nobody.
    post_form(client, "/login", {"email": "board@example.org", "password": PASSWORD})
    assert "Anonymous" in text_of(client.get(f"/open-feedback/{feedback.id}"))
    before = session.scalar(sa.select(sa.func.count(OutboxMessage.id)))
    acknowledge(client, feedback.id)
    assert only_feedback(session).acknowledged_at is not None
    assert session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == before


def test_a_signed_in_person_may_send_anonymously(client, session, bodies):
    sign_in(client, session, "sam@example.org")
    give(client, signature="anonymous")
    feedback = only_feedback(session)
    assert feedback.is_anonymous and feedback.sender_id is None


def acknowledge(client, feedback_id: int, message: str = "Thank you, we will discuss it."):
    url = f"/open-feedback/{feedback_id}"
    return post_form(client, f"{url}/acknowledge", {"message": message}, form_url=url)


def test_a_named_sender_gets_the_acknowledgement_in_their_language(app, client, session, bodies):
    french = "/fr" + FORM
    response = client.post(
        french,
        data={
            "csrf_token": csrf_token(client, french),
            "subject": "standard",
            "standard": "TST",
            "body": "Clair.",
            "signature": "email",
            "name": "Erin Email",
            "email": "erin@example.org",
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == french
    feedback = only_feedback(session)
    assert (feedback.sender_name, feedback.sender_email, feedback.locale) == (
        "Erin Email",
        "erin@example.org",
        "fr",
    )
    post_form(client, "/login", {"email": "member@example.org", "password": PASSWORD})
    assert "Erin Email" in text_of(client.get(f"/open-feedback/{feedback.id}"))
    assert acknowledge(client, feedback.id).status_code == 303
    feedback = only_feedback(session)
    assert feedback.acknowledgement == "Thank you, we will discuss it."
    mail = mails_to(session, "erin@example.org")[0]
    assert "Thank you, we will discuss it." in mail.body_text
    with app.test_request_context(), force_locale("fr"):
        day = format_day(local_date(feedback.received_at))
    assert day in mail.body_text and re.search(
        r"\d (janvier|février|mars|avril|mai|juin|juillet|août|sept|oct|nov|déc)",
        day,
    )
    # One acknowledgement is enough: a second is refused.
    acknowledge(client, feedback.id, "Again.")
    assert only_feedback(session).acknowledgement == "Thank you, we will discuss it."
    assert len(mails_to(session, "erin@example.org")) == 1


def test_an_account_sender_is_acknowledged_at_their_address(client, session, bodies):
    sign_in(client, session, "sam@example.org", name="Sam Signed")
    give(client, signature="account")
    feedback = only_feedback(session)
    assert feedback.sender_id is not None and feedback.sender_email is None
    sign_out(client)
    post_form(client, "/login", {"email": "board@example.org", "password": PASSWORD})
    acknowledge(client, feedback.id)
    assert len(mails_to(session, "sam@example.org")) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"body": ""}, "Write your feedback."),
        ({"subject": "standard"}, "Choose the standard your feedback is about."),
        ({"subject": "program"}, "Choose the recognised program"),
        ({"initiative": ""}, "The initiative cannot be empty"),
        ({"subject": "nonsense"}, "Not a valid choice"),
        ({"signature": "email", "name": "Erin"}, "Give an e-mail address"),
    ],
)
def test_bad_feedback_is_refused(client, session, bodies, fields, message):
    response = give(client, **fields)
    assert response.status_code == 422 and message in text_of(response)
    assert session.scalar(sa.select(sa.func.count(OpenFeedback.id))) == 0


def test_a_withdrawn_program_takes_no_feedback(client, session, bodies):
    bodies["program"].withdrawn_on = utcnow().date()
    bodies["program"].withdrawal_reason = "Closed."
    session.flush()
    response = give(client, subject="program", program=str(bodies["program"].id))
    assert response.status_code == 422


def test_counts_are_public(client, session, bodies):
    organisation = bodies["program"].organisation_id
    text = text_of(client.get(f"/organisations/{organisation}"))
    assert "No feedback received yet." in text and "0 pieces" not in text
    give(client, **subject_fields("standard", bodies))
    give(client, **subject_fields("standard", bodies))
    give(client, **subject_fields("program", bodies))
    assert "2 pieces of feedback received." in text_of(client.get("/standards/TST"))
    text = text_of(client.get(f"/organisations/{organisation}"))
    assert "1 piece of 360 feedback received." in text and "Give feedback on this program" in text


def test_feedback_is_rate_limited(app, client, session, bodies, monkeypatch):
    monkeypatch.setitem(app.config, "OPEN_FEEDBACK_RATE_LIMIT", "1 per hour")
    assert give(client, body="").status_code == 422
    assert give(client).status_code == 303
    response = give(client)
    assert response.status_code == 429 and "Too much feedback" in text_of(response)


def test_staff_see_all_feedback(client, session, bodies):
    for kind in ROUTES:
        give(client, **subject_fields(kind, bodies))
    sign_in(client, session, "support@example.org", roles=[Role.SUPPORT])
    page = client.get("/open-feedback/inbox").get_data(as_text=True)
    assert page.count('href="/open-feedback/') == 3


def test_a_former_subcommittee_member_no_longer_sees_it(client, session, bodies):
    give(client, **subject_fields("program", bodies))
    feedback = only_feedback(session)
    appraiser = session.scalars(
        sa.select(User).where(User.email == "qapappraiser@example.org")
    ).one()
    session.execute(
        sa.delete(SubcommitteeMember).where(
            SubcommitteeMember.user_id == appraiser.id,
            SubcommitteeMember.subcommittee_id == subcommittee(session, "QAP").id,
        )
    )
    session.flush()
    post_form(client, "/login", {"email": "qapappraiser@example.org", "password": PASSWORD})
    assert client.get(f"/open-feedback/{feedback.id}").status_code == 404
    assert acknowledge(client, feedback.id).status_code == 404


# -- Role and route ------------------------------------------------------------------------


@pytest.mark.parametrize("role", [None, *Role])
def test_the_form_is_public(client, session, role):
    if role is not None:
        sign_in(client, session, "someone@example.org", roles=[role])
    assert client.get(FORM).status_code == 200


@pytest.mark.parametrize("page", ["/open-feedback/inbox", "/open-feedback/0"])
def test_the_inbox_needs_an_account(client, page):
    response = client.get(page)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("role", list(Role))
def test_every_role_has_an_inbox_but_reads_only_its_own(client, session, bodies, role):
    give(client, **subject_fields("initiative", bodies))
    feedback = only_feedback(session)
    sign_in(client, session, "someone@example.org", roles=[role])
    assert client.get("/open-feedback/inbox").status_code == 200
    allowed = role in (Role.SUPPORT, Role.EXECUTIVE_DIRECTOR, Role.ADMINISTRATOR, Role.BOARD_MEMBER)
    assert client.get(f"/open-feedback/{feedback.id}").status_code == (200 if allowed else 404)
    assert acknowledge(client, feedback.id).status_code == (303 if allowed else 404)
    assert (only_feedback(session).acknowledged_at is not None) == allowed


def marked_fields(page: str) -> set[str]:
    """The names of the form fields the page marks as wrong."""
    return {
        name
        for part in page.split('<div class="field')[1:]
        if part.lstrip().startswith("field-invalid") or " field-invalid" in part.split(">")[0]
        for name in re.findall(r'name="(\w+)"', part.split('<div class="field')[0])[:1]
    }


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"subject": "standard", "standard": ""}, "standard", "Choose the standard"),
        ({"subject": "program", "program": ""}, "program", "Choose the recognised program"),
        ({"subject": "initiative", "initiative": " "}, "initiative", "cannot be empty"),
        ({"signature": "email", "name": "", "email": "a@example.org"}, "name", "cannot be empty"),
        ({"signature": "email", "name": "Al", "email": ""}, "email", "Give an e-mail address"),
        ({"signature": "email", "name": "Al", "email": "not-an-address"}, "email", "not a valid"),
    ],
)
def test_plain_input_mistakes_mark_their_field(client, session, bodies, fields, field, message):
    response = give(client, **fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in text_of(response)
    assert marked_fields(page) == {field}
    assert session.scalar(sa.select(sa.func.count()).select_from(OpenFeedback)) == 0
