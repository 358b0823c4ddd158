"""`db copy`: the demo register moved SQLite → PostgreSQL → SQLite reads the same to a verifier.

The demo register is loaded once per worker (it takes most of a minute) and only read here;
each test copies it into databases of its own.
"""

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from registry.cli import main
from registry.clock import local_today
from registry.database import db, make_engine, utcnow
from registry.mediators.models import Certification, Mediator
from registry.mediators.services import create_profile
from registry.migrate import upgrade_to_head
from registry.models import metadata
from registry.operations.copy import (
    SEEDED_TABLES,
    CopyRefused,
    database_url,
    normal_value,
    occupied_tables,
)
from registry.search.verification import verify_certificate, verify_mediator
from tests.conftest import _demo_template, make_test_app
from tests.round_trip import checksums

# The worker that loaded the demo once runs these tests (see conftest's ``demo``).
pytestmark = pytest.mark.xdist_group("demo")


def run(url, *args):
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": url})


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    """A SQLite database holding the full demo register (the worker's, only read here)."""
    url, _output = _demo_template("sqlite", tmp_path_factory)
    return url


_VOLATILE = re.compile(r'(name="csrf_token"[^>]*value=|nonce=)"[^"]*"')


def verifier_view(url):
    """Return everything a verifier sees of every mediator, keyed by what was asked."""
    app = make_test_app(url, RATELIMIT_ENABLED=False)
    seen = {}
    with app.app_context():
        today = local_today()
        with app.extensions["db"].reader() as session:
            public_ids = session.scalars(select_sorted(Mediator.public_id)).all()
            numbers = session.scalars(select_sorted(Certification.certificate_number)).all()
            for public_id in public_ids:
                for day in (today, today - timedelta(days=400)):
                    found = verify_mediator(session, public_id, day)
                    seen[f"verify {public_id} {day}"] = found.as_json()
            for number in numbers:
                found = verify_certificate(session, number, today)
                seen[f"certificate {number}"] = found and found.as_json()
    client = app.test_client()
    for public_id in public_ids:
        api = client.get(f"/api/v1/mediators/{public_id}")
        profile = client.get(f"/mediators/{public_id}")
        assert api.status_code == profile.status_code == 200
        seen[f"api {public_id}"] = api.get_json()
        seen[f"profile {public_id}"] = _VOLATILE.sub("", profile.get_data(as_text=True))
    page, total = 1, None
    while total is None or (page - 1) * 100 < total:
        listing = client.get(f"/api/v1/mediators?per_page=100&page={page}").get_json()
        seen[f"search page {page}"], total, page = listing, listing["total"], page + 1
    app.extensions["db"].engine.dispose()
    return seen


def select_sorted(column):
    return sa.select(column).order_by(column)


def test_the_demo_register_copied_to_postgresql_and_back_reads_the_same(demo_url, databases):
    postgresql, back = databases("postgresql"), databases("sqlite")
    there = run(demo_url, "db", "copy", "--to", postgresql)
    assert there.exit_code == 0, there.output
    assert "every row count and checksum matches" in there.output
    assert "DIFFERENT" not in there.output
    assert re.search(r"^mediators\s+302\s+302\s+(\w{16})\s+\1\s+same$", there.output, re.M)
    files = r"AUDIT_FILES_DIR = \S+: 30 files \([\d.]+ (bytes|KB)\), audit_documents$"
    assert re.search(files, there.output, re.M)
    assert "SIGNING_KEYS_DIR" in there.output
    again = run(postgresql, "db", "copy", "--to", back)
    assert again.exit_code == 0, again.output

    original = checksums(demo_url)
    assert original == checksums(postgresql) == checksums(back)
    assert original["users"][0] == 314
    seen = verifier_view(demo_url)
    assert len(seen) > 4 * 302 + 274  # and the search pages
    assert seen == verifier_view(postgresql)
    assert seen == verifier_view(back)


def test_the_copy_fills_the_self_reference_and_moves_the_sequences(demo_url, databases):
    postgresql = databases("postgresql")
    assert run(demo_url, "db", "copy", "--to", postgresql).exit_code == 0
    covered = sa.select(sa.func.count()).where(Certification.covered_by_id.is_not(None))
    engine = make_engine(demo_url)
    with engine.connect() as connection:
        assert connection.scalar(covered) > 0  # advocates covered by their mediator certificate
    engine.dispose()
    app = make_test_app(postgresql)
    with app.app_context():
        with db.transaction() as session:
            assert session.scalar(covered) > 0
            newest = session.scalar(sa.select(sa.func.max(Mediator.id)))
            mediator = create_profile(
                session, name="Nora New", email="nora@example.org", now=utcnow(), actor=None
            )
            assert mediator.id == newest + 1
        db.engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_target_with_data_is_refused_and_left_alone(demo_url, databases, kind):
    target = databases(kind)
    app = make_test_app(target)
    with app.app_context():
        upgrade_to_head(db.engine)
        with db.transaction() as session:
            create_profile(
                session, name="Ida Inside", email="ida@example.org", now=utcnow(), actor=None
            )
        db.engine.dispose()
    before = checksums(target)
    result = run(demo_url, "db", "copy", "--to", target)
    assert result.exit_code == 1
    assert "The target database already holds data (events, mediators)" in result.output
    assert "Nothing was changed." in result.output
    assert checksums(target) == before


def test_copying_onto_itself_or_into_foreign_tables_is_refused(demo_url, databases):
    itself = run(demo_url, "db", "copy", "--to", demo_url)
    assert itself.exit_code == 1
    assert "The target is the configured database itself." in itself.output
    foreign = databases("sqlite")
    engine = make_engine(foreign)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE notes (body TEXT)")
    result = run(demo_url, "db", "copy", "--to", foreign)
    assert result.exit_code == 1
    assert "has tables (notes) but no registry schema" in result.output
    assert sa.inspect(engine).get_table_names() == ["notes"]
    engine.dispose()


CORRUPT = {
    "sqlite": [
        "CREATE TRIGGER corrupt AFTER INSERT ON mediators BEGIN "
        "UPDATE mediators SET name = name || '.' WHERE id = NEW.id; END"
    ],
    "postgresql": [
        "CREATE FUNCTION corrupt() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN NEW.name := NEW.name || '.'; RETURN NEW; END $$",
        "CREATE TRIGGER corrupt BEFORE INSERT ON mediators FOR EACH ROW EXECUTE FUNCTION corrupt()",
    ],
}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_copy_that_reads_back_differently_fails_and_leaves_nothing(demo_url, databases, kind):
    target = databases(kind)
    engine = make_engine(target)
    upgrade_to_head(engine)
    with engine.begin() as connection:
        for statement in CORRUPT[kind]:  # a target that changes what it is given
            connection.exec_driver_sql(statement)
    result = run(demo_url, "db", "copy", "--to", target)
    assert result.exit_code == 1
    assert re.search(r"^mediators\s+302\s+302\s+\w{16}\s+\w{16}\s+DIFFERENT$", result.output, re.M)
    assert re.search(r"^users\s+314\s+314\s+(\w{16})\s+\1\s+same$", result.output, re.M)
    assert "The copy differs from the source in mediators. It was rolled back" in result.output
    with engine.connect() as connection:
        assert occupied_tables(connection) == []
    engine.dispose()


def test_the_seeded_tables_are_those_a_new_database_fills(fresh_database_url):
    engine = make_engine(fresh_database_url)
    upgrade_to_head(engine)
    with engine.connect() as connection:
        filled = {
            table.name
            for table in metadata.sorted_tables
            if connection.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first()
        }
    engine.dispose()
    assert filled == SEEDED_TABLES


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (
            datetime(2026, 5, 1, 12, tzinfo=UTC),
            datetime(2026, 5, 1, 14, tzinfo=timezone(timedelta(hours=2))),
        ),
        (Decimal("1.10"), Decimal("1.1")),
        (Decimal("10"), Decimal("1E+1")),
        (b"\x00\xff", memoryview(b"\x00\xff")),
        ({"b": 1, "a": [1, 2]}, {"a": [1, 2], "b": 1}),
        (date(2026, 2, 28), date(2026, 2, 28)),
    ],
)
def test_values_that_are_equal_read_the_same_on_both_databases(one, other):
    assert normal_value(one) == normal_value(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (datetime(2026, 5, 1, 12, tzinfo=UTC), datetime(2026, 5, 1, 12, 0, 0, 1, tzinfo=UTC)),
        (Decimal("1.1"), Decimal("1.01")),
        ({"a": 1}, {"a": "1"}),
        (True, 1.5),
    ],
)
def test_values_that_differ_read_differently(one, other):
    assert normal_value(one) != normal_value(other)


def test_target_urls_use_the_project_driver_and_other_databases_are_refused():
    assert database_url("postgresql://r@db/registry") == "postgresql+psycopg://r@db/registry"
    assert database_url("postgres://r:pw@db/registry") == "postgresql+psycopg://r:pw@db/registry"
    assert database_url("sqlite:////srv/r.sqlite3") == "sqlite:////srv/r.sqlite3"
    with pytest.raises(CopyRefused, match="Only SQLite and PostgreSQL"):
        database_url("mysql://r@db/registry")
    with pytest.raises(CopyRefused, match="is not a database URL"):
        database_url("registry.sqlite3")
