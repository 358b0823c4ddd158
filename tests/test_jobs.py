"""Scheduled jobs: once per date, however often or by however many runners they are run."""

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from registry.accounts.models import PasswordResetToken
from registry.cli import main
from registry.database import db
from registry.events.models import Event
from registry.events.services import record_event
from registry.scheduling.models import JobRun
from registry.scheduling.process import DAILY_MISFIRE_GRACE_SECONDS, build_scheduler
from registry.scheduling.registry import DailyJob, run_all_jobs, run_daily_job
from tests.factories import make_user

DAY = date(2026, 3, 10)


def expired_token(session, user, suffix):
    created = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)  # long before DAY
    session.add(
        PasswordResetToken(
            user=user,
            token_hash=f"{suffix:0>64}",
            created_at=created,
            expires_at=created + timedelta(hours=1),
        )
    )
    session.flush()


def test_running_the_jobs_twice_for_a_date_does_the_work_once(session, ctx):
    user = make_user(session)
    expired_token(session, user, "a")
    assert run_all_jobs(DAY)["purge-reset-links"] == {"purged": 1}

    expired_token(session, user, "b")
    assert run_all_jobs(DAY)["purge-reset-links"] is None  # already done for DAY
    assert session.scalar(select(func.count(PasswordResetToken.id))) == 1
    run = session.get(JobRun, ("purge-reset-links", DAY))
    assert run.summary == {"purged": 1}
    assert run.finished_at is not None

    assert run_all_jobs(DAY + timedelta(days=1))["purge-reset-links"] == {"purged": 1}


def test_a_failed_job_releases_its_claim(session, ctx):
    def failing(session, as_of, now):
        raise RuntimeError("disk full")

    job = DailyJob("test-failing", failing, "fails")
    with pytest.raises(RuntimeError, match="disk full"):
        run_daily_job(job, DAY)
    assert session.get(JobRun, ("test-failing", DAY)) is None


def slow_sweep(session, as_of, now):
    """Do visible work, slowly enough that a second runner overlaps it."""
    time.sleep(0.5)
    record_event(session, action="test.swept", subject_type="date", subject_id=as_of, now=now)
    return {"swept": 1}


def test_two_concurrent_runners_do_the_work_exactly_once(fresh_app):
    job = DailyJob("test-slow", slow_sweep, "slow")
    start = threading.Barrier(2)
    results = []

    def runner():
        with fresh_app.app_context():
            start.wait()
            results.append(run_daily_job(job, DAY))

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results, key=str) == [None, {"swept": 1}]
    with db.transaction() as session:
        swept = session.scalar(select(func.count()).where(Event.action == "test.swept"))
        assert swept == 1
        assert session.scalar(select(func.count()).select_from(JobRun)) == 1


def test_scheduler_settings(app):
    scheduler = build_scheduler(app)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {
        "purge-reset-links",
        "purge-sign-ins",
        "purge-tracking",
        "purge-submissions",
        "lifecycle",
        "prune-listings",
        "expire-feedback-links",
        "digests",
        "audits",
        "standards",
        "complaints-overdue",
        "purge-complaints",
        "sweep-upload-files",
        "send-mail",
    }
    daily = jobs["purge-reset-links"]
    assert daily.misfire_grace_time == DAILY_MISFIRE_GRACE_SECONDS
    assert daily.coalesce is True
    assert daily.max_instances == 1
    assert str(daily.trigger.timezone) == app.config["REGISTRY_TIMEZONE"]
    assert jobs["send-mail"].misfire_grace_time == app.config["MAIL_SEND_INTERVAL_SECONDS"]


def cli(url, *args):
    result = CliRunner().invoke(main, list(args), env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    return result.output


def test_init_twice_is_harmless_and_jobs_run_skips_a_done_date(fresh_database_url):
    assert "upgraded from empty" in cli(fresh_database_url, "init")
    assert "already at the newest revision" in cli(fresh_database_url, "init")
    first = cli(fresh_database_url, "jobs", "run", "--as-of", "2026-03-10")
    assert "purge-reset-links: {'purged': 0}" in first
    second = cli(fresh_database_url, "jobs", "run", "--as-of", "2026-03-10")
    assert "purge-reset-links: already done for 2026-03-10; skipped" in second


def test_jobs_run_refuses_a_bad_date(fresh_database_url):
    result = CliRunner().invoke(
        main, ["jobs", "run", "--as-of", "2026-02-30"], env={"DATABASE_URL": fresh_database_url}
    )
    assert result.exit_code == 2
    assert "2026-02-30" in result.output
