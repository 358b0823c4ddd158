"""Load test: a realistic mix of requests against `serve` while the daily job runs.

    python bench/load.py --mediators 1000000 [--database sqlite|postgresql|both]
                         [--workers 2,4] [--users 16] [--duration 300] [--job-after 30]

The database is ``search.py``'s kept one (``--reuse``: ``search_<n>.sqlite3`` in
``BENCH_SEARCH_DIR``, PostgreSQL ``bench_search_<n>``), loaded first if missing. It is copied
once into a kept load database (``load_<n>.sqlite3`` beside it, PostgreSQL ``bench_load_<n>``),
which is prepared once: ACCOUNTS mediators get a sign-in account, and every daily job runs
for the day of preparation (the catch-up of a fresh load: statuses recorded, invoices issued,
reminders queued). Every run then starts from a fresh copy of that database, so runs compare.

Each run starts the real ``mediator-registry serve`` (gunicorn gthread workers with 4 threads,
and the scheduler process) with ``REGISTRY_ENV=production``, rate limits on and counted in
Redis (``BENCH_REDIS_URL``), but raised far above what the bench sends (``API_RATE_LIMIT`` and
``LOGIN_RATE_LIMIT``), so a 429 is an error. Then ``--users`` virtual users (asyncio, httpx,
one keep-alive connection each, no think time) send, for ``--duration`` seconds:

* 70% searches: the page ``/mediators`` and the API ``/api/v1/mediators`` (half each), drawn
  from ``search.py``'s seeded searches of every kind;
* 20% public profiles ``/mediators/<public_id>`` and verify pages ``/verify?number=...``;
* 10% API verifications ``/api/v1/verify/<number>``;

and one more user signs in as a mediator every ``--edit-every`` seconds on average, opens the
profile form, saves an edited biography and signs out (CSRF tokens read from the forms).
``--job-after`` seconds into the run, ``mediator-registry jobs run --as-of <tomorrow>`` runs
every daily job in a separate process (today's are marked done in the copy, so the
scheduler's start-up run does not start one at a moment the bench does not choose).

It prints per endpoint the requests, errors and p50/p95/p99 ms, the requests per second, the
same during the job, how long the job took, how many log lines of the server say "database is
locked" (and the first traceback, if any), and the load average.
"""

import argparse
import asyncio
import json
import logging
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from math import ceil
from pathlib import Path
from time import perf_counter
from typing import Any
from urllib.parse import quote

import httpx
import sqlalchemy as sa
from lifecycle import _admin, _load, _pg_admin, _pg_url, settle
from search import (
    API_PATH,
    PAGE_PATH,
    REUSE_DIR,
    Target,
    _free_port,
    _mark_loaded,
    load,
    make_app,
    make_searches,
    migrate_kept,
    reused_target,
    url_of,
)

from registry.accounts.models import Role, User
from registry.accounts.services import create_user
from registry.clock import local_today
from registry.credentials.keys import rotate_key
from registry.database import db, utcnow
from registry.scheduling.models import JobRun
from registry.scheduling.registry import get_jobs, run_daily_job
from registry.search.models import Listing
from registry.search.queries import MediatorSearch

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261207
# Mediators with a sign-in account: the first ACCOUNTS listed ones whose id is 7 modulo 1000.
ACCOUNTS = 8
PASSWORD = "quiet-harbour-lantern-1907"  # noqa: S105 -- a bench account on a bench database
PREPARED_MARK = "bench_load_prepared"
SEARCHES_PER_KIND = 40
SAMPLE = 4000  # profiles and certificate numbers drawn for the run
UNKNOWN_SHARE = 0.05  # verifications of a number that does not exist (404 expected)
MIX = {"search": 0.70, "profile/verify page": 0.20, "verify API": 0.10}
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
# Far above what 17 users send: the limits are counted (in Redis), never reached.
RAISED_LIMIT = "1000000 per minute"
REQUEST_TIMEOUT = 60.0
LOCKED = "database is locked"
SECRET_KEY = secrets.token_urlsafe(48)


# Databases ------------------------------------------------------------------------------------


def kept_load_target(kind: str, count: int) -> Target:
    """Return the kept, prepared load database of ``kind``, making it from search.py's if needed."""
    if kind == "sqlite":
        target = Target(kind, f"sqlite:///{REUSE_DIR}/load_{count}.sqlite3")
    else:
        target = Target(kind, _pg_url(f"bench_load_{count}"), f"bench_load_{count}")
    if _prepared_on(target) is not None:
        return target
    source = _search_database(kind, count)
    started = perf_counter()
    copy_database(source, target)
    print(f"copied     {kind} {source.url} -> {target.url} seconds={perf_counter() - started:.1f}")
    prepare(target)
    return target


def _search_database(kind: str, count: int) -> Target:
    """Return search.py's kept database, loading it first if it is not there."""
    source, is_loaded = reused_target(kind, count)
    app = make_app(source.url)
    if is_loaded:
        migrate_kept(app, kind, source)
    else:
        _mark_loaded(app.extensions["db"].engine, load(app, kind, count))
    engine = app.extensions["db"].engine
    settle(engine)
    engine.dispose()
    return source


def copy_database(source: Target, target: Target) -> None:
    """Make ``target`` a copy of ``source`` (a file copy, or a PostgreSQL template)."""
    if source.kind == "sqlite":
        path = _sqlite_path(target)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(_sqlite_path(source), path)
        return
    _pg_admin(
        f'DROP DATABASE IF EXISTS "{target.pg_name}" WITH (FORCE)',
        f'CREATE DATABASE "{target.pg_name}" TEMPLATE "{source.pg_name}"',
    )


def drop_database(target: Target) -> None:
    if target.pg_name:
        _pg_admin(f'DROP DATABASE IF EXISTS "{target.pg_name}" WITH (FORCE)')
        return
    for suffix in ("", "-wal", "-shm"):
        Path(f"{_sqlite_path(target)}{suffix}").unlink(missing_ok=True)


def _sqlite_path(target: Target) -> str:
    return target.url.removeprefix("sqlite:///")


def _prepared_on(target: Target) -> str | None:
    if target.kind == "sqlite" and not Path(_sqlite_path(target)).exists():
        return None
    if target.pg_name:
        with _admin().connect() as connection:
            found = connection.exec_driver_sql(
                f"SELECT 1 FROM pg_database WHERE datname = '{target.pg_name}'"  # noqa: S608
            ).scalar()
        if not found:
            return None
    engine = sa.create_engine(target.url)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table(PREPARED_MARK):
                return None
            return connection.exec_driver_sql(f"SELECT prepared_on FROM {PREPARED_MARK}").scalar()  # noqa: S608
    finally:
        engine.dispose()


def prepare(target: Target) -> None:
    """Give ACCOUNTS listed mediators an account and run every daily job for today (catch-up)."""
    app = make_app(target.url)
    engine = app.extensions["db"].engine
    with app.app_context():
        with db.transaction() as session:
            emails = create_accounts(session)
        today = local_today()
        for job in get_jobs().daily.values():
            started = perf_counter()
            summary = run_daily_job(job, today)
            print(
                f"catch-up   {target.kind} {job.name} for {today} "
                f"seconds={perf_counter() - started:.1f} summary={json.dumps(summary)}",
                flush=True,
            )
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE TABLE {PREPARED_MARK} (prepared_on VARCHAR(10))")
        connection.exec_driver_sql(
            f"INSERT INTO {PREPARED_MARK} VALUES ('{today.isoformat()}')"  # noqa: S608
        )
    settle(engine)
    engine.dispose()
    print(f"accounts   {target.kind} {', '.join(emails)} (password in bench/load.py)")


def create_accounts(session: Any) -> list[str]:
    """Create a mediator account for ACCOUNTS listed mediators (by their own e-mail address)."""
    rows = session.execute(
        sa.text(
            "SELECT m.email, m.name FROM listings l JOIN mediators m ON m.id = l.mediator_id "
            "WHERE l.mediator_id % 1000 = 7 ORDER BY l.mediator_id LIMIT :n"
        ),
        {"n": ACCOUNTS},
    ).all()
    now = utcnow()
    for email, name in rows:
        if session.scalar(sa.select(User.id).where(User.email == email)) is None:
            create_user(
                session, email=email, name=name, password=PASSWORD, roles=[Role.MEDIATOR], now=now
            )
    return [email for email, _ in rows]


def claim_today(url: str) -> date:
    """Mark every daily job done for today, so ``serve``'s start-up run skips them; return it."""
    app = make_app(url)
    with app.app_context():
        today, now = local_today(), utcnow()
        with db.transaction() as session:
            for name in get_jobs().daily:
                if session.get(JobRun, (name, today)) is None:
                    session.add(
                        JobRun(
                            job_name=name,
                            run_on=today,
                            started_at=now,
                            finished_at=now,
                            summary={"claimed by": "bench/load.py"},
                        )
                    )
    app.extensions["db"].engine.dispose()
    return today


# What the users ask for -----------------------------------------------------------------------


@dataclass
class Plan:
    """The addresses the virtual users draw from, and the sign-in accounts."""

    searches: list[MediatorSearch]
    profiles: list[str]
    numbers: list[str]
    accounts: list[str]

    def next_request(self, rng: random.Random) -> tuple[str, str, set[int]]:
        """Return (endpoint, path, expected statuses) of one browsing request."""
        draw = rng.random()
        if draw < MIX["search"]:
            search = rng.choice(self.searches)
            if rng.random() < 0.5:
                return "search page", url_of(PAGE_PATH, search), {200}
            return "search API", url_of(API_PATH, search), {200}
        if draw < MIX["search"] + MIX["profile/verify page"]:
            if rng.random() < 0.5:
                return "profile page", f"/mediators/{rng.choice(self.profiles)}", {200}
            number, expected = self._number(rng)
            return "verify page", f"/verify?number={quote(number)}", expected
        number, expected = self._number(rng)
        return "verify API", f"/api/v1/verify/{quote(number)}", expected

    def _number(self, rng: random.Random) -> tuple[str, set[int]]:
        if rng.random() < UNKNOWN_SHARE:
            return f"MR-2031-{rng.randint(9_000_000, 9_999_999)}", {404}
        return rng.choice(self.numbers), {200}


def make_plan(url: str, count: int) -> Plan:
    """Draw the searches, SAMPLE listed profiles and SAMPLE certificate numbers (seeded)."""
    rng = random.Random(SEED)  # noqa: S311 -- reproducible choices
    searches = [s for kind in make_searches(SEARCHES_PER_KIND).values() for s in kind]
    ids = sorted(rng.sample(range(1, count + 1), min(count, SAMPLE * 2)))
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        profiles = connection.scalars(
            sa.text(
                "SELECT m.public_id FROM mediators m JOIN listings l ON l.mediator_id = m.id "
                "WHERE m.id IN :ids"
            ).bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": ids},
        ).all()
        numbers = connection.scalars(
            sa.text("SELECT certificate_number FROM certifications WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": ids},
        ).all()
        accounts = connection.scalars(
            sa.select(User.email).where(User.email.like("mediator.%@bench.example"))
        ).all()
        listed = connection.scalar(sa.select(sa.func.count()).select_from(Listing))
    engine.dispose()
    print(
        f"plan       searches={len(searches)} profiles={len(profiles[:SAMPLE])} "
        f"numbers={len(numbers[:SAMPLE])} accounts={len(accounts)} listed={listed}",
        flush=True,
    )
    return Plan(searches, list(profiles[:SAMPLE]), list(numbers[:SAMPLE]), list(accounts))


# The server -----------------------------------------------------------------------------------


def server_env(url: str, workdir: Path, port: int) -> dict[str, str]:
    """The environment of ``serve`` and of ``jobs run``: production, rate limits in Redis."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REGISTRY_ENV": "production",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": url,
        "REGISTRY_INSTANCE_PATH": str(workdir / "instance"),
        "SIGNING_KEYS_DIR": str(workdir / "signing-keys"),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "MAIL_BACKEND": "outbox",
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "API_RATE_LIMIT": RAISED_LIMIT,
        "LOGIN_RATE_LIMIT": RAISED_LIMIT,
    }


def start_server(env: dict[str, str], port: int, workers: int, log_path: Path) -> subprocess.Popen:
    """Start ``mediator-registry serve`` and wait until it answers."""
    command = [
        sys.executable, "-m", "registry.cli", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip
    log = log_path.open("wb")
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_server(process)
    raise RuntimeError(f"serve did not answer within 120 s:\n{log_path.read_text()[-3000:]}")


def stop_server(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def server_processes(pid: int) -> int:
    """Count the processes under ``serve`` (the supervisor, gunicorn, workers, scheduler)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return 1 + sum(server_processes(int(child)) for child in children)


# The virtual users ----------------------------------------------------------------------------


class Browser(httpx.AsyncClient):
    """A client that keeps its cookies itself: httpx's jar never sends a Secure cookie (the
    session, in production) over plain HTTP, and the bench talks to 127.0.0.1 without TLS."""

    def __init__(self, base: str) -> None:
        super().__init__(
            base_url=base,
            timeout=REQUEST_TIMEOUT,
            limits=httpx.Limits(max_connections=1),
            follow_redirects=False,
        )
        self.jar: dict[str, str] = {}

    async def visit(self, method: str, path: str, data: Any = None) -> httpx.Response:
        """Send a request with this browser's cookies and keep the ones it sets."""
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.jar.items())} if self.jar else {}
        response = await self.request(method, path, data=data, headers=headers)
        self.cookies.clear()
        for header in response.headers.get_list("set-cookie"):
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.jar.pop(name, None)
                else:
                    self.jar[name] = morsel.value
        return response


class Forms(HTMLParser):
    """Collect each form's fields as they would be submitted (inputs, textareas, selects)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({})
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            if a.get("type") not in ("submit", "button"):
                self._add(a["name"], a.get("value", ""))
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self.forms[-1][self._textarea] = ""
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self._add(self._select, a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea and self.forms:
            self.forms[-1][self._textarea] += data

    def _add(self, name: str, value: str) -> None:
        form = self.forms[-1]
        if name in form:
            form[name] = (
                [*form[name], value] if isinstance(form[name], list) else [form[name], value]
            )
        else:
            form[name] = value


def form_with(html: str, field_name: str) -> dict[str, Any]:
    """Return the fields of the page's first form that has ``field_name``."""
    parser = Forms()
    parser.feed(html)
    for form in parser.forms:
        if field_name in form:
            return form
    raise LookupError(f"no form with {field_name}")


@dataclass
class Sample:
    endpoint: str
    started: float  # seconds since the run started
    ms: float
    ok: bool


@dataclass
class Recorder:
    """Every request's endpoint, start, duration and whether it answered as expected."""

    started: float
    samples: list[Sample] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )

    async def send(
        self,
        client: "Browser",
        endpoint: str,
        method: str,
        path: str,
        expected: set[int],
        data: Any = None,
    ) -> httpx.Response | None:
        """Send one request and record it; return the response if it was as expected."""
        begin = time.monotonic()
        try:
            response = await client.visit(method, path, data=data)
            status: str = str(response.status_code)
            ok = response.status_code in expected
        except httpx.HTTPError as error:
            response, status, ok = None, type(error).__name__, False
        self.samples.append(
            Sample(endpoint, begin - self.started, (time.monotonic() - begin) * 1000, ok)
        )
        self.statuses[endpoint][status] += 1
        if not ok:
            detail = response.text[:300].replace("\n", " ") if response is not None else ""
            self.errors[endpoint].append(f"{method} {path} -> {status} {detail}")
        return response if ok else None


async def browse(base: str, plan: Plan, recorder: Recorder, until: float, seed: int) -> None:
    """One virtual user: browsing requests one after the other, no pause, until ``until``."""
    rng = random.Random(seed)  # noqa: S311
    async with Browser(base) as client:
        while time.monotonic() < until:
            endpoint, path, expected = plan.next_request(rng)
            await recorder.send(client, endpoint, "GET", path, expected)


async def edit_profiles(
    base: str, plan: Plan, recorder: Recorder, until: float, every: float
) -> int:
    """Sign in as a mediator every ``every`` seconds on average, edit the profile, sign out."""
    rng = random.Random(SEED + 1)  # noqa: S311
    flows = 0
    while True:
        await asyncio.sleep(rng.expovariate(1 / every))
        if time.monotonic() >= until:
            return flows
        flows += 1
        async with Browser(base) as client:
            await edit_once(client, rng.choice(plan.accounts), recorder, flows)


async def edit_once(client: Browser, email: str, recorder: Recorder, flow: int) -> None:
    page = await recorder.send(client, "sign-in form", "GET", "/login", {200})
    if page is None:
        return
    token = form_with(page.text, "password")["csrf_token"]
    signed_in = await recorder.send(
        client,
        "sign-in",
        "POST",
        "/login",
        {303},
        data={"csrf_token": token, "email": email, "password": PASSWORD},
    )
    if signed_in is None:
        return
    page = await recorder.send(client, "profile form", "GET", "/my/profile", {200})
    if page is None:
        return
    form = form_with(page.text, "biography")
    form["biography"] = (
        f"Bench edit {flow}: I mediate workplace and family disputes, in person and online, "
        "and I have done so for many years."
    )
    form["contact"] = f"+31 20 555 {flow % 10000:04d}"
    await recorder.send(client, "profile edit", "POST", "/my/profile", {303}, data=form)
    await recorder.send(
        client, "sign-out", "POST", "/logout", {303}, data={"csrf_token": form["csrf_token"]}
    )


async def warm_up(base: str, plan: Plan, args: argparse.Namespace) -> None:
    """Send ``--warmup`` seconds of load and one profile edit, unmeasured; stop on any error."""
    started = time.monotonic()
    recorder = Recorder(started)
    until = started + args.warmup
    async with Browser(base) as client:
        await edit_once(client, plan.accounts[0], recorder, 0)
    await asyncio.gather(*(browse(base, plan, recorder, until, n) for n in range(args.users)))
    if recorder.errors:
        found = "\n".join(e for errors in recorder.errors.values() for e in errors[:3])
        raise RuntimeError(f"the warm-up met errors:\n{found}")


@dataclass
class JobRunResult:
    started: float = 0.0
    seconds: float = 0.0
    returncode: int | None = None
    output: str = ""


async def run_job(
    env: dict[str, str], day: date, after: float, result: JobRunResult, t0: float
) -> None:
    """Run ``mediator-registry jobs run --as-of day`` in its own process, ``after`` seconds in."""
    await asyncio.sleep(after)
    result.started = time.monotonic() - t0
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "registry.cli", "jobs", "run", "--as-of", day.isoformat(),
        env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    result.seconds = time.monotonic() - t0 - result.started
    result.returncode = process.returncode
    result.output = output.decode("utf-8", "replace")


async def sample_load(until: float, samples: list[float]) -> None:
    while time.monotonic() < until:
        samples.append(os.getloadavg()[0])
        await asyncio.sleep(5)


async def drive(
    base: str, plan: Plan, args: argparse.Namespace, env: dict[str, str], job_day: date
) -> tuple[Recorder, JobRunResult, list[float], float]:
    """Run the users, the editor and the job; return what they recorded and the run's seconds."""
    await warm_up(base, plan, args)
    t0 = time.monotonic()
    until = t0 + args.duration
    recorder, job, loads = Recorder(t0), JobRunResult(), []
    tasks = [browse(base, plan, recorder, until, SEED + 100 + n) for n in range(args.users)]
    tasks.append(edit_profiles(base, plan, recorder, until, args.edit_every))
    tasks.append(run_job(env, job_day, args.job_after, job, t0))
    tasks.append(sample_load(until, loads))
    await asyncio.gather(*tasks)
    return recorder, job, loads, args.duration


# Reporting ------------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, ceil(q * len(ordered)) - 1)] if ordered else float("nan")


def summarise(samples: list[Sample]) -> dict[str, dict[str, Any]]:
    """Per endpoint (and ``all``): requests, errors, p50/p95/p99 and the slowest, in ms."""
    by: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by[sample.endpoint].append(sample)
        by["all"].append(sample)
    return {
        endpoint: {
            "requests": len(group),
            "errors": sum(not s.ok for s in group),
            "p50_ms": round(_percentile([s.ms for s in group], 0.50), 1),
            "p95_ms": round(_percentile([s.ms for s in group], 0.95), 1),
            "p99_ms": round(_percentile([s.ms for s in group], 0.99), 1),
            "max_ms": round(max(s.ms for s in group), 1),
        }
        for endpoint, group in sorted(by.items(), key=lambda item: -len(item[1]))
    }


def scan_log(path: Path) -> dict[str, Any]:
    """Count "database is locked" and error lines in the server's log; keep the first traceback."""
    text = path.read_text(errors="replace")
    lines = text.splitlines()
    tracebacks = [i for i, line in enumerate(lines) if "Traceback" in line]
    first = "\n".join(lines[tracebacks[0] : tracebacks[0] + 60]) if tracebacks else ""
    for line in lines:
        if first:
            break
        if line.startswith("{") and "exc_info" in line:
            entry = json.loads(line)
            first = f"{entry.get('message')}\n{entry.get('exc_info')}"
    return {
        "locked": sum(LOCKED in line for line in lines),
        "error_lines": sum(
            bool(re.search(r'"level(name)?": "(ERROR|CRITICAL)"|\bERROR\b', line)) for line in lines
        ),
        "status_5xx": sum(bool(re.search(r'" 5\d\d ', line)) for line in lines),
        "first_traceback": first,
    }


def report(kind: str, workers: int, args: argparse.Namespace, outcome: dict[str, Any]) -> None:
    figures = outcome["endpoints"]
    job = outcome["job"]
    print(
        f"TABLE {kind} n={args.mediators} workers={workers} threads=4 users={args.users} "
        f"seconds={args.duration} cpus={os.cpu_count()} load_average(mean/max)="
        f"{outcome['load_mean']}/{outcome['load_max']}"
    )
    print(
        f"{'endpoint':<16}{'requests':>9}{'errors':>7}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    )
    for endpoint, f in figures.items():
        print(
            f"{endpoint:<16}{f['requests']:>9}{f['errors']:>7}"
            f"{f['p50_ms']:>9.1f}{f['p95_ms']:>9.1f}{f['p99_ms']:>9.1f}{f['max_ms']:>9.0f}"
        )
    during = outcome["during_job"].get("all", {})
    print(
        f"RATE {kind} workers={workers} requests_per_second={outcome['rps']} "
        f"during_job={outcome['rps_during_job']} (p95 {during.get('p95_ms')} ms, "
        f"errors {during.get('errors')})"
    )
    print(
        f"JOB {kind} workers={workers} as_of={outcome['job_day']} started_at_s={job['started']} "
        f"seconds={job['seconds']} returncode={job['returncode']} per_job={job['per_job']}"
    )
    log = outcome["log"]
    print(
        f"LOG {kind} workers={workers} database_is_locked={log['locked']} "
        f"error_lines={log['error_lines']} access_5xx={log['status_5xx']} "
        f"job_output_locked={job['locked']} edit_flows={outcome['edit_flows']}"
    )
    for endpoint, errors in outcome["error_examples"].items():
        for example in errors:
            print(f"ERROR {kind} workers={workers} {endpoint}: {example}")
    if log["first_traceback"]:
        print(f"TRACEBACK {kind} workers={workers}:\n{log['first_traceback']}")
    if job["returncode"] != 0:
        print(f"JOB-OUTPUT {kind} workers={workers}:\n{job['output'][-4000:]}")


def job_durations(url: str, day: date) -> dict[str, float]:
    """Each daily job's own seconds for ``day``, from its claim row (started, finished)."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(JobRun.job_name, JobRun.started_at, JobRun.finished_at).where(
                JobRun.run_on == day
            )
        ).all()
    engine.dispose()
    durations = {}
    for name, started, finished in rows:
        if started and finished:
            durations[name] = round((finished - started).total_seconds(), 1)
    return dict(sorted(durations.items(), key=lambda item: -item[1]))


# The benchmark --------------------------------------------------------------------------------


def run_once(kept: Target, workers: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Copy the kept database, serve it with ``workers`` workers and drive the load."""
    if kept.pg_name:
        run = Target(kept.kind, _pg_url(f"{kept.pg_name}_run"), f"{kept.pg_name}_run")
    else:
        run = Target(kept.kind, f"sqlite:///{workdir}/run.sqlite3")
    started = perf_counter()
    copy_database(kept, run)
    job_day = claim_today(run.url) + timedelta(days=1)
    print(f"copy       {kept.kind} {run.url} seconds={perf_counter() - started:.1f}", flush=True)
    plan = make_plan(run.url, args.mediators)
    port = _free_port()
    env = server_env(run.url, workdir, port)
    log_path = workdir / f"serve-{kept.kind}-{workers}.log"
    server = start_server(env, port, workers, log_path)
    try:
        processes = server_processes(server.pid)
        recorder, job, loads, seconds = asyncio.run(
            drive(f"http://127.0.0.1:{port}", plan, args, env, job_day)
        )
    finally:
        stop_server(server)
    job_end = job.started + job.seconds
    during = [s for s in recorder.samples if job.started <= s.started < job_end]
    outcome = {
        "database": kept.kind,
        "n": args.mediators,
        "workers": workers,
        "processes": processes,
        "users": args.users,
        "seconds": seconds,
        "rps": round(len(recorder.samples) / seconds, 1),
        "rps_during_job": round(len(during) / job.seconds, 1) if job.seconds else None,
        "endpoints": summarise(recorder.samples),
        "during_job": summarise(during),
        "statuses": {k: dict(v) for k, v in recorder.statuses.items()},
        "error_examples": {k: v[:3] for k, v in recorder.errors.items()},
        "edit_flows": recorder.statuses["sign-in form"].get("200", 0),
        "job_day": job_day.isoformat(),
        "job": {
            "started": round(job.started, 1),
            "seconds": round(job.seconds, 1),
            "returncode": job.returncode,
            "per_job": job_durations(run.url, job_day),
            "locked": job.output.count(LOCKED),
            "output": job.output,
        },
        "log": scan_log(log_path),
        "load_mean": round(sum(loads) / len(loads), 1) if loads else None,
        "load_max": round(max(loads), 1) if loads else None,
        "cpus": os.cpu_count(),
    }
    if args.keep_logs:
        shutil.copy(log_path, Path(args.keep_logs) / log_path.name)
    drop_database(run)
    return outcome


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mediators", type=int, default=100_000, help="size of the database")
    parser.add_argument(
        "--database", choices=["sqlite", "postgresql", "both"], default="both", help="where"
    )
    parser.add_argument(
        "--workers", default="2,4", help="gunicorn worker counts to run, comma-separated"
    )
    parser.add_argument("--users", type=int, default=16, help="concurrent browsing users")
    parser.add_argument("--duration", type=float, default=300, help="seconds of measured load")
    parser.add_argument("--warmup", type=float, default=10, help="seconds of unmeasured load first")
    parser.add_argument(
        "--job-after", type=float, default=30, help="start the daily jobs this many seconds in"
    )
    parser.add_argument(
        "--edit-every", type=float, default=10, help="mean seconds between sign-in + profile edits"
    )
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the server logs here")
    parser.add_argument(
        "--prepare-only", action="store_true", help="make the kept databases, then stop"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the load on each database and worker count; print the figures."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="bench_load_"))
    os.environ["REGISTRY_INSTANCE_PATH"] = str(workdir / "instance")
    rotate_key(workdir / "signing-keys")
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    workers = [int(w) for w in args.workers.split(",")]
    print(
        f"bench load mediators={args.mediators} users={args.users} duration={args.duration} "
        f"workers={workers} cpus={os.cpu_count()} load_average={_load()} workdir={workdir}",
        flush=True,
    )
    results = []
    try:
        for kind in kinds:
            kept = kept_load_target(kind, args.mediators)
            print(f"kept       {kind} {kept.url}", flush=True)
            if args.prepare_only:
                continue
            for count in workers:
                outcome = run_once(kept, count, args, workdir)
                report(kind, count, args, outcome)
                del outcome["job"]["output"]
                results.append(outcome)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("SUMMARY " + json.dumps(results, separators=(",", ":")))


if __name__ == "__main__":
    main()
