"""A certified person's new name waits for staff approval; Verify keeps the vouched name."""

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from registry.accounts.models import Role
from registry.clock import local_today
from registry.database import utcnow
from registry.events.models import Event
from registry.mediators.models import NameChange
from registry.mediators.services import (
    MediatorError,
    approve_name_change,
    refuse_name_change,
    update_profile,
)
from tests.conftest import post_form
from tests.factories import PASSWORD, grant, make_mediator, make_user, set_fees, staff_user

NEW_NAME = "Senior IMI-Certified Master Mediator"


@pytest.fixture
def today(ctx):
    return local_today()


@pytest.fixture
def certified(session, today):
    """Ida, certified from 100 days ago, with her own account."""
    set_fees(session, years=range(today.year - 4, today.year + 3))
    user = make_user(session, email="ida@example.org", name="Ida", roles=[Role.MEDIATOR])
    ida = make_mediator(session, name="Ida Original", email="ida@example.org", user=user)
    grant(session, ida, on=today - timedelta(days=100))
    return ida


def actions(session, mediator):
    return list(
        session.scalars(
            select(Event.action).where(Event.subject_id == mediator.public_id).order_by(Event.id)
        )
    )


def page(client, url):
    """Return the text of the page at ``url``, tags removed."""
    return unescape(re.sub(r"<[^>]+>", "", client.get(url).get_data(as_text=True)))


def test_a_certified_mediators_rename_is_held_and_other_fields_save(session, certified, today):
    changed = update_profile(
        session,
        certified,
        now=utcnow(),
        actor=certified.user,
        today=today,
        name=NEW_NAME,
        biography="A new biography that is saved at once.",
    )
    assert changed == ["biography"]
    assert certified.name == "Ida Original"
    assert certified.biography == "A new biography that is saved at once."
    pending = certified.pending_name_change
    assert (pending.old_name, pending.requested_name) == ("Ida Original", NEW_NAME)
    assert "mediator.name_change_requested" in actions(session, certified)
    with pytest.raises(MediatorError, match="awaits the registry's approval"):
        update_profile(session, certified, now=utcnow(), actor=certified.user, name="Someone Else")
    update_profile(session, certified, now=utcnow(), actor=certified.user, name=NEW_NAME)
    assert len(certified.name_changes) == 1


def test_an_applicant_renames_freely(session, ctx):
    user = make_user(session, email="ann@example.org", name="Ann", roles=[Role.MEDIATOR])
    ann = make_mediator(session, name="Ann Applicant", email="ann@example.org", user=user)
    assert update_profile(session, ann, now=utcnow(), actor=user, name="Ann Renamed") == ["name"]
    assert ann.name == "Ann Renamed"
    assert ann.pending_name_change is None


def test_staff_set_the_name_directly_and_it_is_history(session, certified):
    changed = update_profile(
        session, certified, now=utcnow(), actor=staff_user(session), name="Ida Married"
    )
    assert changed == ["name"]
    assert certified.name == "Ida Married"
    assert [c.status for c in certified.name_changes] == ["approved"]
    assert certified.former_names == ["Ida Original"]


def test_a_refusal_needs_a_reason_and_the_mediator_cannot_decide(session, certified):
    update_profile(session, certified, now=utcnow(), actor=certified.user, name=NEW_NAME)
    change = certified.pending_name_change
    with pytest.raises(MediatorError, match="reason is required"):
        refuse_name_change(session, change, reason=" ", now=utcnow(), actor=staff_user(session))
    with pytest.raises(MediatorError, match="Another member of staff"):
        approve_name_change(session, change, now=utcnow(), actor=certified.user)
    assert change.status == "requested"


def sign_in(client, session, email, roles=None):
    if roles:
        make_user(session, email=email, name="Desk", roles=roles)
    post_form(client, "/login", {"email": email, "password": PASSWORD})


def sign_out(client):
    post_form(client, "/logout", {}, form_url="/account")


def ask_for_new_name(client, session, certified):
    session.commit()
    sign_in(client, session, "ida@example.org")
    response = post_form(
        client,
        "/my/profile",
        {"name": NEW_NAME, "country": "NL", "languages": ["en"], "contact": "+31 20 555 0101"},
    )
    assert response.status_code == 303
    saved = page(client, response.headers["Location"])
    assert f"Your change of name to {NEW_NAME} awaits the registry's approval" in saved
    sign_out(client)
    return certified.current_certification.certificate_number


def test_the_held_name_is_not_vouched_for_until_staff_approve(client, session, certified):
    number = ask_for_new_name(client, session, certified)
    sign_in(client, session, "ida@example.org")
    mine = page(client, "/my/certification")
    assert f"Your change of name to {NEW_NAME} awaits the registry's approval" in mine
    sign_out(client)
    session.expire_all()
    assert certified.contact == "+31 20 555 0101"
    verify = page(client, f"/verify?number={number}")
    assert "Ida Original" in verify and NEW_NAME not in verify

    sign_in(client, session, "desk@example.org", [Role.SUPPORT])
    detail = f"/staff/mediators/{certified.public_id}"
    assert NEW_NAME in page(client, detail)
    change = session.scalar(select(NameChange))
    response = post_form(
        client, f"/staff/name-changes/{change.id}/approve", {"name-reason": ""}, form_url=detail
    )
    assert response.status_code == 303
    session.expire_all()
    assert certified.name == NEW_NAME
    for url in (f"/verify?number={number}", f"/mediators/{certified.public_id}"):
        html = page(client, url)
        assert NEW_NAME in html and "Formerly: Ida Original" in html
    assert "mediator.name_change_approved" in actions(session, certified)


def test_a_refusal_keeps_the_name_and_tells_the_mediator(client, session, certified):
    number = ask_for_new_name(client, session, certified)
    sign_in(client, session, "desk@example.org", [Role.ADMINISTRATOR])
    detail = f"/staff/mediators/{certified.public_id}"
    change = session.scalar(select(NameChange))
    url = f"/staff/name-changes/{change.id}/refuse"
    refused = post_form(client, url, {"name-reason": ""}, form_url=detail)
    assert refused.status_code == 422
    response = post_form(
        client, url, {"name-reason": "Not the name on your identity papers."}, form_url=detail
    )
    assert response.status_code == 303
    sign_out(client)
    session.expire_all()
    assert certified.name == "Ida Original" and change.status == "refused"
    verify = page(client, f"/verify?number={number}")
    assert NEW_NAME not in verify and "Formerly" not in verify
    sign_in(client, session, "ida@example.org")
    mine = page(client, "/my/certification")
    assert f"The registry refused your change of name to {NEW_NAME}" in mine
    assert "Not the name on your identity papers." in mine


def test_the_mediator_cannot_decide_through_the_page(client, session, certified):
    ask_for_new_name(client, session, certified)
    sign_in(client, session, "ida@example.org")
    change = session.scalar(select(NameChange))
    response = post_form(
        client, f"/staff/name-changes/{change.id}/approve", {}, form_url="/my/profile"
    )
    assert response.status_code == 403
    session.expire_all()
    assert certified.name == "Ida Original"
