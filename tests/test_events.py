"""The event log: written by services, never editable, browsable by staff."""

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DatabaseError

from registry.accounts.models import Role
from registry.accounts.services import grant_role
from registry.database import utcnow
from registry.events.models import Event, EventLogError
from registry.events.services import record_event
from tests.conftest import post_form
from tests.factories import PASSWORD, make_user


def test_services_write_who_what_when_why(session):
    admin = make_user(session, email="admin@example.org", roles=[Role.ADMINISTRATOR])
    person = make_user(session, email="p@example.org")
    grant_role(
        session,
        user=person,
        role=Role.APPRAISER,
        actor=admin,
        reason="joined the appraiser pool",
        now=utcnow(),
    )
    session.flush()
    entry = session.scalars(select(Event).where(Event.action == "account.role_granted")).one()
    assert entry.actor == admin
    assert (entry.subject_type, entry.subject_id) == ("user", str(person.id))
    assert entry.reason == "joined the appraiser pool"
    assert entry.data == {"role": "appraiser"}
    assert entry.occurred_at.tzinfo is not None


def test_entries_cannot_be_changed_through_the_orm(session):
    entry = record_event(
        session, action="test.done", subject_type="thing", subject_id=1, now=utcnow()
    )
    session.flush()
    entry.reason = "rewritten"
    with pytest.raises(EventLogError):
        session.flush()
    session.rollback()


@pytest.mark.parametrize(
    "statement",
    [
        update(Event).values(reason="rewritten"),
        delete(Event),
    ],
    ids=["update", "delete"],
)
def test_the_database_refuses_changes_to_entries(session, statement):
    record_event(session, action="test.done", subject_type="thing", subject_id=1, now=utcnow())
    session.flush()
    with pytest.raises(DatabaseError, match="append-only"), session.begin_nested():
        session.execute(statement)
    assert session.scalar(select(Event.reason).where(Event.action == "test.done")) is None


def test_postgresql_refuses_truncate(session):
    if session.bind.dialect.name != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    with pytest.raises(DatabaseError, match="append-only"), session.begin_nested():
        session.execute(text("TRUNCATE events"))


def sign_in_staff(client, session):
    make_user(session, email="support@example.org", name="Sam Support", roles=[Role.SUPPORT])
    post_form(client, "/login", {"email": "support@example.org", "password": PASSWORD})


def test_staff_filter_the_log(client, session):
    sign_in_staff(client, session)
    record_event(
        session,
        action="test.alpha",
        subject_type="thing",
        subject_id=7,
        now=utcnow(),
        reason="first reason",
    )
    record_event(session, action="test.beta", subject_type="thing", subject_id=8, now=utcnow())
    session.flush()

    page = client.get("/staff/events?action=test.alpha").get_data(as_text=True)
    assert "first reason" in page
    assert "test.beta</code>" not in page
    assert "1 entry" in page

    by_actor = client.get("/staff/events?actor=support@example.org").get_data(as_text=True)
    assert "account.signed_in" in by_actor
    assert "test.alpha</code>" not in by_actor

    by_subject = client.get("/staff/events?subject_type=thing&subject_id=8").get_data(as_text=True)
    assert "test.beta</code>" in by_subject
    assert "1 entry" in by_subject


def test_a_filter_with_the_end_before_the_start_is_refused(client, session):
    sign_in_staff(client, session)
    response = client.get("/staff/events?since=2026-05-02&until=2026-05-01")
    assert response.status_code == 400
    assert "The end date is before the start date." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=yesterday", "Enter a date as YYYY-MM-DD, for example 2026-02-28."),
        ("page=0", "No such page."),
        ("page=abc", "Not a valid integer value."),
    ],
)
def test_bad_filters_get_a_clear_400(client, session, query, message):
    sign_in_staff(client, session)
    response = client.get(f"/staff/events?{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_an_action_not_seen_yet_finds_nothing(client, session):
    sign_in_staff(client, session)
    response = client.get("/staff/events?action=no.such")
    assert response.status_code == 200
    assert "No entries match these filters." in response.get_data(as_text=True)


def test_a_page_past_the_end_says_so(client, session):
    sign_in_staff(client, session)
    text = client.get("/staff/events?page=99").get_data(as_text=True)
    assert "There is no page 99; the last is page 1." in text
