"""Back up a live SQLite registry, and restore a backup into an empty instance.

A backup is made with SQLite's online backup API in a single step: it reads one consistent
snapshot of the database while the site keeps writing (in WAL mode readers never block
writers), whereas copying the file could catch a write half-way. The backup is written under a
temporary name, checked (``PRAGMA integrity_check`` and a registry revision), made a single
self-contained file (rollback journal, no ``-wal`` beside it) and only then given its name.

PostgreSQL is backed up with its own tools (``pg_dump -Fc`` and ``pg_restore``, see README.md).

Restoring needs an empty instance (see ``registry.operations.copy.occupied_tables``). Into
SQLite the backup's pages are copied with the same API, migrated to this version's head if the
backup is older, and, when no migration was needed, every table's checksum is compared with the
backup's. Into PostgreSQL the backup (migrated on a temporary copy if it is older) goes through
``copy_database``, which compares checksums itself.
"""

import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from registry.database import make_engine
from registry.migrate import alembic_config, current_revision, head_revision, upgrade_to_head
from registry.operations.copy import (
    CopyRefused,
    CopyResult,
    copy_database,
    database_checksums,
    occupied_tables,
)

SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HINT = (
    "PostgreSQL is backed up with its own tools, while it runs: "
    "`pg_dump -Fc -f registry.dump DATABASE` (a consistent snapshot), and restored into an "
    "empty database with `pg_restore --no-owner -d DATABASE registry.dump` (see README.md, "
    "Moving and backing up)."
)


class BackupRefused(RuntimeError):
    """The backup or restore cannot be done; nothing was changed."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size_bytes: int
    revision: str


@dataclass(frozen=True)
class Restore:
    revision: str  # the backup's
    migrated_to: str | None  # this version's head, when the backup was older
    tables: int
    copy: CopyResult | None = None  # into PostgreSQL: the copy with its checksums


def backup_database(engine: Engine, path: Path) -> Backup:
    """Write a consistent copy of the live SQLite database of ``engine`` to a new file."""
    if engine.dialect.name != "sqlite":
        raise BackupRefused(f"`db backup` is for SQLite. {PG_DUMP_HINT}")
    if path.exists():
        raise BackupRefused(f"{path} exists already: a backup never overwrites a file.")
    if not path.parent.is_dir():
        raise BackupRefused(f"The folder {path.parent} does not exist.")
    partial = path.with_name(f"{path.name}.part")
    try:
        with engine.connect() as connection:
            live = connection.connection.driver_connection
            copy = sqlite3.connect(partial)
            try:
                # pages=-1: the whole database in one step, so one snapshot. In steps, a write
                # between two steps would restart the backup, forever on a busy site.
                live.backup(copy, pages=-1)
                copy.execute("PRAGMA journal_mode=DELETE")
            finally:
                copy.close()
        revision = check_backup(partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return Backup(path, path.stat().st_size, revision)


def check_backup(path: Path) -> str:
    """Return the registry revision of the SQLite backup at ``path``, or raise BackupRefused."""
    if not path.is_file():
        raise BackupRefused(f"{path} is not a file.")
    with path.open("rb") as file:
        if file.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupRefused(f"{path} is not a SQLite database.")
    connection = sqlite3.connect(_read_only(path), uri=True)
    try:
        (integrity,) = connection.execute("PRAGMA integrity_check").fetchone()
        if integrity != "ok":
            raise BackupRefused(f"{path} is damaged: {integrity}")
        try:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:
            row = None
    finally:
        connection.close()
    if row is None:
        raise BackupRefused(f"{path} is not a backup of a registry (it has no schema revision).")
    return row[0]


def restore_database(target: Engine, path: Path) -> Restore:
    """Restore the SQLite backup at ``path`` into the empty database of ``target``."""
    revision = check_backup(path)
    script = ScriptDirectory.from_config(alembic_config(target))
    if revision not in {each.revision for each in script.walk_revisions()}:
        raise BackupRefused(
            f"{path} is at revision {revision}, which this version of the registry does not "
            "know (a backup from a newer version?). Nothing was changed."
        )
    if target.dialect.name == "postgresql":
        return _restore_by_copy(target, path, revision)
    _refuse_unless_empty(target)
    # Read-only and without the project's connection settings, which would switch it to WAL.
    source = create_engine(f"sqlite:///{_read_only(path)}&uri=true")
    try:
        with target.connect() as connection:
            backup = sqlite3.connect(_read_only(path), uri=True)
            try:
                backup.backup(connection.connection.driver_connection, pages=-1)
            finally:
                backup.close()
        head = head_revision(target)
        migrated_to = None
        if revision != head:
            upgrade_to_head(target)
            migrated_to = head
        else:
            restored, original = database_checksums(target), database_checksums(source)
            if restored != original:
                differ = sorted(name for name in original if original[name] != restored[name])
                raise BackupRefused(
                    f"The restored database differs from {path} in {', '.join(differ)}: do not "
                    "use it; empty it and restore again."
                )
    finally:
        source.dispose()
    return Restore(revision, migrated_to, len(inspect(target).get_table_names()))


def _read_only(path: Path) -> str:
    """Return the SQLite URI that opens ``path`` read-only (any character in its name)."""
    return f"{path.resolve().as_uri()}?mode=ro"


def _refuse_unless_empty(target: Engine) -> None:
    at = current_revision(target)
    if at is None:
        if tables := inspect(target).get_table_names():
            raise BackupRefused(
                f"The configured database has tables ({', '.join(sorted(tables)[:5])}) but no "
                "registry schema: restore only into an empty instance. Nothing was changed."
            )
        return
    with target.connect() as connection:
        try:
            occupied = occupied_tables(connection)
        except DBAPIError as error:  # an older schema than the models: data we cannot judge
            raise BackupRefused(
                f"The configured database is at revision {at} and cannot be checked for data "
                f"({error.orig}); restore only into an empty instance. Nothing was changed."
            ) from None
    if occupied:
        raise BackupRefused(
            f"The configured database already holds data ({', '.join(sorted(occupied)[:5])}"
            f"{' ...' if len(occupied) > 5 else ''}): restore only into an empty instance. "
            "Nothing was changed."
        )


def _restore_by_copy(target: Engine, path: Path, revision: str) -> Restore:
    """Restore into PostgreSQL: copy from a temporary copy of the backup (migrated if older).

    The backup file itself is never opened for writing.
    """
    with tempfile.TemporaryDirectory(prefix="registry-restore-") as folder:
        migrated_to = None
        source_path = Path(folder) / "backup.sqlite3"
        shutil.copyfile(path, source_path)
        source = make_engine(f"sqlite:///{source_path}")
        try:
            if revision != head_revision(target):
                _before, migrated_to = upgrade_to_head(source)
            try:
                result = copy_database(source, target)
            except CopyRefused as refused:
                raise BackupRefused(str(refused)) from None
        finally:
            source.dispose()
    return Restore(revision, migrated_to, len(result.tables), result)
