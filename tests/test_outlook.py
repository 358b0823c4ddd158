"""A status that explains itself: last covered day, next dated change, one plain sentence."""

from contextlib import suppress
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from registry.contributions.services import ContributionError
from registry.database import utcnow
from registry.formatting import format_day as long_date
from registry.mediators.models import Status
from registry.mediators.outlook import NextChange, Outlook, outlook
from registry.mediators.services import (
    MediatorError,
    lift_suspension,
    revoke_certification,
    suspend_certification,
)
from registry.mediators.status import certification_standing, mediator_standing
from tests.factories import grant, make_mediator, set_fees, staff_user
from tests.test_lifecycle_properties import START, apply, days_to_check

D = date.fromisoformat
DAY = timedelta(days=1)
GRANTED = D("2024-01-01")
# The first listing period is 2024; grace (365 days) is 2025; striking happens on 2026-01-01.


@pytest.fixture
def certification(ctx: None, session: Session):
    set_fees(session)
    return grant(session, make_mediator(session), on=GRANTED)


def outlook_on(session: Session, certification, on: str) -> Outlook:
    return outlook(certification_standing(session, certification, D(on)))


def conduct(session: Session, action, certification, on: str) -> None:
    """Suspend, lift or revoke ``certification`` on ``on``."""
    day = D(on)
    actor = staff_user(session)
    action(session, certification, on=day, reason="Panel", today=day, now=utcnow(), actor=actor)


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (D("2027-04-01"), "1 April 2027"),
        (D("2024-12-31"), "31 December 2024"),
        (D("2025-09-09"), "9 September 2025"),
    ],
)
def test_a_day_reads_as_the_public_pages_write_it_in_english(day, text):
    assert long_date(day) == text


@pytest.mark.parametrize("on", ["2024-01-01", "2024-06-01", "2024-12-31"])
def test_certified_until_the_last_covered_day(session, certification, on):
    assert outlook_on(session, certification, on) == Outlook(
        D("2024-12-31"),
        NextChange(D("2025-01-01"), Status.LAPSED),
        "Certified: listing contribution paid until 31 December 2024. "
        "Lapses on 1 January 2025 unless renewed.",
    )


@pytest.mark.parametrize("on", ["2025-01-01", "2025-12-31"])
def test_lapsed_says_how_to_restore_and_when_it_is_struck(session, certification, on):
    assert outlook_on(session, certification, on) == Outlook(
        None,
        NextChange(D("2026-01-01"), Status.STRUCK),
        "Not currently certified: the listing contribution has been overdue since "
        "1 January 2025. Paying it by 31 December 2025 restores certification; otherwise "
        "the certification is struck off on 1 January 2026.",
    )


def test_struck(session, certification):
    assert outlook_on(session, certification, "2026-01-01") == Outlook(
        None,
        None,
        "Not currently certified: struck off on 1 January 2026 after the grace period ended; "
        "only a new certification restores it.",
    )


def test_suspended(session, certification):
    conduct(session, suspend_certification, certification, "2024-03-01")
    assert outlook_on(session, certification, "2024-03-10") == Outlook(
        None,
        None,
        "Not currently certified: suspended since 1 March 2024 "
        "as the outcome of a professional conduct process.",
    )


def test_a_lifted_suspension_is_certified_again_until_the_last_covered_day(session, certification):
    conduct(session, suspend_certification, certification, "2024-03-01")
    conduct(session, lift_suspension, certification, "2024-04-01")
    result = outlook_on(session, certification, "2024-04-01")
    assert (result.valid_until, result.next_change) == (
        D("2024-12-31"),
        NextChange(D("2025-01-01"), Status.LAPSED),
    )


def test_revoked(session, certification):
    conduct(session, revoke_certification, certification, "2024-06-01")
    assert outlook_on(session, certification, "2024-06-02") == Outlook(
        None,
        None,
        "Not currently certified: revoked on 1 June 2024 as the outcome of a professional "
        "conduct process; only a new certification restores it.",
    )


def test_a_grant_not_in_effect_yet(ctx, session):
    set_fees(session)
    certification = grant(session, make_mediator(session), on=GRANTED, paid=False)
    assert outlook_on(session, certification, "2024-02-01") == Outlook(
        None,
        None,
        "Not yet certified: certification granted on 1 January 2024 takes effect "
        "when the first listing contribution is paid or waived.",
    )


def test_never_granted(ctx, session):
    standing = mediator_standing(session, make_mediator(session), D("2024-02-01"))
    assert outlook(standing) == Outlook(
        None, None, "Not certified: certification has not been granted."
    )


def test_as_json(session, certification):
    assert outlook_on(session, certification, "2024-06-01").as_json() == {
        "valid_until": "2024-12-31",
        "next_change": {"on": "2025-01-01", "to": "lapsed"},
        "explanation": "Certified: listing contribution paid until 31 December 2024. "
        "Lapses on 1 January 2025 unless renewed.",
    }
    assert outlook_on(session, certification, "2026-01-01").as_json()["next_change"] is None
    assert outlook_on(session, certification, "2025-06-01").as_json() == {
        "valid_until": None,
        "next_change": {"on": "2026-01-01", "to": "struck"},
        "explanation": outlook_on(session, certification, "2025-06-01").explanation,
    }


# Histories as in test_lifecycle_properties, plus suspensions and their lifting.
histories = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=500),  # days after the previous action
        # Payments outnumber the rest so that certified and lapsed days are common.
        st.sampled_from(
            ["pay"] * 6 + ["partial", "waive", "suspend", "lift", "lift", "revoke", "regrant"]
        ),
        st.sampled_from([25, 50, 75]),
    ),
    max_size=8,
)


def act(session: Session, mediator, action: str, percent: int, day: date) -> None:
    """Try one action on ``day``; the rules may refuse it, which is part of the test."""
    if action not in {"suspend", "lift"}:
        apply(session, mediator, action, percent, day)
        return
    change = suspend_certification if action == "suspend" else lift_suspension
    with suppress(ContributionError, MediatorError):
        change(
            session,
            mediator.current_certification,
            on=day,
            reason="Conduct panel",
            today=day,
            now=utcnow(),
            actor=staff_user(session),
        )


def build_history(session: Session, first_paid: bool, history: list) -> tuple:
    """Build one mediator's history; return the mediator and the action days."""
    set_fees(session, years=range(2019, 2036))
    mediator = make_mediator(session)
    grant(session, mediator, on=START, paid=first_paid)
    day, action_days = START, [START]
    for gap, action, percent in history:
        day += timedelta(days=gap)
        action_days.append(day)
        act(session, mediator, action, percent, day)
    session.expire_all()
    return mediator, action_days


def check_outlook(session: Session, certification, today: date) -> None:
    """Check the outlook on ``today`` against the status on the days it speaks of."""
    standing = certification_standing(session, certification, today)
    result = outlook(standing)

    def status_on(day: date) -> Status:
        return certification_standing(session, certification, day).status

    change = result.next_change
    if change is not None:
        assert change.on > today
        assert status_on(change.on - DAY) is standing.status
        assert status_on(change.on) is change.to
        assert long_date(change.on) in result.explanation
    else:
        for later in (1, 400, 800):
            assert status_on(today + timedelta(days=later)) is standing.status, later
    assert (result.valid_until is not None) == (standing.status is Status.CERTIFIED)
    if result.valid_until is not None:
        assert status_on(result.valid_until) is Status.CERTIFIED
        assert status_on(result.valid_until + DAY) is not Status.CERTIFIED


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first_paid=st.booleans(),
    history=histories,
    wait=st.integers(min_value=0, max_value=400),
)
def test_the_outlook_agrees_with_the_status_on_the_days_it_names(
    ctx, session, first_paid, history, wait
):
    """With every fact dated on or before today, the announced changes happen as announced.

    Today is the last action day, a day some time after it, and each coverage and grace
    boundary after it (the last certified or lapsed day and the day after).
    """
    savepoint = session.begin_nested()
    try:
        mediator, action_days = build_history(session, first_paid, history)
        last = action_days[-1]
        boundaries = days_to_check(session, mediator, action_days)
        for today in sorted({last + timedelta(days=wait), *(d for d in boundaries if d >= last)}):
            for certification in mediator.certifications:
                check_outlook(session, certification, today)
    finally:
        savepoint.rollback()
