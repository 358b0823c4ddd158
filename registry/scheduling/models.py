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
