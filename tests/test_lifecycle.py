"""The certification lifecycle: status as of any date, at the exact boundary days."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.contributions.services import (
    ContributionError,
    grant_waiver,
    record_payment,
    request_waiver,
    void_payment,
)
from registry.database import utcnow
from registry.events.models import Event
from registry.mediators.models import Status
from registry.mediators.services import (
    MediatorError,
    lift_suspension,
    revoke_certification,
    suspend_certification,
)
from registry.mediators.status import (
    applicant_standing,
    certification_standing,
    mediator_standing,
)
from tests.factories import grant, make_mediator, open_invoice, pay, set_fees, staff_user

D = date.fromisoformat
GRANTED = D("2024-01-01")
# The first listing period is 2024-01-01..2024-12-31; grace is 365 days, so 2025 is grace
# and striking happens on 2026-01-01.
PERIOD_END, FIRST_GRACE_DAY, LAST_GRACE_DAY, STRUCK_ON = (
    D("2024-12-31"),
    D("2025-01-01"),
    D("2025-12-31"),
    D("2026-01-01"),
)


@pytest.fixture
def certification(ctx: None, session: Session):
    set_fees(session)
    return grant(session, make_mediator(session), on=GRANTED)


def standing(session: Session, certification, on: str | date):
    day = D(on) if isinstance(on, str) else on
    result = certification_standing(session, certification, day)
    return result.status, result.since


@pytest.mark.parametrize(
    ("on", "status", "since"),
    [
        ("2023-12-31", Status.APPLICANT, "2023-12-31"),
        ("2024-01-01", Status.CERTIFIED, "2024-01-01"),
        ("2024-12-31", Status.CERTIFIED, "2024-01-01"),  # last day of the period
        ("2025-01-01", Status.LAPSED, "2025-01-01"),  # first day of grace
        ("2025-12-31", Status.LAPSED, "2025-01-01"),  # last day of grace
        ("2026-01-01", Status.STRUCK, "2026-01-01"),  # the day of striking
        ("2030-06-01", Status.STRUCK, "2026-01-01"),
    ],
)
def test_unpaid_certification_lapses_then_is_struck(session, certification, on, status, since):
    assert standing(session, certification, on) == (status, D(since))


def test_a_grant_takes_effect_when_the_first_contribution_is_paid(ctx, session):
    set_fees(session)
    certification = grant(session, make_mediator(session), on=GRANTED, paid=False)
    assert standing(session, certification, GRANTED) == (Status.APPLICANT, GRANTED)
    # Never paid: not listed, but never lapsed or struck either.
    assert standing(session, certification, D("2030-01-01")) == (Status.APPLICANT, GRANTED)
    pay(session, certification, on=D("2024-02-10"))
    assert standing(session, certification, D("2024-02-09"))[0] is Status.APPLICANT
    assert standing(session, certification, D("2024-02-10")) == (Status.CERTIFIED, D("2024-02-10"))
    assert standing(session, certification, PERIOD_END)[0] is Status.CERTIFIED
    assert standing(session, certification, FIRST_GRACE_DAY)[0] is Status.LAPSED


def test_payment_on_the_last_day_of_grace_restores_certification(session, certification):
    pay(session, certification, on=LAST_GRACE_DAY)
    assert standing(session, certification, LAST_GRACE_DAY - timedelta(days=1)) == (
        Status.LAPSED,
        FIRST_GRACE_DAY,
    )
    assert standing(session, certification, LAST_GRACE_DAY) == (Status.CERTIFIED, LAST_GRACE_DAY)
    # The payment covered 2025; the next period (2026) is unpaid, so 2026-01-01 lapses again.
    assert standing(session, certification, STRUCK_ON) == (Status.LAPSED, STRUCK_ON)


def test_voiding_the_restoring_payment_makes_the_mediator_lapsed_again(session, certification):
    payment, _ = pay(session, certification, on=LAST_GRACE_DAY)
    assert certification.recorded_status == Status.CERTIFIED
    change = void_payment(
        session,
        payment,
        reason="Booked on the wrong mediator",
        today=LAST_GRACE_DAY,
        now=utcnow(),
        actor=staff_user(session),
    )
    assert change.after.status == Status.LAPSED
    assert certification.recorded_status == Status.LAPSED
    assert standing(session, certification, LAST_GRACE_DAY) == (Status.LAPSED, FIRST_GRACE_DAY)
    assert payment.invoice.settled_on is None
    assert payment.invoice.paid_minor == 0
    assert payment.invoice.balance_minor == payment.invoice.amount_minor
    event = session.scalar(select(Event).where(Event.action == "payment.voided"))
    assert event.reason == "Booked on the wrong mediator"
    assert event.subject_id == payment.invoice.number
    assert event.actor == staff_user(session)
    assert event.data["payment_id"] == payment.id


def test_a_payment_is_voided_once_and_only_with_a_reason(session, certification):
    payment, _ = pay(session, certification, on=LAST_GRACE_DAY)
    voiding = {"today": LAST_GRACE_DAY, "now": utcnow(), "actor": staff_user(session)}
    with pytest.raises(ContributionError, match="Say why"):
        void_payment(session, payment, reason="  ", **voiding)
    assert payment.voided_at is None
    void_payment(session, payment, reason="Duplicate", **voiding)
    with pytest.raises(ContributionError, match="voided already"):
        void_payment(session, payment, reason="Again", **voiding)
    assert payment.void_reason == "Duplicate"
    assert session.scalar(select(func.count(Event.id)).where(Event.action == "payment.voided")) == 1


def test_payment_one_day_after_striking_is_refused(session, certification):
    invoice = open_invoice(session, certification)
    with pytest.raises(ContributionError, match="struck on 1 January 2026"):
        record_payment(
            session,
            invoice,
            amount_minor=invoice.amount_minor,
            currency="EUR",
            received_on=STRUCK_ON,
            today=STRUCK_ON,
            now=utcnow(),
            actor=staff_user(session),
        )
    assert invoice.payments == []
    assert standing(session, certification, STRUCK_ON)[0] is Status.STRUCK


def test_paying_in_time_keeps_certification_without_a_break(session, certification):
    pay(session, certification, on=D("2024-12-15"))
    assert standing(session, certification, FIRST_GRACE_DAY) == (Status.CERTIFIED, GRANTED)
    assert standing(session, certification, D("2025-12-31")) == (Status.CERTIFIED, GRANTED)
    assert standing(session, certification, D("2026-01-01")) == (Status.LAPSED, D("2026-01-01"))


def test_partial_waiver_plus_payment_of_the_rest_covers_the_period(session, certification):
    invoice = open_invoice(session, certification)
    grant_waiver(
        session,
        invoice,
        percent=25,
        reason="Hardship",
        today=D("2024-12-01"),
        now=utcnow(),
        actor=staff_user(session),
    )
    assert invoice.waived_minor == 3750 and invoice.balance_minor == 11250
    assert standing(session, certification, FIRST_GRACE_DAY)[0] is Status.LAPSED
    pay(session, certification, on=D("2025-02-01"), amount=11249)
    assert invoice.settled_on is None and invoice.balance_minor == 1
    assert standing(session, certification, D("2025-02-01"))[0] is Status.LAPSED
    pay(session, certification, on=D("2025-02-03"), amount=1)
    assert invoice.settled_on == D("2025-02-03")
    assert standing(session, certification, D("2025-02-03")) == (Status.CERTIFIED, D("2025-02-03"))


def test_full_waiver_covers_the_period(session, certification):
    invoice = open_invoice(session, certification)
    grant_waiver(
        session,
        invoice,
        percent=100,
        reason="Pro bono year",
        today=D("2024-12-20"),
        now=utcnow(),
        actor=staff_user(session),
    )
    assert standing(session, certification, D("2025-06-01")) == (Status.CERTIFIED, GRANTED)


def test_overpayment_is_kept_as_a_visible_credit(session, certification):
    invoice = open_invoice(session, certification)
    pay(session, certification, on=D("2024-12-01"), amount=invoice.amount_minor + 500)
    assert invoice.balance_minor == -500
    assert invoice.settled_on == D("2024-12-01")


def test_revocation_ends_certification_for_good(session, certification):
    actor = staff_user(session)
    revoke_certification(
        session,
        certification,
        on=D("2024-06-01"),
        reason="Conduct panel",
        today=D("2024-06-01"),
        now=utcnow(),
        actor=actor,
    )
    assert standing(session, certification, D("2024-05-31"))[0] is Status.CERTIFIED
    assert standing(session, certification, D("2024-06-01")) == (Status.REVOKED, D("2024-06-01"))
    with pytest.raises(ContributionError, match="revoked"):
        pay(session, certification, on=D("2024-07-01"))


def test_suspension_and_lifting(session, certification):
    actor = staff_user(session)
    suspend_certification(
        session,
        certification,
        on=D("2024-03-01"),
        reason="Complaint",
        today=D("2024-03-01"),
        now=utcnow(),
        actor=actor,
    )
    assert standing(session, certification, D("2024-03-01")) == (Status.SUSPENDED, D("2024-03-01"))
    lift_suspension(
        session,
        certification,
        on=D("2024-04-01"),
        reason="Cleared",
        today=D("2024-04-01"),
        now=utcnow(),
        actor=actor,
    )
    assert standing(session, certification, D("2024-04-01")) == (Status.CERTIFIED, D("2024-04-01"))
    assert standing(session, certification, D("2024-03-31"))[0] is Status.SUSPENDED


def test_reason_is_required_to_suspend_or_revoke(session, certification):
    for action in (suspend_certification, revoke_certification):
        with pytest.raises(MediatorError, match="reason is required"):
            action(
                session,
                certification,
                on=GRANTED,
                reason="  ",
                today=GRANTED,
                now=utcnow(),
                actor=staff_user(session),
            )
    assert certification.suspended_on is None and certification.revoked_on is None


def test_only_a_new_grant_certifies_a_struck_mediator(session, certification):
    mediator = certification.mediator
    assert mediator_standing(session, mediator, D("2026-02-01")).status is Status.STRUCK
    again = grant(session, mediator, on=D("2026-02-01"))
    assert again.certificate_number != certification.certificate_number
    now = mediator_standing(session, mediator, D("2026-02-01"))
    assert (now.status, now.certification) == (Status.CERTIFIED, again)
    assert standing(session, certification, D("2026-02-01"))[0] is Status.STRUCK


def test_a_live_certification_cannot_be_granted_again(session, certification):
    with pytest.raises(MediatorError, match="only after striking or revocation"):
        grant(session, certification.mediator, on=D("2024-06-01"))


def test_certificate_numbers_are_never_reused(ctx, session):
    set_fees(session)
    grant(session, make_mediator(session, name="Ana One"), on=GRANTED, number="MR-1")
    with pytest.raises(MediatorError, match="never reused"):
        grant(session, make_mediator(session, name="Bo Two"), on=GRANTED, number="mr-1")


def test_applicant_without_any_grant(ctx, session):
    mediator = make_mediator(session)
    assert mediator_standing(session, mediator, D("2030-01-01")).status is Status.APPLICANT


def test_a_suspension_entered_by_mistake_can_be_lifted_the_same_day(session, certification):
    actor = staff_user(session)
    day = D("2024-03-01")
    suspend_certification(
        session, certification, on=day, reason="Wrong person", today=day, now=utcnow(), actor=actor
    )
    lift_suspension(
        session,
        certification,
        on=day,
        reason="Entered by mistake",
        today=day,
        now=utcnow(),
        actor=actor,
    )
    assert standing(session, certification, day) == (Status.CERTIFIED, GRANTED)


def test_a_struck_certifications_invoice_cannot_be_waived(session, certification):
    invoice = open_invoice(session, certification)
    with pytest.raises(ContributionError, match="only a new grant"):
        request_waiver(
            session,
            invoice,
            percent=100,
            reason="Please",
            today=STRUCK_ON,
            actor=staff_user(session),
            now=utcnow(),
        )
    assert invoice.waivers == []


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (-1, "more than zero"),
        (0, "more than zero"),
        (10**12, "too large"),
        (1.5, "whole numbers"),
        ("100", "whole numbers"),
        (True, "whole numbers"),
    ],
)
def test_payment_amounts_must_be_sensible(session, certification, amount, message):
    invoice = open_invoice(session, certification)
    with pytest.raises(ContributionError, match=message):
        record_payment(
            session,
            invoice,
            amount_minor=amount,
            currency="EUR",
            received_on=PERIOD_END,
            today=PERIOD_END,
            now=utcnow(),
            actor=staff_user(session),
        )
    assert invoice.payments == []


def test_payment_in_another_currency_or_unknown_currency_is_refused(session, certification):
    invoice = open_invoice(session, certification)
    for currency, message in [("USD", "is in EUR, not USD"), ("XYZ", "Unknown currency")]:
        with pytest.raises(ContributionError, match=message):
            record_payment(
                session,
                invoice,
                amount_minor=100,
                currency=currency,
                received_on=PERIOD_END,
                today=PERIOD_END,
                now=utcnow(),
                actor=staff_user(session),
            )
    assert invoice.payments == []


def test_an_applicant_counts_from_the_registry_calendar_day_of_creation(session, ctx):
    # 23:30 UTC on 21 November is 00:30 on 22 November in Amsterdam, the registry's calendar.
    mediator = make_mediator(session)
    mediator.created_at = datetime(2026, 11, 21, 23, 30, tzinfo=UTC)
    standing = applicant_standing(mediator, date(2026, 12, 1))
    assert standing.status is Status.APPLICANT
    assert standing.since == date(2026, 11, 22)
