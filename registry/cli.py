"""The ``mediator-registry`` command: set-up, serving, the scheduler, jobs, accounts, mediators."""

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TextIO

import click
from flask import Flask
from sqlalchemy.orm import Session

from registry import create_app
from registry.accounts.models import Role
from registry.config import ConfigError

INVITATION_TTL = timedelta(days=7)


def _app() -> Flask:
    try:
        return create_app()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def with_app(command: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``command`` inside an application context, passing the app first."""

    @wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        app = _app()
        with app.app_context():
            try:
                return command(app, *args, **kwargs)
            finally:
                app.extensions["db"].engine.dispose()

    return wrapped


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Mediator Registry: accreditation and quality-assurance registry."""


@main.command()
@with_app
def init(app: Flask) -> None:
    """Create the database schema or upgrade it to the newest revision (safe to repeat)."""
    from registry.extensions import db
    from registry.migrate import upgrade_to_head

    before, after = upgrade_to_head(db.engine)
    if before == after:
        click.echo(f"Database already at the newest revision ({after}).")
    else:
        click.echo(f"Database upgraded from {before or 'empty'} to revision {after}.")
    if app.config["REGISTRY_ENV"] != "production":
        from registry.credentials.keys import ensure_key, keys_dir

        if kid := ensure_key(keys_dir(app)):
            click.echo(f"Created the credential signing key {kid} in {keys_dir(app)}.")


@main.group()
def keys() -> None:
    """The Ed25519 keys that sign credentials: rotate, retire, list."""


@keys.command("rotate")
@with_app
def keys_rotate(app: Flask) -> None:
    """Add a new signing key; new credentials use it, older keys stay published."""
    from registry.credentials.keys import keys_dir, rotate_key

    kid = rotate_key(keys_dir(app))
    click.echo(f"New signing key {kid}; earlier keys stay published until retired.")


@keys.command("retire")
@click.argument("kid")
@with_app
def keys_retire(app: Flask, kid: str) -> None:
    """Stop publishing key KID: credentials it signed no longer verify."""
    from registry.credentials.keys import SigningKeyError, keys_dir, retire_key

    try:
        retire_key(keys_dir(app), kid)
    except SigningKeyError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Key {kid} is retired: credentials it signed no longer verify.")


@keys.command("list")
@with_app
def keys_list(app: Flask) -> None:
    """List the signing keys: the current one, the published ones, the retired ones."""
    from registry.credentials.keys import keyring

    ring = keyring()
    for kid in sorted(ring.private_keys):
        state = (
            "current"
            if kid == ring.current_kid
            else "retired"
            if kid in ring.retired
            else "published"
        )
        click.echo(f"{kid}  {state}")


@main.group()
def credentials() -> None:
    """Open Badges credentials: check one, rebuild the status lists."""


@credentials.command("verify")
@click.argument("file", type=click.File("r", encoding="utf-8", errors="replace"))
@with_app
def credentials_verify(app: Flask, file) -> None:  # type: ignore[no-untyped-def]
    """Check a credential (a VC-JWT file, or - for standard input); exit 0 only when valid."""
    from registry.credentials.verifying import verify_credential
    from registry.database import utcnow
    from registry.extensions import db

    with db.transaction() as session:
        result = verify_credential(session, file.read(), utcnow())
        for check in result.checks:
            click.echo(f"{'ok  ' if check.ok else 'FAIL'}  {check.detail}")
        if result.today is not None:
            click.echo(f"Today: {result.today.outlook.explanation}")
    if not result.valid:
        raise click.ClickException(f"Not a valid credential: {result.reason}")
    click.echo(f"Valid: {result.holder}, certificate {result.certificate_number}.")


@credentials.command("rebuild-status")
@with_app
def credentials_rebuild_status(app: Flask) -> None:
    """Recompute every status list from the recorded statuses."""
    from registry.credentials.status import rebuild_status_lists
    from registry.extensions import db

    with db.transaction() as session:
        count = rebuild_status_lists(session)
    click.echo(f"Rebuilt the status lists of {count} certifications.")


@main.command()
@with_app
def demo(app: Flask) -> None:
    """Load demo data (only into an empty or development database)."""
    from registry.demo import DemoRefused, load_demo

    try:
        summary = load_demo(app)
    except DemoRefused as error:
        raise click.ClickException(str(error)) from None
    click.echo(summary)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--no-scheduler", is_flag=True, help="Serve only; run the scheduler on one other node."
)
@with_app
def serve(app: Flask, host: str, port: int, workers: int, threads: int, no_scheduler: bool) -> None:
    """Serve the site with gunicorn (gthread) and run the scheduler beside it."""
    from registry.serving import check_schema_ready, supervise

    problem = check_schema_ready()
    if problem:
        raise click.ClickException(problem)
    sys.exit(
        supervise(
            host,
            port,
            workers,
            threads,
            with_scheduler=not no_scheduler,
            log_format=app.config["LOG_FORMAT"],
        )
    )


@main.command()
def scheduler() -> None:
    """Run the scheduler alone, in this process, until stopped."""
    from registry.scheduling.process import run_scheduler

    run_scheduler(_app())


@main.group()
def jobs() -> None:
    """Scheduled jobs."""


@jobs.command("list")
@with_app
def jobs_list(app: Flask) -> None:
    """List the registered jobs."""
    from registry.scheduling.registry import get_jobs

    registry = get_jobs()
    for job in registry.daily.values():
        click.echo(f"{job.name:24} daily at {app.config['DAILY_JOBS_AT']}  {job.description}")
    for task in registry.interval.values():
        every = int(task.every.total_seconds())
        click.echo(f"{task.name:24} every {every} s{'':7}  {task.description}")


@jobs.command("run")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The date to run the daily jobs for (YYYY-MM-DD); today by default.",
)
@with_app
def jobs_run(app: Flask, as_of: datetime | None) -> None:
    """Run every scheduled job once (daily jobs for one date, each at most once per date)."""
    from registry.clock import local_today
    from registry.scheduling.registry import run_all_jobs

    day: date = as_of.date() if as_of else local_today()
    for name, summary in run_all_jobs(day).items():
        if summary is None:
            click.echo(f"{name}: already done for {day}; skipped")
        else:
            click.echo(f"{name}: {summary}")


@main.group()
def users() -> None:
    """Accounts."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--name", help="Full name; the part of the e-mail before @ by default.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([role.value for role in Role]),
    help="A role to give; repeat for several.",
)
@click.option(
    "--invite",
    is_flag=True,
    help="Set no password; e-mail a link to choose one instead of asking here.",
)
@with_app
def users_create(
    app: Flask, email: str, name: str | None, roles: tuple[str, ...], invite: bool
) -> None:
    """Create an account (staff, appraisers, organisation admins...)."""
    from registry.accounts.services import AccountError, create_user, request_password_reset
    from registry.database import utcnow
    from registry.extensions import db

    password = None if invite else _ask_password()
    now = utcnow()
    try:
        with db.transaction() as session:
            user = create_user(
                session,
                email=email,
                name=name or email.split("@")[0],
                password=password,
                roles=[Role(role) for role in roles],
                now=now,
            )
            if invite:
                request_password_reset(
                    session, email=user.email, now=now, ttl=INVITATION_TTL, invitation=True
                )
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {user.email} with roles: {', '.join(sorted(roles))}.")


def _ask_password() -> str:
    from registry.accounts.services import AccountError, check_password_rules

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat the password: ") != password:
            raise click.ClickException("The passwords do not match.")
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        check_password_rules(password)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    return password


@main.group()
def mediators() -> None:
    """Mediator profiles and certifications: CSV import and export."""


@mediators.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--specialisations-are-granted",
    is_flag=True,
    help="Import the specialisations column as grants, with the import as their basis (for a "
    "registry that granted them). Without it, a row with specialisations is refused.",
)
@with_app
def mediators_import(app: Flask, file: Path, specialisations_are_granted: bool) -> None:
    """Import mediators from a CSV file: every row, or nothing if any row is bad."""
    from sqlalchemy.exc import IntegrityError

    from registry.clock import local_today
    from registry.database import utcnow
    from registry.extensions import db
    from registry.mediators.csvio import ImportFailed, import_mediators

    try:
        with file.open("rb") as stream, db.transaction() as session:
            summary = import_mediators(
                session,
                stream,
                today=local_today(),
                now=utcnow(),
                actor=None,
                source=file.name,
                specialisations_are_granted=specialisations_are_granted,
            )
    except ImportFailed as failure:
        for line, message in failure.errors:
            click.echo(f"line {line}: {message}", err=True)
        raise click.ClickException(
            f"{len(failure.errors)} problem(s) in {file.name}. Nothing was imported."
        ) from None
    except IntegrityError as error:
        raise click.ClickException(
            f"The database refused the import ({error.orig}). Nothing was imported."
        ) from None
    if db.engine.dialect.name == "postgresql":
        # Fresh statistics, or the planner picks poor plans until autovacuum gets to them.
        with db.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE mediators, certifications, invoices, listings")
            connection.commit()
    click.echo(summary)


@mediators.command("export")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The CSV file to write; standard output by default.",
)
@click.option(
    "--for-import",
    is_flag=True,
    help="Write the import columns, migration columns included, one row per certification, "
    "so the file imports into an empty registry that answers verifiers the same.",
)
@click.option(
    "--bom",
    is_flag=True,
    help="Start the file with a UTF-8 byte order mark, so Excel reads accented names right.",
)
@with_app
def mediators_export(app: Flask, output: Path | None, for_import: bool, bom: bool) -> None:
    """Export every mediator as CSV, with each status as of today."""
    from registry.clock import local_today
    from registry.mediators.csvio import export_mediators

    with _snapshot(app) as session, _csv_output(output) as out:
        count = export_mediators(session, out, today=local_today(), for_import=for_import, bom=bom)
    click.echo(f"Exported {count} mediator{'' if count == 1 else 's'}.", err=True)


@contextmanager
def _snapshot(app: Flask) -> Iterator[Session]:
    """Open a read-only session that sees one consistent state of the database throughout."""
    with app.extensions["db"].reader() as session:
        # SQLite in WAL mode keeps one snapshot per read transaction already.
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session


@contextmanager
def _csv_output(path: Path | None) -> Iterator[TextIO]:
    """Yield standard output, or a file that appears under ``path`` only once complete."""
    if path is None:
        yield sys.stdout
        return
    partial = path.with_name(f"{path.name}.part")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            yield out
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


@main.group()
def search() -> None:
    """The public search index."""


@search.command("reindex")
@with_app
def search_reindex(app: Flask) -> None:
    """Rebuild the search index from the register (it is kept in step; this is for repairs)."""
    from registry.clock import local_today
    from registry.extensions import db as database
    from registry.search.services import rebuild_listings

    with database.transaction() as session:
        listed = rebuild_listings(session, local_today())
    click.echo(f"Search index rebuilt: {listed} mediator{'' if listed == 1 else 's'} listed.")


@main.group()
def db() -> None:
    """The database as a whole: copy it, back it up, restore it; schema migrations."""


@db.command("copy")
@click.option(
    "--to",
    "to_url",
    required=True,
    metavar="URL",
    help="The empty database to copy into: postgresql+psycopg://… or sqlite:///path.",
)
@click.option(
    "--batch",
    default=5_000,
    show_default=True,
    type=click.IntRange(100, 100_000),
    help="Rows read and written at a time.",
)
@with_app
def db_copy(app: Flask, to_url: str, batch: int) -> None:
    """Copy every table into an empty database and compare checksums on both sides."""
    from registry.database import make_engine
    from registry.extensions import db as database
    from registry.operations.copy import (
        CopyFailed,
        CopyMismatch,
        CopyRefused,
        copy_database,
        database_url,
    )

    try:
        target = make_engine(database_url(to_url))
    except CopyRefused as refused:
        raise click.ClickException(str(refused)) from None
    source = database.engine
    click.echo(f"Copying {_shown(source)} to {_shown(target)}, {batch:,} rows at a time.")
    try:
        result = copy_database(source, target, batch=batch, on_table=_echo_copied)
    except (CopyRefused, CopyFailed) as error:
        raise click.ClickException(str(error)) from None
    except CopyMismatch as mismatch:
        _echo_checksums(mismatch.result)
        raise click.ClickException(str(mismatch)) from None
    finally:
        target.dispose()
    _echo_checksums(result)
    click.echo(
        f"Copied {result.rows:,} rows of {len(result.tables)} tables in {result.seconds:.1f} s "
        f"({result.rows / max(result.seconds, 0.001):,.0f} rows/s); every row count and "
        f"checksum matches"
        + (
            f"; {result.sequences} sequences moved past the copied ids."
            if result.sequences
            else "."
        )
    )
    _echo_files(app)


def _shown(engine: Any) -> str:
    return engine.url.render_as_string(hide_password=True)


def _echo_copied(copied: Any) -> None:
    click.echo(f"  {copied.name:32} {copied.source_rows:>12,} rows  {copied.seconds:7.1f} s")


def _echo_checksums(result: Any) -> None:
    click.echo(
        f"{'table':32} {'source rows':>12} {'target rows':>12}  "
        f"{'source sha256':16}  {'target sha256':16}"
    )
    for each in result.tables:
        click.echo(
            f"{each.name:32} {each.source_rows:>12,} {each.target_rows:>12,}  "
            f"{each.source_checksum[:16]}  {each.target_checksum[:16]}  "
            f"{'same' if each.matches else 'DIFFERENT'}"
        )


def _echo_files(app: Flask) -> None:
    from registry.extensions import db as database
    from registry.operations.copy import files_to_copy
    from registry.uploads import human_size

    click.echo("Files outside the database: copy these folders to the new instance yourself.")
    with database.engine.connect() as connection:
        for folder in files_to_copy(app, connection):
            missing = f"; {folder.missing} named but missing" if folder.missing else ""
            files = f"{folder.files} file{'' if folder.files == 1 else 's'}"
            click.echo(
                f"  {folder.setting} = {folder.path}: {files} "
                f"({human_size(folder.size_bytes)}), {folder.what}{missing}"
            )


@db.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_app
def db_backup(app: Flask, file: Path) -> None:
    """Write a consistent copy of the live SQLite database to FILE (PostgreSQL: use pg_dump)."""
    from registry.extensions import db as database
    from registry.operations.backup import BackupRefused, backup_database
    from registry.uploads import human_size

    try:
        backup = backup_database(database.engine, file)
    except BackupRefused as refused:
        raise click.ClickException(str(refused)) from None
    click.echo(
        f"Backed up {_shown(database.engine)} (revision {backup.revision}) to {backup.path} "
        f"({human_size(backup.size_bytes)}); its integrity check passed."
    )
    _echo_files(app)


@db.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_app
def db_restore(app: Flask, file: Path) -> None:
    """Restore the SQLite backup FILE into the configured database, which must be empty."""
    from registry.extensions import db as database
    from registry.operations.backup import BackupRefused, restore_database
    from registry.operations.copy import CopyFailed, CopyMismatch

    try:
        restored = restore_database(database.engine, file)
    except (BackupRefused, CopyFailed) as error:
        raise click.ClickException(str(error)) from None
    except CopyMismatch as mismatch:
        _echo_checksums(mismatch.result)
        raise click.ClickException(str(mismatch)) from None
    if restored.copy is not None:
        _echo_checksums(restored.copy)
    migrated = (
        f", then migrated to {restored.migrated_to}"
        if restored.migrated_to
        else "; every table's checksum matches the backup's"
    )
    click.echo(
        f"Restored {file} (revision {restored.revision}) into {_shown(database.engine)}"
        f"{migrated}. Restore the uploaded files and signing keys from their own backup."
    )


@db.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate/--empty", default=True, show_default=True)
@with_app
def db_revision(app: Flask, message: str, autogenerate: bool) -> None:
    """Write a new migration, compared against the models."""
    from registry.extensions import db as database
    from registry.migrate import new_revision

    new_revision(database.engine, message, autogenerate=autogenerate)


if __name__ == "__main__":
    main()
