"""Property-based checks of the lifecycle rules over random histories (hypothesis).

Each example builds one mediator's history: a grant, then actions on increasing dates
(payments, partial and full waivers, revocation, new grants), with the daily sweep run on
every action date. The invariants are then checked on the days around every boundary.
"""

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from registry.contributions.models import Invoice
from registry.contributions.services import ContributionError, grant_waiver
from registry.database import utcnow
from registry.events.models import Event
from registry.mail.models import OutboxMessage
from registry.mediators.jobs import run_lifecycle
from registry.mediators.models import Certification, LifecycleReminder, Status
from registry.mediators.services import MediatorError, revoke_certification
from registry.mediators.status import certification_standing, mediator_standing
from registry.search.models import Listing
from registry.search.services import refresh_listings
from tests.factories import grant, make_mediator, open_invoice, pay, set_fees, staff_user

GRACE = 365
START = date(2020, 1, 1)

actions = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=500),  # days after the previous action
        st.sampled_from(["pay", "pay", "pay", "partial", "waive", "revoke", "regrant", "wait"]),
        st.sampled_from([25, 50, 75]),
    ),
    max_size=8,
)


def table_counts(session) -> list[int]:
    return [
        session.scalar(select(func.count()).select_from(table))
        for table in (Invoice, Event, OutboxMessage, LifecycleReminder, Certification)
    ]


def apply(session, mediator, action: str, percent: int, day: date) -> None:
    """Try one action on ``day``; the rules may refuse it, which is part of the test."""
    current = mediator.current_certification
    actor = staff_user(session)
    try:
        if action == "pay":
            pay(session, current, on=day)
        elif action == "partial":
            invoice = open_invoice(session, current)
            grant_waiver(
                session,
                invoice,
                percent=percent,
                reason="Hardship",
                today=day,
                now=utcnow(),
                actor=actor,
            )
            pay(session, current, on=day)
        elif action == "waive":
            grant_waiver(
                session,
                open_invoice(session, current),
                percent=100,
                reason="Pro bono",
                today=day,
                now=utcnow(),
                actor=actor,
            )
        elif action == "revoke":
            revoke_certification(
                session, current, on=day, reason="Conduct", today=day, now=utcnow(), actor=actor
            )
        elif action == "regrant":
            grant(session, mediator, on=day)
    except (ContributionError, MediatorError):
        pass


def sweep_twice(session, day: date) -> None:
    """Run the daily sweep for ``day``; a second run must change nothing."""
    run_lifecycle(session, day, utcnow())
    session.flush()
    before = table_counts(session)
    assert run_lifecycle(session, day, utcnow()) == {
        "invoices": 0,
        "transitions": 0,
        "reminders": 0,
    }
    session.flush()
    assert table_counts(session) == before


def days_to_check(session, mediator, action_days: list[date]) -> list[date]:
    """Every action day and the days around each coverage and grace boundary."""
    days = set(action_days)
    for invoice in session.scalars(select(Invoice)):
        for edge in (invoice.period_end, invoice.period_end + timedelta(days=GRACE)):
            days.update({edge, edge + timedelta(days=1)})
        if invoice.settled_on:
            days.update({invoice.settled_on - timedelta(days=1), invoice.settled_on})
    return sorted(d for d in days if d >= START)


def covered_until(session, certification, day: date) -> date:
    """The last covered day on ``day``, computed from the invoices in plain Python."""
    ends = [
        invoice.period_end
        for invoice in session.scalars(
            select(Invoice).where(Invoice.certification_id == certification.id)
        )
        if invoice.settled_on is not None and invoice.settled_on <= day
    ]
    return max(ends, default=certification.granted_on - timedelta(days=1))


def check_invariants(session, mediator, days: list[date]) -> None:
    struck_since: dict[int, date] = {}
    for day in days:
        for certification in mediator.certifications:
            if certification.granted_on > day:
                continue
            status = certification_standing(session, certification, day, GRACE).status
            if status is Status.STRUCK:
                # Struck only after more than the grace period without cover.
                assert day - covered_until(session, certification, day) > timedelta(days=GRACE)
                struck_since.setdefault(certification.id, day)
            elif certification.id in struck_since:
                # A struck certification never comes back (revocation is refused too).
                pytest.fail(
                    f"certificate struck on {struck_since[certification.id]} is {status} on {day}"
                )
        standing = mediator_standing(session, mediator, day, GRACE)
        if standing.status is Status.CERTIFIED and standing.certification.id in struck_since:
            pytest.fail("certified again without a new grant")


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first_paid=st.booleans(), history=actions)
def test_lifecycle_invariants(ctx, session, first_paid, history):
    savepoint = session.begin_nested()
    try:
        set_fees(session, years=range(2019, 2036))
        mediator = make_mediator(session)
        grant(session, mediator, on=START, paid=first_paid)
        day, action_days = START, [START]
        for gap, action, percent in history:
            day += timedelta(days=gap)
            action_days.append(day)
            sweep_twice(session, day)
            apply(session, mediator, action, percent, day)
        session.expire_all()
        check_invariants(session, mediator, days_to_check(session, mediator, action_days))
    finally:
        savepoint.rollback()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first_paid=st.booleans(), history=actions)
def test_the_search_listing_agrees_with_the_status_on_every_later_day(
    ctx, session, first_paid, history
):
    """Indexed on the last action day, the listing stays right as days pass with no new facts."""
    savepoint = session.begin_nested()
    try:
        set_fees(session, years=range(2019, 2036))
        mediator = make_mediator(session)
        grant(session, mediator, on=START, paid=first_paid)
        day, action_days = START, [START]
        for gap, action, percent in history:
            day += timedelta(days=gap)
            action_days.append(day)
            apply(session, mediator, action, percent, day)
        refresh_listings(session, [mediator.id], today=day)
        session.expire_all()
        listing = session.get(Listing, mediator.id)
        for later in [d for d in days_to_check(session, mediator, action_days) if d >= day]:
            status = mediator_standing(session, mediator, later, GRACE).status
            listed = listing is not None and listing.listed_until >= later
            assert listed == (status is Status.CERTIFIED), (later, status, listing)
    finally:
        savepoint.rollback()
