"""Specialisations are granted on a recorded basis and shown only while live and certified."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from registry.accounts.models import Role
from registry.clock import local_today
from registry.database import utcnow
from registry.events.models import Event
from registry.mediators.models import SpecialisationBasis, SpecialisationGrant
from registry.mediators.services import (
    MediatorError,
    lift_suspension,
    record_assessment,
    suspend_certification,
    update_profile,
)
from registry.mediators.specialisations import (
    SpecialisationError,
    grant_specialisation,
    set_specialisation_bases,
    withdraw_specialisation,
)
from registry.search.queries import MediatorSearch, search_listings
from registry.search.services import prune_listings
from registry.search.verification import verify_mediator
from tests.conftest import post_form
from tests.factories import (
    PASSWORD,
    grant,
    make_mediator,
    make_program,
    make_user,
    pay,
    set_fees,
    specialise,
    staff_user,
)


def listed_with(session, code, day):
    """Return the names found by the public specialisation filter on ``day``."""
    page = search_listings(session, MediatorSearch(specialisation=code), day)
    return [listing.name for listing in page.items]


def public_codes(session, mediator, day):
    found = verify_mediator(session, mediator.public_id, day)
    return [s.code for s in found.specialisations]


@pytest.fixture
def today(ctx):
    return local_today()


@pytest.fixture
def certified(session, today):
    """Ida, certified for a year from 100 days ago."""
    set_fees(session, years=range(today.year - 4, today.year + 3))
    ida = make_mediator(session, name="Ida Intercultural")
    grant(session, ida, on=today - timedelta(days=100))
    return ida


@pytest.fixture
def icqap(session, certified, today):
    """An ICQAP that assessed Ida, a basis for Intercultural (seeded by migration 0007)."""
    program = make_program(session, program_type="ICQAP")
    record_assessment(
        session,
        certified,
        program_id=program.id,
        assessed_on=today - timedelta(days=120),
        today=today,
        now=utcnow(),
        actor=staff_user(session),
    )
    return program


def test_a_grant_on_a_matching_program_is_logged_and_listed(session, certified, icqap, today):
    grant_specialisation(
        session,
        certified,
        code="intercultural",
        granted_on=today - timedelta(days=10),
        program_id=icqap.id,
        today=today,
        now=utcnow(),
        actor=staff_user(session),
    )
    session.commit()
    assert listed_with(session, "intercultural", today) == ["Ida Intercultural"]
    event = session.scalar(select(Event).where(Event.action == "specialisation.granted"))
    assert event.subject_id == certified.public_id
    assert event.data["program"] == icqap.title
    found = verify_mediator(session, certified.public_id, today)
    assert [s.as_json() for s in found.specialisations] == [
        {
            "code": "intercultural",
            "name": "Intercultural",
            "granted_on": (today - timedelta(days=10)).isoformat(),
            "valid_until": None,
        }
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"code": "online_dispute_resolution"}, "A ICQAP is not a basis for this specialisation"),
        ({"code": "astrology"}, "Unknown specialisation"),
        ({"program_id": None}, "Give the basis"),
        ({"granted_on_days": 1}, "cannot be dated in the future"),
        ({"granted_on_days": -200}, "was not certified on"),
        ({"valid_until_days": -30}, "The expiry cannot be before the grant"),
    ],
)
def test_a_grant_without_a_matching_basis_is_refused(
    session, certified, icqap, today, change, message
):
    values = {"code": "intercultural", "program_id": icqap.id}
    values.update({k: v for k, v in change.items() if not k.endswith("_days")})
    granted_on = today + timedelta(days=change.get("granted_on_days", -10))
    valid_until = None
    if "valid_until_days" in change:
        valid_until = granted_on + timedelta(days=change["valid_until_days"])
    with pytest.raises(SpecialisationError, match=message):
        grant_specialisation(
            session,
            certified,
            granted_on=granted_on,
            valid_until=valid_until,
            today=today,
            now=utcnow(),
            actor=staff_user(session),
            **values,
        )
    assert session.scalar(select(func.count(SpecialisationGrant.id))) == 0


def test_the_program_must_have_assessed_them_and_be_recognised(session, certified, today):
    elsewhere = make_program(session, program_type="ICQAP")
    with pytest.raises(SpecialisationError, match="has no recorded assessment"):
        grant_specialisation(
            session,
            certified,
            code="intercultural",
            granted_on=today,
            program_id=elsewhere.id,
            today=today,
            now=utcnow(),
            actor=staff_user(session),
        )
    elsewhere.withdrawn_on, elsewhere.withdrawal_reason = today - timedelta(days=1), "Closed."
    with pytest.raises(SpecialisationError, match="was not recognised on"):
        grant_specialisation(
            session,
            certified,
            code="intercultural",
            granted_on=today,
            program_id=elsewhere.id,
            today=today,
            now=utcnow(),
            actor=staff_user(session),
        )


def test_the_administrator_edits_which_programs_are_a_basis(session, certified, icqap, today):
    staff = staff_user(session)
    set_specialisation_bases(session, "intercultural", ["ODRQAP"], now=utcnow(), actor=staff)
    with pytest.raises(SpecialisationError, match="programs that are: ODRQAP"):
        grant_specialisation(
            session,
            certified,
            code="intercultural",
            granted_on=today,
            program_id=icqap.id,
            today=today,
            now=utcnow(),
            actor=staff,
        )
    types = session.scalars(
        select(SpecialisationBasis.program_type).where(SpecialisationBasis.code == "intercultural")
    )
    assert types.all() == ["ODRQAP"]
    event = session.scalar(select(Event).where(Event.action == "specialisation.bases_changed"))
    assert event.data == {"before": ["ICQAP"], "after": ["ODRQAP"]}
    with pytest.raises(SpecialisationError, match="Unknown program type"):
        set_specialisation_bases(session, "intercultural", ["XYZ"], now=utcnow(), actor=staff)


def test_one_live_grant_per_specialisation(session, certified, today):
    specialise(session, certified, "investor_state", on=today - timedelta(days=5), today=today)
    with pytest.raises(SpecialisationError, match="holds Investor-State already"):
        specialise(session, certified, "investor_state", on=today, today=today)


def test_withdrawal_needs_a_reason_and_hides_the_grant(session, certified, today):
    held = specialise(session, certified, "investor_state", on=today - timedelta(days=5))
    session.commit()
    assert listed_with(session, "investor_state", today) == ["Ida Intercultural"]
    staff = staff_user(session)
    with pytest.raises(SpecialisationError, match="A reason is required"):
        withdraw_specialisation(
            session, held, on=today, reason=" ", today=today, now=utcnow(), actor=staff
        )
    withdraw_specialisation(
        session,
        held,
        on=today,
        reason="Basis found wanting.",
        today=today,
        now=utcnow(),
        actor=staff,
    )
    session.commit()
    assert listed_with(session, "investor_state", today) == []
    assert public_codes(session, certified, today) == []
    # The listing itself stays: only the specialisation went.
    assert listed_with(session, None, today) == ["Ida Intercultural"]
    event = session.scalar(select(Event).where(Event.action == "specialisation.withdrawn"))
    assert event.reason == "Basis found wanting."


def test_expiry_ends_the_grant_and_the_daily_job_refreshes_the_filter(session, certified, today):
    specialise(
        session, certified, "investor_state", on=today - timedelta(days=5), valid_until=today
    )
    session.commit()
    assert listed_with(session, "investor_state", today) == ["Ida Intercultural"]
    tomorrow = today + timedelta(days=1)
    assert public_codes(session, certified, tomorrow) == []
    # Before the daily job refreshes the row, the filter finds and counts it no more.
    page = search_listings(session, MediatorSearch(specialisation="investor_state"), tomorrow)
    assert (page.items, page.total) == ([], 0)
    prune_listings(session, tomorrow, utcnow())
    assert listed_with(session, "investor_state", tomorrow) == []
    assert listed_with(session, None, tomorrow) == ["Ida Intercultural"]


def test_lapse_and_strike_hide_it_and_renewal_shows_it_again(session, certified, today):
    specialise(session, certified, "investor_state", on=today - timedelta(days=5))
    session.commit()
    certification = certified.current_certification
    lapsed_day = verify_mediator(session, certified.public_id, today).outlook.next_change.on
    assert listed_with(session, "investor_state", lapsed_day - timedelta(days=1)) == [
        "Ida Intercultural"
    ]
    assert listed_with(session, "investor_state", lapsed_day) == []
    assert public_codes(session, certified, lapsed_day) == []
    struck_day = lapsed_day + timedelta(days=365)
    assert public_codes(session, certified, struck_day) == []
    assert listed_with(session, "investor_state", struck_day) == []
    # Renewal inside grace brings the same grant back, the day the payment arrives.
    pay(session, certification, on=today)
    session.commit()
    assert listed_with(session, "investor_state", lapsed_day) == ["Ida Intercultural"]
    assert public_codes(session, certified, lapsed_day) == ["investor_state"]


def test_suspension_hides_it_and_lifting_shows_it_again(session, certified, today):
    specialise(session, certified, "investor_state", on=today - timedelta(days=5))
    session.commit()
    staff = staff_user(session)
    certification = certified.current_certification
    suspend_certification(
        session, certification, on=today, reason="Panel.", today=today, now=utcnow(), actor=staff
    )
    session.commit()
    assert listed_with(session, "investor_state", today) == []
    assert public_codes(session, certified, today) == []
    lift_suspension(
        session, certification, on=today, reason="Cleared.", today=today, now=utcnow(), actor=staff
    )
    session.commit()
    assert listed_with(session, "investor_state", today) == ["Ida Intercultural"]


def test_no_self_service_route_gives_a_specialisation(client, session, certified, today):
    user = make_user(session, email="ida@example.org", name="Ida", roles=[Role.MEDIATOR])
    certified.user, certified.email = user, user.email
    session.commit()
    with pytest.raises(MediatorError, match="granted by the registry"):
        update_profile(
            session, certified, now=utcnow(), actor=user, specialisations=["intercultural"]
        )
    post_form(client, "/login", {"email": "ida@example.org", "password": PASSWORD})
    form = client.get("/my/profile").get_data(as_text=True)
    assert 'name="specialisations"' not in form
    assert "are granted by the registry" in form
    response = post_form(
        client,
        "/my/profile",
        {
            "name": certified.name,
            "country": "NL",
            "practice_areas": "Intercultural disputes",
            "specialisations": "intercultural",
        },
    )
    assert response.status_code == 303
    session.expire_all()
    assert session.scalar(select(func.count(SpecialisationGrant.id))) == 0
    assert listed_with(session, "intercultural", today) == []
    api = client.get(f"/api/v1/mediators/{certified.public_id}").get_json()
    assert api["specialisations"] == []
    profile = client.get(f"/mediators/{certified.public_id}").get_data(as_text=True)
    assert "Intercultural disputes" in profile
    assert "Declared by the mediator; not verified by the registry." in profile


def staff_page(client, session, roles=(Role.SUPPORT,)):
    make_user(session, email="desk@example.org", name="Desk", roles=list(roles))
    post_form(client, "/login", {"email": "desk@example.org", "password": PASSWORD})


def test_staff_grant_and_withdraw_through_the_page(client, session, certified, icqap, today):
    staff_page(client, session)
    detail = f"/staff/mediators/{certified.public_id}"
    url = f"{detail}/specialisations"
    refused = post_form(
        client,
        url,
        {
            "specialisation-code": "intercultural",
            "specialisation-granted_on": today.isoformat(),
            "specialisation-program_id": "",
            "specialisation-basis": "",
        },
        form_url=detail,
    )
    assert refused.status_code == 422
    assert "Give the basis" in refused.get_data(as_text=True)
    assert session.scalar(select(func.count(SpecialisationGrant.id))) == 0
    done = post_form(
        client,
        url,
        {
            "specialisation-code": "intercultural",
            "specialisation-granted_on": today.isoformat(),
            "specialisation-program_id": str(icqap.id),
            "specialisation-basis": "",
        },
        form_url=detail,
    )
    assert done.status_code == 303
    page = client.get(detail).get_data(as_text=True)
    assert "Intercultural granted to Ida Intercultural." in page and icqap.title in page
    held = session.scalar(select(SpecialisationGrant))
    withdrawn = post_form(
        client,
        f"/staff/specialisation-grants/{held.id}/withdraw",
        {"withdraw-on": today.isoformat(), "withdraw-reason": "Granted in error."},
        form_url=detail,
    )
    assert withdrawn.status_code == 303
    session.refresh(held)
    assert (held.withdrawn_on, held.withdrawal_reason) == (today, "Granted in error.")


def test_the_administrator_page_saves_the_bases(client, session):
    staff_page(client, session, roles=(Role.ADMINISTRATOR,))
    page = client.get("/staff/specialisations").get_data(as_text=True)
    assert "Intercultural" in page and '<option selected value="ICQAP">' in page
    response = post_form(
        client,
        "/staff/specialisations/investor_state",
        {"investor_state-program_types": ["ICQAP", "QAP"]},
        form_url="/staff/specialisations",
    )
    assert response.status_code == 303
    codes = session.scalars(
        select(SpecialisationBasis.program_type)
        .where(SpecialisationBasis.code == "investor_state")
        .order_by(SpecialisationBasis.program_type)
    )
    assert codes.all() == ["ICQAP", "QAP"]


def test_verify_page_and_profile_show_the_grant_with_its_dates(client, session, certified, today):
    specialise(
        session,
        certified,
        "investor_state",
        on=today - timedelta(days=5),
        valid_until=today + timedelta(days=30),
    )
    session.commit()
    number = certified.current_certification.certificate_number
    for url in (f"/verify?number={number}", f"/mediators/{certified.public_id}"):
        html = client.get(url).get_data(as_text=True)
        granted = (today - timedelta(days=5)).strftime("%-d %B %Y")
        until = (today + timedelta(days=30)).strftime("%-d %B %Y")
        assert "Investor-State" in html
        assert f"granted {granted}, valid until {until}" in html
