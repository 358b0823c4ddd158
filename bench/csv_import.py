"""Benchmark `mediator-registry mediators import FILE.csv` on a large file.

    python bench/csv_import.py --rows 1000000 [--database sqlite|postgresql|both] [--keep]

Writes a realistic import file of N rows (``_data.People``'s names, countries and languages):
the eight columns of the contract plus ``certification_type`` and ``listing_periods``, which a
migration from another registry carries. About one person in five is an applicant (no
certificate); the others were certified on a day of the last ten years, most paid up to a day
from a few years ago to next year (so certified, lapsed and struck all occur), one in ten with
their settled listing periods spelled out, one in six with granted specialisations, and one in
fifty also holds the advocate certification on a row of its own.

For each database: create a fresh one and migrate it, then run the CLI, as an operator would,
in a child process (``python -m registry.cli mediators import FILE
--specialisations-are-granted``): its wall time, rows per second and peak RSS (``ru_maxrss`` of
that child from ``wait4``, so the figure is the import's alone, interpreter and app included).
Then the same file with BAD_ROWS bad rows near its end, into another fresh database: the child
must fail, report every bad row with its line, and leave the database without a mediator.

PostgreSQL is reached at ``BENCH_POSTGRES_URL`` (see ``lifecycle.py``). The machine may be
shared: the load average is printed beside the figures.
"""

import argparse
import csv
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from _data import People
from lifecycle import _load, _pg_admin, _pg_url, make_app

from registry.csvfiles import writer as csv_writer
from registry.mediators.csvio import COLUMNS
from registry.migrate import upgrade_to_head

SEED = 20261207
# The import's "today" is the registry's (registry.clock), not the machine's.
TODAY = datetime.now(ZoneInfo(os.environ.get("REGISTRY_TIMEZONE", "Europe/Amsterdam"))).date()
HEADER = (*COLUMNS, "certification_type", "listing_periods")
APPLICANT_SHARE = 0.2
PERIODS_SHARE = 0.1
SPECIALISED_SHARE = 0.16
ADVOCATE_SHARE = 0.02
LAPSED_SHARE = 0.08
STRUCK_SHARE = 0.1
# Bad rows near the end of the bad file: each (what is wrong, the message the CLI prints).
BAD_ROWS = (
    ("certified_on", "2021-02-30", "certified_on '2021-02-30' is not a date"),
    ("country", "Atlantis", "unknown country 'Atlantis'"),
    ("email", "first", "is also on line 2"),
)
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Target:
    kind: str
    url: str
    name: str


def write_file(path: Path, rows: int) -> int:
    """Write an import file of ``rows`` data rows; return how many people it holds."""
    rng = random.Random(SEED)  # noqa: S311 -- test data
    people = People(rng)
    written = persons = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv_writer(out)
        writer.writerow(HEADER)
        while written < rows:
            person_rows = _person_rows(rng, people, persons)
            writer.writerows(person_rows[: rows - written])
            written += min(len(person_rows), rows - written)
            persons += 1
    return persons


def _person_rows(rng: random.Random, people: People, number: int) -> list[list[str]]:
    person = people.draw()
    email = f"{_slug(person.name)}.{number}@example.org"
    profile = [person.name, email, person.country, ";".join(person.languages)]
    if rng.random() < APPLICANT_SHARE:
        return [[*profile, "", "", "", "", "", ""]]
    certified_on = TODAY - timedelta(days=rng.randint(30, 3650))
    specialisations = ";".join(person.specialisations) if rng.random() < SPECIALISED_SHARE else ""
    rows = [
        [*profile, specialisations, *_certification(rng, f"IMI-M{number:07d}", certified_on, "")]
    ]
    if rng.random() < ADVOCATE_SHARE:
        later = certified_on + timedelta(days=rng.randint(0, 20))
        rows.append(
            [*profile, specialisations, *_certification(rng, f"IMI-A{number:07d}", later, "adv")]
        )
    return rows


def _certification(rng: random.Random, number: str, certified_on: date, kind: str) -> list[str]:
    """Return certificate_number .. listing_periods of one certification."""
    # Paid up to the period running today, or (LAPSED_SHARE) a year short, or (STRUCK_SHARE) more.
    behind = rng.choices(
        (0, 1, rng.randint(2, 4)), (1 - LAPSED_SHARE - STRUCK_SHARE, LAPSED_SHARE, STRUCK_SHARE)
    )[0]
    years = max(1, min((TODAY - certified_on).days // 365 + 1 - behind, 10))
    ends = [certified_on + timedelta(days=365 * (year + 1) - 1) for year in range(years)]
    periods = ""
    if rng.random() < PERIODS_SHARE:
        periods = ";".join(
            f"{end - timedelta(days=364)}/{end}@{min(end - timedelta(days=364), TODAY)}"
            for end in ends
        )
    return [
        number,
        certified_on.isoformat(),
        ends[-1].isoformat(),
        "advocate" if kind else "",
        periods,
    ]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z]+", ".", name.casefold().encode("ascii", "ignore").decode()).strip(".")


def write_bad_file(good: Path, bad: Path) -> list[int]:
    """Copy ``good`` with BAD_ROWS spoiled near its end; return their physical lines.

    The file has one physical line per row, so a row's line is its number in the copy.
    """
    with good.open(encoding="utf-8", newline="") as source:
        total = sum(1 for _ in source)
    lines = {total - 10 * (index + 1): spoil for index, spoil in enumerate(BAD_ROWS)}
    with (
        good.open(encoding="utf-8", newline="") as source,
        bad.open("w", encoding="utf-8", newline="") as out,
    ):
        writer = csv.writer(out, lineterminator="\r\n")
        first_email = ""
        for number, row in enumerate(csv.reader(source), start=1):
            first_email = row[1] if number == 2 else first_email
            if number in lines:
                column, value, _ = lines[number]
                row[HEADER.index(column)] = first_email if value == "first" else value
            writer.writerow(row)
    return sorted(lines)


def create_database(kind: str, workdir: Path, label: str) -> Target:
    """Create and migrate an empty database."""
    if kind == "sqlite":
        target = Target(kind, f"sqlite:///{workdir}/{label}.sqlite3", label)
    else:
        name = f"bench_csv_import_{label}"
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
        target = Target(kind, _pg_url(name), name)
    app = make_app(target.url)
    upgrade_to_head(app.extensions["db"].engine)
    app.extensions["db"].engine.dispose()
    return target


def drop_database(target: Target) -> None:
    if target.kind == "postgresql":
        _pg_admin(f'DROP DATABASE IF EXISTS "{target.name}" WITH (FORCE)')


def run_import(target: Target, path: Path, workdir: Path) -> dict[str, Any]:
    """Run the CLI import in a child process; return its wall time, peak RSS and output."""
    env = {
        **os.environ,
        "DATABASE_URL": target.url,
        "SECRET_KEY": "x" * 40,
        "REGISTRY_ENV": "testing",
        "MAIL_BACKEND": "outbox",
        "REGISTRY_INSTANCE_PATH": str(workdir / "instance"),
        "PYTHONPATH": str(REPO),
    }
    command = [sys.executable, "-m", "registry.cli", "mediators", "import", str(path)]
    command.append("--specialisations-are-granted")
    with (workdir / "stdout").open("w+") as stdout, (workdir / "stderr").open("w+") as stderr:
        started = perf_counter()
        child = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr, cwd=REPO)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        return {
            "seconds": seconds,
            "peak_rss_mb": usage.ru_maxrss / 1024,
            "code": child.returncode,
            "stdout": stdout.read().strip(),
            "stderr": stderr.read().strip(),
        }


def count_mediators(target: Target) -> tuple[int, int]:
    engine = sa.create_engine(target.url)
    with engine.connect() as connection:
        mediators = connection.exec_driver_sql("SELECT count(*) FROM mediators").scalar_one()
        certifications = connection.exec_driver_sql(
            "SELECT count(*) FROM certifications"
        ).scalar_one()
    engine.dispose()
    return mediators, certifications


def bench(
    kind: str, rows: int, good: Path, bad: Path, bad_lines: list[int], workdir: Path, keep: bool
) -> dict[str, Any]:
    """Import the good file and then the bad file into fresh databases of ``kind``."""
    target = create_database(kind, workdir, f"{kind}_{rows}")
    try:
        load = _load()
        run = run_import(target, good, workdir)
        if run["code"] != 0:
            raise SystemExit(f"the import failed:\n{run['stderr'][-3000:]}")
        mediators, certifications = count_mediators(target)
        rate = rows / run["seconds"]
        print(
            f"import     {kind}: {rows:,} rows in {run['seconds']:.1f} s = {rate:,.0f} rows/s; "
            f"peak RSS {run['peak_rss_mb']:.0f} MB; {mediators:,} mediators, "
            f"{certifications:,} certifications; load average {load} -> {_load()}",
            flush=True,
        )
        print(f"           {run['stdout']}", flush=True)
    finally:
        if not keep:
            drop_database(target)
    failing = create_database(kind, workdir, f"{kind}_{rows}_bad")
    try:
        load = _load()
        refused = run_import(failing, bad, workdir)
        found = re.findall(r"^line (\d+):", refused["stderr"], re.MULTILINE)
        reported = sorted({int(n) for n in found})
        left = count_mediators(failing)
        ok = refused["code"] != 0 and reported == bad_lines and left == (0, 0)
        messages = all(
            any(f"line {line}:" in each and text in each for each in refused["stderr"].splitlines())
            for line, (_, _, text) in zip(bad_lines, reversed(BAD_ROWS), strict=True)
        )
        print(
            f"refused    {kind}: {len(reported)} bad rows reported at lines {reported} "
            f"(expected {bad_lines}, messages {'as expected' if messages else 'DIFFER'}), "
            f"mediators left {left[0]}, in {refused['seconds']:.1f} s, peak RSS "
            f"{refused['peak_rss_mb']:.0f} MB; {'OK' if ok and messages else 'WRONG'}; "
            f"load average {load} -> {_load()}",
            flush=True,
        )
        for each in refused["stderr"].splitlines():
            print(f"           {each}", flush=True)
    finally:
        if not keep:
            drop_database(failing)
    return {
        "database": kind,
        "rows": rows,
        "seconds": run["seconds"],
        "rows_per_s": rate,
        "peak_rss_mb": run["peak_rss_mb"],
        "refused_s": refused["seconds"],
        "refused_peak_rss_mb": refused["peak_rss_mb"],
        "refused_ok": ok and messages,
        "load": load,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="data rows in the file")
    parser.add_argument(
        "--database", choices=["sqlite", "postgresql", "both"], default="both", help="where"
    )
    parser.add_argument("--keep", action="store_true", help="keep the files and databases")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Write the files, import them on the chosen databases and print the figures."""
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench_csv_import_"))
    os.environ["REGISTRY_INSTANCE_PATH"] = str(workdir / "instance")
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    print(
        f"bench csv_import rows={args.rows} today={TODAY} cpus={os.cpu_count()} "
        f"load_average={_load()} workdir={workdir}",
        flush=True,
    )
    try:
        good, bad = workdir / "mediators.csv", workdir / "mediators_bad.csv"
        started = perf_counter()
        persons = write_file(good, args.rows)
        bad_lines = write_bad_file(good, bad)
        print(
            f"file       {args.rows:,} rows, {persons:,} people, "
            f"{good.stat().st_size / 1024 / 1024:.0f} MB, written in "
            f"{perf_counter() - started:.1f} s; bad rows at lines {bad_lines}",
            flush=True,
        )
        results = [
            bench(kind, args.rows, good, bad, bad_lines, workdir, args.keep) for kind in kinds
        ]
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    for r in results:
        print(
            f"RESULT database={r['database']} rows={r['rows']} seconds={r['seconds']:.1f} "
            f"rows_per_s={r['rows_per_s']:.0f} peak_rss_mb={r['peak_rss_mb']:.0f} "
            f"refused_s={r['refused_s']:.1f} refused_peak_rss_mb={r['refused_peak_rss_mb']:.0f} "
            f"refused_ok={r['refused_ok']} load={r['load']} cpus={os.cpu_count()}",
            flush=True,
        )


if __name__ == "__main__":
    main()
