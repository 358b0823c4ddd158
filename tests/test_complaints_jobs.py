"""The daily complaint jobs: overdue levels flagged exactly once with injected dates, in the
registry's calendar; closed complaints purged after the retention period, leaving a count."""

import io
import multiprocessing
import os
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from complaints import services
from complaints.jobs import (
    day_start,
    flag_overdue_complaints,
    missed_limits,
    purge_closed_complaints,
)
from complaints.models import (
    Complaint,
    ComplaintAttachment,
    ComplaintEntry,
    ComplaintStatistic,
    OverdueFlag,
    Status,
)
from registry.database import db, utcnow
from registry.events.models import Event
from registry.mail.models import MailStatus, OutboxMessage
from registry.scheduling.models import JobRun
from registry.scheduling.registry import get_jobs, run_daily_job
from registry.uploads import files_dir, sweep_orphan_files
from tests.complaint_factories import at_level, file, make_handlers
from tests.conftest import make_test_app

D = date.fromisoformat
# Noon in Amsterdam on 1 June 2024: acknowledgement due by 8 June, overdue from 9 June;
# the response due by 1 July, overdue from 2 July.
ARRIVED = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
ACK_LATE = D("2024-06-09")
RESPONSE_LATE = D("2024-07-02")
NOTE = (
    "Support did not acknowledge the complaint within 7 days; the Executive Director has been told."
)


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def mails_to(session, address):
    return session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == address).order_by(OutboxMessage.id)
    ).all()


def overdue_entries(session, complaint):
    return session.scalars(
        select(ComplaintEntry)
        .where(ComplaintEntry.complaint_id == complaint.id, ComplaintEntry.kind == "overdue")
        .order_by(ComplaintEntry.id)
    ).all()


def flag(session, day):
    summary = flag_overdue_complaints(session, day, utcnow())
    session.flush()
    session.expire_all()
    return summary


def arrived(session, complaint, at=ARRIVED):
    """Say the complaint reached its current level (and was filed) at ``at``."""
    complaint.level_since = at
    complaint.filed_at = min(complaint.filed_at, at)
    session.flush()
    return complaint


def clear_outbox(session):
    for message in session.scalars(select(OutboxMessage)):
        session.delete(message)
    session.flush()


@pytest.fixture
def handlers(ctx, session):
    return make_handlers(session)


# -- Time limits ---------------------------------------------------------------------------


def test_both_jobs_are_registered(app):
    daily = app.extensions["jobs"].daily
    assert {"complaints-overdue", "purge-complaints"} <= set(daily)
    assert daily["complaints-overdue"].sweep is flag_overdue_complaints
    assert daily["purge-complaints"].sweep is purge_closed_complaints


def test_a_day_begins_at_midnight_in_the_registry_calendar(ctx):
    assert day_start(D("2024-06-09")) == datetime(2024, 6, 8, 22, 0, tzinfo=UTC)  # summer
    assert day_start(D("2024-12-09")) == datetime(2024, 12, 8, 23, 0, tzinfo=UTC)  # winter


def test_missed_limits_per_status(handlers, session):
    received = arrived(session, file(session).complaint)
    acknowledged = arrived(session, at_level(session, handlers, 1, Status.ACKNOWLEDGED))
    responded = arrived(session, at_level(session, handlers, 1, Status.RESPONDED))
    assert missed_limits(received, ACK_LATE - timedelta(days=1)) == []
    assert missed_limits(received, ACK_LATE) == ["acknowledge"]
    assert missed_limits(received, RESPONSE_LATE) == ["acknowledge", "respond"]
    assert missed_limits(acknowledged, RESPONSE_LATE - timedelta(days=1)) == []
    assert missed_limits(acknowledged, RESPONSE_LATE) == ["respond"]
    assert missed_limits(responded, RESPONSE_LATE) == []


# -- The overdue job -----------------------------------------------------------------------


def test_a_level_that_did_not_acknowledge_is_flagged_once(handlers, session):
    due = arrived(session, file(session).complaint)
    not_due = arrived(
        session, file(session, email="other@example.org").complaint, ARRIVED + timedelta(days=3)
    )
    clear_outbox(session)

    assert flag(session, ACK_LATE - timedelta(days=1)) == {"acknowledge": 0, "respond": 0}
    assert flag(session, ACK_LATE) == {"acknowledge": 1, "respond": 0}
    [entry] = overdue_entries(session, due)
    assert (entry.level, entry.author_id, entry.body) == (1, None, NOTE)
    assert session.get(OverdueFlag, (due.id, 1, "acknowledge")) is not None
    [event] = session.scalars(select(Event).where(Event.action == "complaint.overdue")).all()
    assert event.subject_id == str(due.id) and event.actor_id is None
    assert event.data == {"level": 1, "status": "open", "kind": "acknowledge", "mailed": True}

    [to_director] = mails_to(session, handlers.director.email)
    assert to_director.subject == f"Overdue at level 1: complaint {due.receipt_code}"
    assert NOTE in to_director.body_text and "/staff/complaints/" not in to_director.body_text
    [to_support] = mails_to(session, handlers.support.email)
    assert to_support.subject == f"Reminder: complaint {due.receipt_code} is overdue"
    assert f"http://registry.test/staff/complaints/{due.id}" in to_support.body_text
    [to_complainant] = mails_to(session, "casey@example.org")
    assert NOTE.removesuffix(".") in to_complainant.subject
    assert all("three months" not in m.body_text for m in (to_complainant, to_director, to_support))
    assert mails_to(session, "other@example.org") == []

    # Run again, the same day or later: nothing new for the flagged level.
    assert flag(session, ACK_LATE) == {"acknowledge": 0, "respond": 0}
    assert flag(session, ACK_LATE + timedelta(days=2)) == {"acknowledge": 0, "respond": 0}
    assert flag(session, ACK_LATE + timedelta(days=3)) == {"acknowledge": 1, "respond": 0}
    assert len(overdue_entries(session, due)) == 1
    assert len(overdue_entries(session, not_due)) == 1
    assert len(mails_to(session, handlers.director.email)) == 2


def test_the_day_a_complaint_arrived_is_a_day_of_the_registry_calendar(handlers, session):
    # 22:30 UTC on 1 June is 00:30 on 2 June in Amsterdam: one day later than ARRIVED.
    late_evening = arrived(
        session, file(session).complaint, datetime(2024, 6, 1, 22, 30, tzinfo=UTC)
    )
    assert flag(session, ACK_LATE)["acknowledge"] == 0
    assert missed_limits(late_evening, ACK_LATE) == []
    assert flag(session, ACK_LATE + timedelta(days=1))["acknowledge"] == 1


def test_a_level_that_did_not_respond_is_flagged_once(handlers, session):
    acknowledged = arrived(session, at_level(session, handlers, 1, Status.ACKNOWLEDGED))
    responded = arrived(session, at_level(session, handlers, 1, Status.RESPONDED))
    assert flag(session, RESPONSE_LATE - timedelta(days=1)) == {"acknowledge": 0, "respond": 0}
    assert flag(session, RESPONSE_LATE) == {"acknowledge": 0, "respond": 1}
    [entry] = overdue_entries(session, acknowledged)
    assert entry.body == (
        "Support did not respond within 30 days; the Executive Director has been told."
    )
    assert overdue_entries(session, responded) == []
    assert flag(session, RESPONSE_LATE + timedelta(days=5)) == {"acknowledge": 0, "respond": 0}


def test_a_missed_month_catches_up_both_limits(handlers, session):
    received = arrived(session, file(session).complaint)
    assert flag(session, RESPONSE_LATE) == {"acknowledge": 1, "respond": 1}
    assert [e.body.split(" within")[0] for e in overdue_entries(session, received)] == [
        "Support did not acknowledge the complaint",
        "Support did not respond",
    ]
    assert flag(session, RESPONSE_LATE) == {"acknowledge": 0, "respond": 0}


def test_a_limit_missed_long_ago_is_flagged_without_mailing_anyone(handlers, session):
    # A first run: the acknowledgement was due by 8 June, 15 days before this run's window.
    old = arrived(session, file(session).complaint)
    clear_outbox(session)
    first_run = ACK_LATE + timedelta(days=15)
    assert flag(session, first_run) == {"acknowledge": 1, "respond": 0}
    [entry] = overdue_entries(session, old)
    assert entry.body == (
        "Support did not acknowledge the complaint within 7 days;"
        " this was found too late to tell anyone by e-mail."
    )
    [event] = session.scalars(select(Event).where(Event.action == "complaint.overdue")).all()
    assert event.data["mailed"] is False
    assert count(session, OutboxMessage) == 0
    # Flagged, so never mailed later either; the response limit, missed recently, is mailed.
    assert flag(session, first_run + timedelta(days=1)) == {"acknowledge": 0, "respond": 0}
    assert flag(session, RESPONSE_LATE)["respond"] == 1
    assert count(session, OutboxMessage) == 3


def test_an_overdue_limit_within_the_recent_window_is_mailed(handlers, session):
    arrived(session, file(session).complaint)
    clear_outbox(session)
    assert flag(session, ACK_LATE + timedelta(days=14))["acknowledge"] == 1
    assert count(session, OutboxMessage) == 3


def test_acknowledging_after_the_selection_is_seen(handlers, session):
    complaint = arrived(session, file(session).complaint)
    services.acknowledge_complaint(session, complaint, actor=handlers.support, now=utcnow())
    assert flag(session, ACK_LATE)["acknowledge"] == 0
    assert overdue_entries(session, complaint) == []


@pytest.mark.parametrize(
    ("level", "subject", "note", "told"),
    [
        (
            2,
            "registry",
            "The Executive Director did not acknowledge the complaint within 7 days;"
            " the Governance Taskforce has been told.",
            "member3@registry.example",
        ),
        (
            2,
            "mediator",
            "The Executive Director did not acknowledge the complaint within 7 days;"
            " the Professional Conduct Committee has been told.",
            "member1@registry.example",
        ),
        (
            3,
            "program",
            "The Appraisal Committee did not acknowledge the complaint within 7 days;"
            " the Board has been told.",
            "board@registry.example",
        ),
    ],
)
def test_each_level_is_flagged_to_the_level_above(handlers, session, level, subject, note, told):
    complaint = arrived(session, at_level(session, handlers, level, subject=subject))
    clear_outbox(session)
    assert flag(session, ACK_LATE)["acknowledge"] == 1
    assert overdue_entries(session, complaint)[-1].body == note
    [above] = mails_to(session, told)
    assert above.subject.startswith(f"Overdue at level {level}")
    current = handlers.of_level(level, subject)
    [reminder] = mails_to(session, current.email)
    assert reminder.subject.startswith("Reminder")
    # The complainant's e-mail, written in their language, says what the timeline says.
    [to_complainant] = mails_to(session, complaint.complainant_email)
    assert note.removesuffix(".") in to_complainant.subject
    # Nobody else: not the other committees, not the outsider.
    assert count(session, OutboxMessage) == 3  # above, current, the complainant


def test_the_board_is_reminded_itself(handlers, session):
    complaint = arrived(session, at_level(session, handlers, 4))
    clear_outbox(session)
    assert flag(session, ACK_LATE)["acknowledge"] == 1
    assert overdue_entries(session, complaint)[-1].body == (
        "The Board did not acknowledge the complaint within 7 days; its members have been reminded."
    )
    [reminder] = mails_to(session, handlers.board.email)
    assert reminder.subject == f"Reminder: complaint {complaint.receipt_code} is overdue"
    [to_complainant] = mails_to(session, complaint.complainant_email)
    assert to_complainant.subject.endswith(
        "The Board did not acknowledge the complaint within 7 days; its members have been reminded"
    )
    assert count(session, OutboxMessage) == 2  # the Board member and the complainant


def test_a_new_level_gets_its_own_limits(handlers, session):
    complaint = arrived(session, file(session).complaint)
    assert flag(session, ACK_LATE)["acknowledge"] == 1
    services.escalate_complaint(
        session, complaint, reason="Support is slow.", actor=handlers.support, now=utcnow()
    )
    arrived(session, complaint, ARRIVED + timedelta(days=10))  # reached level 2 on 11 June
    assert flag(session, ACK_LATE + timedelta(days=10))["acknowledge"] == 1
    assert [e.level for e in overdue_entries(session, complaint)] == [1, 2]
    assert count(session, OverdueFlag, OverdueFlag.complaint_id == complaint.id) == 2


def test_closed_and_anonymous_complaints(handlers, session):
    closed = arrived(session, file(session).complaint)
    services.withdraw_complaint(session, closed, now=utcnow())
    anonymous = arrived(session, file(session, anonymous=True).complaint)
    clear_outbox(session)
    assert flag(session, ACK_LATE) == {"acknowledge": 1, "respond": 0}
    assert flag(session, RESPONSE_LATE) == {"acknowledge": 0, "respond": 1}
    assert overdue_entries(session, closed) == []
    assert len(overdue_entries(session, anonymous)) == 2
    # Nobody to tell but the handlers: two mails per limit.
    assert count(session, OutboxMessage) == 4


def test_the_registered_job_runs_once_per_date(handlers, session):
    arrived(session, file(session).complaint)
    job = get_jobs().daily["complaints-overdue"]
    assert run_daily_job(job, ACK_LATE) == {"acknowledge": 1, "respond": 0}
    assert run_daily_job(job, ACK_LATE) is None
    assert run_daily_job(job, ACK_LATE + timedelta(days=1)) == {"acknowledge": 0, "respond": 0}
    assert session.get(JobRun, ("complaints-overdue", ACK_LATE)).summary["acknowledge"] == 1


COMPLAINTS = 8


def _run_overdue_in_process(url: str, day: str, barrier) -> None:
    app = make_test_app(url)
    with app.app_context():
        barrier.wait()
        run_daily_job(get_jobs().daily["complaints-overdue"], D(day))
        db.engine.dispose()


def test_two_processes_on_different_dates_flag_each_level_once(fresh_app, fresh_database_url):
    with db.transaction() as session:
        make_handlers(session)
        for number in range(COMPLAINTS):
            arrived(session, file(session, email=f"c{number}@example.org").complaint)
    db.engine.dispose()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    runners = [
        context.Process(target=_run_overdue_in_process, args=(fresh_database_url, day, barrier))
        for day in (str(ACK_LATE), str(ACK_LATE + timedelta(days=1)))
    ]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join(90)
        assert runner.exitcode == 0
    with db.transaction() as session:
        assert count(session, OverdueFlag) == COMPLAINTS
        assert count(session, ComplaintEntry, ComplaintEntry.kind == "overdue") == COMPLAINTS
        assert count(session, Event, Event.action == "complaint.overdue") == COMPLAINTS
        for number in range(COMPLAINTS):
            address = f"c{number}@example.org"
            overdue = [m for m in mails_to(session, address) if "did not acknowledge" in m.subject]
            assert len(overdue) == 1
        runs = session.scalars(select(JobRun)).all()
        assert sum(run.summary["acknowledge"] for run in runs) == COMPLAINTS


# -- The purge job -------------------------------------------------------------------------

# Closed at noon on 31 May 2022 (Amsterdam): 730 days later is 30 May 2024, purged from 31 May.
CLOSED = datetime(2022, 5, 31, 10, 0, tzinfo=UTC)
PURGE_DAY = D("2024-05-31")
PDF = b"%PDF-1.4 evidence"


def closed_at(session, complaint, at=CLOSED):
    """Close the complaint (withdrawn, unless closed already) at ``at``."""
    if not complaint.is_closed:
        services.withdraw_complaint(session, complaint, now=utcnow())
    complaint.closed_at = at
    session.flush()
    return complaint


def purge(session, day):
    summary = purge_closed_complaints(session, day, utcnow())
    session.flush()
    session.expire_all()
    return summary


def statistics(session):
    return {
        (s.closed_year, s.subject, s.final_level, s.closed_as): s.count
        for s in session.scalars(select(ComplaintStatistic))
    }


def with_file(session, **kwargs):
    upload = FileStorage(io.BytesIO(PDF), filename="evidence.pdf", content_type="application/pdf")
    return file(session, uploads=[upload], **kwargs).complaint


def test_a_closed_complaint_is_purged_after_the_retention_period(handlers, session):
    due = closed_at(session, file(session).complaint)
    not_due = closed_at(session, file(session).complaint, CLOSED + timedelta(days=1))
    due_id = due.id
    assert purge(session, PURGE_DAY - timedelta(days=1))["purged"] == 0
    assert purge(session, PURGE_DAY) == {"purged": 1, "files": 0, "deferred": 0}
    assert session.get(Complaint, due_id) is None
    assert count(session, ComplaintEntry, ComplaintEntry.complaint_id == due_id) == 0
    assert session.get(Complaint, not_due.id) is not None
    assert statistics(session) == {(2022, "registry", 1, "withdrawn"): 1}
    # The event log keeps the complaint's entries, and says it was purged.
    events = session.scalars(select(Event).where(Event.subject_id == str(due_id))).all()
    assert {"complaint.filed", "complaint.withdrawn", "complaint.purged"} <= {
        e.action for e in events
    }
    assert purge(session, PURGE_DAY)["purged"] == 0
    assert purge(session, PURGE_DAY + timedelta(days=1))["purged"] == 1
    assert statistics(session) == {(2022, "registry", 1, "withdrawn"): 2}


def test_open_and_recently_closed_complaints_stay(handlers, session):
    old_open = arrived(session, file(session).complaint, CLOSED)
    recent = closed_at(session, file(session).complaint, utcnow())
    assert purge(session, PURGE_DAY + timedelta(days=400))["purged"] == 0
    assert session.get(Complaint, old_open.id) and session.get(Complaint, recent.id)
    assert statistics(session) == {}


def test_statistics_count_per_year_subject_level_and_closure(handlers, session):
    resolved = at_level(session, handlers, 2, subject="program")
    services.resolve_complaint(
        session,
        resolved,
        outcome="Settled.",
        actor=handlers.director,
        now=utcnow(),
        today=PURGE_DAY,
    )
    closed_at(session, resolved)
    closed_at(session, file(session, anonymous=True).complaint)
    closed_at(session, file(session).complaint, datetime(2021, 12, 31, 23, 30, tzinfo=UTC))
    session.add(
        ComplaintStatistic(
            closed_year=2022, subject="program", final_level=2, closed_as="resolved", count=5
        )
    )
    session.flush()
    assert purge(session, PURGE_DAY)["purged"] == 3
    assert statistics(session) == {
        (2022, "program", 2, "resolved"): 6,
        (2022, "registry", 1, "withdrawn"): 2,  # 23:30 UTC on 31 December is 2022 in Amsterdam
    }


def test_purging_removes_the_files_once_committed(handlers, session):
    complaint = with_file(session)
    other = with_file(session)
    [attachment] = complaint.attachments
    path = files_dir("COMPLAINT_FILES_DIR", "complaint-files") / attachment.storage_name
    other_path = path.parent / other.attachments[0].storage_name
    assert path.read_bytes() == PDF
    closed_at(session, complaint)
    job = get_jobs().daily["purge-complaints"]
    assert run_daily_job(job, PURGE_DAY) == {"purged": 1, "files": 1, "deferred": 0}
    assert not path.exists()
    assert count(session, ComplaintAttachment, ComplaintAttachment.id == attachment.id) == 0
    assert other_path.exists()
    assert run_daily_job(job, PURGE_DAY) is None


def test_a_failed_purge_keeps_the_files(handlers, session):
    complaint = closed_at(session, with_file(session))
    path = (
        files_dir("COMPLAINT_FILES_DIR", "complaint-files") / complaint.attachments[0].storage_name
    )
    with pytest.raises(RuntimeError), db.transaction() as writer:
        assert purge_closed_complaints(writer, PURGE_DAY, utcnow())["files"] == 1
        raise RuntimeError("the job failed after the sweep")
    assert path.exists()
    assert session.get(Complaint, complaint.id) is not None


def test_the_complainants_mail_is_redacted(handlers, session):
    purged = closed_at(session, file(session).complaint)
    kept = file(session).complaint  # same address, another complaint
    code = purged.receipt_code
    to_handlers = [m.id for m in mails_to(session, handlers.support.email)]
    assert purge(session, PURGE_DAY)["purged"] == 1
    mine = session.scalars(select(OutboxMessage).where(OutboxMessage.subject.contains(code))).all()
    redacted = [m for m in mine if m.to_address == "(removed)"]
    assert len(redacted) == 2  # the receipt and the withdrawal
    assert all("three months" not in m.body_text and "purged" in m.body_text for m in redacted)
    left = mails_to(session, "casey@example.org")
    assert left and all(kept.receipt_code in m.subject for m in left)
    # Mails to handlers name no complainant and stay as they were.
    assert [m.id for m in mails_to(session, handlers.support.email)] == to_handlers


def test_a_complaint_whose_mail_is_being_sent_waits(handlers, session):
    complaint = closed_at(session, file(session).complaint)
    message = mails_to(session, "casey@example.org")[0]
    message.status, message.claimed_at = MailStatus.SENDING, utcnow()
    session.flush()
    assert purge(session, PURGE_DAY) == {"purged": 0, "files": 0, "deferred": 1}
    assert session.get(Complaint, complaint.id) is not None
    sent = session.get(OutboxMessage, message.id)
    sent.status, sent.sent_at = MailStatus.SENT, utcnow()
    session.flush()
    assert purge(session, PURGE_DAY + timedelta(days=1))["purged"] == 1


def test_the_daily_sweep_removes_files_no_row_keeps(app, handlers, session, tmp_path, monkeypatch):
    """Files a crashed upload or a purge that failed to remove them leave behind, a day on."""
    monkeypatch.setitem(app.config, "COMPLAINT_FILES_DIR", str(tmp_path / "complaints"))
    monkeypatch.setitem(app.config, "AUDIT_FILES_DIR", str(tmp_path / "audits"))
    kept = files_dir("COMPLAINT_FILES_DIR", "") / with_file(session).attachments[0].storage_name
    complaints, audits = kept.parent, files_dir("AUDIT_FILES_DIR", "")
    orphan, audit_orphan = complaints / ("a" * 64), audits / ("b" * 64)
    temporary, fresh = complaints / ".upload-k2j3h4", complaints / ("c" * 64)
    unrelated = complaints / "README.txt"
    for path in (orphan, audit_orphan, temporary, fresh, unrelated):
        path.write_bytes(PDF)
    two_days_ago = (utcnow() - timedelta(days=2)).timestamp()
    for path in (kept, orphan, audit_orphan, temporary, unrelated):
        os.utime(path, (two_days_ago, two_days_ago))
    assert sweep_orphan_files(session, PURGE_DAY, utcnow()) == {"files_removed": 3}
    assert sorted(p.name for p in complaints.iterdir()) == sorted(
        [kept.name, fresh.name, "README.txt"]
    )
    assert list(audits.iterdir()) == []
    assert "sweep-upload-files" in get_jobs().daily
