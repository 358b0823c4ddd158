"""One person, two certifications (mediator and advocate), one listing contribution."""

from datetime import date

import pytest
from sqlalchemy import func, select

from registry.contributions.models import Invoice
from registry.contributions.services import ContributionError
from registry.database import utcnow
from registry.mail.models import OutboxMessage
from registry.mediators.jobs import run_lifecycle
from registry.mediators.models import CertificationType, Status
from registry.mediators.services import (
    MediatorError,
    grant_certification,
    revoke_certification,
    suspend_certification,
)
from registry.mediators.status import certification_standing
from registry.search.queries import MediatorSearch, search_listings
from registry.search.services import refresh_listings
from registry.search.verification import verify_certificate, verify_mediator
from tests.factories import grant, make_mediator, open_invoice, pay, set_fees, staff_user

D = date.fromisoformat
GRANTED = D("2024-01-01")  # the mediator certification; first period 2024
ADVOCATE_ON = D("2024-06-01")
TODAY = D("2024-09-01")


def grant_advocate(session, mediator, on=ADVOCATE_ON, today=TODAY):
    return grant_certification(
        session,
        mediator,
        certification_type=CertificationType.ADVOCATE,
        granted_on=on,
        today=today,
        now=utcnow(),
        actor=staff_user(session),
        check_prerequisites=False,
    )


@pytest.fixture
def dual(ctx, session):
    """Dana: Certified Mediator since 2024-01-01 and Certified Mediation Advocate since June."""
    set_fees(session)
    dana = make_mediator(session, name="Dana Dual")
    mediator = grant(session, dana, on=GRANTED)
    advocate = grant_advocate(session, dana)
    return dana, mediator, advocate


def status(session, certification, on):
    return certification_standing(session, certification, on).status


def names(session, day, **criteria):
    page = search_listings(session, MediatorSearch(**criteria), day)
    return [(listing.name, listing.certifications) for listing in page.items]


def test_the_second_certification_shares_the_first_ones_contribution(session, dual):
    _dana, mediator, advocate = dual
    assert advocate.covered_by is mediator
    assert (
        session.scalar(
            select(func.count(Invoice.id)).where(Invoice.certification_id == advocate.id)
        )
        == 0
    )
    assert status(session, advocate, ADVOCATE_ON) is Status.CERTIFIED
    # Both lapse together when the one contribution is not paid.
    assert status(session, mediator, D("2025-01-01")) is Status.LAPSED
    assert status(session, advocate, D("2025-01-01")) is Status.LAPSED
    pay(session, mediator, on=D("2025-01-10"))
    assert status(session, advocate, D("2025-01-10")) is Status.CERTIFIED
    assert certification_standing(session, advocate, D("2025-01-10")).since == D("2025-01-10")


def test_a_person_holding_both_is_listed_once_with_both(session, dual):
    dana, mediator, advocate = dual
    refresh_listings(session, [dana.id], TODAY)
    both = [
        {"type": "mediator", "certificate_number": mediator.certificate_number},
        {"type": "advocate", "certificate_number": advocate.certificate_number},
    ]
    assert names(session, TODAY) == [("Dana Dual", both)]
    assert names(session, TODAY, certification_type="advocate") == [("Dana Dual", both)]
    assert names(session, TODAY, certification_type="mediator") == [("Dana Dual", both)]


def test_each_certificate_number_verifies_on_its_own(session, dual):
    dana, mediator, advocate = dual
    by_number = verify_certificate(session, advocate.certificate_number, TODAY)
    assert by_number.certification is advocate and by_number.status is Status.CERTIFIED
    assert [v.certification for v in by_number.certifications] == [advocate]
    by_id = verify_mediator(session, dana.public_id, TODAY)
    assert [v.certification for v in by_id.certifications] == [mediator, advocate]
    body = by_id.as_json()
    assert body["certificate_number"] == mediator.certificate_number
    assert [c["certification_type"] for c in body["certifications"]] == ["mediator", "advocate"]


def test_suspending_one_leaves_the_other_certified(session, dual):
    dana, mediator, advocate = dual
    suspend_certification(
        session,
        advocate,
        on=TODAY,
        reason="Conduct panel, as advocate.",
        today=TODAY,
        now=utcnow(),
        actor=staff_user(session),
    )
    assert status(session, advocate, TODAY) is Status.SUSPENDED
    assert status(session, mediator, TODAY) is Status.CERTIFIED
    refresh_listings(session, [dana.id], TODAY)
    only_mediator = [{"type": "mediator", "certificate_number": mediator.certificate_number}]
    assert names(session, TODAY) == [("Dana Dual", only_mediator)]
    assert names(session, TODAY, certification_type="advocate") == []
    found = verify_mediator(session, dana.public_id, TODAY)
    assert found.status is Status.CERTIFIED and found.certification is mediator
    assert verify_certificate(session, advocate.certificate_number, TODAY).reason == (
        "Conduct panel, as advocate."
    )


def test_the_advocate_lives_on_if_the_mediator_certification_is_revoked(session, dual):
    _dana, mediator, advocate = dual
    revoke_certification(
        session,
        mediator,
        on=TODAY,
        reason="Serious breach, as mediator.",
        today=TODAY,
        now=utcnow(),
        actor=staff_user(session),
    )
    assert status(session, advocate, TODAY) is Status.CERTIFIED
    # The contribution is still owed and can still be paid: it covers the advocate.
    summary = run_lifecycle(session, D("2024-12-01"), utcnow())
    assert summary["invoices"] == 1
    pay(session, mediator, on=D("2024-12-10"))
    assert status(session, advocate, D("2025-06-01")) is Status.CERTIFIED
    assert status(session, mediator, D("2025-06-01")) is Status.REVOKED


def test_one_invoice_and_one_reminder_a_year_for_both(session, dual):
    dana, mediator, _advocate = dual
    summary = run_lifecycle(session, D("2024-12-01"), utcnow())
    assert summary["invoices"] == 1
    invoices = session.scalars(select(Invoice).where(Invoice.period_start == D("2025-01-01")))
    assert [invoice.certification_id for invoice in invoices] == [mediator.id]
    ending = session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == dana.email)
    ).all()
    assert len(ending) == 1
    assert run_lifecycle(session, D("2024-12-02"), utcnow())["reminders"] == 0


@pytest.mark.parametrize(
    ("on", "message"),
    [
        (D("2024-07-01"), "a new grant is possible only after striking or revocation"),
    ],
)
def test_a_second_grant_of_a_held_type_is_refused(session, dual, on, message):
    dana, *_ = dual
    with pytest.raises(MediatorError, match=message):
        grant_advocate(session, dana, on=on)


def test_the_other_type_needs_the_held_one_certified_that_day(ctx, session):
    set_fees(session)
    lena = make_mediator(session, name="Lena Lapsed")
    grant(session, lena, on=GRANTED)
    with pytest.raises(MediatorError, match="must be certified on the day of the new grant"):
        grant_advocate(session, lena, on=D("2025-02-01"), today=D("2025-02-01"))


def test_after_striking_a_new_grant_pays_for_itself(ctx, session):
    set_fees(session)
    sam = make_mediator(session, name="Sam Struck")
    grant(session, sam, on=GRANTED)  # struck from 2026-01-01
    advocate = grant_advocate(session, sam, on=D("2026-03-01"), today=D("2026-03-01"))
    assert advocate.covered_by is None
    assert open_invoice(session, advocate).period_start == D("2026-03-01")
    with pytest.raises(ContributionError, match="only a new grant"):
        pay(session, sam.certifications[0], on=D("2026-03-01"))
