"""Benchmark `mediator-registry db copy`: a register moved SQLite → PostgreSQL → SQLite.

    python bench/db_copy.py --mediators 1000000 [--batch 5000] [--keep]

Loads N mediators into a fresh SQLite database with ``_data.ProfileGenerator`` (``lifecycle.py``'s
facts: grants, invoices, settlements, conduct, in its SPREAD of statuses, plus realistic names,
languages and granted specialisations), records each status as of yesterday and rebuilds the
search index, as the other benchmarks do. Then it runs ``copy_database`` twice, each in a
freshly spawned process: SQLite → an empty PostgreSQL database, and that PostgreSQL database →
an empty SQLite file. For each direction it prints the rows copied, the wall time (reading,
writing, the second pass for self-references, sequences and reading the copy back for its
checksums), rows per second, and the process's peak RSS and its growth during the copy (VmHWM
reset just before it), then the slowest tables. The copy compares every table's checksum on both
sides, so a run that prints figures is also a run whose copy matched.

PostgreSQL is reached at ``BENCH_POSTGRES_URL`` (see ``lifecycle.py``). The machine may be
shared: the load average is printed beside the figures.
"""

import argparse
import logging
import multiprocessing
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from time import perf_counter
from typing import Any

from _data import ProfileGenerator
from lifecycle import (
    _load,
    _memory_kib,
    _pg_admin,
    _pg_url,
    _reset_peak_rss,
    generate,
    make_app,
    record_yesterday,
    settle,
)

from registry.clock import local_today
from registry.database import db, make_engine
from registry.migrate import upgrade_to_head
from registry.operations.copy import copy_database
from registry.search.services import rebuild_listings

MB = 1024


def load(url: str, count: int) -> None:
    """Migrate the SQLite database at ``url`` and fill it with ``count`` mediators."""
    app = make_app(url)
    engine = app.extensions["db"].engine
    upgrade_to_head(engine)
    grace = app.config["GRACE_PERIOD_DAYS"]
    started = perf_counter()
    totals = generate(engine, count, grace, ProfileGenerator(grace))
    record_yesterday(engine, grace)
    with app.app_context(), db.transaction() as session:
        listed = rebuild_listings(session, local_today())
    settle(engine)
    engine.dispose()
    rows = " ".join(f"{table}={n}" for table, n in totals.items())
    print(f"generated  {rows} listings={listed} seconds={perf_counter() - started:.1f}", flush=True)


def copy_in_child(source_url: str, target_url: str, batch: int) -> dict[str, Any]:
    """Copy ``source_url`` into ``target_url`` in this (fresh) process and measure it."""
    logging.basicConfig(level=logging.WARNING)
    source, target = make_engine(source_url), make_engine(target_url)
    for engine in (source, target):
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")  # open the pools before the baseline
    _reset_peak_rss()
    rss_start = _memory_kib("VmRSS")
    started = perf_counter()
    result = copy_database(source, target, batch=batch)
    seconds = perf_counter() - started
    rss_peak = _memory_kib("VmHWM")
    source.dispose()
    target.dispose()
    slowest = sorted(result.tables, key=lambda each: each.seconds, reverse=True)[:6]
    return {
        "rows": result.rows,
        "tables": len(result.tables),
        "seconds": seconds,
        "rss_start_mb": rss_start / MB,
        "rss_peak_mb": rss_peak / MB,
        "rss_growth_mb": (rss_peak - rss_start) / MB,
        "slowest": [(each.name, each.source_rows, each.seconds) for each in slowest],
        "matches": result.matches,
    }


def measure(label: str, source_url: str, target_url: str, batch: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        figures = pool.submit(copy_in_child, source_url, target_url, batch).result()
    rate = figures["rows"] / figures["seconds"]
    print(
        f"copy       {label}: {figures['rows']:,} rows of {figures['tables']} tables in "
        f"{figures['seconds']:.1f} s = {rate:,.0f} rows/s; "
        f"peak RSS {figures['rss_peak_mb']:.1f} MB "
        f"(growth {figures['rss_growth_mb']:.1f} MB from {figures['rss_start_mb']:.1f} MB); "
        f"checksums {'match' if figures['matches'] else 'DIFFER'}; load average {_load()}",
        flush=True,
    )
    slowest = ", ".join(f"{name} {rows:,} rows {s:.1f} s" for name, rows, s in figures["slowest"])
    print(f"slowest    {label}: {slowest}", flush=True)
    return {**figures, "rows_per_s": rate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mediators", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="bench-db-copy-"))
    print(f"work directory {workdir}; cores {os.cpu_count()}; load {_load()}", flush=True)
    pg_name = f"bench_db_copy_{args.mediators}"
    source, back = f"sqlite:///{workdir}/source.sqlite3", f"sqlite:///{workdir}/back.sqlite3"
    _pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)', f'CREATE DATABASE "{pg_name}"')
    try:
        load(source, args.mediators)
        there = measure("SQLite -> PostgreSQL", source, _pg_url(pg_name), args.batch)
        back_again = measure("PostgreSQL -> SQLite", _pg_url(pg_name), back, args.batch)
        print(
            f"RESULT mediators={args.mediators} rows={there['rows']} batch={args.batch} "
            f"to_pg_s={there['seconds']:.1f} to_pg_rows_per_s={there['rows_per_s']:.0f} "
            f"to_pg_peak_rss_mb={there['rss_peak_mb']:.1f} "
            f"to_pg_rss_growth_mb={there['rss_growth_mb']:.1f} "
            f"to_sqlite_s={back_again['seconds']:.1f} "
            f"to_sqlite_rows_per_s={back_again['rows_per_s']:.0f} "
            f"to_sqlite_peak_rss_mb={back_again['rss_peak_mb']:.1f} "
            f"to_sqlite_rss_growth_mb={back_again['rss_growth_mb']:.1f} load={_load()}",
            flush=True,
        )
    finally:
        if not args.keep:
            _pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
