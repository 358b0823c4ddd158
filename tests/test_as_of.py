"""Status on a past day: the same rules over the facts recorded with their dates."""

from datetime import date, timedelta

import pytest

from registry.database import utcnow
from registry.mediators.services import lift_suspension, suspend_certification
from tests.factories import grant, make_mediator, pay, set_fees, staff_user

D = date.fromisoformat
GRANTED = D("2023-03-01")  # first period through 2024-02-29 (a leap year), grace one year


@pytest.fixture
def history(ctx, session):
    """Hana: granted 2023-03-01, paid one year, suspended and lifted, lapsed, struck, re-granted.

    The facts are dated in the past, as staff record them; every answer is computed as of a
    day from them.
    """
    set_fees(session, years=range(2022, 2030))
    staff = staff_user(session)
    hana = make_mediator(session, name="Hana History")
    first = grant(session, hana, on=GRANTED)
    suspend_certification(
        session,
        first,
        on=D("2023-06-01"),
        reason="Panel.",
        today=D("2023-06-01"),
        now=utcnow(),
        actor=staff,
    )
    lift_suspension(
        session,
        first,
        on=D("2023-07-01"),
        reason="Cleared.",
        today=D("2023-07-01"),
        now=utcnow(),
        actor=staff,
    )
    # Nothing paid for the second year: lapsed from 2024-03-01, struck from 2025-03-01.
    second = grant(session, hana, on=D("2025-06-01"), paid=False)
    pay(session, second, on=D("2025-06-10"))
    session.commit()
    return hana, first, second


def answer(client, url, day):
    response = client.get(f"{url}?as_of={day}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


@pytest.mark.parametrize(
    ("day", "status", "since", "next_change"),
    [
        ("2023-03-01", "certified", "2023-03-01", {"on": "2024-03-01", "to": "lapsed"}),
        ("2023-05-31", "certified", "2023-03-01", {"on": "2024-03-01", "to": "lapsed"}),
        ("2023-06-01", "suspended", "2023-06-01", None),
        ("2023-06-30", "suspended", "2023-06-01", None),
        ("2023-07-01", "certified", "2023-07-01", {"on": "2024-03-01", "to": "lapsed"}),
        ("2024-02-29", "certified", "2023-07-01", {"on": "2024-03-01", "to": "lapsed"}),
        ("2024-03-01", "lapsed", "2024-03-01", {"on": "2025-03-01", "to": "struck"}),
        ("2025-02-28", "lapsed", "2024-03-01", {"on": "2025-03-01", "to": "struck"}),
        ("2025-03-01", "struck", "2025-03-01", None),
        ("2025-06-09", "struck", "2025-03-01", None),
    ],
)
def test_the_old_number_on_every_boundary_day(client, history, day, status, since, next_change):
    _hana, first, _second = history
    body = answer(client, f"/api/v1/verify/{first.certificate_number}", day)
    assert (body["as_of"], body["status"], body["status_since"]) == (day, status, since)
    assert body["next_change"] == next_change
    assert body["listed"] is (status == "certified")
    if status == "certified":
        assert body["valid_until"] == "2024-02-29"


@pytest.mark.parametrize(
    ("day", "number", "status"),
    [
        ("2025-05-31", "first", "struck"),  # before the new grant: the old one speaks
        ("2025-06-01", "second", "applicant"),  # granted, first contribution not paid yet
        ("2025-06-10", "second", "certified"),  # paid: in effect from the day it arrived
    ],
)
def test_the_person_across_a_strike_and_a_new_grant(client, history, day, number, status):
    hana, first, second = history
    body = answer(client, f"/api/v1/mediators/{hana.public_id}", day)
    expected = {"first": first, "second": second}[number].certificate_number
    assert (body["certificate_number"], body["status"]) == (expected, status)
    # The old number never reads as valid again.
    assert answer(client, f"/api/v1/verify/{first.certificate_number}", day)["status"] == "struck"


def test_a_number_granted_after_the_day_is_not_found_then(client, history):
    _hana, _first, second = history
    response = client.get(f"/api/v1/verify/{second.certificate_number}?as_of=2025-05-31")
    assert response.status_code == 404
    assert response.get_json()["error"]["message"] == "No certificate had this number then."


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-02-30", "is not a day of the calendar"),
        ("2023/03/01", "must be a date in the form YYYY-MM-DD"),
        ("yesterday", "must be a date in the form YYYY-MM-DD"),
        ("2999-01-01", "is after today"),
        ("1999-12-31", "is before the registry's records, which begin on 2023-03-01"),
    ],
)
def test_a_day_that_cannot_be_answered_is_refused(client, history, value, message):
    hana, first, _second = history
    for url in (
        f"/api/v1/verify/{first.certificate_number}",
        f"/api/v1/mediators/{hana.public_id}",
    ):
        response = client.get(f"{url}?as_of={value}")
        assert response.status_code == 400
        assert message in response.get_json()["error"]["message"]


def test_without_as_of_the_answer_is_for_today(client, history):
    hana, *_ = history
    body = client.get(f"/api/v1/mediators/{hana.public_id}").get_json()
    today = client.get(f"/api/v1/mediators/{hana.public_id}?as_of=").get_json()
    assert body == today and body["as_of"] >= "2026-01-01"


def test_the_verify_page_has_a_status_on_field(client, history):
    _hana, first, _second = history
    number = first.certificate_number
    page = client.get(f"/verify?number={number}&as_of=2023-06-15").get_data(as_text=True)
    assert "Status on 15 June 2023" in page and "Not certified on 15 June 2023" in page
    assert "suspended since 1 June 2023" in page
    page = client.get(f"/verify?number={number}&as_of=2023-08-01").get_data(as_text=True)
    assert "Certified on 1 August 2023" in page
    refused = client.get(f"/verify?number={number}&as_of=2026-02-30")
    assert refused.status_code == 400
    assert "is not a day of the calendar" in refused.get_data(as_text=True)
    today = client.get(f"/verify?number={number}").get_data(as_text=True)
    assert "Not currently certified" in today and "struck off" in today


def test_an_empty_register_has_no_past_to_answer_for(client, session, ctx):
    set_fees(session, years=[2026])
    nobody = make_mediator(session, name="Newly Made")
    session.commit()
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    response = client.get(f"/api/v1/mediators/{nobody.public_id}?as_of={yesterday}")
    assert response.status_code == 400
    assert "before the registry's records" in response.get_json()["error"]["message"]
