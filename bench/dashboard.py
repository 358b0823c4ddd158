"""Benchmark the organisation dashboard at scale: its page and its streamed CSV export.

    python bench/dashboard.py [--database sqlite|postgresql|both] [--repeats 20] [--keep]

For each database: create a fresh one, migrate it and bulk-load MEDIATORS mediators with
``lifecycle.py``'s facts (grants, yearly invoices and settlements, conduct; its SPREAD of
statuses) and ``_data.py``'s profiles; most profiles are completed, most mediators have an
assessment and many a current Feedback Digest, so every bucket and every missing step occurs.
Then link them to organisations in the shapes the issue names:

* ``1x10k``: one organisation whose program has 10,000 mediators;
* ``100x1k``: 100 organisations of 1,000 mediators each (one is measured, picked at random;
  the other 99 are in the same tables);
* ``1x100k``: one organisation with every mediator, for the export only (memory stays flat).

The page is requested through the Flask test client by a signed-in registry staff member (who
may see every dashboard), REPEATS times each, in rotation so that a busy moment of the shared
machine hits every view alike: the first page, a page filtered by bucket (nearing lapse), the
deepest page of the list, and the stuck-longest-first order filtered to applicants. p50 and p95
are printed in milliseconds.

The CSV export runs in a freshly spawned child process per shape: wall time, rows and bytes
received (the streamed body is read chunk by chunk, as a browser would), and the growth of
the child's peak RSS during the request (VmHWM reset just before, minus RSS at the start).
The rows are checked: one per linked mediator, header first, no duplicate.
"""

import argparse
import csv
import io
import logging
import multiprocessing
import os
import random
import secrets
import shutil
import statistics
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from time import perf_counter, process_time
from typing import Any

import sqlalchemy as sa
from _data import ProfileGenerator
from flask import Flask
from flask.testing import FlaskClient
from lifecycle import (
    SEED,
    _load,
    _memory_kib,
    _pg_admin,
    _pg_url,
    _reset_peak_rss,
    generate,
    insert_rows,
    settle,
)

from registry import create_app
from registry.accounts.models import Role
from registry.accounts.services import create_user, find_user, start_sign_in
from registry.clock import local_today
from registry.database import db
from registry.digests.models import Digest
from registry.mediators.models import Assessment, ProgramLink
from registry.migrate import upgrade_to_head
from registry.organisations.models import Organisation, Program

MEDIATORS = 100_000
# (label, organisations, mediators each); 1x100k is measured for the export only.
SHAPES = [("1x10k", 1, 10_000), ("100x1k", 100, 1_000), ("1x100k", 1, 100_000)]
PAGE_SHAPES = ["1x10k", "100x1k"]
STAFF_EMAIL = "bench.staff@registry.example"
PAGE_SIZE = 100
MB = 1024 * 1024
# Each process signs its own client in, so each may draw its own key.
SECRET_KEY = secrets.token_urlsafe(48)


def make_app(url: str) -> Flask:
    """Build the registry app on ``url`` as served (the session cookie also goes over http)."""
    return create_app(
        {
            "DATABASE_URL": url,
            "REGISTRY_ENV": "production",
            "SECRET_KEY": SECRET_KEY,
            "SESSION_COOKIE_SECURE": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "RATELIMIT_ENABLED": False,
            "MAIL_BACKEND": "outbox",
        }
    )


# Databases and data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    kind: str
    url: str
    pg_name: str | None = None


def create_target(kind: str, workdir: Path) -> Target:
    if kind == "sqlite":
        return Target(kind, f"sqlite:///{workdir}/dashboard.sqlite3")
    name = "bench_dashboard"
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return Target(kind, _pg_url(name), name)


def drop_target(target: Target) -> None:
    if target.pg_name:
        _pg_admin(f'DROP DATABASE IF EXISTS "{target.pg_name}" WITH (FORCE)')


def load(app: Flask, kind: str) -> dict[str, list[int]]:
    """Migrate, bulk-load the mediators and the shapes; return each shape's organisation ids."""
    engine = app.extensions["db"].engine
    upgrade_to_head(engine)
    grace = app.config["GRACE_PERIOD_DAYS"]
    started = perf_counter()
    generate(engine, MEDIATORS, grace, ProfileGenerator(grace))
    with app.app_context():
        today = local_today()
        shapes = _organisations(today)
    with engine.begin() as connection:
        _complete_profiles(connection)
        for table, rows in _records(shapes, today):
            for start in range(0, len(rows), 10_000):
                insert_rows(connection, table, rows[start : start + 10_000])
    settle(engine)
    print(
        f"generated  {kind} mediators={MEDIATORS} seconds={perf_counter() - started:.1f} "
        f"load_average={_load()}",
        flush=True,
    )
    return {label: [org_id for org_id, _ in orgs] for label, orgs in shapes.items()}


def _organisations(today: date) -> dict[str, list[tuple[int, int]]]:
    """Create every shape's organisations and programs; return (organisation, program) ids."""
    shapes: dict[str, list[tuple[int, int]]] = {}
    now = datetime.now(UTC)
    with db.transaction() as session:
        for label, count, _ in SHAPES:
            pairs = []
            for number in range(count):
                organisation = Organisation(
                    name=f"Bench {label} organisation {number + 1}",
                    head_office_country="NL",
                    account_type="qap3",
                    created_at=now,
                )
                program = Program(
                    organisation=organisation,
                    program_type="QAP",
                    name=f"Bench {label} QAP {number + 1}",
                    recognised_on=today - timedelta(days=3650),
                )
                session.add_all([organisation, program])
                session.flush()
                pairs.append((organisation.id, program.id))
            shapes[label] = pairs
        create_user(
            session,
            email=STAFF_EMAIL,
            name="Bench Staff",
            password="bench-staff-password-1234",  # noqa: S106 -- a throwaway bench account
            roles=[Role.SUPPORT],
            now=now,
        )
    return shapes


def _complete_profiles(connection: sa.Connection) -> None:
    """Complete six profiles in seven (the generated ones are bare: every step would miss)."""
    connection.execute(
        sa.text(
            "UPDATE mediators SET biography = :biography, contact = :contact, "
            "practice_areas = :areas WHERE id % 7 <> 0"
        ),
        {
            "biography": "Commercial and family mediator, trained in facilitative and "
            "evaluative styles, mediating in two languages for over ten years.",
            "contact": "+31 20 555 0100",
            "areas": "Commercial, family",
        },
    )


def _records(
    shapes: dict[str, list[tuple[int, int]]], today: date
) -> list[tuple[sa.Table, list[dict[str, Any]]]]:
    """Return the links of every shape, and assessments and digests by the 1x10k program."""
    rng = random.Random(SEED + 2)  # noqa: S311 -- test data
    now = datetime.now(UTC)
    links: list[dict[str, Any]] = []
    for label, _, each in SHAPES:
        for number, (_, program_id) in enumerate(shapes[label]):
            first = number * each + 1
            links += [
                {
                    "program_id": program_id,
                    "mediator_id": mediator_id,
                    "linked_on": today - timedelta(days=rng.randint(20, 3000)),
                }
                for mediator_id in range(first, first + each)
            ]
    assessor = shapes["1x10k"][0][1]
    assessments, digests = [], []
    for mediator_id in range(1, MEDIATORS + 1):
        if rng.random() < 0.9:
            assessments.append(
                {
                    "mediator_id": mediator_id,
                    "program_id": assessor,
                    "assessed_on": today - timedelta(days=rng.randint(10, 4000)),
                    "recorded_at": now,
                }
            )
        if rng.random() < 0.6:
            published = today - timedelta(days=rng.randint(1, 1200))
            digests.append(
                {
                    "mediator_id": mediator_id,
                    "summary": "Parties found the mediator well prepared.",
                    "answer_count": 0,
                    "created_at": now,
                    "updated_at": now,
                    "published_on": published,
                    "published_at": now,
                    "valid_until": published + timedelta(days=729),
                }
            )
    return [
        (ProgramLink.__table__, links),  # type: ignore[list-item]
        (Assessment.__table__, assessments),  # type: ignore[list-item]
        (Digest.__table__, digests),  # type: ignore[list-item]
    ]


def signed_in_client(app: Flask) -> FlaskClient:
    """Return a test client signed in as the bench's registry staff member."""
    with app.app_context(), db.transaction() as session:
        user = find_user(session, STAFF_EMAIL)
        login_id = start_sign_in(session, user, now=datetime.now(UTC), lifetime=timedelta(hours=4))
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = login_id
        cookie["_fresh"] = True
    return client


# The page -------------------------------------------------------------------------------------


def page_views(organisation_id: int, mediators: int) -> dict[str, str]:
    """Return the URL of each measured view of an organisation's dashboard."""
    base = f"/organisation/{organisation_id}/dashboard"
    last = -(-mediators // PAGE_SIZE)
    return {
        "first page": base,
        "bucket: nearing lapse": f"{base}?bucket=nearing_lapse",
        f"deepest page ({last})": f"{base}?page={last}",
        "applicants, stuck longest": f"{base}?bucket=nearing_certification&sort=stuck",
    }


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def measure_pages(
    client: FlaskClient, views: dict[str, str], repeats: int
) -> dict[str, tuple[float, float, float, float]]:
    """Request every view ``repeats`` times in rotation; return its wall and CPU p50, p95 (ms).

    CPU is this process's time (``process_time``): on a shared machine it shows the work a
    request takes apart from waiting for a core. On SQLite it includes the SQL; on PostgreSQL
    the server's share is not in it.
    """
    for url in views.values():  # warm the caches once
        response = client.get(url)
        if response.status_code != 200 or b'class="dashboard"' not in response.data:
            raise RuntimeError(f"{url} answered {response.status_code} without the table")
    wall: dict[str, list[float]] = {name: [] for name in views}
    cpu: dict[str, list[float]] = {name: [] for name in views}
    for _ in range(repeats):
        for name, url in views.items():
            started, cpu_started = perf_counter(), process_time()
            client.get(url)
            wall[name].append((perf_counter() - started) * 1000)
            cpu[name].append((process_time() - cpu_started) * 1000)
    return {
        name: (
            statistics.median(wall[name]),
            _p95(wall[name]),
            statistics.median(cpu[name]),
            _p95(cpu[name]),
        )
        for name in views
    }


# The export, in a fresh process -------------------------------------------------------------


def export_in_child(url: str, organisation_id: int) -> dict[str, Any]:
    """Download one organisation's CSV export in this process, chunk by chunk; measure it."""
    logging.basicConfig(level=logging.WARNING)
    app = make_app(url)
    client = signed_in_client(app)
    client.get(f"/organisation/{organisation_id}/dashboard?page=1")  # imports, pool, templates
    _reset_peak_rss()
    rss_start = _memory_kib("VmRSS")
    started = perf_counter()
    response = client.get(f"/organisation/{organisation_id}/dashboard.csv", buffered=False)
    streamed = response.is_streamed
    size, lines, first, tail = 0, 0, b"", b""
    ids: set[str] = set()
    for chunk in response.response:
        size += len(chunk)
        text = (tail + chunk).decode("utf-8")
        *complete, rest = text.split("\r\n")
        tail = rest.encode("utf-8")
        for line in complete:
            if lines == 0:
                first = line.encode()
            else:
                ids.add(next(csv.reader(io.StringIO(line)))[1])
            lines += 1
    response.close()
    seconds = perf_counter() - started
    rss_peak = _memory_kib("VmHWM")
    return {
        "status": response.status_code,
        "streamed": streamed,
        "seconds": seconds,
        "rows": lines - 1,
        "distinct": len(ids),
        "header": first.decode(),
        "mb": size / MB,
        "rss_start_mb": rss_start / 1024,
        "rss_growth_mb": (rss_peak - rss_start) / 1024,
    }


def run_export(url: str, organisation_id: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(export_in_child, (url, organisation_id))


# Running ----------------------------------------------------------------------------------------


def bench(kind: str, args: argparse.Namespace, workdir: Path) -> list[list[str]]:
    target = create_target(kind, workdir)
    lines: list[list[str]] = []
    try:
        app = make_app(target.url)
        shapes = load(app, kind)
        client = signed_in_client(app)
        picked = {
            "1x10k": shapes["1x10k"][0],
            "100x1k": random.Random(SEED).choice(shapes["100x1k"]),  # noqa: S311
            "1x100k": shapes["1x100k"][0],
        }
        sizes = {label: each for label, _, each in SHAPES}
        for label in PAGE_SHAPES:
            views = page_views(picked[label], sizes[label])
            for name, figures in measure_pages(client, views, args.repeats).items():
                cells = [f"{figure:.1f}" for figure in figures]
                lines.append([kind, label, f"page: {name}", *cells, "", ""])
                print("page", *lines[-1], f"load_average={_load()}", flush=True)
        app.extensions["db"].engine.dispose()
        for label in ("1x10k", "1x100k"):
            result = run_export(target.url, picked[label])
            if not result["streamed"] or result["rows"] != sizes[label]:
                raise RuntimeError(f"export of {label} is wrong: {result}")
            if result["distinct"] != result["rows"]:
                raise RuntimeError(f"export of {label} repeats rows: {result}")
            lines.append(
                [
                    kind,
                    label,
                    f"csv export ({result['rows']:,} rows, {result['mb']:.1f} MB)",
                    f"{result['seconds'] * 1000:.0f}",
                    "",
                    "",
                    "",
                    f"{result['rss_growth_mb']:.1f}",
                    f"{result['rss_start_mb']:.0f}",
                ]
            )
            print("export", *lines[-1], f"load_average={_load()}", flush=True)
    finally:
        if not args.keep:
            drop_target(target)
    return lines


def print_table(lines: list[list[str]]) -> None:
    """Print the figures as a Markdown table."""
    head = [
        "database",
        "shape",
        "what",
        "p50 / time ms",
        "p95 ms",
        "CPU p50 ms",
        "CPU p95 ms",
        "RSS growth MB",
        "RSS MB",
    ]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for line in lines:
        print("| " + " | ".join(line) + " |")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", choices=["sqlite", "postgresql", "both"], default="both", help="where"
    )
    parser.add_argument("--repeats", type=int, default=20, help="requests per view")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="bench_dashboard_"))
    os.environ["REGISTRY_INSTANCE_PATH"] = str(workdir / "instance")
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    print(
        f"bench dashboard mediators={MEDIATORS} repeats={args.repeats} cpus={os.cpu_count()} "
        f"load_average={_load()} workdir={workdir}",
        flush=True,
    )
    try:
        lines = [line for kind in kinds for line in bench(kind, args, workdir)]
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(lines)


if __name__ == "__main__":
    main()
