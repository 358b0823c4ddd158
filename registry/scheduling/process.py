"""The scheduler process: APScheduler running the job registry, never inside a web worker.

Every daily job is also run once at start-up, so a scheduler that was down over its usual
hour catches up at once; the per-date claim keeps that from repeating work already done. Only
the holder of the database's scheduler lease runs jobs (``registry.scheduling.lease``).
"""

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime
from types import FrameType
from typing import TypeVar

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from registry.clock import local_today, registry_zone
from registry.database import db, utcnow
from registry.scheduling.lease import (
    HEARTBEAT_SECONDS,
    LEASE_SECONDS,
    Holder,
    acquire_lease,
    release_lease,
    renew_lease,
    this_process,
)
from registry.scheduling.registry import DailyJob, IntervalJob, get_jobs, run_daily_job

log = logging.getLogger(__name__)
T = TypeVar("T")

# How often a scheduler waiting for the lease asks again.
LEASE_RETRY_SECONDS = 5

# A daily run that starts late (the machine was busy or asleep) still runs if it is within
# this many seconds of its time; APScheduler's default of 1 s would silently drop it.
DAILY_MISFIRE_GRACE_SECONDS = 6 * 3600


def build_scheduler(app: Flask) -> BackgroundScheduler:
    """Return a scheduler with every registered job, in the registry's time zone."""
    with app.app_context():
        zone = registry_zone()
        jobs = get_jobs()
        hour, minute = (int(part) for part in app.config["DAILY_JOBS_AT"].split(":"))
    scheduler = BackgroundScheduler(timezone=zone)
    # Runs missed while busy collapse into one, and a job never overlaps itself.
    once = {"coalesce": True, "max_instances": 1}
    for job in jobs.daily.values():
        scheduler.add_job(
            _run_daily,
            CronTrigger(hour=hour, minute=minute, timezone=zone),
            args=(app, job),
            id=job.name,
            name=job.description,
            misfire_grace_time=DAILY_MISFIRE_GRACE_SECONDS,
            next_run_time=datetime.now(zone),
            **once,
        )
    for task in jobs.interval.values():
        scheduler.add_job(
            _run_interval,
            IntervalTrigger(seconds=task.every.total_seconds(), timezone=zone),
            args=(app, task),
            id=task.name,
            name=task.description,
            misfire_grace_time=int(task.every.total_seconds()),
            **once,
        )
    return scheduler


def _run_daily(app: Flask, job: DailyJob) -> None:
    with app.app_context():
        run_daily_job(job, local_today())


def _run_interval(app: Flask, task: IntervalJob) -> None:
    with app.app_context():
        task.task(datetime.now(registry_zone()))


def run_scheduler(app: Flask) -> None:
    """Run the scheduler until SIGINT or SIGTERM, then wait for running jobs to finish.

    It first waits for the database's scheduler lease, so only one scheduler runs jobs per
    database, and renews it every few seconds while it runs. A scheduler that cannot renew
    it before it expires stops its jobs and exits with an error (``serve`` starts it again).
    """
    holder = this_process()
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("scheduler stopping (signal %s)", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if not _wait_for_lease(app, holder, stopping):
        return
    scheduler = build_scheduler(app)
    scheduler.start()
    log.info("scheduler started with jobs: %s", ", ".join(j.id for j in scheduler.get_jobs()))
    kept = _keep_lease(app, holder, stopping)
    scheduler.shutdown(wait=True)
    if not kept:
        raise SystemExit("scheduler stopped: it lost the scheduler lease")
    _lease_step(app, lambda session: release_lease(session, holder))
    log.info("scheduler stopped")


def _lease_step(app: Flask, step: Callable[[Session], T]) -> T:
    with app.app_context(), db.transaction() as session:
        return step(session)


def _wait_for_lease(app: Flask, holder: Holder, stopping: threading.Event) -> bool:
    """Wait until ``holder`` has the lease (True) or a signal came first (False)."""
    said = False
    while not stopping.is_set():
        try:
            if _lease_step(app, lambda session: acquire_lease(session, holder, utcnow())):
                log.info("scheduler lease taken by %s", holder)
                return True
            if not said:
                log.info("another scheduler holds the lease on this database; waiting for it")
                said = True
        except OperationalError as error:
            log.warning("cannot reach the database to take the scheduler lease: %s", error)
        stopping.wait(LEASE_RETRY_SECONDS)
    return False


def _keep_lease(app: Flask, holder: Holder, stopping: threading.Event) -> bool:
    """Renew the lease until a signal (True) or until it is lost or runs out (False)."""
    expires = time.monotonic() + LEASE_SECONDS
    while not stopping.wait(HEARTBEAT_SECONDS):
        try:
            renewed = _lease_step(app, lambda session: renew_lease(session, holder, utcnow()))
        except OperationalError as error:
            log.warning("cannot reach the database to renew the scheduler lease: %s", error)
            # Stop one heartbeat before the lease could pass to another scheduler.
            if time.monotonic() + HEARTBEAT_SECONDS >= expires:
                log.error("the scheduler lease runs out; stopping the jobs")
                return False
            continue
        if not renewed:
            log.error("another scheduler took the lease; stopping the jobs")
            return False
        expires = time.monotonic() + LEASE_SECONDS
    return True
