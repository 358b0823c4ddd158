"""`db backup` and `db restore`: a consistent copy of a live SQLite register, restored whole."""

import sqlite3
import threading
from datetime import date

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from registry.cli import main
from registry.clock import local_today
from registry.database import db, make_engine
from registry.events.models import Event
from registry.mediators.models import Mediator
from registry.migrate import upgrade_to_head
from registry.search.verification import verify_mediator
from tests.conftest import make_test_app
from tests.factories import grant, make_mediator, set_fees
from tests.round_trip import checksums

WRITER_EMAIL = "writer-{:05}@example.org"


def run(url, *args):
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": url})


class Writer(threading.Thread):
    """Create and certify mediators through the services, one transaction each, until stopped."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.app = make_test_app(url)
        self.stop = threading.Event()
        self.written = 0
        self.error: BaseException | None = None
        self.started_writing = threading.Event()

    def run(self) -> None:
        try:
            with self.app.app_context():
                while not self.stop.is_set():
                    self.write_one(self.written)
                    self.written += 1
                    if self.written >= 20:
                        self.started_writing.set()
                db.engine.dispose()
        except BaseException as error:  # reported by the test
            self.error = error
            self.started_writing.set()

    def write_one(self, number: int) -> None:
        """Register, certify and pay for one mediator, in one transaction (the services')."""
        with db.transaction() as session:
            if number == 0:
                set_fees(session)
            mediator = make_mediator(
                session, name=f"Wren Writer {number}", email=WRITER_EMAIL.format(number)
            )
            grant(session, mediator, on=date(2026, 1, 5))


def test_a_backup_taken_while_writing_restores_to_an_identical_register(databases, tmp_path):
    live = databases("sqlite")
    app = make_test_app(live)
    with app.app_context():
        upgrade_to_head(db.engine)
        db.engine.dispose()
    writer = Writer(live)
    writer.start()
    assert writer.started_writing.wait(120)
    backup_file = tmp_path / "registry-backup.sqlite3"
    try:
        result = run(live, "db", "backup", str(backup_file))
        written_at_backup = writer.written
        assert result.exit_code == 0, result.output
        assert "its integrity check passed" in result.output
        while writer.written < written_at_backup + 10 and writer.error is None:
            writer.stop.wait(0.05)  # the writes go on after the backup
    finally:
        writer.stop.set()
        writer.join(60)
    assert writer.error is None, writer.error

    with sqlite3.connect(backup_file) as backup:
        (journal,) = backup.execute("PRAGMA journal_mode").fetchone()
        in_backup = backup.execute("SELECT count(*) FROM mediators").fetchone()[0]
        events = dict(backup.execute("SELECT action, count(*) FROM events GROUP BY action"))
    assert journal == "delete"  # one self-contained file
    assert 20 <= in_backup < writer.written
    # Every transaction of the writer is in the backup whole or not at all.
    assert events["mediator.created"] == in_backup
    assert events["certification.granted"] == in_backup
    assert events["payment.recorded"] == in_backup

    restored = databases("sqlite")
    answer = run(restored, "db", "restore", str(backup_file))
    assert answer.exit_code == 0, answer.output
    assert "every table's checksum matches the backup's" in answer.output
    assert checksums(restored) == checksums(f"sqlite:///{backup_file}")
    assert _verifier_view(restored) == _verifier_view(live, only=in_backup)


def _verifier_view(url, only=None):
    app = make_test_app(url)
    with app.app_context(), app.extensions["db"].reader() as session:
        query = sa.select(Mediator.public_id).order_by(Mediator.id).limit(only)
        view = {
            public_id: verify_mediator(session, public_id, local_today()).as_json()
            for public_id in session.scalars(query)
        }
    app.extensions["db"].engine.dispose()
    return view


def _register(url, mediators=3):
    app = make_test_app(url)
    with app.app_context():
        upgrade_to_head(db.engine)
        writer = Writer.__new__(Writer)
        for number in range(mediators):
            Writer.write_one(writer, number)
        db.engine.dispose()


def test_a_backup_restores_into_postgresql_with_matching_checksums(databases, tmp_path):
    live, postgresql = databases("sqlite"), databases("postgresql")
    _register(live)
    backup_file = tmp_path / "b.sqlite3"
    assert run(live, "db", "backup", str(backup_file)).exit_code == 0
    result = run(postgresql, "db", "restore", str(backup_file))
    assert result.exit_code == 0, result.output
    assert "DIFFERENT" not in result.output
    assert checksums(postgresql) == checksums(live)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_restore_refuses_an_instance_with_data(databases, tmp_path, kind):
    live, occupied = databases("sqlite"), databases(kind)
    _register(live)
    _register(occupied, mediators=1)
    backup_file = tmp_path / "b.sqlite3"
    assert run(live, "db", "backup", str(backup_file)).exit_code == 0
    before = checksums(occupied)
    result = run(occupied, "db", "restore", str(backup_file))
    assert result.exit_code == 1
    assert "already holds data" in result.output
    assert checksums(occupied) == before


def test_backup_refuses_postgresql_with_the_way_to_do_it(databases, tmp_path):
    postgresql = databases("postgresql")
    result = run(postgresql, "db", "backup", str(tmp_path / "b.sqlite3"))
    assert result.exit_code == 1
    assert "pg_dump -Fc" in result.output and "pg_restore" in result.output
    assert not (tmp_path / "b.sqlite3").exists()


def test_backup_never_overwrites_and_restore_checks_the_file(databases, tmp_path):
    live = databases("sqlite")
    _register(live, mediators=1)
    existing = tmp_path / "exists.sqlite3"
    existing.write_bytes(b"keep me")
    refused = run(live, "db", "backup", str(existing))
    assert refused.exit_code == 1
    assert "exists already" in refused.output
    assert existing.read_bytes() == b"keep me"
    empty = databases("sqlite")
    not_sqlite = run(empty, "db", "restore", str(existing))
    assert not_sqlite.exit_code == 1
    assert "is not a SQLite database" in not_sqlite.output
    foreign = tmp_path / "foreign.sqlite3"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
    not_registry = run(empty, "db", "restore", str(foreign))
    assert not_registry.exit_code == 1
    assert "is not a backup of a registry" in not_registry.output


def test_events_in_a_restored_backup_stay_append_only(databases, tmp_path):
    live, restored = databases("sqlite"), databases("sqlite")
    _register(live, mediators=1)
    backup_file = tmp_path / "b.sqlite3"
    assert run(live, "db", "backup", str(backup_file)).exit_code == 0
    assert run(restored, "db", "restore", str(backup_file)).exit_code == 0
    engine = make_engine(restored)
    with pytest.raises(sa.exc.DatabaseError), engine.begin() as connection:
        connection.execute(sa.delete(Event))
    engine.dispose()
