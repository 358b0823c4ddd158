"""The scheduler process: APScheduler running the job registry, never inside a web worker.

Every daily job is also run once at start-up, so a scheduler that was down over its usual
hour catches up at once; the per-date claim keeps that from repeating work already done.
"""

import logging
import signal
import threading
from datetime import datetime
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from registry.clock import local_today, registry_zone
from registry.scheduling.registry import DailyJob, IntervalJob, get_jobs, run_daily_job

log = logging.getLogger(__name__)

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
    """Run the scheduler until SIGINT or SIGTERM, then wait for running jobs to finish."""
    scheduler = build_scheduler(app)
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("scheduler stopping (signal %s)", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.start()
    log.info("scheduler started with jobs: %s", ", ".join(j.id for j in scheduler.get_jobs()))
    stopping.wait()
    scheduler.shutdown(wait=True)
    log.info("scheduler stopped")
