"""Prometheus metrics: what each web process counts, and what the database says at scrape time.

Request latency by endpoint comes from prometheus-flask-exporter; rate-limit rejections from
flask-limiter's breach callback. Under ``serve`` each gunicorn worker is its own process, so
``serve`` gives them a shared ``PROMETHEUS_MULTIPROC_DIR`` and a scrape of any worker sums the
counts of all of them (prometheus_client's multiprocess mode). Job runs, the mail queue and
the scheduler's heartbeat live in the database (the scheduler may run on another machine), so
they are read from it at each scrape and are the same whichever worker answers.
"""

import calendar
import os
from collections.abc import Iterator
from datetime import datetime

from flask import Flask, current_app, request
from flask_limiter import RequestLimit
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from prometheus_flask_exporter import PrometheusMetrics
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, aliased

from registry.mail.models import MailStatus, OutboxMessage
from registry.scheduling.lease import last_heartbeat
from registry.scheduling.models import JobRun

# Counted in whichever process rejects; registered in each app's registry (not the global
# one, so tests can build many apps) and, under serve, summed over the workers' files.
RATE_LIMIT_REJECTIONS = Counter(
    "registry_rate_limit_rejections_total",
    "Requests refused with 429 by a rate limit, by endpoint.",
    ["endpoint"],
    registry=None,
)
# Not timed: the scrape itself, the probes and static files.
UNTRACKED_PATHS = [r"^/metrics$", r"^/healthz$", r"^/readyz$", r"^/static/"]
UNSENT = (MailStatus.QUEUED, MailStatus.SENDING, MailStatus.FAILED)


def init_metrics(app: Flask) -> None:
    """Time every request by endpoint, in a registry of the app's own."""
    registry = CollectorRegistry()
    PrometheusMetrics(
        app,
        path=None,  # served by registry.monitoring.views, behind its access rule
        registry=registry,
        group_by="endpoint",  # not the path: public ids would make a series per mediator
        excluded_paths=UNTRACKED_PATHS,
        defaults_prefix="registry",
    )
    registry.register(RATE_LIMIT_REJECTIONS)
    app.extensions["metrics_registry"] = registry


def count_rate_limit_rejection(_limit: RequestLimit) -> None:
    """Count a request refused by a rate limit (flask-limiter's ``on_breach``)."""
    RATE_LIMIT_REJECTIONS.labels(endpoint=request.endpoint or "unknown").inc()


def render_metrics(session: Session, now: datetime) -> bytes:
    """Return every metric in Prometheus' text format."""
    if multiprocess_dir():
        processes = CollectorRegistry()
        MultiProcessCollector(processes)
    else:
        processes = current_app.extensions["metrics_registry"]
    database = CollectorRegistry()
    database.register(DatabaseCollector(session, now))
    return generate_latest(processes) + generate_latest(database)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class DatabaseCollector(Collector):
    """Figures read from the database when scraped: jobs, the mail queue, the scheduler."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("registry_database_up", "1 if the database answered the scrape.")
        try:
            families = [*self._jobs(), self._outbox(), *self._scheduler()]
        except SQLAlchemyError:
            self.session.rollback()
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _jobs(self) -> list[Metric]:
        success = GaugeMetricFamily(
            "registry_job_last_success_timestamp_seconds",
            "When each daily job last finished a date's run (Unix time).",
            labels=["job"],
        )
        duration = GaugeMetricFamily(
            "registry_job_last_duration_seconds",
            "How long each daily job's last finished run took.",
            labels=["job"],
        )
        for_date = GaugeMetricFamily(
            "registry_job_last_run_date_timestamp_seconds",
            "The date (midnight UTC, Unix time) each daily job last finished a run for.",
            labels=["job"],
        )
        for run in self._latest_runs():
            success.add_metric([run.job_name], run.finished_at.timestamp())
            duration.add_metric([run.job_name], (run.finished_at - run.started_at).total_seconds())
            for_date.add_metric([run.job_name], calendar.timegm(run.run_on.timetuple()))
        return [success, duration, for_date]

    def _latest_runs(self) -> list[JobRun]:
        later = aliased(JobRun)
        newer_exists = (
            select(later.job_name)
            .where(later.job_name == JobRun.job_name, later.finished_at > JobRun.finished_at)
            .exists()
        )
        query = select(JobRun).where(JobRun.finished_at.is_not(None), ~newer_exists)
        return list(self.session.scalars(query))

    def _outbox(self) -> Metric:
        family = GaugeMetricFamily(
            "registry_mail_outbox_messages",
            "Mail not sent yet, by status: queued, sending (claimed by the sender), failed.",
            labels=["status"],
        )
        counts = dict(
            self.session.execute(
                select(OutboxMessage.status, func.count())
                .where(OutboxMessage.status.in_(UNSENT))
                .group_by(OutboxMessage.status)
            ).all()
        )
        for status in UNSENT:
            family.add_metric([status.value], counts.get(status.value, 0))
        return family

    def _scheduler(self) -> list[Metric]:
        heartbeat = last_heartbeat(self.session)
        if heartbeat is None:
            return []
        family = GaugeMetricFamily(
            "registry_scheduler_heartbeat_age_seconds",
            "Seconds since the scheduler holding the lease last renewed it.",
        )
        family.add_metric([], (self.now - heartbeat).total_seconds())
        return [family]
