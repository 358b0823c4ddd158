"""The registry of jobs and the functions that run them once.

Two kinds of job:

* a *daily sweep* handles everything due as of a date and is claimed per (job, date), so a
  rerun, a second scheduler or a manual ``jobs run`` never does the same day twice, and a
  missed day is caught up by the next run (the sweep looks at everything due, not just today);
* an *interval job* (the mail sender) runs every few seconds and claims its own rows.

Domain packages add their jobs in their ``init_app``; the scheduler process and the
``jobs run`` command read them from ``app.extensions["jobs"]``.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.database import db, utcnow
from registry.scheduling.models import JobRun

log = logging.getLogger(__name__)

Summary = dict[str, Any]
Sweep = Callable[[Session, date, datetime], Summary]
Task = Callable[[datetime], Summary]


@dataclass(frozen=True)
class DailyJob:
    name: str
    sweep: Sweep
    description: str


@dataclass(frozen=True)
class IntervalJob:
    name: str
    task: Task
    every: timedelta
    description: str


@dataclass
class JobRegistry:
    daily: dict[str, DailyJob] = field(default_factory=dict)
    interval: dict[str, IntervalJob] = field(default_factory=dict)

    def add_daily(self, name: str, sweep: Sweep, description: str) -> None:
        """Register a sweep to run once per date."""
        self._check_new(name)
        self.daily[name] = DailyJob(name, sweep, description)

    def add_interval(self, name: str, task: Task, every: timedelta, description: str) -> None:
        """Register a task to run every ``every``."""
        self._check_new(name)
        self.interval[name] = IntervalJob(name, task, every, description)

    def _check_new(self, name: str) -> None:
        if name in self.daily or name in self.interval:
            raise ValueError(f"job {name!r} is registered twice")


def init_app(app: Flask) -> None:
    app.extensions["jobs"] = JobRegistry()


def get_jobs() -> JobRegistry:
    """Return the current application's job registry."""
    return current_app.extensions["jobs"]


def run_daily_job(job: DailyJob, as_of: date, now: datetime | None = None) -> Summary | None:
    """Run ``job`` for ``as_of`` unless it already ran; return its summary, or None if skipped."""
    now = now or utcnow()
    with db.transaction() as session:
        if not _claim(session, job.name, as_of, now):
            log.info("job %s for %s already done; skipped", job.name, as_of)
            return None
        summary = job.sweep(session, as_of, now)
        run = session.get(JobRun, (job.name, as_of))
        run.finished_at = utcnow()
        run.summary = summary
    log.info("job %s for %s done: %s", job.name, as_of, summary)
    return summary


def _claim(session: Session, job_name: str, as_of: date, now: datetime) -> bool:
    try:
        with session.begin_nested():
            session.add(JobRun(job_name=job_name, run_on=as_of, started_at=now))
    except IntegrityError:
        return False
    return True


def run_all_jobs(as_of: date, now: datetime | None = None) -> dict[str, Summary | None]:
    """Run every daily job for ``as_of``, then every interval job once."""
    jobs = get_jobs()
    results: dict[str, Summary | None] = {}
    for job in jobs.daily.values():
        results[job.name] = run_daily_job(job, as_of, now)
    for task in jobs.interval.values():
        results[task.name] = task.task(now or utcnow())
    return results
