"""Claim rows that make a daily job run once per date, however many runners there are."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from registry.database import Base


class JobRun(Base):
    """One daily job done for one date.

    The row is inserted in the same transaction as the job's work: a second runner for the
    same job and date waits on the primary key, then finds it taken and skips; a job that
    fails rolls back its claim with its work, so the next run tries again.
    """

    __tablename__ = "job_runs"

    job_name: Mapped[str] = mapped_column(String(80), primary_key=True)
    run_on: Mapped[date] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SchedulerLease(Base):
    """The one scheduler that may run jobs on this database, and its last sign of life.

    A single row (``name`` is always "scheduler"). Its holder renews it every few seconds; a
    scheduler finding it held and not expired waits, so two ``serve`` on two machines never
    run jobs side by side. ``heartbeat_at`` is what ``/readyz`` reads.
    """

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    # Who holds it: "<host> pid <pid> <random token>", unique to one scheduler process.
    holder: Mapped[str] = mapped_column(String(300))
    acquired_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    # After this instant another scheduler may take the lease over.
    expires_at: Mapped[datetime]
