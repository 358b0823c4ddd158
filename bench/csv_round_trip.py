"""Measure how faithful a CSV migration is: export the demo register for import, import it.

    PYTHONPATH=$PWD python bench/csv_round_trip.py [--database sqlite|postgresql] [--keep]

Loads the full demo register into a fresh database, exports it with ``export --for-import``,
imports the file (``--specialisations-are-granted``) into a second fresh database and asks both,
for every mediator, what a verifier is told (``tests.round_trip.verifier_view``: the profile's
and every certificate number's Verification). Prints how many mediators' answers differ, by
aspect (public_id, status, status_since, reason, specialisations, ...), and the time each
step took.
"""

import argparse
import tempfile
import uuid
from pathlib import Path
from time import perf_counter

import sqlalchemy as sa

from registry import create_app
from registry.clock import local_today
from registry.demo import load_demo
from registry.migrate import upgrade_to_head
from tests.round_trip import differences, export_for_import, import_file, view_of

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def fresh_app(kind: str, workdir: Path, name: str):  # type: ignore[no-untyped-def]
    """Return an app on a fresh, migrated database of ``kind``."""
    if kind == "sqlite":
        url = f"sqlite:///{workdir}/{name}.sqlite3"
    else:
        database = f"bench_round_trip_{name}_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{database}"')
        admin.dispose()
        url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "x" * 40,
            "REGISTRY_ENV": "development",
            "MAIL_BACKEND": "outbox",
        }
    )
    with app.app_context():
        upgrade_to_head(app.extensions["db"].engine)
    return app


def drop(app) -> None:  # type: ignore[no-untyped-def]
    engine = app.extensions["db"].engine
    url = engine.url
    engine.dispose()
    if url.get_backend_name() == "postgresql":
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--keep", action="store_true", help="keep both databases and the CSV")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="round_trip_"))
    source, target = (fresh_app(args.database, workdir, n) for n in ("source", "target"))
    started = perf_counter()
    with source.app_context():
        load_demo(source)
        today = local_today()
    loaded = perf_counter()
    text = export_for_import(source, today)
    (workdir / "export.csv").write_text(text)
    exported = perf_counter()
    print(import_file(target, text, today))
    imported = perf_counter()
    before, after = view_of(source, today), view_of(target, today)
    changed, by_aspect = differences(before, after)
    print(
        f"demo {loaded - started:.1f}s, export {exported - loaded:.2f}s, "
        f"import {imported - exported:.2f}s, compare {perf_counter() - imported:.1f}s"
    )
    print(f"RESULT {args.database}: {changed} of {len(before)} mediators answer differently")
    for aspect, count in sorted(by_aspect.items()):
        print(f"  {aspect}: {count}")
    if args.keep:
        print(f"kept: {workdir}")
    else:
        drop(source)
        drop(target)


if __name__ == "__main__":
    main()
