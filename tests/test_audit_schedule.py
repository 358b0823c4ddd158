"""When audits fall due, and the public status of a program: tables of dates and a property."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audits.models import AuditStatus
from audits.schedule import ProgramFacts, ProgramStatus, due_date, opening_date, program_status
from audits.services import next_due_date
from registry.clock import add_years
from registry.database import utcnow
from tests.audit_factories import make_audit
from tests.factories import make_program, staff_user

D = date.fromisoformat

# Recognition on the last day of every month of 2023: the first half of 2025 is due on
# 30 June 2025 (30 June itself included), the second half on 31 December 2025.
MONTH_ENDS_2023 = [
    ("2023-01-31", "2025-06-30"),
    ("2023-02-28", "2025-06-30"),
    ("2023-03-31", "2025-06-30"),
    ("2023-04-30", "2025-06-30"),
    ("2023-05-31", "2025-06-30"),
    ("2023-06-30", "2025-06-30"),
    ("2023-07-31", "2025-12-31"),
    ("2023-08-31", "2025-12-31"),
    ("2023-09-30", "2025-12-31"),
    ("2023-10-31", "2025-12-31"),
    ("2023-11-30", "2025-12-31"),
    ("2023-12-31", "2025-12-31"),
]
# The same in a leap year, whose February ends on the 29th.
MONTH_ENDS_2024 = [
    ("2024-01-31", "2026-06-30"),
    ("2024-02-29", "2026-06-30"),
    ("2024-03-31", "2026-06-30"),
    ("2024-04-30", "2026-06-30"),
    ("2024-05-31", "2026-06-30"),
    ("2024-06-30", "2026-06-30"),
    ("2024-07-31", "2026-12-31"),
    ("2024-08-31", "2026-12-31"),
    ("2024-09-30", "2026-12-31"),
    ("2024-10-31", "2026-12-31"),
    ("2024-11-30", "2026-12-31"),
    ("2024-12-31", "2026-12-31"),
]
EDGES = [
    ("2023-01-01", "2025-06-30"),  # the first day of a half year
    ("2023-06-29", "2025-06-30"),
    ("2023-06-30", "2025-06-30"),  # two years later is 30 June: due that very day
    ("2023-07-01", "2025-12-31"),  # a day later: the next half year
    ("2023-12-30", "2025-12-31"),
    ("2023-12-31", "2025-12-31"),  # two years later is 31 December: due that day
    ("2024-01-01", "2026-06-30"),
    # Leap days: two years from 29 February is 28 February.
    ("2024-02-28", "2026-06-30"),
    ("2024-02-29", "2026-06-30"),
    ("2024-03-01", "2026-06-30"),
    ("2028-02-29", "2030-06-30"),
    ("2022-02-28", "2024-06-30"),  # into a leap year
    ("2022-03-01", "2024-06-30"),
]


@pytest.mark.parametrize(("start", "due"), MONTH_ENDS_2023 + MONTH_ENDS_2024 + EDGES)
def test_due_date_table(start, due):
    assert due_date(D(start)) == D(due)


def test_two_years_from_a_leap_day_is_the_28th_of_february():
    assert add_years(D("2024-02-29"), 2) == D("2026-02-28")


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 12, 31)))
def test_due_date_is_the_next_half_year_end_after_two_years(start):
    due = due_date(start)
    anchor = add_years(start, 2)
    assert (due.month, due.day) in {(6, 30), (12, 31)}
    assert anchor <= due < anchor + timedelta(days=184)
    # No half-year end lies between the anchor and the due date.
    earlier = D(f"{due.year}-06-30") if due.month == 12 else D(f"{due.year - 1}-12-31")
    assert earlier < anchor


def test_opening_date_is_the_lead_time_before_the_due_date():
    assert opening_date(D("2025-06-30"), 120) == D("2025-03-02")
    assert opening_date(D("2025-12-31"), 0) == D("2025-12-31")


# -- From the last completed audit (services.next_due_date) -----------------------------------


def complete(session, audit, on):
    signer = staff_user(session)
    audit.status, audit.completed_on, audit.outcome = AuditStatus.COMPLETED, on, "renew"
    audit.signed_off_at, audit.signed_off_by_id = utcnow(), signer.id
    session.flush()


@pytest.mark.parametrize(
    ("completed_on", "next_due"),
    [
        ("2022-09-15", "2024-12-31"),  # late: the first audit was due 30 June 2022
        ("2022-03-01", "2024-06-30"),  # early: within the lead time
        ("2022-06-30", "2024-06-30"),  # on the day
        ("2022-07-01", "2024-12-31"),  # a day late moves the next audit half a year on
    ],
)
def test_the_next_audit_is_due_two_years_after_the_last_completion(session, completed_on, next_due):
    program = make_program(session, recognised_on=D("2020-01-01"))
    assert next_due_date(session, program) == D("2022-06-30")
    audit = make_audit(session, program=program, status=AuditStatus.SUBMITTED)
    complete(session, audit, D(completed_on))
    assert next_due_date(session, program) == D(next_due)


def test_the_latest_completion_counts(session):
    program = make_program(session, recognised_on=D("2020-01-01"))
    first = make_audit(session, program=program, status=AuditStatus.SUBMITTED)
    complete(session, first, D("2022-05-01"))
    second = make_audit(
        session, program=program, status=AuditStatus.SUBMITTED, due_on=D("2024-06-30")
    )
    complete(session, second, D("2024-08-20"))
    assert next_due_date(session, program) == D("2026-12-31")


# -- The public status ------------------------------------------------------------------------

LEAD = 120
RECOGNISED = D("2023-03-15")  # first due 30 June 2025, opening 2 March 2025
DUE = D("2025-06-30")


def facts(
    *,
    cycle=None,
    due=DUE,
    withdrawn_on=None,
    outcome=None,
    completed_on=None,
    recognised_on=RECOGNISED,
):
    return ProgramFacts(
        recognised_on=recognised_on,
        withdrawn_on=withdrawn_on,
        cycle_status=cycle,
        cycle_due_on=due if cycle else None,
        last_outcome=outcome,
        last_completed_on=completed_on,
    )


S = ProgramStatus
STATUS_TABLE = [
    # (facts, today, expected): one row for each way to reach each status, and the priorities.
    (facts(), "2024-01-01", S.RECOGNISED),  # before the job scheduled anything
    (facts(cycle="scheduled"), "2024-01-01", S.RECOGNISED),
    (facts(cycle="scheduled"), "2025-03-01", S.RECOGNISED),  # the day before the opening date
    (facts(cycle="scheduled"), "2025-03-02", S.AUDIT_DUE),  # the opening date, job or not
    (facts(), "2025-03-02", S.AUDIT_DUE),  # computed from recognition without a cycle
    (facts(cycle="open"), "2025-03-05", S.AUDIT_DUE),
    (facts(cycle="open", due=D("2025-12-31")), "2025-03-05", S.AUDIT_DUE),  # open early
    (facts(cycle="in_progress"), "2025-04-01", S.UNDER_AUDIT),
    (facts(cycle="submitted"), "2025-06-30", S.UNDER_AUDIT),  # due today: not overdue yet
    (facts(cycle="submitted"), "2025-07-01", S.OVERDUE),
    (facts(cycle="in_progress"), "2025-07-01", S.OVERDUE),
    (facts(cycle="open"), "2025-07-01", S.OVERDUE),
    (facts(cycle="scheduled"), "2025-07-01", S.OVERDUE),
    (facts(), "2025-07-01", S.OVERDUE),  # overdue from the date alone, without the job
    # After a completed audit the next cycle counts from the completion.
    (
        facts(cycle="scheduled", due=D("2027-06-30"), outcome="renew", completed_on=DUE),
        "2025-08-01",
        S.RECOGNISED,
    ),
    (facts(outcome="renew", completed_on=DUE), "2025-08-01", S.RECOGNISED),
    (
        facts(
            cycle="scheduled",
            due=D("2027-06-30"),
            outcome="renew_with_conditions",
            completed_on=DUE,
        ),
        "2025-08-01",
        S.WITH_CONDITIONS,
    ),
    # Conditions give way to the next audit coming due, and to its being overdue.
    (
        facts(
            cycle="scheduled",
            due=D("2027-06-30"),
            outcome="renew_with_conditions",
            completed_on=DUE,
        ),
        "2027-04-01",
        S.AUDIT_DUE,
    ),
    (
        facts(cycle="open", due=D("2027-06-30"), outcome="renew_with_conditions"),
        "2027-07-01",
        S.OVERDUE,
    ),
    # Suspension outranks the audit cycle, overdue included.
    (facts(outcome="suspend", completed_on=DUE), "2025-08-01", S.SUSPENDED),
    (
        facts(cycle="open", due=D("2027-06-30"), outcome="suspend", completed_on=DUE),
        "2027-08-01",
        S.SUSPENDED,
    ),
    # Withdrawal outranks everything, from its day on.
    (facts(cycle="open", withdrawn_on=D("2025-07-10")), "2025-07-10", S.WITHDRAWN),
    (facts(withdrawn_on=D("2025-07-10"), outcome="suspend"), "2025-08-01", S.WITHDRAWN),
    (facts(withdrawn_on=D("2024-05-01")), "2024-05-01", S.WITHDRAWN),
    (facts(withdrawn_on=D("2024-05-01")), "2024-04-30", S.RECOGNISED),
]


@pytest.mark.parametrize(("program", "today", "expected"), STATUS_TABLE)
def test_program_status_table(program, today, expected):
    assert program_status(program, D(today), LEAD) == expected


def test_every_status_is_reachable():
    assert {expected for _, _, expected in STATUS_TABLE} == set(ProgramStatus)


def test_the_lead_time_moves_the_audit_due_status():
    program = facts(cycle="scheduled")
    assert program_status(program, D("2025-05-31"), 30) == S.AUDIT_DUE
    assert program_status(program, D("2025-05-30"), 30) == S.RECOGNISED
