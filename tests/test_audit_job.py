"""The daily audit job: scheduling, opening, reminders, overdue marks and request reminders,
each exactly once, with injected dates; and two runners at once."""

import multiprocessing
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from audits.jobs import sweep_audits
from audits.models import Audit, AuditStatus, DocumentRequest
from audits.services import withdraw_program
from registry.database import db, utcnow
from registry.events.models import Event
from registry.mail.models import OutboxMessage
from registry.scheduling.models import JobRun
from registry.scheduling.registry import get_jobs, run_daily_job
from tests.audit_factories import (
    declare_and_assign,
    make_appraiser,
    make_audit,
    make_chair,
    make_organisation_admin,
)
from tests.conftest import make_test_app
from tests.factories import make_organisation, make_program, staff_user

D = date.fromisoformat
# Recognised 15 March 2023: due 30 June 2025; with the default 120 lead days the audit opens
# on 1 March 2025, with 30 reminder days the reminder goes on 31 May 2025.
RECOGNISED = D("2023-03-15")
DUE = D("2025-06-30")
OPENS = D("2025-03-02")
REMINDS = D("2025-05-31")
LATER = D("2024-01-10")  # due 30 June 2026: nothing happens to it in 2025 but its scheduling

SUMMARY_KEYS = {"scheduled", "opened", "reminded", "overdue", "requests_reminded"}


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def mails_to(session, address):
    return session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == address).order_by(OutboxMessage.id)
    ).all()


def logged(session, action):
    return session.scalars(select(Event).where(Event.action == action)).all()


def sweep(session, day):
    summary = sweep_audits(session, day, utcnow())
    session.flush()
    session.expire_all()
    return summary


def complete(session, audit, on, outcome="renew"):
    """Sign the audit off directly (the reports' services are another part's)."""
    signer = staff_user(session)
    audit.status, audit.completed_on, audit.outcome = "completed", on, outcome
    audit.signed_off_at, audit.signed_off_by_id = utcnow(), signer.id
    session.flush()


def cycle(session, program):
    return session.scalars(select(Audit).where(Audit.program_id == program.id)).one()


@pytest.fixture
def people(ctx, session):
    """The QAP subcommittee's chair and one pool appraiser."""
    return make_chair(session, "QAP"), make_appraiser(session, "QAP")


@pytest.fixture
def due(people, session):
    """A QAP program due on 30 June 2025 whose organisation has an administrator."""
    organisation = make_organisation(session, name="Due Academy")
    make_organisation_admin(session, organisation, email="admin@due.example")
    return make_program(session, organisation=organisation, recognised_on=RECOGNISED)


@pytest.fixture
def not_due(people, session):
    """A QAP program due a year later, in another organisation."""
    organisation = make_organisation(session, name="Later Institute")
    make_organisation_admin(session, organisation, email="admin@later.example")
    return make_program(session, organisation=organisation, recognised_on=LATER)


# -- Scheduling --------------------------------------------------------------------------------


def test_the_summary_names_every_step(ctx, session):
    assert set(sweep(session, OPENS)) == SUMMARY_KEYS


def test_every_program_gets_its_next_audit_scheduled_once(session, due, not_due):
    assert sweep(session, D("2024-06-01"))["scheduled"] == 2
    assert sweep(session, D("2024-06-01"))["scheduled"] == 0
    assert sweep(session, D("2024-06-02"))["scheduled"] == 0
    assert cycle(session, due).due_on == DUE and cycle(session, due).status == "scheduled"
    assert cycle(session, not_due).due_on == D("2026-06-30")
    assert len(logged(session, "audit.scheduled")) == 2
    assert count(session, OutboxMessage) == 0


def test_a_completed_cycle_gets_the_next_one(session, due):
    make_audit(session, program=due, status=AuditStatus.SUBMITTED)
    complete(session, cycle(session, due), D("2025-05-20"))
    assert sweep(session, D("2025-05-21"))["scheduled"] == 1
    new = session.scalars(select(Audit).where(Audit.status == "scheduled")).one()
    assert new.due_on == D("2027-06-30")


# -- Opening ---------------------------------------------------------------------------------


def test_opens_the_due_audit_only_from_its_opening_date(session, due, not_due):
    assert sweep(session, OPENS - timedelta(days=1))["opened"] == 0
    assert cycle(session, due).status == "scheduled"
    assert sweep(session, OPENS)["opened"] == 1
    opened = cycle(session, due)
    assert opened.status == "open" and opened.opened_on == OPENS
    assert cycle(session, not_due).status == "scheduled"
    [event] = logged(session, "audit.opened")
    assert event.subject_id == str(opened.id) and event.actor_id is None


def test_opening_tells_the_organisation_and_the_subcommittee(session, people, due, not_due):
    chair, appraiser = people
    sweep(session, OPENS)
    audit = cycle(session, due)
    [to_admin] = mails_to(session, "admin@due.example")
    assert "is open: due 30 June 2025" in to_admin.subject
    assert f"/organisation/{due.organisation_id}/audits" in to_admin.body_text
    [to_pool] = mails_to(session, appraiser.email)
    [to_chair] = mails_to(session, chair.email)
    for mail in (to_pool, to_chair):
        assert mail.subject == "New audit to appraise: Due Academy, QAP program (QAP)"
        assert f"/audits/{audit.id}/appraisers" in mail.body_text
        assert "declare" in mail.body_text
    assert mails_to(session, "admin@later.example") == []
    assert count(session, OutboxMessage) == 3


def test_an_audit_is_opened_once_however_often_the_job_runs(session, due):
    assert sweep(session, OPENS)["opened"] == 1
    assert sweep(session, OPENS)["opened"] == 0
    assert sweep(session, OPENS + timedelta(days=1))["opened"] == 0
    assert sweep(session, OPENS + timedelta(days=40))["opened"] == 0
    assert cycle(session, due).opened_on == OPENS
    assert len(logged(session, "audit.opened")) == 1
    assert len(mails_to(session, "admin@due.example")) == 1


def test_a_missed_season_is_caught_up_in_one_run(session, due):
    """Run first after the due date: scheduled, opened and marked overdue in one sweep; the
    reminder is left out (the overdue notice is the news) and not marked as sent."""
    day = DUE + timedelta(days=10)
    summary = sweep(session, day)
    assert summary == {
        "scheduled": 1,
        "opened": 1,
        "reminded": 0,
        "overdue": 1,
        "requests_reminded": 0,
    }
    audit = cycle(session, due)
    assert (audit.opened_on, audit.overdue_marked_on, audit.reminded_on) == (day, day, None)
    subjects = [mail.subject for mail in mails_to(session, "admin@due.example")]
    assert len(subjects) == 2 and subjects[1].startswith("Overdue:")
    assert sweep(session, day + timedelta(days=1)) == dict.fromkeys(SUMMARY_KEYS, 0)


def test_a_withdrawn_program_is_never_scheduled_or_opened(session, due):
    withdraw_program(
        session,
        due,
        reason="The organisation stopped the program.",
        today=D("2024-01-01"),
        now=utcnow(),
        actor=staff_user(session),
    )
    for day in (D("2024-06-01"), OPENS, REMINDS, DUE + timedelta(days=1)):
        assert sweep(session, day) == dict.fromkeys(SUMMARY_KEYS, 0)
    assert count(session, Audit) == 0
    assert count(session, OutboxMessage) == 0


def test_withdrawal_cancels_the_scheduled_audit_and_none_comes_back(session, due):
    sweep(session, D("2024-06-01"))
    assert count(session, Audit) == 1
    withdraw_program(
        session,
        due,
        reason="Recognition withdrawn by the board.",
        today=D("2024-07-01"),
        now=utcnow(),
        actor=staff_user(session),
    )
    assert sweep(session, OPENS) == dict.fromkeys(SUMMARY_KEYS, 0)
    assert count(session, Audit) == 0


def test_an_open_audit_of_a_withdrawn_program_is_left_alone(session, due):
    sweep(session, OPENS)
    due.withdrawn_on, due.withdrawal_reason = OPENS + timedelta(days=5), "Closed."
    session.flush()
    assert sweep(session, DUE + timedelta(days=1)) == dict.fromkeys(SUMMARY_KEYS, 0)
    audit = cycle(session, due)
    assert audit.status == "open" and audit.overdue_marked_on is None


# -- Reminders -------------------------------------------------------------------------------


def test_the_reminder_goes_once_to_the_organisation_and_the_appraisers(session, people, due):
    chair, appraiser = people
    sweep(session, OPENS)
    declare_and_assign(session, cycle(session, due), appraiser, chair=chair)
    assert sweep(session, REMINDS - timedelta(days=1))["reminded"] == 0
    assert sweep(session, REMINDS)["reminded"] == 1
    assert sweep(session, REMINDS)["reminded"] == 0
    assert sweep(session, REMINDS + timedelta(days=3))["reminded"] == 0
    assert cycle(session, due).reminded_on == REMINDS
    reminders = [m for m in mails_to(session, "admin@due.example") if "Reminder" in m.subject]
    assert len(reminders) == 1 and "is due on 30 June 2025" in reminders[0].subject
    [to_appraiser] = [m for m in mails_to(session, appraiser.email) if "Reminder" in m.subject]
    assert "Dear appraiser" in to_appraiser.body_text
    assert [m for m in mails_to(session, chair.email) if "Reminder" in m.subject] == []


def test_without_appraisers_the_chair_is_reminded_to_assign(session, people, due):
    chair, appraiser = people
    sweep(session, OPENS)
    sweep(session, REMINDS)
    [to_chair] = [m for m in mails_to(session, chair.email) if "Reminder" in m.subject]
    assert "no appraiser is assigned yet" in to_chair.body_text
    assert [m for m in mails_to(session, appraiser.email) if "Reminder" in m.subject] == []


def program_of(session, name):
    return make_program(session, organisation=make_organisation(session, name=name))


def test_a_submitted_audit_is_reminded_but_a_completed_one_is_not(session, people):
    submitted = make_audit(
        session, program=program_of(session, "A"), status=AuditStatus.SUBMITTED, due_on=DUE
    )
    completed = make_audit(session, program=program_of(session, "B"), due_on=DUE)
    complete(session, completed, REMINDS)
    sweep(session, REMINDS)
    assert session.get(Audit, submitted.id).reminded_on == REMINDS
    assert session.get(Audit, completed.id).reminded_on is None


# -- Overdue ---------------------------------------------------------------------------------


def test_an_audit_past_its_due_date_is_marked_overdue_once(session, people, due, not_due):
    chair, _ = people
    sweep(session, OPENS)
    sweep(session, REMINDS)
    assert sweep(session, DUE)["overdue"] == 0  # due that day: not overdue yet
    after = DUE + timedelta(days=1)
    assert sweep(session, after)["overdue"] == 1
    assert sweep(session, after)["overdue"] == 0
    assert sweep(session, after + timedelta(days=30))["overdue"] == 0
    assert cycle(session, due).overdue_marked_on == after
    assert cycle(session, not_due).overdue_marked_on is None
    assert len(logged(session, "audit.overdue")) == 1
    overdue = [m for m in mails_to(session, "admin@due.example") if m.subject.startswith("Over")]
    assert len(overdue) == 1 and "Audit overdue" in overdue[0].body_text
    [to_chair] = [m for m in mails_to(session, chair.email) if m.subject.startswith("Overdue")]
    assert "Dear chair" in to_chair.body_text


def test_a_completed_audit_is_never_overdue(session, people):
    audit = make_audit(session, status=AuditStatus.SUBMITTED, due_on=DUE)
    complete(session, audit, DUE)
    assert sweep(session, DUE + timedelta(days=5))["overdue"] == 0


# -- Document requests -----------------------------------------------------------------------


def add_request(session, audit, title, due_on, *, answered=False):
    requester = staff_user(session)
    request = DocumentRequest(
        audit_id=audit.id,
        kind="documents",
        title=title,
        description="Please send it.",
        due_on=due_on,
        requested_at=utcnow(),
        requested_by_id=requester.id,
        answered_at=utcnow() if answered else None,
        answered_by_id=requester.id if answered else None,
    )
    session.add(request)
    session.flush()
    return request


def test_overdue_requests_are_reminded_once_in_one_mail_per_audit(session, due):
    sweep(session, OPENS)
    audit = cycle(session, due)
    first = add_request(session, audit, "Assessment rules", D("2025-04-01"))
    second = add_request(session, audit, "Assessor list", D("2025-04-01"))
    answered = add_request(session, audit, "Annual report", D("2025-04-01"), answered=True)
    later = add_request(session, audit, "Spot check file", D("2025-05-01"))
    assert sweep(session, D("2025-04-01"))["requests_reminded"] == 0
    assert sweep(session, D("2025-04-02"))["requests_reminded"] == 2
    assert sweep(session, D("2025-04-02"))["requests_reminded"] == 0
    assert sweep(session, D("2025-04-20"))["requests_reminded"] == 0
    got = {r.id: r.reminded_on for r in session.scalars(select(DocumentRequest))}
    assert got == {
        first.id: D("2025-04-02"),
        second.id: D("2025-04-02"),
        answered.id: None,
        later.id: None,
    }
    [mail] = [m for m in mails_to(session, "admin@due.example") if "overdue" in m.subject]
    assert mail.subject == "Due Academy: 2 requests of the audit of QAP program are overdue"
    assert "Assessment rules" in mail.body_text and "Assessor list" in mail.body_text
    assert "Annual report" not in mail.body_text
    assert f"/audits/{audit.id}/requests" in mail.body_text
    assert sweep(session, D("2025-05-02"))["requests_reminded"] == 1


def test_requests_of_a_completed_audit_are_not_reminded(session, people):
    audit = make_audit(session, status=AuditStatus.SUBMITTED, due_on=DUE)
    add_request(session, audit, "Old request", D("2025-04-01"))
    complete(session, audit, D("2025-04-10"))
    assert sweep(session, D("2025-04-20"))["requests_reminded"] == 0


# -- The registered job ----------------------------------------------------------------------


def test_the_registered_job_runs_once_per_date(session, due):
    job = get_jobs().daily["audits"]
    summary = run_daily_job(job, OPENS)
    assert summary == {
        "scheduled": 1,
        "opened": 1,
        "reminded": 0,
        "overdue": 0,
        "requests_reminded": 0,
    }
    assert run_daily_job(job, OPENS) is None
    assert session.get(JobRun, ("audits", OPENS)).summary == summary
    assert run_daily_job(job, OPENS + timedelta(days=1))["opened"] == 0
    assert len(logged(session, "audit.opened")) == 1


# -- Two runners at once ---------------------------------------------------------------------

PROGRAMS = 12


def _run_job_in_process(url: str, day: str, barrier) -> None:
    app = make_test_app(url)
    with app.app_context():
        barrier.wait()
        run_daily_job(get_jobs().daily["audits"], D(day))
        db.engine.dispose()


@pytest.mark.parametrize("scheduled_before", [True, False], ids=["scheduled", "new"])
def test_two_processes_on_different_dates_open_and_mail_once(
    fresh_app, fresh_database_url, scheduled_before
):
    """Two schedulers sweeping consecutive dates at once (the daily claim keeps them apart only
    for the same date) both find the audits due, or both schedule them: each audit is
    scheduled, opened and mailed once."""
    with db.transaction() as session:
        make_chair(session, "QAP")
        make_appraiser(session, "QAP")
        for number in range(PROGRAMS):
            organisation = make_organisation(session, name=f"Academy {number}")
            make_organisation_admin(session, organisation, email=f"admin{number}@example.org")
            make_program(session, organisation=organisation, recognised_on=RECOGNISED)
        if scheduled_before:
            assert sweep_audits(session, D("2024-06-01"), utcnow())["scheduled"] == PROGRAMS
    db.engine.dispose()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    days = [str(OPENS), str(OPENS + timedelta(days=1))]
    runners = [
        context.Process(target=_run_job_in_process, args=(fresh_database_url, day, barrier))
        for day in days
    ]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join(90)
        assert runner.exitcode == 0
    with db.transaction() as session:
        assert count(session, Audit, Audit.status == "open") == PROGRAMS
        assert count(session, Audit) == PROGRAMS
        assert count(session, Event, Event.action == "audit.scheduled") == PROGRAMS
        assert count(session, Event, Event.action == "audit.opened") == PROGRAMS
        # Each opening mails the organisation's administrator, the chair and the appraiser.
        assert count(session, OutboxMessage) == 3 * PROGRAMS
        for number in range(PROGRAMS):
            assert len(mails_to(session, f"admin{number}@example.org")) == 1
        runs = session.scalars(select(JobRun).order_by(JobRun.run_on)).all()
        assert [run.job_name for run in runs] == ["audits", "audits"]
        assert sum(run.summary["opened"] for run in runs) == PROGRAMS
