"""Fixtures: the suite runs once on SQLite and once on PostgreSQL (when one answers).

The suite runs on every core (pytest-xdist, ``-n auto``). The real migrations build the schema
once: a PostgreSQL template database named after the migrations' fingerprint (shared by the
workers and by later runs) and an SQLite file per worker; each database a worker needs is a
copy of them. Each test runs inside a transaction that is rolled back at the end. Tests that
need real commits (concurrent job runners, ``init``) ask for ``fresh_database_url`` (empty)
or ``fresh_app`` (migrated) and get a database of their own.
"""

import hashlib
import os
import re
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from registry import create_app
from registry.accounts import services as account_services
from registry.database import db
from registry.extensions import limiter
from registry.migrate import upgrade_to_head

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
# "gw0", "gw1", … in an xdist worker; absent when the suite runs in one process (-n 0).
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
# Rate-limit counts of tests that need shared storage: a database of the local Redis per
# worker (15, 14, …, 8), so that one worker's flush never empties another's counts.
REDIS_URL = f"redis://127.0.0.1:6379/{15 - int(WORKER.removeprefix('gw')) % 8}"
MIGRATIONS = Path(__file__).resolve().parent.parent / "registry" / "migrations"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault(
        "REGISTRY_INSTANCE_PATH", str(config.rootpath / ".pytest_cache" / "instance" / WORKER)
    )
    os.environ["REGISTRY_ENV"] = "testing"


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing() -> Iterator[None]:
    """Argon2id with tiny costs: the tests check behaviour, not hashing strength."""
    original = account_services._hasher
    account_services._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    account_services._hasher = original


def _postgres_available() -> str | None:
    """Return why PostgreSQL cannot be used, or None."""
    engine = sa.create_engine(POSTGRES_ADMIN_URL)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        return f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable: {error}"
    finally:
        engine.dispose()
    return None


def create_database(kind: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Create an empty database of ``kind`` and return its URL."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite')}/registry.sqlite3"
    problem = _postgres_available()
    if problem:
        if IN_CI:
            pytest.fail(f"{problem} (CI=true: PostgreSQL is required)")
        pytest.skip(problem)
    name = f"registry_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def migrations_fingerprint() -> str:
    """A short hash of every migration file: a template is reused only for the same schema."""
    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS.rglob("*.py")):
        digest.update(path.relative_to(MIGRATIONS).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _postgres_template() -> str:
    """The name of a PostgreSQL database at head to copy, built by the first worker to ask.

    It is built under a name of its own and renamed when complete, so a worker never copies
    a half-migrated template; a worker that loses the race drops its own and uses the winner's.
    """
    name = f"registry_template_{migrations_fingerprint()}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
            if exists:
                return name
            building = f"registry_building_{uuid.uuid4().hex[:12]}"
            connection.exec_driver_sql(f'CREATE DATABASE "{building}"')
            engine = sa.create_engine(POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{building}")
            try:
                upgrade_to_head(engine)
            finally:
                engine.dispose()
            try:
                connection.exec_driver_sql(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
            except sa.exc.ProgrammingError:  # another worker published it first
                connection.exec_driver_sql(f'DROP DATABASE "{building}"')
    finally:
        admin.dispose()
    return name


_sqlite_templates: dict[str, Path] = {}


def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file at head, built once per worker, checkpointed so one file holds it all."""
    if "head" not in _sqlite_templates:
        path = tmp_path_factory.mktemp("sqlite-template") / "registry.sqlite3"
        engine = sa.create_engine(f"sqlite:///{path}")
        upgrade_to_head(engine)
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.exec_driver_sql("PRAGMA journal_mode=DELETE")
        engine.dispose()
        _sqlite_templates["head"] = path
    return _sqlite_templates["head"]


def copy_database(source: str, url: str) -> None:
    """Make the empty database at ``url`` a copy of the database at ``source`` (same kind)."""
    if url.startswith("sqlite"):
        shutil.copyfile(source.removeprefix("sqlite:///"), url.removeprefix("sqlite:///"))
        return
    name, template = url.rsplit("/", 1)[1], source.rsplit("/", 1)[1]
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        # A pool of the app that filled the source (``demo``) may still hold connections.
        connection.execute(
            sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
            {"name": template},
        )
        connection.exec_driver_sql(f'DROP DATABASE "{name}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    admin.dispose()


def fill_from_template(url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Bring the empty database at ``url`` to the migrations' head by copying a template."""
    if url.startswith("sqlite"):
        template = f"sqlite:///{_sqlite_template(tmp_path_factory)}"
    else:
        template = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{_postgres_template()}"
    copy_database(template, url)


def drop_database(url: str) -> None:
    """Drop a database made by ``create_database`` (SQLite files go with tmp_path)."""
    if url.startswith("postgresql"):
        name = url.rsplit("/", 1)[1]
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_kind(request: pytest.FixtureRequest) -> str:
    return request.param


def make_test_app(database_url: str, **overrides: object) -> Flask:
    """Build an app for tests on ``database_url``."""
    config = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "PUBLIC_URL": "http://registry.test",
        "MAIL_BACKEND": "outbox",
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOGIN_RATE_LIMIT": "10 per minute",
        **overrides,
    }
    return create_app(config)


@pytest.fixture(scope="session")
def _apps() -> Iterator[dict[str, Flask]]:
    """The worker's app per kind of database, kept until the end of the session.

    xdist hands a worker tests of both kinds in turn; without this, every switch would tear
    the parametrized ``app`` down and build it again.
    """
    built: dict[str, Flask] = {}
    yield built
    for application in built.values():
        application.extensions["db"].engine.dispose()
        drop_database(application.config["DATABASE_URL"])


@pytest.fixture(scope="session")
def app(
    database_kind: str, _apps: dict[str, Flask], tmp_path_factory: pytest.TempPathFactory
) -> Flask:
    if database_kind not in _apps:
        url = create_database(database_kind, tmp_path_factory)
        fill_from_template(url, tmp_path_factory)
        _apps[database_kind] = make_test_app(url)
    return _apps[database_kind]


@pytest.fixture
def session(app: Flask) -> Iterator[sa.orm.Session]:
    """The test's session; everything it and the app write is rolled back afterwards.

    No app context is held open during the test: the test client must push a fresh one per
    request, as in production (a shared one would carry ``g`` from request to request).
    """
    engine = app.extensions["db"].engine
    connection = engine.connect()
    outer = connection.begin()
    db.bind(app, connection, join_transaction_mode="create_savepoint")
    # The limiter is one object per process, set by the last app made: a test that made one
    # without rate limits (RATELIMIT_ENABLED=False) must not leave them off for the next.
    limiter.enabled = app.config["RATELIMIT_ENABLED"]
    limiter.reset()
    test_session = app.extensions["db"].writer()
    try:
        yield test_session
    finally:
        test_session.close()
        db.bind(app, engine)
        outer.rollback()
        connection.close()


@pytest.fixture
def ctx(app: Flask, session: sa.orm.Session) -> Iterator[None]:
    """An app context for calling services and jobs directly (not with the test client)."""
    with app.app_context():
        yield


@pytest.fixture
def client(app: Flask, session: sa.orm.Session) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def fresh_database_url(
    database_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty database of the current kind, for tests that commit."""
    url = create_database(database_kind, tmp_path_factory)
    yield url
    drop_database(url)


@pytest.fixture
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """Make empty databases of a kind on demand (``databases("sqlite")``); drop them after."""
    made: list[str] = []

    def make(kind: str) -> str:
        made.append(create_database(kind, tmp_path_factory))
        return made[-1]

    yield make
    for url in made:
        drop_database(url)


@pytest.fixture
def fresh_app(fresh_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app on a fresh, migrated database whose commits are real."""
    fill_from_template(fresh_database_url, tmp_path_factory)
    application = make_test_app(fresh_database_url)
    with application.app_context():
        yield application
        db.engine.dispose()


@dataclass(frozen=True)
class Demo:
    """A database of its own holding the demo register, and what ``demo`` printed."""

    app: Flask
    url: str
    output: str


_demo_templates: dict[str, tuple[str, str]] = {}


def _demo_template(kind: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """The URL of a database the demo was loaded into once per worker, and its output."""
    if kind not in _demo_templates:
        from click.testing import CliRunner

        from registry.cli import main

        url = create_database(kind, tmp_path_factory)
        fill_from_template(url, tmp_path_factory)
        result = CliRunner().invoke(main, ["demo"], env={"DATABASE_URL": url})
        assert result.exit_code == 0, result.output
        if kind == "sqlite":
            engine = sa.create_engine(url)
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
        _demo_templates[kind] = (url, result.output)
    return _demo_templates[kind]


@pytest.fixture
def demo(database_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo register in a database of the current kind whose commits are real.

    The demo is loaded once per worker and kind (it takes most of a minute) and copied for
    each test; mark a module that uses it ``xdist_group("demo")`` so that one worker loads it.
    """
    template, output = _demo_template(database_kind, tmp_path_factory)
    url = create_database(database_kind, tmp_path_factory)
    copy_database(template, url)
    application = make_test_app(url)
    with application.app_context():
        yield Demo(application, url, output)
        # Give back what the test's session holds before the pool goes: a connection still
        # checked out would be closed only by the garbage collector (a ResourceWarning later).
        db.session.close()
        db.engine.dispose()
    drop_database(url)


def pytest_sessionfinish(session: pytest.Session) -> None:
    for url, _output in _demo_templates.values():
        drop_database(url)


CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SUBMISSION_PATTERN = re.compile(r'name="submission_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str) -> str:
    """GET ``url`` and return the CSRF token of its form."""
    return form_tokens(client, url)["csrf_token"]


def form_tokens(client: FlaskClient, url: str) -> dict[str, str]:
    """GET ``url`` and return its form's CSRF token and, if it has one, a one-time token."""
    text = client.get(url).get_data(as_text=True)
    match = CSRF_PATTERN.search(text)
    assert match, f"no CSRF token on {url}"
    tokens = {"csrf_token": match.group(1)}
    if one_time := SUBMISSION_PATTERN.search(text):
        tokens["submission_token"] = one_time.group(1)
    return tokens


def one_time_token(app: Flask) -> str:
    """Return a one-time form token, for a POST whose form is on no page the test opens."""
    from registry.submissions.services import issue_token

    with app.app_context():
        return issue_token()


def post_form(client: FlaskClient, url: str, data: dict, *, form_url: str | None = None):
    """POST ``data`` to ``url`` with the tokens of the form on ``form_url`` (default ``url``).

    A page without a one-time token (say /account, for a test that only needs a CSRF token)
    gets a fresh one, as the page of a form behind a role would give; test_submissions checks
    that every such template does.
    """
    tokens = form_tokens(client, form_url or url)
    tokens.setdefault("submission_token", one_time_token(client.application))
    return client.post(url, data={**tokens, **data})


def confirmation_page(response, button: str, *says: str) -> str:
    """Assert ``response`` is the confirmation step of an irreversible action; return it."""
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    assert f'<button type="submit" class="button">{button}</button>' in html
    assert '<input type="hidden" name="confirmed" value="1">' in html
    assert "This will:" in html and "No, go back" in html
    for text in says:
        assert text in html, text
    return html


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def shared_redis(app):
    """Redis database 15, emptied of this test's counts; the limiter back on memory after."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        if IN_CI:
            pytest.fail(f"Redis at {REDIS_URL} is unreachable (CI=true): {error}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {error}")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    # The limiter is one object per process: put it back on the suite's memory storage.
    make_test_app(app.config["DATABASE_URL"], REGISTRY_ENV="testing")
