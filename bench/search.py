"""Benchmark Find a Mediator: typical searches as raw SQL, through the ORM, the app and HTTP.

    python bench/search.py --mediators 100000 [--database sqlite|postgresql|both] [--keep]
                           [--reuse] [--explain] [--repeats 5]

For each database: create a fresh one, migrate it, bulk-load N mediators with lifecycle.py's
facts (grants, yearly invoices and settlements, conduct; its SPREAD of statuses) and realistic
profiles from ``_data.py`` (names, skewed countries, languages, specialisations), then build
the search index with ``rebuild_listings`` (timed); or, with ``--reuse``, take the database an
earlier ``--reuse`` run loaded and kept, and migrate it to head. Then run a fixed, seeded set
of searches of each of KINDS, every search REPEATS times, each time on every layer in turn (so
a busy moment on the shared machine hits all layers alike and their ratios hold):

1. ``raw``: the SELECTs ``search_listings`` sends to the driver (its counts, then the page, as
   SQLAlchemy compiles them from ``listing_query`` and friends, with bound parameters, captured
   once with the ``before_cursor_execute`` event), executed directly on a DBAPI connection;
   ``raw-api``: the same for every SELECT one API request sends;
2. ``orm``: ``search_listings`` in a fresh session, as a request does;
3. ``client-html`` / ``client-api``: the Flask test client on the search page and the API;
4. ``http-html`` / ``http-api``: the same over HTTP against gunicorn (2 gthread workers with
   4 threads) serving the bench database, one new connection per request.

The app runs with ``REGISTRY_ENV=production`` and ``RATELIMIT_ENABLED=False`` (the API's rate
limit would otherwise answer 429 to a benchmark).
"""

import argparse
import http.client
import json
import logging
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from math import ceil
from pathlib import Path
from time import perf_counter
from typing import Any, TypeVar
from urllib.parse import urlencode

import sqlalchemy as sa
from _data import People, ProfileGenerator
from flask import Flask
from lifecycle import SEED, _admin, _load, _pg_admin, _pg_url, generate, settle

from registry import create_app
from registry.clock import local_today
from registry.database import db
from registry.migrate import upgrade_to_head
from registry.search.models import Listing
from registry.search.queries import MediatorSearch, search_listings
from registry.search.services import rebuild_listings

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
SEARCHES_PER_KIND = 8
REPEATS = 5
SEARCH_SEED = SEED + 2
KINDS = [
    "name 1-2 letters",
    "name 3-6 letters",
    "two words",
    "name+country",
    "country",
    "language",
    "specialisation",
    "country+language",
    "everyone",
]
PAGE_PATH, API_PATH = "/mediators", "/api/v1/mediators"
LAYERS = ["raw", "raw-api", "orm", "client-html", "client-api", "http-html", "http-api"]
GOAL_P95_MS, GOAL_RATIO = 20.0, 2.0
# (app layer, raw layer) pairs whose medians are compared: the overhead of the ORM, of the
# page and of the API over the search's own SQL, and of the API over all the SQL it sends.
RATIOS = [("orm", "raw"), ("http-html", "raw"), ("http-api", "raw"), ("http-api", "raw-api")]
SECRET_KEY = secrets.token_urlsafe(48)
# --reuse keeps each loaded database here (SQLite) or as bench_search_<n> (PostgreSQL), and a
# table of one row that says the load finished.
REUSE_DIR = Path(os.environ.get("BENCH_SEARCH_DIR") or Path(tempfile.gettempdir(), "bench_search"))
LOADED_MARK = "bench_search_loaded"
# Settings the in-process app and gunicorn share (gunicorn reads them from the environment).
SHARED_CONFIG = {
    "REGISTRY_ENV": "production",
    "SECRET_KEY": SECRET_KEY,
    "RATELIMIT_STORAGE_URI": "memory://",
    "MAIL_BACKEND": "outbox",
}
# gunicorn calls the factory with these literal arguments (there is no environment variable).
GUNICORN_APP = "registry:create_app({'RATELIMIT_ENABLED': False})"
GUNICORN_OPTIONS = ["--workers", "2", "--worker-class", "gthread", "--threads", "4"]


def make_app(url: str) -> Flask:
    """Build the registry app on ``url`` as served, with rate limits off."""
    return create_app({"DATABASE_URL": url, **SHARED_CONFIG, "RATELIMIT_ENABLED": False})


# Databases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    kind: str
    url: str
    pg_name: str | None = None


def create_target(kind: str, count: int, workdir: Path) -> Target:
    """Create an empty database of ``kind``."""
    if kind == "sqlite":
        return Target(kind, f"sqlite:///{workdir}/search.sqlite3")
    name = f"bench_search_{count}"
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return Target(kind, _pg_url(name), name)


def reused_target(kind: str, count: int) -> tuple[Target, bool]:
    """Return the kept database of ``kind`` for ``count`` mediators, and whether it is loaded.

    The SQLite file is ``search_<n>.sqlite3`` in ``BENCH_SEARCH_DIR``; PostgreSQL's database is
    ``bench_search_<n>``. Either is made anew when missing or not fully loaded.
    """
    if kind == "sqlite":
        REUSE_DIR.mkdir(parents=True, exist_ok=True)
        target = Target(kind, f"sqlite:///{REUSE_DIR}/search_{count}.sqlite3")
    else:
        target = Target(kind, _pg_url(f"bench_search_{count}"), f"bench_search_{count}")
        admin = _admin()
        with admin.connect() as connection:
            found = connection.exec_driver_sql(
                f"SELECT 1 FROM pg_database WHERE datname = '{target.pg_name}'"  # noqa: S608
            ).scalar()
        admin.dispose()
        if not found:
            _pg_admin(f'CREATE DATABASE "{target.pg_name}"')
    if _loaded_mark(target) is not None:
        return target, True
    if target.pg_name:
        create_target(kind, count, REUSE_DIR)
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{REUSE_DIR}/search_{count}.sqlite3{suffix}").unlink(missing_ok=True)
    return target, False


def _loaded_mark(target: Target) -> sa.Row | None:
    """Return the kept load's figures (day, generate and rebuild seconds), if it finished."""
    engine = sa.create_engine(target.url)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table(LOADED_MARK):
                return None
            return connection.exec_driver_sql(
                f"SELECT loaded_on, generate_s, rebuild_s FROM {LOADED_MARK}"  # noqa: S608
            ).first()
    finally:
        engine.dispose()


def _mark_loaded(engine: sa.Engine, loaded: "Loaded") -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"CREATE TABLE {LOADED_MARK} (loaded_on VARCHAR(10), generate_s FLOAT, rebuild_s FLOAT)"
        )
        connection.exec_driver_sql(
            f"INSERT INTO {LOADED_MARK} VALUES ('{loaded.today}', "  # noqa: S608
            f"{loaded.generate_s}, {loaded.rebuild_s})"
        )


def drop_target(target: Target) -> None:
    """Drop the PostgreSQL database (SQLite files go with the work directory)."""
    if target.pg_name:
        _pg_admin(f'DROP DATABASE IF EXISTS "{target.pg_name}" WITH (FORCE)')


@dataclass(frozen=True)
class Loaded:
    today: date
    listed: int
    generate_s: float
    rebuild_s: float


def load(app: Flask, kind: str, count: int) -> Loaded:
    """Migrate, bulk-load ``count`` mediators and rebuild the search index (timed)."""
    engine = app.extensions["db"].engine
    upgrade_to_head(engine)
    grace = app.config["GRACE_PERIOD_DAYS"]
    started = perf_counter()
    totals = generate(engine, count, grace, ProfileGenerator(grace))
    settle(engine)
    generate_s = perf_counter() - started
    rows = " ".join(f"{table}={n}" for table, n in totals.items())
    print(f"generated  {kind} {rows} seconds={generate_s:.1f}", flush=True)
    with app.app_context():
        today = local_today()
        started = perf_counter()
        with db.transaction() as session:
            listed = rebuild_listings(session, today)
        rebuild_s = perf_counter() - started
    print(
        f"rebuild    {kind} rebuild_listings(today={today}) listed={listed} "
        f"seconds={rebuild_s:.1f} load_average={_load()}",
        flush=True,
    )
    settle(engine)
    return Loaded(today, listed, generate_s, rebuild_s)


def migrate_kept(app: Flask, kind: str, target: Target) -> Loaded:
    """Bring a kept, loaded database to the head revision (timed); return its load figures."""
    engine = app.extensions["db"].engine
    started = perf_counter()
    upgrade_to_head(engine)
    settle(engine)
    mark = _loaded_mark(target)
    assert mark is not None  # reused_target found it
    with app.app_context(), db.transaction() as session:
        listed = session.scalar(sa.select(sa.func.count()).select_from(Listing)) or 0
        today = local_today()
    print(
        f"reused     {kind} {target.url} loaded_on={mark.loaded_on} listed={listed} "
        f"migrate_seconds={perf_counter() - started:.1f}",
        flush=True,
    )
    return Loaded(today, listed, mark.generate_s, mark.rebuild_s)


# Searches -------------------------------------------------------------------------------------


def make_searches(per_kind: int = SEARCHES_PER_KIND) -> dict[str, list[MediatorSearch]]:
    """Return ``per_kind`` seeded searches of each kind, aimed at plausible mediators."""
    rng = random.Random(SEARCH_SEED)  # noqa: S311 -- reproducible searches
    people = People(random.Random(SEARCH_SEED + 1))  # noqa: S311

    def prefix(word: str, low: int, high: int) -> str:
        return word[: rng.randint(low, high)]

    def two_words(name: str) -> str:
        words = name.split()
        return f"{prefix(words[0], 1, 6)} {prefix(words[-1], 1, 6)}"

    makers = {
        "name 1-2 letters": lambda p: MediatorSearch(q=prefix(rng.choice(p.name.split()), 1, 2)),
        "name 3-6 letters": lambda p: MediatorSearch(q=prefix(rng.choice(p.name.split()), 3, 6)),
        "two words": lambda p: MediatorSearch(q=two_words(p.name)),
        "name+country": lambda p: MediatorSearch(
            q=prefix(p.name.split()[-1], 2, 6), country=p.country
        ),
        "country": lambda p: MediatorSearch(country=p.country),
        "language": lambda p: MediatorSearch(language=rng.choice(p.languages)),
        "specialisation": lambda _: MediatorSearch(specialisation=people.specialisations.draw(rng)),
        "country+language": lambda p: MediatorSearch(
            country=p.country, language=rng.choice(p.languages)
        ),
        "everyone": lambda _: MediatorSearch(),
    }
    return {kind: [makers[kind](people.draw()) for _ in range(per_kind)] for kind in KINDS}


def url_of(path: str, search: MediatorSearch) -> str:
    """Return the page or API address of ``search``."""
    params = {
        "q": search.q,
        "country": search.country,
        "language": search.language,
        "specialisation": search.specialisation,
    }
    query = urlencode({name: value for name, value in params.items() if value})
    return f"{path}?{query}" if query else path


def describe(search: MediatorSearch) -> str:
    return url_of("", search) or "(no filter)"


# Layers ---------------------------------------------------------------------------------------


class RawSearch:
    """Replay the SELECTs the app sent for a search, on a DBAPI connection of the same engine.

    Statements are kept per layer: ``raw`` holds what ``search_listings`` sends (the count and
    the page), ``raw-api`` everything a request to the API sends.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.pooled = engine.raw_connection()
        self.connection: Any = self.pooled.driver_connection
        self.is_postgresql = engine.dialect.name == "postgresql"
        self.statements: dict[tuple[str, MediatorSearch], list[tuple[str, Any]]] = {}

    def capture(self, layer: str, search: MediatorSearch, action: Callable[[], T]) -> T:
        """Call ``action``, keeping the queries it sends (with their parameters) for ``layer``."""
        sent: list[tuple[str, Any]] = []

        def note(_conn, _cursor, statement, parameters, _context, _executemany) -> None:  # type: ignore[no-untyped-def]
            if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                sent.append((statement, parameters))

        sa.event.listen(self.engine, "before_cursor_execute", note)
        try:
            result = action()
        finally:
            sa.event.remove(self.engine, "before_cursor_execute", note)
        self.statements[layer, search] = sent
        return result

    def replay(self, layer: str) -> Callable[[MediatorSearch], list[list[Any]]]:
        """Return a function executing the statements of ``layer`` and fetching every row."""

        def run(search: MediatorSearch) -> list[list[Any]]:
            results = []
            cursor = self.connection.cursor()
            try:
                for sql, params in self.statements[layer, search]:
                    cursor.execute(sql, params)
                    results.append(cursor.fetchall())
            finally:
                cursor.close()
                if self.is_postgresql:
                    self.connection.rollback()
            return results

        return run

    def plan(self, sql: str, params: Any) -> list[str]:
        """Return EXPLAIN QUERY PLAN (SQLite) or EXPLAIN ANALYZE (PostgreSQL) as lines."""
        cursor = self.connection.cursor()
        try:
            if not self.is_postgresql:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
                depth: dict[int, int] = {0: 0}
                lines = []
                for node, parent, _, detail in cursor.fetchall():
                    depth[node] = depth.get(parent, 0) + 1
                    lines.append("  " * depth[node] + detail)
                return lines
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            return [row[0] for row in cursor.fetchall()]
        finally:
            cursor.close()
            if self.is_postgresql:
                self.connection.rollback()

    def close(self) -> None:
        self.pooled.close()


def _http_get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class WebLayerError(RuntimeError):
    """A page or API answer that is not 200 OK."""


def _checked(status: int, body: bytes, path: str) -> bytes:
    if status != 200:
        snippet = body[:200].decode("utf-8", "replace").replace("\n", " ")
        raise WebLayerError(f"GET {path} answered {status}: {snippet}")
    return body


def make_layers(
    app: Flask, raw: RawSearch, port: int, today: date
) -> dict[str, Callable[[MediatorSearch], Any]]:
    """Return a callable per layer that runs one search there."""
    reader = app.extensions["db"].reader
    client = app.test_client()

    def orm(search: MediatorSearch) -> Any:
        with reader() as session:
            return search_listings(session, search, today)

    def in_client(path: str) -> Callable[[MediatorSearch], bytes]:
        def get(search: MediatorSearch) -> bytes:
            url = url_of(path, search)
            response = client.get(url)
            return _checked(response.status_code, response.get_data(), url)

        return get

    def over_http(path: str) -> Callable[[MediatorSearch], bytes]:
        def get(search: MediatorSearch) -> bytes:
            url = url_of(path, search)
            return _checked(*_http_get(port, url), url)

        return get

    layers = {
        "raw": raw.replay("raw"),
        "raw-api": raw.replay("raw-api"),
        "orm": orm,
        "client-html": in_client(PAGE_PATH),
        "client-api": in_client(API_PATH),
        "http-html": over_http(PAGE_PATH),
        "http-api": over_http(API_PATH),
    }
    return {name: layers[name] for name in LAYERS}


# gunicorn -------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(url: str, workdir: Path) -> Iterator[tuple[int, subprocess.Popen]]:
    """Serve the app on ``url`` with gunicorn; yield its port and process, then stop it."""
    port = _free_port()
    env = {
        **os.environ,
        **SHARED_CONFIG,
        "DATABASE_URL": url,
        "REGISTRY_INSTANCE_PATH": str(workdir / "instance"),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    command = [
        sys.executable, "-m", "gunicorn", *GUNICORN_OPTIONS,
        "--bind", f"127.0.0.1:{port}", "--no-control-socket", "--log-level", "warning",
        GUNICORN_APP,
    ]  # fmt: skip
    log_path = workdir / f"gunicorn-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log)
        try:
            _wait_until_serving(port, process, log_path)
            yield port, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_serving(port: int, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log_path.read_text()[-2000:]}")
        try:
            _http_get(port, "/")
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within 60 s:\n{log_path.read_text()[-2000:]}")


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _process_tree_rss(pid: int) -> list[float]:
    """Return the RSS of a process and of its children (gunicorn's master and workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [_rss_mb(pid)] + [_rss_mb(int(child)) for child in children]


# Measuring ------------------------------------------------------------------------------------


@dataclass
class Run:
    """The samples (seconds) per kind and layer, and what could not be measured."""

    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    matches: dict[str, list[int]] = field(default_factory=dict)
    # How many SELECTs search_listings sent for each search of the kind.
    selects: dict[str, list[int]] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)


def warm_up(
    layers: dict[str, Callable[[MediatorSearch], Any]],
    raw: RawSearch,
    searches: dict[str, list[MediatorSearch]],
) -> Run:
    """Run every search once on every layer, capturing the raw statements; check the answers.

    A web layer that does not answer 200 is dropped (and reported) instead of measured.
    """
    run = Run()
    for kind, kind_searches in searches.items():
        run.matches[kind], run.selects[kind] = [], []
        for search in kind_searches:
            page = raw.capture("raw", search, partial(layers["orm"], search))
            run.matches[kind].append(page.total)
            run.selects[kind].append(len(raw.statements["raw", search]))
            _check_raw(raw, search, page)
            for name in [n for n in list(layers) if n not in ("raw", "raw-api")]:
                try:
                    if name == "client-api":
                        answer = raw.capture("raw-api", search, partial(layers[name], search))
                        _check_api(answer, page, search)
                    else:
                        layers[name](search)
                except WebLayerError as error:
                    run.unavailable[name] = str(error)
                    del layers[name]
    if "client-api" not in layers:
        del layers["raw-api"]
    return run


def _check_raw(raw: RawSearch, search: MediatorSearch, page: Any) -> None:
    """Check that the replayed statements give the page ``search_listings`` returned.

    The last SELECT is the page; the ones before it count (how is up to the app).
    """
    rows = raw.replay("raw")(search)[-1]
    if [row[0] for row in rows] != [listing.mediator_id for listing in page.items]:
        raise AssertionError(
            f"raw SQL disagrees with search_listings for {describe(search)}: "
            f"{len(rows)} rows against {len(page.items)}"
        )


def _check_api(body: bytes, page: Any, search: MediatorSearch) -> None:
    """Compare the API's total with search_listings', if the answer carries one."""
    try:
        answer = json.loads(body)
    except ValueError:
        print(f"WARNING    the API did not answer JSON for {describe(search)}")
        return
    total = answer.get("total") if isinstance(answer, dict) else None
    if total is not None and total != page.total:
        print(f"WARNING    API total {total} != search_listings {page.total} ({describe(search)})")


def measure(
    layers: dict[str, Callable[[MediatorSearch], Any]],
    searches: dict[str, list[MediatorSearch]],
    repeats: int,
    run: Run,
) -> None:
    """Time each search on each layer in turn, ``repeats`` rounds over all kinds.

    Each search starts on a different layer (the first after a pause pays for cold caches).
    """
    run.samples = {kind: {name: [] for name in layers} for kind in searches}
    names = list(layers)
    turn = 0
    for _ in range(repeats):
        for kind, kind_searches in searches.items():
            for search in kind_searches:
                turn += 1
                for name in names[turn % len(names) :] + names[: turn % len(names)]:
                    started = perf_counter()
                    layers[name](search)
                    run.samples[kind][name].append(perf_counter() - started)


def explain(raw: RawSearch, searches: dict[str, list[MediatorSearch]], database: str) -> None:
    """Print the plans of the first search of each kind: every statement it sends, and (once)
    the other statements of an API request, which are the same for every search."""
    for kind, kind_searches in searches.items():
        search = kind_searches[0]
        statements = raw.statements["raw", search]
        for number, (sql, params) in enumerate(statements, 1):
            label = f"{number}/{len(statements)}"
            _print_plan(raw, f"{database} [{kind}] {label} {describe(search)}", sql, params)
    search = searches[KINDS[0]][0]
    own = {sql for sql, _ in raw.statements["raw", search]}
    for sql, params in raw.statements.get(("raw-api", search), []):
        if sql not in own:
            _print_plan(raw, f"{database} [API request, besides the search]", sql, params)


def _print_plan(raw: RawSearch, title: str, sql: str, params: Any) -> None:
    print(f"EXPLAIN {title} params={params}")
    print("  sql: " + " ".join(sql.split()))
    for line in raw.plan(sql, params):
        print(f"  {line}")


# Reporting ------------------------------------------------------------------------------------


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, ceil(0.95 * len(ordered)) - 1)]


def summarise(run: Run) -> dict[str, dict[str, Any]]:
    """Return per kind: the median matches, each layer's p50 and p95 (ms), and RATIOS."""
    summary = {}
    for kind, layers in run.samples.items():
        figures: dict[str, Any] = {
            "matches": int(statistics.median(run.matches[kind])),
            "selects": f"{min(run.selects[kind])}-{max(run.selects[kind])}",
        }
        for name, seconds in layers.items():
            figures[name] = {
                "min_ms": round(min(seconds) * 1000, 2),
                "p50_ms": round(statistics.median(seconds) * 1000, 2),
                "p95_ms": round(_p95(seconds) * 1000, 2),
            }
        figures["ratio_p50"] = {
            f"{app}/{raw}": round(figures[app]["p50_ms"] / figures[raw]["p50_ms"], 2)
            for app, raw in RATIOS
            if app in layers and raw in layers
        }
        summary[kind] = figures
    return summary


def print_table(result: dict[str, Any]) -> None:
    """Print the figures of one database: p50/p95 ms per layer and the ratios of medians."""
    kinds = result["kinds"]
    first = next(iter(kinds.values()))
    layers = [name for name in LAYERS if name in first]
    ratios = list(first["ratio_p50"])
    print(
        f"TABLE {result['database']} n={result['n']} listed={result['listed']} "
        f"rebuild_s={result['rebuild_s']} load_average={result['load_average']} "
        "(ms p50/p95; ratios of the medians)"
    )
    head = "".join(f"{name:>13}" for name in layers) + "".join(f"{r:>17}" for r in ratios)
    print(f"{'kind':<17}{'matches':>8}{'selects':>8}{head}")
    for kind, figures in kinds.items():
        cells = "".join(
            f"{figures[name]['p50_ms']:>7.1f}/{figures[name]['p95_ms']:<5.1f}" for name in layers
        )
        cells += "".join(f"{figures['ratio_p50'][ratio]:>16.1f}x" for ratio in ratios)
        print(f"{kind:<17}{figures['matches']:>8}{figures['selects']:>8}{cells}")
    # The fastest of the samples: what a search costs when the shared machine lets it run.
    for name in layers:
        fastest = ", ".join(
            f"{kind} {figures[name]['min_ms']:.1f}" for kind, figures in kinds.items()
        )
        print(f"MIN {result['database']} {name} ms: {fastest}")
    for name, reason in result["unavailable"].items():
        print(f"MISSING {result['database']} {name}: {reason}")
    _print_goals(result, layers, ratios)


def _print_goals(result: dict[str, Any], layers: list[str], ratios: list[str]) -> None:
    """Print which kinds miss the latency goal and the overhead goal."""
    kinds, where = result["kinds"], f"GOAL {result['database']} n={result['n']}"
    for name in [n for n in ("http-html", "http-api", "orm") if n in layers]:
        slow = {k: f[name]["p95_ms"] for k, f in kinds.items() if f[name]["p95_ms"] >= GOAL_P95_MS}
        print(f"{where} p95<{GOAL_P95_MS:.0f}ms {name}: {_verdict(slow, 'ms')}")
    for ratio in ratios:
        over = {
            k: f["ratio_p50"][ratio] for k, f in kinds.items() if f["ratio_p50"][ratio] > GOAL_RATIO
        }
        print(f"{where} {ratio}<={GOAL_RATIO:.0f}x: {_verdict(over, 'x')}")


def _verdict(failures: dict[str, float], unit: str) -> str:
    if not failures:
        return "pass"
    return "FAIL " + ", ".join(f"{kind} {value:.1f}{unit}" for kind, value in failures.items())


# The benchmark --------------------------------------------------------------------------------


def bench(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Load one database and measure every search on every layer; return the figures."""
    if args.reuse:
        target, is_loaded = reused_target(kind, args.mediators)
    else:
        target, is_loaded = create_target(kind, args.mediators, workdir), False
    try:
        app = make_app(target.url)
        if is_loaded:
            loaded = migrate_kept(app, kind, target)
        else:
            loaded = load(app, kind, args.mediators)
            if args.reuse:
                _mark_loaded(app.extensions["db"].engine, loaded)
        searches = make_searches()
        engine = app.extensions["db"].engine
        raw = RawSearch(engine)
        with gunicorn(target.url, workdir) as (port, server):
            layers = make_layers(app, raw, port, loaded.today)
            run = warm_up(layers, raw, searches)
            if args.explain:
                explain(raw, searches, kind)
            measure(layers, searches, args.repeats, run)
            server_rss = _process_tree_rss(server.pid)
        raw.close()
        engine.dispose()
    finally:
        if not (args.keep or args.reuse):
            drop_target(target)
    return {
        "database": kind,
        "n": args.mediators,
        "listed": loaded.listed,
        "today": loaded.today.isoformat(),
        "generate_s": round(loaded.generate_s, 1),
        "rebuild_s": round(loaded.rebuild_s, 1),
        "load_average": _load(),
        "repeats": args.repeats,
        "searches_per_kind": SEARCHES_PER_KIND,
        "bench_rss_mb": round(_rss_mb(os.getpid()), 1),
        "gunicorn_rss_mb": [round(mb, 1) for mb in server_rss],
        "unavailable": run.unavailable,
        "kinds": summarise(run),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mediators", type=int, default=100_000, help="how many to generate")
    parser.add_argument(
        "--database", choices=["sqlite", "postgresql", "both"], default="both", help="where"
    )
    parser.add_argument("--repeats", type=int, default=REPEATS, help="rounds over all searches")
    parser.add_argument("--explain", action="store_true", help="print a plan of each kind")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="load each database once and keep it for later runs (BENCH_SEARCH_DIR, "
        "bench_search_<n>); a later run migrates it to head and measures",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark on the chosen databases and print the figures."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="bench_search_"))
    os.environ["REGISTRY_INSTANCE_PATH"] = str(workdir / "instance")
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    print(
        f"bench search mediators={args.mediators} repeats={args.repeats} "
        f"searches_per_kind={SEARCHES_PER_KIND} cpus={os.cpu_count()} "
        f"load_average={_load()} workdir={workdir}",
        flush=True,
    )
    results = []
    try:
        for kind in kinds:
            result = bench(kind, args, workdir)
            print_table(result)
            print(
                f"MEMORY {kind} bench_rss_mb={result['bench_rss_mb']} "
                f"gunicorn_rss_mb(master, workers)={result['gunicorn_rss_mb']}",
                flush=True,
            )
            results.append(result)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print("SUMMARY " + json.dumps(results, separators=(",", ":")))


if __name__ == "__main__":
    main()
