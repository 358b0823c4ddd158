"""A daily job killed half-way leaves nothing behind, and its rerun ends where a clean run does.

One register is built, then copied (a SQLite file copy; a PostgreSQL ``CREATE DATABASE ...
TEMPLATE``). On the original the lifecycle job runs once, undisturbed. On the copy a process
runs it until it has issued the invoices and recorded the lapses of the day (flushed, not
committed), is killed with SIGKILL, and then the job runs again. Every table of the two
databases must then hold the same rows.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from registry.database import db
from tests.conftest import POSTGRES_ADMIN_URL, create_database, drop_database
from tests.factories import grant, make_mediator, set_fees

ROOT = Path(__file__).resolve().parent.parent
DAY = "2025-01-02"  # the day after the first listing period ends: invoices, lapses, mail
pytestmark = pytest.mark.slow

RUNNER = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, date, datetime
    from pathlib import Path

    import registry.mediators.jobs as lifecycle
    from registry.scheduling.registry import get_jobs, run_daily_job
    from tests.conftest import make_test_app

    url, day, pause_file = sys.argv[1], sys.argv[2], sys.argv[3]
    if pause_file:
        record_transitions = lifecycle._record_transitions

        def record_then_wait(session, *args, **kwargs):
            done = record_transitions(session, *args, **kwargs)
            session.flush()  # the work so far is in the database, uncommitted
            Path(pause_file).write_text(str(done))
            time.sleep(600)
            return done

        lifecycle._record_transitions = record_then_wait
    app = make_test_app(url)
    now = datetime(2025, 1, 2, 1, 0, tzinfo=UTC)
    with app.app_context():
        print(run_daily_job(get_jobs().daily["lifecycle"], date.fromisoformat(day), now))
    """
)


def run_job(url: str, tmp_path: Path, pause_file: Path | None = None) -> subprocess.Popen:
    script = tmp_path / "run_lifecycle.py"
    script.write_text(RUNNER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(script), url, DAY, str(pause_file or "")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def copy_database(url: str, tmp_path_factory) -> str:
    """Return the URL of an exact copy of the database at ``url``."""
    if url.startswith("sqlite"):
        copy = tmp_path_factory.mktemp("copy") / "registry.sqlite3"
        shutil.copyfile(url.removeprefix("sqlite:///"), copy)
        return f"sqlite:///{copy}"
    empty = create_database("postgresql", tmp_path_factory)
    name, source = empty.rsplit("/", 1)[1], url.rsplit("/", 1)[1]
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE "{name}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    admin.dispose()
    return empty


def every_row(url: str, *, exact_ids: bool) -> dict[str, list[tuple]]:
    """Return every table's rows, without the instants the runs took place at.

    PostgreSQL's sequences do not roll back, so the killed run's invoice numbers stay used and
    the rerun's invoices get the next ones; there ids and invoice numbers are left out.
    """
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    found = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version" or table.name.startswith("listings_fts"):
                continue
            columns = [
                column
                for column in table.columns
                if not column.name.endswith("_at")
                and (exact_ids or not (column.name == "id" or column.name.endswith("invoice_id")))
            ]
            rows = connection.execute(sa.select(*columns)).all()
            found[table.name] = sorted(
                (tuple(_comparable(value, exact_ids) for value in row) for row in rows), key=repr
            )
    engine.dispose()
    return found


def _comparable(value: object, exact_ids: bool) -> object:
    if isinstance(value, str) and not exact_ids:
        return re.sub(r"INV-\d+", "INV-#", value)
    return value


def test_a_killed_lifecycle_run_reruns_to_the_same_state(
    fresh_app, fresh_database_url, database_kind, tmp_path, tmp_path_factory
):
    with db.transaction() as session:
        set_fees(session)
        for number in range(6):
            # Four periods ended on 31 December (lapse); two end on 31 January (reminder due).
            granted = date(2024, 1, 1) if number < 4 else date(2024, 2, 1)
            grant(session, make_mediator(session, name=f"Mediator {number}"), on=granted)
    db.engine.dispose()
    copy_url = copy_database(fresh_database_url, tmp_path_factory)
    try:
        clean = run_job(fresh_database_url, tmp_path)
        output, _ = clean.communicate(timeout=120)
        assert clean.returncode == 0, output
        assert "'transitions': 4" in output, output

        pause = tmp_path / "paused"
        killed = run_job(copy_url, tmp_path, pause)
        deadline = time.monotonic() + 120
        while not pause.exists():
            assert killed.poll() is None and time.monotonic() < deadline, killed.stdout.read()
            time.sleep(0.1)
        assert pause.read_text() == "4"  # four lapses recorded when it was killed
        killed.send_signal(signal.SIGKILL)
        killed.communicate(timeout=10)
        assert every_row(copy_url, exact_ids=True) != every_row(fresh_database_url, exact_ids=True)

        again = run_job(copy_url, tmp_path)
        output, _ = again.communicate(timeout=120)
        assert again.returncode == 0, output
        assert "'transitions': 4" in output, output  # not skipped: the killed run claimed nothing

        exact = database_kind == "sqlite"
        expected = every_row(fresh_database_url, exact_ids=exact)
        assert expected["mail_outbox"] and expected["events"] and expected["invoices"]
        assert every_row(copy_url, exact_ids=exact) == expected
    finally:
        drop_database(copy_url)
