"""Benchmark the daily lifecycle job against the same work done as plain set-based SQL.

    python bench/lifecycle.py --mediators 100000 [--database sqlite|postgresql|both] [--keep]

For each database: create a fresh one, migrate it, and bring it to the state the job left
yesterday (the day before AS_OF):

* bulk-insert the facts of N mediators (grants, yearly invoices and their settlements,
  suspensions, revocations) drawn so that their statuses on AS_OF follow SPREAD;
* record each certification's status and its start as of yesterday with the project's own
  ``status_rows`` and ``since``;
* run the registered job for yesterday (its first run: it issues the invoices and queues the
  reminders that were due; timed and printed as the catch-up figure).

Then, on that state:

1. time the equivalent set-based SQL statements, run directly on the driver connection in a
   transaction that is rolled back (best of RAW_SQL_REPEATS runs);
2. run the registered job (``run_daily_job``) for AS_OF in a fresh child process: wall time and
   the growth of the child's peak RSS during the call;
3. run it again in another fresh child on an untouched copy of the database, this time under
   ``tracemalloc`` for the peak of Python allocations (tracing slows allocation, so its wall
   time is not the figure reported).
"""

# The SQL below is assembled from constant fragments and integers; values are bound parameters.
# ruff: noqa: S608

import argparse
import itertools
import json
import logging
import multiprocessing
import os
import random
import re
import shutil
import tempfile
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from time import perf_counter
from typing import Any

import sqlalchemy as sa
from flask import Flask

from registry import create_app
from registry.clock import add_years
from registry.contributions.models import CountryTier, FeeRate, Invoice, Tier
from registry.database import db
from registry.mediators.models import Certification, Mediator, Status
from registry.mediators.names import search_form
from registry.mediators.status import since, status_rows
from registry.mediators.transitions import TRANSITION_ACTIONS
from registry.migrate import upgrade_to_head
from registry.scheduling.registry import get_jobs, run_daily_job

# The day the measured job runs for; the data stands as the job of the day before left it.
AS_OF = date(2026, 11, 21)
YESTERDAY = AS_OF - timedelta(days=1)
NOW = datetime.combine(AS_OF, time(1, 0), tzinfo=UTC)

# Status of each mediator as of AS_OF, by share of all mediators (what the facts are drawn for).
SPREAD = {
    Status.APPLICANT: 0.08,
    Status.CERTIFIED: 0.70,
    Status.LAPSED: 0.08,
    Status.STRUCK: 0.10,
    Status.SUSPENDED: 0.02,
    Status.REVOKED: 0.02,
}
# Last covered day C, in days from AS_OF (inclusive range), and the most yearly periods paid
# (contiguous from the grant, so the grant is up to that many years before C + 1; every grant
# is yesterday or earlier).
COVERAGE_PLAN = {
    Status.CERTIFIED: ((0, 363), 10),
    Status.SUSPENDED: ((0, 363), 10),
    Status.REVOKED: ((0, 363), 10),
    Status.LAPSED: ((-365, -1), 9),
    Status.STRUCK: ((-5 * 365, -366), 5),
}
# Share of the lapsed and struck draws whose first invoice was never paid instead (status.py
# decides what that makes them).
NEVER_PAID_SHARE = 0.03
# Share of renewals paid after the period started (up to LATE_DAYS_MAX days late).
LATE_SHARE = 0.10
LATE_DAYS_MAX = 90
FEE_MINOR, CURRENCY, FEE_YEARS = 15_000, "EUR", range(2016, 2031)
COUNTRIES = ["NL", "DE", "FR", "BE", "GB", "IE", "PL", "ES", "IT", "IN", "BR", "NG", "KE", "VN"]
COUNTRY_TIERS = {
    "IN": Tier.REDUCED_50,
    "NG": Tier.REDUCED_50,
    "KE": Tier.REDUCED_50,
    "BR": Tier.REDUCED_25,
    "VN": Tier.REDUCED_25,
}
# fmt: off
FIRST_NAMES = [
    "Zoë", "Łukasz", "José", "Ana", "Søren", "Çağla", "Björn", "Chloé",
    "Đức", "Ingrid", "Nnamdi", "Aoife", "Jürgen", "Małgorzata", "François", "Priya",
]
LAST_NAMES = [
    "Müller", "Nguyễn", "Ødegaard", "García", "Kowalczyk", "Schäfer", "O'Brien",
    "Dubois", "Håkansson", "Đorđević", "Yılmaz", "Papadopoulos", "Okafor", "Núñez",
]
# fmt: on

SEED = 20261121
BATCH = 10_000
RAW_SQL_REPEATS = 2
MB = 1024 * 1024
POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


# Databases and the app ------------------------------------------------------------------------


@dataclass
class Target:
    """The database measured and its untouched copy for the traced run."""

    kind: str
    url: str
    trace_url: str
    workdir: Path


def make_app(url: str) -> Flask:
    """Build the registry app on ``url``."""
    return create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "x" * 40,
            "REGISTRY_ENV": "testing",
            "MAIL_BACKEND": "outbox",
        }
    )


def _admin() -> sa.Engine:
    return sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")


def _pg_url(name: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _pg_admin(*statements: str) -> None:
    admin = _admin()
    with admin.connect() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
    admin.dispose()


def create_target(kind: str, count: int, workdir: Path) -> Target:
    """Create an empty database of ``kind`` for ``count`` mediators."""
    if kind == "sqlite":
        return Target(
            kind, f"sqlite:///{workdir}/base.sqlite3", f"sqlite:///{workdir}/trace.sqlite3", workdir
        )
    name = f"bench_lifecycle_{count}"
    _pg_admin(
        f'DROP DATABASE IF EXISTS "{name}_trace" WITH (FORCE)',
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}"',
    )
    return Target(kind, _pg_url(name), _pg_url(f"{name}_trace"), workdir)


def copy_for_trace(target: Target) -> None:
    """Copy the loaded database (no connection may be open on it)."""
    if target.kind == "sqlite":
        shutil.copyfile(target.workdir / "base.sqlite3", target.workdir / "trace.sqlite3")
        return
    base, trace = target.url.rsplit("/", 1)[1], target.trace_url.rsplit("/", 1)[1]
    _pg_admin(f'CREATE DATABASE "{trace}" TEMPLATE "{base}"')


def drop_target(target: Target) -> None:
    """Remove the databases of ``target`` (SQLite files go with the work directory)."""
    if target.kind == "postgresql":
        names = [url.rsplit("/", 1)[1] for url in (target.url, target.trace_url)]
        _pg_admin(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names))


@dataclass(frozen=True)
class Policy:
    """The certification policy settings the job reads from the app's configuration."""

    grace: int
    reminder_days: int
    warning_days: int

    @classmethod
    def of(cls, app: Flask) -> "Policy":
        config = app.config
        return cls(
            config["GRACE_PERIOD_DAYS"],
            config["PERIOD_END_REMINDER_DAYS"],
            config["STRIKE_WARNING_DAYS"],
        )


# Data generation ------------------------------------------------------------------------------


@dataclass
class Batch:
    """Rows for a range of mediators, per table, in foreign-key order."""

    mediators: list[dict[str, Any]] = field(default_factory=list)
    certifications: list[dict[str, Any]] = field(default_factory=list)
    invoices: list[dict[str, Any]] = field(default_factory=list)

    def tables(self) -> Iterator[tuple[sa.Table, list[dict[str, Any]]]]:
        yield Mediator.__table__, self.mediators  # type: ignore[misc]
        yield Certification.__table__, self.certifications  # type: ignore[misc]
        yield Invoice.__table__, self.invoices  # type: ignore[misc]


@cache
def _search_form(name: str) -> str:
    return search_form(name)


class Generator:
    """Make the facts (grants, invoices, settlements, conduct) that give the SPREAD on AS_OF."""

    def __init__(self, grace: int) -> None:
        self.grace = grace
        self.rng = random.Random(SEED)  # noqa: S311 -- reproducible test data, not secrets
        self.certification_ids = itertools.count(1)
        self.invoice_ids = itertools.count(1)
        self.kinds, self.weights = list(SPREAD), list(SPREAD.values())

    def batch(self, mediator_ids: range) -> Batch:
        """Return the rows of the mediators with ``mediator_ids``."""
        batch = Batch()
        for mediator_id in mediator_ids:
            kind = self.rng.choices(self.kinds, self.weights)[0]
            mediator = self._mediator(mediator_id)
            batch.mediators.append(mediator)
            if kind is not Status.APPLICANT:
                self._certification(batch, mediator, kind)
        return batch

    def _mediator(self, mediator_id: int) -> dict[str, Any]:
        name = f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"
        created = datetime.combine(
            AS_OF - timedelta(days=self.rng.randint(30, 12 * 365)), time(9), tzinfo=UTC
        )
        return {
            "id": mediator_id,
            "public_id": f"B{mediator_id:010d}",
            "user_id": None,
            "name": name,
            "search_name": _search_form(name),
            "email": f"mediator.{mediator_id}@bench.example",
            "country": self.rng.choice(COUNTRIES),
            "biography": "",
            "contact": "",
            "practice_areas": "",
            "created_at": created,
            "updated_at": created,
        }

    def _plan(self, kind: Status) -> tuple[date, int]:
        """Return the grant day and how many yearly periods were paid."""
        rng, grace = self.rng, self.grace
        if kind in (Status.LAPSED, Status.STRUCK) and rng.random() < NEVER_PAID_SHARE:
            lapsed = kind is Status.LAPSED
            days_ago = rng.randint(1, grace - 1) if lapsed else rng.randint(grace, 3650)
            return AS_OF - timedelta(days=days_ago), 0
        (low, high), most = COVERAGE_PLAN[kind]
        covered = AS_OF + timedelta(days=rng.randint(low, high))
        periods = rng.randint(1, most)
        return add_years(covered + timedelta(days=1), -periods), periods

    def _certification(self, batch: Batch, mediator: dict[str, Any], kind: Status) -> None:
        granted_on, periods = self._plan(kind)
        certification_id = next(self.certification_ids)
        certification = {
            "id": certification_id,
            "mediator_id": mediator["id"],
            "certificate_number": f"MR-{granted_on.year}-{certification_id:07d}",
            "certification_type": "advocate" if certification_id % 10 == 0 else "mediator",
            "granted_on": granted_on,
            "granted_by_id": None,
            "suspended_on": None,
            "suspension_reason": None,
            "suspension_lifted_on": None,
            "revoked_on": None,
            "revocation_reason": None,
            # Set from status.py's rules once loaded (record_yesterday).
            "recorded_status": Status.APPLICANT.value,
            "recorded_since": granted_on,
        }
        self._conduct(certification, kind)
        tier = COUNTRY_TIERS.get(mediator["country"], Tier.FULL)
        invoices = self._paid_periods(certification_id, granted_on, periods, tier)
        if kind in (Status.LAPSED, Status.STRUCK):
            invoices.append(self._unpaid(certification_id, granted_on, invoices, tier))
        batch.certifications.append(certification)
        batch.invoices.extend(invoices)

    def _conduct(self, certification: dict[str, Any], kind: Status) -> None:
        """Suspend or revoke on a day between the grant and yesterday."""
        if kind not in (Status.SUSPENDED, Status.REVOKED):
            return
        span = (YESTERDAY - certification["granted_on"]).days
        day = certification["granted_on"] + timedelta(days=self.rng.randint(0, span))
        day_column, reason_column = (
            ("suspended_on", "suspension_reason")
            if kind is Status.SUSPENDED
            else ("revoked_on", "revocation_reason")
        )
        certification[day_column] = day
        certification[reason_column] = "Outcome of a conduct process."

    def _paid_periods(
        self, certification_id: int, granted_on: date, periods: int, tier: Tier
    ) -> list[dict[str, Any]]:
        """Return the settled invoices of ``periods`` contiguous yearly periods."""
        invoices = []
        for number in range(periods):
            invoice = self._invoice(certification_id, granted_on, number, tier)
            start = invoice["period_start"]
            invoice["settled_on"] = granted_on if number == 0 else self._settled_on(start)
            invoices.append(invoice)
        return invoices

    def _unpaid(
        self, certification_id: int, granted_on: date, paid: list[dict[str, Any]], tier: Tier
    ) -> dict[str, Any]:
        """Return the invoice whose non-payment lapsed the certification."""
        return self._invoice(certification_id, granted_on, len(paid), tier)

    def _invoice(
        self, certification_id: int, granted_on: date, number: int, tier: Tier
    ) -> dict[str, Any]:
        """Return the unsettled invoice of period ``number`` (0 is the grant's)."""
        start = add_years(granted_on, number)
        return {
            "id": next(self.invoice_ids),
            "certification_id": certification_id,
            "period_start": start,
            "period_end": add_years(granted_on, number + 1) - timedelta(days=1),
            "amount_minor": FEE_MINOR * (100 - tier.reduction_percent) // 100,
            "currency": CURRENCY,
            "tier": tier.value,
            # The job invoices a period once the previous one ends within 30 days.
            "issued_on": max(granted_on, start - timedelta(days=31)),
            "settled_on": None,
        }

    def _settled_on(self, start: date) -> date:
        if self.rng.random() < LATE_SHARE:
            late = start + timedelta(days=self.rng.randint(1, LATE_DAYS_MAX))
            if late <= YESTERDAY:
                return late
        # Nothing is settled after yesterday: that would be today's news, not yesterday's state.
        return min(start - timedelta(days=self.rng.randint(0, 30)), YESTERDAY)


def insert_rows(connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` in bulk: COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(sa.insert(table), rows)
        return
    columns = list(rows[0])
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[column] for column in columns])


def generate(
    engine: sa.Engine, count: int, grace: int, generator: Generator | None = None
) -> Counter[str]:
    """Insert the facts of ``count`` mediators; return the rows inserted per table.

    ``generator`` makes the rows (``bench/search.py`` passes one that adds profiles).
    """
    totals: Counter[str] = Counter()
    now = datetime.now(UTC)
    with engine.begin() as connection:
        rates = [
            {"year": year, "amount_minor": FEE_MINOR, "currency": CURRENCY, "updated_at": now}
            for year in FEE_YEARS
        ]
        tiers = [{"country": c, "tier": t.value} for c, t in COUNTRY_TIERS.items()]
        insert_rows(connection, FeeRate.__table__, rates)  # type: ignore[arg-type]
        insert_rows(connection, CountryTier.__table__, tiers)  # type: ignore[arg-type]
    generator = generator or Generator(grace)
    for start in range(1, count + 1, BATCH):
        batch = generator.batch(range(start, min(start + BATCH, count + 1)))
        with engine.begin() as connection:
            for table, rows in batch.tables():
                insert_rows(connection, table, rows)
                totals[table.name] += len(rows)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:  # the ids were given: move the sequences past them
            for table in ("mediators", "certifications", "invoices"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                )
    return totals


def record_yesterday(engine: sa.Engine, grace: int) -> None:
    """Record each certification's status and its start as of yesterday, by status.py."""
    table = Certification.__table__
    remember = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("b_id"))
        .values(recorded_status=sa.bindparam("b_status"), recorded_since=sa.bindparam("b_since"))
    )
    with engine.connect() as connection:
        high = connection.execute(sa.select(sa.func.max(table.c.id))).scalar_one()
    for low in range(1, high + 1, BATCH):
        with engine.begin() as connection:
            rows = connection.execute(status_rows(YESTERDAY, grace, (low, low + BATCH - 1)))
            values = [
                {"b_id": row.certification_id, "b_status": row.status, "b_since": since(row, grace)}
                for row in rows
            ]
            connection.execute(remember, values)


def run_yesterdays_job(app: Flask) -> dict[str, Any]:
    """Run the job for yesterday, as the daily scheduler did: invoices and reminders due."""
    with app.app_context():
        job = get_jobs().daily["lifecycle"]
        return run_daily_job(job, YESTERDAY, NOW - timedelta(days=1)) or {}


def settle(engine: sa.Engine) -> None:
    """Checkpoint SQLite's log; on PostgreSQL vacuum and analyse, as autovacuum would."""
    if engine.dialect.name != "postgresql":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")


# The equivalent set-based SQL -----------------------------------------------------------------

# Dialect-specific date arithmetic and functions, as format strings.
FRAGMENTS = {
    "sqlite": {
        "plus_days": "date(julianday({0}) + {1})",
        "year_of": "CAST(strftime('%Y', {0}) AS INTEGER)",
        # add_years turns 29 February into 28 February; SQLite's '+1 year' into 1 March.
        "period_end": "date({0}, '+1 year', CASE WHEN strftime('%m-%d', {0}) = '02-29' "
        "THEN '-2 days' ELSE '-1 day' END)",
        "latest": "max({0}, coalesce({1}, {0}), coalesce({2}, {0}))",
        "json": "json_object({0})",
    },
    "postgresql": {
        "plus_days": "({0} + {1})",
        "year_of": "CAST(extract(year FROM {0}) AS INTEGER)",
        "period_end": "(CAST({0} + interval '1 year' AS date) - 1)",
        "latest": "greatest({0}, {1}, {2})",
        "json": "jsonb_build_object({0})",
    },
}


def status_ctes(dialect: sa.Dialect, grace: int) -> str:
    """Return the WITH clause: ``status`` (status_rows itself) and ``standing`` (plus since).

    ``status`` is the job's own query, compiled for the whole table at once, so the rules
    stay in one place; ``standing`` adds what ``status.since`` computes in Python.
    """
    f = FRAGMENTS[dialect.name]
    rows = status_rows(AS_OF, grace).compile(
        dialect=dialect, compile_kwargs={"literal_binds": True}
    )
    last_covered = f"coalesce(s.covered_until, {f['plus_days'].format('s.granted_on', -1)})"
    latest = f["latest"].format("s.granted_on", "s.restored_on", "s.suspension_lifted_on")
    return f"""
WITH status AS ({rows}
), standing AS (
    SELECT s.certification_id AS id, s.mediator_id, s.status, s.covered_until, s.granted_on,
           c.certificate_number, {last_covered} AS last_covered,
           CASE s.status
               WHEN 'revoked' THEN s.revoked_on
               WHEN 'suspended' THEN s.suspended_on
               WHEN 'applicant' THEN s.granted_on
               WHEN 'lapsed' THEN {f["plus_days"].format(last_covered, 1)}
               WHEN 'struck' THEN {f["plus_days"].format(last_covered, grace + 1)}
               ELSE {latest}
           END AS since,
           s.status <> c.recorded_status AND c.recorded_since <= :as_of AS changed
    FROM status s JOIN certifications c ON c.id = s.certification_id
)"""


def raw_statements(dialect: sa.Dialect, grace: int) -> list[tuple[str, str]]:
    """Return (label, SQL) for the job's work as set-based statements, in a safe order."""
    f, ctes = FRAGMENTS[dialect.name], status_ctes(dialect, grace)
    classify = f"{ctes} SELECT count(*), sum(CASE WHEN changed THEN 1 ELSE 0 END) FROM standing"
    return [
        ("classify", classify),
        *_transition_statements(f, ctes),
        ("invoices", _invoice_statement(f, ctes)),
        *_reminder_statements(ctes),
    ]


def _transition_statements(f: dict[str, str], ctes: str) -> list[tuple[str, str]]:
    """Log each changed status (before it is overwritten), then remember it."""
    actions = " ".join(f"WHEN '{s.value}' THEN '{a}'" for s, a in TRANSITION_ACTIONS.items())
    data = f["json"].format(
        "'status', status, 'status_since', CAST(since AS text), 'as_of', CAST(:as_of AS text)"
    )
    events = f"""{ctes} INSERT INTO events
        (occurred_at, actor_id, action, subject_type, subject_id, reason, data)
        SELECT :now, NULL, CASE status {actions} END, 'certification', certificate_number,
               NULL, {data}
        FROM standing WHERE changed"""
    remember = f"""{ctes} UPDATE certifications
        SET recorded_status = s.status, recorded_since = s.since
        FROM standing s WHERE s.id = certifications.id AND s.changed"""
    return [("events", events), ("transitions", remember)]


def _invoice_statement(f: dict[str, str], ctes: str) -> str:
    """Invoice the next period of every live certification whose coverage ends soon."""
    reduction = "CASE d.tier WHEN 'reduced_25' THEN 25 WHEN 'reduced_50' THEN 50 ELSE 0 END"
    amount = f"r.amount_minor * (100 - {reduction}) / 100"
    return f"""{ctes} INSERT INTO invoices (certification_id, period_start, period_end,
            amount_minor, currency, tier, issued_on, settled_on)
        SELECT d.id, d.start, {f["period_end"].format("d.start")}, {amount}, r.currency,
               d.tier, :as_of, CASE WHEN {amount} = 0 THEN :as_of END
        FROM (
            SELECT s.id, {f["plus_days"].format("s.last_covered", 1)} AS start,
                   coalesce(t.tier, 'full') AS tier
            FROM standing s JOIN mediators m ON m.id = s.mediator_id
            LEFT JOIN country_tiers t ON t.country = m.country
            WHERE s.status IN ('certified', 'lapsed')
              AND (s.covered_until IS NULL OR s.covered_until <= :window_end)
              AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.certification_id = s.id
                              AND (s.covered_until IS NULL OR i.period_end > s.covered_until))
        ) d
        JOIN fee_rates r ON r.year = {f["year_of"].format("d.start")}"""


# The reminders due and not yet sent. A certification never covered (should status.py call it
# lapsed) is keyed by its grant day.
DUE_REMINDERS = """, due AS (
    SELECT id, mediator_id, 'period_ending' AS kind, covered_until AS coverage_key
    FROM standing WHERE status = 'certified' AND covered_until <= :window_end
    UNION ALL
    SELECT id, mediator_id, 'lapsed', coalesce(covered_until, granted_on)
    FROM standing WHERE status = 'lapsed'
    UNION ALL
    SELECT id, mediator_id, 'strike_warning', coalesce(covered_until, granted_on)
    FROM standing WHERE status = 'lapsed' AND (covered_until <= :warn_cutoff
        OR (covered_until IS NULL AND granted_on <= :never_covered_cutoff))
), fresh AS (
    SELECT * FROM due WHERE NOT EXISTS (
        SELECT 1 FROM lifecycle_reminders r WHERE r.certification_id = due.id
        AND r.kind = due.kind AND r.coverage_key = due.coverage_key)
)"""


def _reminder_statements(ctes: str) -> list[tuple[str, str]]:
    """Queue each due reminder (a fixed text: bodies are not rendered), then mark it sent."""
    outbox = f"""{ctes}{DUE_REMINDERS} INSERT INTO mail_outbox
            (created_at, to_address, subject, body_text, status, attempts)
        SELECT :now, m.email, 'Lifecycle reminder: ' || fresh.kind, '', 'queued', 0
        FROM fresh JOIN mediators m ON m.id = fresh.mediator_id"""
    marks = f"""{ctes}{DUE_REMINDERS} INSERT INTO lifecycle_reminders
            (certification_id, kind, coverage_key, sent_on)
        SELECT id, kind, coverage_key, :as_of FROM fresh"""
    return [("outbox", outbox), ("reminders", marks)]


def raw_parameters(dialect: str, policy: Policy) -> dict[str, Any]:
    """Return the bound parameters: dates as ISO text on SQLite, as dates on PostgreSQL."""
    days = {
        "as_of": AS_OF,
        "strike_cutoff": AS_OF - timedelta(days=policy.grace),
        "window_end": AS_OF + timedelta(days=policy.reminder_days),
        "warn_cutoff": AS_OF - timedelta(days=policy.grace - policy.warning_days),
        "never_covered_cutoff": AS_OF - timedelta(days=policy.grace - policy.warning_days - 1),
    }
    if dialect == "sqlite":
        params: dict[str, Any] = {name: day.isoformat() for name, day in days.items()}
        params["now"] = NOW.replace(tzinfo=None).isoformat(" ", "microseconds")
    else:
        params = {**days, "now": NOW}
    return params


@dataclass
class RawRun:
    """Seconds and rows per statement of one raw SQL run."""

    seconds: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def run_raw_sql(engine: sa.Engine, policy: Policy) -> RawRun:
    """Time the raw statements in a rolled-back transaction; return the fastest run."""
    runs = [_raw_sql_once(engine, policy) for _ in range(RAW_SQL_REPEATS)]
    return min(runs, key=lambda run: run.total)


def _raw_sql_once(engine: sa.Engine, policy: Policy) -> RawRun:
    dialect = engine.dialect
    params = raw_parameters(dialect.name, policy)
    run = RawRun()
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            for label, sql in raw_statements(dialect, policy.grace):
                if dialect.name == "postgresql":
                    sql = re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql)
                started = perf_counter()
                result = connection.exec_driver_sql(sql, params)
                if result.returns_rows:
                    run.rows["classified"], run.rows["changed"] = result.one()
                run.seconds[label] = perf_counter() - started
                if not result.returns_rows:
                    run.rows[label] = _changes(connection, result)
        finally:
            transaction.rollback()
    return run


def _changes(connection: sa.Connection, result: sa.CursorResult[Any]) -> int:
    """Return the rows a statement changed (sqlite3 gives no rowcount after a WITH)."""
    if connection.dialect.name == "sqlite":
        return connection.exec_driver_sql("SELECT changes()").scalar_one()
    return result.rowcount


# The job, in a fresh process ------------------------------------------------------------------


def _memory_kib(field: str) -> int:
    """Return a memory figure of this process from /proc (VmRSS, VmHWM), in KiB."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE).group(1))  # type: ignore[union-attr]


def _reset_peak_rss() -> None:
    """Make the peak RSS (VmHWM) start again from the current RSS (Linux 4.0 and later)."""
    Path("/proc/self/clear_refs").write_text("5")


def job_in_child(url: str, trace: bool) -> dict[str, Any]:
    """Run the registered lifecycle job for AS_OF once in this process and measure it."""
    logging.basicConfig(level=logging.WARNING)
    app = make_app(url)
    with app.app_context():
        job = get_jobs().daily["lifecycle"]
        with db.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")  # open the pool before the baseline
        _reset_peak_rss()
        rss_start = _memory_kib("VmRSS")
        if trace:
            tracemalloc.start()
        started = perf_counter()
        summary = run_daily_job(job, AS_OF, NOW)
        seconds = perf_counter() - started
        python_peak = tracemalloc.get_traced_memory()[1] / MB if trace else None
        tracemalloc.stop()
        rss_peak = _memory_kib("VmHWM")
        db.engine.dispose()
    return {
        "seconds": seconds,
        "summary": summary,
        "rss_start_mb": rss_start / 1024,
        "rss_growth_mb": (rss_peak - rss_start) / 1024,
        "python_peak_mb": python_peak,
    }


def run_job(url: str, *, trace: bool) -> dict[str, Any]:
    """Run ``job_in_child`` in a freshly spawned process: nothing else in it holds memory."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(job_in_child, url, trace).result()


# The benchmark --------------------------------------------------------------------------------


def load(target: Target, count: int) -> Policy:
    """Migrate and fill the database of ``target`` as yesterday's job left it."""
    app = make_app(target.url)
    engine = app.extensions["db"].engine
    upgrade_to_head(engine)
    policy = Policy.of(app)
    started = perf_counter()
    totals = generate(engine, count, policy.grace)
    record_yesterday(engine, policy.grace)
    rows = " ".join(f"{table}={rows}" for table, rows in totals.items())
    print(f"generated  {target.kind} {rows} seconds={perf_counter() - started:.1f}", flush=True)
    started = perf_counter()
    summary = run_yesterdays_job(app)
    print(
        f"yesterday  {target.kind} job for {YESTERDAY} (first run: catch-up of invoices and "
        f"reminders) seconds={perf_counter() - started:.1f} summary={json.dumps(summary)}",
        flush=True,
    )
    settle(engine)
    engine.dispose()
    return policy


def measure_raw_sql(target: Target, policy: Policy) -> RawRun:
    """Run and print the raw SQL figures on the loaded database."""
    engine = make_app(target.url).extensions["db"].engine
    run = run_raw_sql(engine, policy)
    engine.dispose()
    times = " ".join(f"{label}={seconds:.2f}s" for label, seconds in run.seconds.items())
    rows = " ".join(f"{label}={rows}" for label, rows in run.rows.items())
    print(f"raw-sql    {target.kind} {times} total={run.total:.2f}s", flush=True)
    print(
        f"raw-rows   {target.kind} {rows}  (best of {RAW_SQL_REPEATS}, rolled back;"
        " mail bodies not rendered)",
        flush=True,
    )
    return run


def bench(kind: str, count: int, workdir: Path, keep: bool) -> dict[str, Any]:
    """Load one database, measure raw SQL and the job; return the figures."""
    target = create_target(kind, count, workdir)
    try:
        policy = load(target, count)
        copy_for_trace(target)
        raw = measure_raw_sql(target, policy)
        timed = run_job(target.url, trace=False)
        traced = run_job(target.trace_url, trace=True)
    finally:
        if not keep:
            drop_target(target)
    summary = json.dumps(timed["summary"], sort_keys=True)
    print(
        f"job        {kind} seconds={timed['seconds']:.2f} "
        f"rss_start_mb={timed['rss_start_mb']:.1f} rss_growth_mb={timed['rss_growth_mb']:.1f} "
        f"load_average={_load()} summary={summary}\n"
        f"job-traced {kind} python_peak_mb={traced['python_peak_mb']:.1f} "
        f"seconds_under_tracemalloc={traced['seconds']:.2f}",
        flush=True,
    )
    return {"database": kind, "n": count, "job": timed, "traced": traced, "raw": raw}


def _load() -> str:
    """Return the 1-minute load average: the machine is shared, so say how busy it was."""
    return f"{os.getloadavg()[0]:.1f}"


def print_table(results: list[dict[str, Any]]) -> None:
    """Print one greppable RESULT line per run."""
    columns = "database n job_s job_py_peak_mb job_rss_growth_mb raw_sql_s job/raw"
    print("RESULT " + " ".join(f"{c:>16}" for c in columns.split()) + "  job summary")
    for r in results:
        job, raw = r["job"], r["raw"]
        cells = [
            r["database"],
            r["n"],
            f"{job['seconds']:.2f}",
            f"{r['traced']['python_peak_mb']:.1f}",
            f"{job['rss_growth_mb']:.1f}",
            f"{raw.total:.2f}",
            f"{job['seconds'] / raw.total:.1f}x",
        ]
        summary = json.dumps(job["summary"], sort_keys=True)
        print("RESULT " + " ".join(f"{c:>16}" for c in cells) + f"  {summary}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mediators", type=int, default=100_000, help="how many to generate")
    parser.add_argument(
        "--database", choices=["sqlite", "postgresql", "both"], default="both", help="where"
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark on the chosen databases and print the figures."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="bench_lifecycle_"))
    os.environ["REGISTRY_INSTANCE_PATH"] = str(workdir / "instance")
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    print(
        f"bench lifecycle mediators={args.mediators} as_of={AS_OF} cpus={os.cpu_count()} "
        f"load_average={_load()} workdir={workdir}"
    )
    print(
        "memory: RSS growth = peak RSS (VmHWM, reset just before) minus RSS at the start of "
        "the job call, in a fresh child process; Python peak = tracemalloc peak in a second "
        "fresh child on an untouched copy of the database"
    )
    try:
        results = [bench(kind, args.mediators, workdir, args.keep) for kind in kinds]
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(results)


if __name__ == "__main__":
    main()
