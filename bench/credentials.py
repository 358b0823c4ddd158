"""Benchmark credentials: issuing them, and rebuilding every Bitstring Status List.

    python bench/credentials.py --mediators 1000000 [--database sqlite|postgresql|both]
                                [--issue 10000] [--keep]

For each database: create a fresh one, migrate it and bulk-load N mediators with
``lifecycle.py``'s facts (its SPREAD of statuses; ``record_yesterday`` records each status), then

1. ``allocate``: give every certification its random index in the status lists and set its
   bits (``update_status_bits``, 20,000 certifications a transaction), as the migration does for
   an existing register;
2. ``rebuild``: ``rebuild_status_lists`` in a fresh child process: wall time, RSS growth (peak
   minus start) and, in a second child, the peak of Python allocations (``tracemalloc``);
3. ``issue``: ``--issue`` credentials of certified certifications, one after the other, each as
   the API does it (``verify_certificate`` then ``issue_credential``: the status computation,
   the credential, the Ed25519 signature), in one session.

Figures are printed with the load average (the machine may be shared) and a ``RESULT`` line per
database.
"""

import argparse
import logging
import multiprocessing
import os
import shutil
import tempfile
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from time import perf_counter
from typing import Any

import sqlalchemy as sa
from lifecycle import (
    AS_OF,
    MB,
    NOW,
    Policy,
    Target,
    _memory_kib,
    _reset_peak_rss,
    create_target,
    drop_target,
    generate,
    make_app,
    record_yesterday,
    settle,
)

from registry.credentials.issuing import issue_credential
from registry.credentials.status import rebuild_status_lists, update_status_bits
from registry.database import db
from registry.migrate import upgrade_to_head
from registry.search.verification import verify_certificate

CHUNK = 20_000


def allocate(app: Any) -> float:
    """Give every certification its entry and bits, a chunk a transaction; return seconds."""
    with app.app_context():
        high = db.session.scalar(sa.text("SELECT max(id) FROM certifications")) or 0
        db.session.rollback()
        started = perf_counter()
        for low in range(1, high + 1, CHUNK):
            with db.transaction() as session:
                update_status_bits(session, range(low, min(low + CHUNK, high + 1)))
        return perf_counter() - started


def rebuild_in_child(url: str, keys: str, trace: bool) -> dict[str, Any]:
    """Rebuild every list once in this process and measure it."""
    logging.basicConfig(level=logging.WARNING)
    app = make_app(url)
    app.config["SIGNING_KEYS_DIR"] = keys
    with app.app_context():
        with db.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        _reset_peak_rss()
        rss_start = _memory_kib("VmRSS")
        if trace:
            tracemalloc.start()
        started = perf_counter()
        with db.transaction() as session:
            entries = rebuild_status_lists(session)
        seconds = perf_counter() - started
        python_peak = tracemalloc.get_traced_memory()[1] / MB if trace else None
        tracemalloc.stop()
        rss_growth = (_memory_kib("VmHWM") - rss_start) / 1024
        lists = db.session.scalar(sa.text("SELECT count(DISTINCT list_id) FROM status_lists"))
        db.engine.dispose()
    return {
        "seconds": seconds,
        "entries": entries,
        "lists": lists,
        "rss_growth_mb": rss_growth,
        "python_peak_mb": python_peak,
    }


def in_child(function: Any, *args: Any) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def issue(app: Any, count: int) -> tuple[int, float]:
    """Issue ``count`` credentials of certified certifications; return (issued, seconds)."""
    with app.app_context():
        numbers = db.session.scalars(
            sa.text(
                "SELECT certificate_number FROM certifications WHERE recorded_status = 'certified'"
                " ORDER BY id LIMIT :n"
            ),
            {"n": count},
        ).all()
        issued = 0
        started = perf_counter()
        for number in numbers:
            found = verify_certificate(db.session, number, AS_OF)
            if found is not None and found.listed:
                issue_credential(db.session, found, NOW)
                issued += 1
        seconds = perf_counter() - started
        db.session.rollback()
        db.engine.dispose()
    return issued, seconds


def run(kind: str, count: int, issue_count: int, workdir: Path, keep: bool) -> None:
    target: Target = create_target(kind, count, workdir)
    keys = str(workdir / "keys")
    app = make_app(target.url)
    app.config["SIGNING_KEYS_DIR"] = keys
    engine = app.extensions["db"].engine
    upgrade_to_head(engine)
    policy = Policy.of(app)
    started = perf_counter()
    generate(engine, count, policy.grace)
    record_yesterday(engine, policy.grace)
    print(f"loaded     {kind} {count:,} mediators in {perf_counter() - started:.1f} s", flush=True)
    seconds = allocate(app)
    print(f"allocate   {kind} {seconds:.2f} s (every certification's index and bits)", flush=True)
    settle(engine)
    engine.dispose()
    measured = in_child(rebuild_in_child, target.url, keys, False)
    traced = in_child(rebuild_in_child, target.url, keys, True)
    print(
        f"rebuild    {kind} {measured['seconds']:.2f} s for {measured['entries']:,} entries in "
        f"{measured['lists']} lists; RSS growth {measured['rss_growth_mb']:.1f} MB; "
        f"Python peak {traced['python_peak_mb']:.1f} MB",
        flush=True,
    )
    issued, issue_seconds = issue(app, issue_count)
    per = issue_seconds / issued * 1000 if issued else 0.0
    print(
        f"issue      {kind} {issued:,} credentials in {issue_seconds:.2f} s ({per:.2f} ms each)",
        flush=True,
    )
    print(
        f"RESULT {kind} mediators={count} entries={measured['entries']} "
        f"allocate_s={seconds:.2f} rebuild_s={measured['seconds']:.2f} "
        f"rebuild_rss_mb={measured['rss_growth_mb']:.1f} "
        f"rebuild_python_mb={traced['python_peak_mb']:.1f} "
        f"issued={issued} issue_s={issue_seconds:.2f} load={os.getloadavg()[0]:.2f} "
        f"cores={os.cpu_count()}",
        flush=True,
    )
    if not keep:
        drop_target(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mediators", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--issue", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    workdir = Path(tempfile.mkdtemp(prefix="bench-credentials-"))
    print(f"work directory {workdir}; cores {os.cpu_count()}; load {os.getloadavg()}", flush=True)
    try:
        for kind in kinds:
            run(kind, args.mediators, args.issue, workdir, args.keep)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
