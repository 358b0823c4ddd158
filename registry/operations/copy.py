"""Copy a whole registry from one database to another: SQLite to PostgreSQL or back.

``copy_database(source, target)`` copies every table of the models, in foreign-key order, into
an empty target at the same migration revision, in one transaction on the target:

* rows stream from one consistent snapshot of the source (one read transaction; REPEATABLE READ
  on PostgreSQL), ``batch`` rows at a time in primary-key order, and go in with executemany, so
  memory stays flat however large the register is;
* the one self-reference (``certifications.covered_by_id``, an advocate certification covered
  by the mediator one) is filled in a second pass: rows go in without it, then an UPDATE per
  batch sets it. Neither database needs deferrable constraints, and any future self-reference
  is found from the metadata and handled the same way;
* PostgreSQL sequences are moved past the copied ids;
* every table's checksum is computed on both sides: on the source while its rows stream, on
  the target by reading the copy back inside the same transaction. Values are normalised so
  that one register reads the same on both databases (aware UTC datetimes, ISO dates, exact
  decimals, booleans, hex bytes, JSON with sorted keys), and rows are ordered by primary key
  with byte-wise collation on both. Any difference in a row count or a checksum rolls the whole
  copy back and raises ``CopyMismatch``; a row the target refuses raises ``CopyFailed``.

A target is empty when no table holds a row, except the reference rows the migrations write into
every new database (``SEEDED_TABLES``): those are replaced by the source's. The Alembic version
table is not copied: the target is migrated to the same head.
"""

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from pathlib import Path
from time import perf_counter
from typing import Any

from flask import Flask
from sqlalchemy import (
    Column,
    Integer,
    String,
    Table,
    bindparam,
    false,
    func,
    inspect,
    literal,
    make_url,
    or_,
    select,
    text,
)
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from registry.migrate import current_revision, head_revision, upgrade_to_head

BATCH_ROWS = 5_000

# Tables the migrations fill with reference rows in every new database (test_db_copy checks
# this list against a freshly migrated one). The copy replaces these rows with the source's.
SEEDED_TABLES = frozenset(
    {
        "appraisal_subcommittees",
        "complaint_committees",
        "complaint_subject_routes",
        "specialisation_bases",
        "specialisations",
        "standard_rules",
        "standard_versions",
        "standards",
    }
)


class CopyRefused(RuntimeError):
    """The copy cannot start (target not empty, revisions differ...); nothing was changed."""


class CopyFailed(RuntimeError):
    """The target refused a row; the copy was rolled back."""


class CopyMismatch(RuntimeError):
    """The copy reads back differently from the source; it was rolled back."""

    def __init__(self, result: "CopyResult") -> None:
        self.result = result
        names = ", ".join(each.name for each in result.tables if not each.matches)
        super().__init__(
            f"The copy differs from the source in {names}. It was rolled back: the target "
            "holds none of it."
        )


@dataclass
class TableCopy:
    """One table's rows and checksums on both sides."""

    name: str
    source_rows: int
    source_checksum: str
    target_rows: int = -1
    target_checksum: str = ""
    seconds: float = 0.0

    @property
    def matches(self) -> bool:
        return (self.source_rows, self.source_checksum) == (self.target_rows, self.target_checksum)


@dataclass
class CopyResult:
    tables: list[TableCopy] = field(default_factory=list)
    sequences: int = 0  # PostgreSQL sequences moved past the copied ids
    migrated: bool = False  # the target was empty of tables and migrated first
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(each.source_rows for each in self.tables)

    @property
    def matches(self) -> bool:
        return all(each.matches for each in self.tables)


def tables() -> list[Table]:
    """Return every table of the models, each after the tables it refers to."""
    from registry.models import metadata

    return list(metadata.sorted_tables)


def database_url(url: str) -> str:
    """Return ``url`` with the project's PostgreSQL driver (``postgresql://`` means psycopg 3)."""
    try:
        parsed = make_url(url.strip())
    except ArgumentError:
        raise CopyRefused(f"{url!r} is not a database URL.") from None
    if parsed.drivername in {"postgres", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        raise CopyRefused(f"Only SQLite and PostgreSQL are supported, not {parsed.drivername}.")
    return parsed.render_as_string(hide_password=False)


def copy_database(
    source: Engine,
    target: Engine,
    *,
    batch: int = BATCH_ROWS,
    on_table: Callable[[TableCopy], None] | None = None,
) -> CopyResult:
    """Copy every table of ``source`` into the empty ``target`` and check both sides' checksums.

    Raise CopyRefused before anything changes, CopyFailed or CopyMismatch after rolling back.
    """
    started = perf_counter()
    result = CopyResult(migrated=prepare_target(source, target))
    with snapshot(source) as reading, _writer(target).begin() as writing:
        _refuse_occupied(writing)  # again, inside the transaction that writes
        _clear_seeded(writing)
        for table in tables():
            copied = _copy_table(reading, writing, table, batch)
            result.tables.append(copied)
            if on_table:
                on_table(copied)
        result.sequences = _reset_sequences(writing)
        by_name = {table.name: table for table in tables()}
        for copied in result.tables:
            copied.target_rows, copied.target_checksum = table_checksum(
                writing, by_name[copied.name], batch
            )
        result.seconds = perf_counter() - started
        if not result.matches:
            raise CopyMismatch(result)
    if target.dialect.name == "postgresql":
        # Fresh statistics, or the planner picks poor plans until autovacuum gets to them.
        with target.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
    result.seconds = perf_counter() - started
    return result


def prepare_target(source: Engine, target: Engine) -> bool:
    """Check both databases, migrate a target without tables; return whether it was migrated."""
    head = head_revision(source)
    if (at := current_revision(source)) != head:
        raise CopyRefused(
            f"The configured database is at revision {at or '(none)'}, not {head}: run "
            "`mediator-registry init` on it first."
        )
    if _same_database(source, target):
        raise CopyRefused("The target is the configured database itself.")
    try:
        target_at = current_revision(target)
        existing = inspect(target).get_table_names()
    except OperationalError as error:
        raise CopyRefused(f"The target database cannot be reached: {error.orig}") from None
    if target_at is None:
        if existing:
            raise CopyRefused(
                f"The target database has tables ({_listed(existing)}) but no registry schema. "
                "Copy only into an empty database. Nothing was changed."
            )
        upgrade_to_head(target)
        return True
    if target_at != head:
        raise CopyRefused(
            f"The target database is at revision {target_at}, not {head}. Copy only into an "
            "empty database at this version. Nothing was changed."
        )
    with target.connect() as connection:
        _refuse_occupied(connection)
    return False


def occupied_tables(connection: Connection) -> list[str]:
    """Return the tables that hold rows, apart from the reference rows migrations write."""
    return [
        table.name
        for table in tables()
        if table.name not in SEEDED_TABLES
        and connection.execute(select(literal(1)).select_from(table).limit(1)).first()
    ]


def _refuse_occupied(connection: Connection) -> None:
    if occupied := occupied_tables(connection):
        raise CopyRefused(
            f"The target database already holds data ({_listed(occupied)}). Copy only into an "
            "empty database. Nothing was changed."
        )


def _listed(names: list[str]) -> str:
    shown = ", ".join(sorted(names)[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _same_database(one: Engine, other: Engine) -> bool:
    if one.dialect.name == other.dialect.name == "sqlite":
        paths = [Path(engine.url.database or "").resolve() for engine in (one, other)]
        return one.url.database == other.url.database or paths[0] == paths[1]
    return one.url.render_as_string(hide_password=True) == other.url.render_as_string(
        hide_password=True
    )


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """Yield a connection in a read transaction that sees one state of the database throughout."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        with connection.begin():
            yield connection


def _writer(engine: Engine) -> Engine:
    # SQLite: take the write lock at BEGIN, so no other writer slips in between.
    return engine.execution_options(sqlite_begin="IMMEDIATE")


def _clear_seeded(writing: Connection) -> None:
    for table in reversed(tables()):
        if table.name in SEEDED_TABLES:
            writing.execute(table.delete())


def _ordered(table: Table, dialect: Dialect) -> Any:
    """Select ``table`` in primary-key order, comparing text byte by byte on both databases."""
    keys = list(table.primary_key.columns) or list(table.columns)
    if dialect.name == "postgresql":
        keys = [key.collate("C") if isinstance(key.type, String) else key for key in keys]
    return select(table).order_by(*keys)


def _self_references(table: Table) -> list[Column[Any]]:
    return [key.parent for key in table.foreign_keys if key.column.table is table]


def _copy_table(reading: Connection, writing: Connection, table: Table, batch: int) -> TableCopy:
    """Stream ``table`` from ``reading`` into ``writing``; return its rows and source checksum."""
    started = perf_counter()
    referring = {column.key for column in _self_references(table)}
    later = {index for index, column in enumerate(table.columns) if column.key in referring}
    encode = row_encoder(table)
    write = bulk_writer(writing, table)
    digest = hashlib.sha256()
    count = 0
    query = _ordered(table, reading.dialect)
    rows = reading.execute(query, execution_options={"yield_per": batch})
    try:
        for chunk in rows.partitions():
            for row in chunk:
                digest.update(encode(row))
            write([_without(row, later) for row in chunk] if later else chunk)
            count += len(chunk)
        if later:
            _fill_self_references(reading, writing, table, batch)
    except DBAPIError as error:
        raise CopyFailed(
            f"The target refused a row of {table.name}: {error.orig}. The copy was rolled back: "
            "the target holds none of it."
        ) from error
    return TableCopy(table.name, count, digest.hexdigest(), seconds=perf_counter() - started)


def _without(row: Any, indexes: set[int]) -> tuple[Any, ...]:
    return tuple(None if index in indexes else value for index, value in enumerate(row))


def bulk_writer(writing: Connection, table: Table) -> Callable[[Any], None]:
    """Return a function that writes rows of ``table`` (values in column order) in bulk.

    The column types' own conversions for the target are applied (aware UTC datetimes, JSON
    text...), then the rows go to the driver directly: PostgreSQL's COPY, SQLite's
    executemany. Both run inside ``writing``'s transaction.
    """
    dialect = writing.dialect
    processors = [
        column.type.dialect_impl(dialect).bind_processor(dialect) for column in table.columns
    ]
    convert = [(index, process) for index, process in enumerate(processors) if process]
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(column.name) for column in table.columns)
    driver = writing.connection.driver_connection

    def converted(rows: Any) -> Iterator[list[Any]]:
        for row in rows:
            values = list(row)
            for index, process in convert:
                values[index] = process(values[index])
            yield values

    if dialect.name == "postgresql":
        statement = f"COPY {quote(table.name)} ({names}) FROM STDIN"

        def write(rows: Any) -> None:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                for values in converted(rows):
                    copy.write_row(values)

        return write
    marks = ", ".join("?" for _ in table.columns)
    statement = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608 (quoted model names)

    def write(rows: Any) -> None:
        cursor = driver.cursor()
        try:
            cursor.executemany(statement, converted(rows))
        finally:
            cursor.close()

    return write


def _fill_self_references(
    reading: Connection, writing: Connection, table: Table, batch: int
) -> None:
    """Set the columns that refer to the same table, once every row of it is in."""
    (key,) = table.primary_key.columns
    columns = _self_references(table)
    query = (
        select(key.label("b_key"), *(column.label(f"b_{column.key}") for column in columns))
        .where(or_(*(column.is_not(None) for column in columns)))
        .order_by(key)
    )
    update = (
        table.update()
        .where(key == bindparam("b_key"))
        .values({column.key: bindparam(f"b_{column.key}") for column in columns})
    )
    for chunk in reading.execute(query, execution_options={"yield_per": batch}).partitions():
        writing.execute(update, [dict(row._mapping) for row in chunk])


def _reset_sequences(writing: Connection) -> int:
    """Move each PostgreSQL sequence past the largest copied id; return how many were moved."""
    if writing.dialect.name != "postgresql":
        return 0  # SQLite's integer keys follow the largest rowid by themselves
    moved = 0
    for table in tables():
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        sequence = writing.execute(
            text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": table.name, "column": keys[0].name},
        ).scalar()
        if sequence is None:
            continue
        next_id = func.coalesce(func.max(keys[0]), 0) + 1
        writing.execute(select(func.setval(sequence, next_id, false())))
        moved += 1
    return moved


def table_checksum(
    connection: Connection, table: Table, batch: int = BATCH_ROWS
) -> tuple[int, str]:
    """Return the rows of ``table`` and a SHA-256 of their normalised values in key order."""
    encode = row_encoder(table)
    digest = hashlib.sha256()
    count = 0
    query = _ordered(table, connection.dialect)
    for chunk in connection.execute(query, execution_options={"yield_per": batch}).partitions():
        for row in chunk:
            digest.update(encode(row))
        count += len(chunk)
    return count, digest.hexdigest()


def database_checksums(engine: Engine, batch: int = BATCH_ROWS) -> dict[str, tuple[int, str]]:
    """Return every table's rows and checksum, read from one snapshot of ``engine``."""
    with snapshot(engine) as connection:
        return {table.name: table_checksum(connection, table, batch) for table in tables()}


# Values of these types read the same from SQLite and PostgreSQL as they come.
_PLAIN = (int, str, bool)


def row_encoder(table: Table) -> Callable[[Any], bytes]:
    """Return a function that turns a row of ``table`` into comparable bytes (one JSON line)."""
    converters = [(index, _converter(column)) for index, column in enumerate(table.columns)]
    special = [(index, convert) for index, convert in converters if convert]
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def encode(row: Any) -> bytes:
        values = list(row)
        for index, convert in special:
            values[index] = convert(values[index])
        return dumps(values).encode() + b"\n"

    return encode


def _converter(column: Column[Any]) -> Callable[[Any], Any] | None:
    """Return how to normalise the values of ``column`` (None: they compare as they come)."""
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return normal_value
    if kind in _PLAIN:
        return None
    if kind is datetime:
        return _instant
    if kind is date:
        return _day
    return normal_value


def _instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def normal_value(value: Any) -> Any:
    """Return ``value`` as it compares across databases (JSON-ready)."""
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, datetime):
        return _instant(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, Enum):
        return normal_value(value.value)
    return str(value)


# Files outside the database ------------------------------------------------------------------


@dataclass(frozen=True)
class FileFolder:
    """A folder of files the database only names, and what a move must take along."""

    setting: str
    path: Path
    what: str
    files: int
    size_bytes: int
    missing: int = 0


def files_to_copy(app: Flask, connection: Connection) -> list[FileFolder]:
    """List the folders a move must copy beside the database: uploads and signing keys.

    The upload folders are those the domains register (``registry.uploads.register_folder``),
    each with the column whose rows name its files.
    """
    from registry.credentials.keys import keys_dir

    folders = []
    for upload in app.extensions.get("upload_folders", []):
        setting, column = upload.folder_setting, upload.column
        path = Path(app.config[setting] or Path(app.instance_path) / upload.default_folder)
        files = size = missing = 0
        query = select(column).order_by(column)
        for chunk in connection.execute(query, execution_options={"yield_per": 5000}).partitions():
            for (name,) in chunk:
                stored = path / name
                if stored.is_file():
                    files += 1
                    size += stored.stat().st_size
                else:
                    missing += 1
        what = column.class_.__tablename__
        folders.append(FileFolder(setting, path, what, files, size, missing))
    keys = keys_dir(app)
    found = sorted(keys.glob("*")) if keys.is_dir() else []
    folders.append(
        FileFolder(
            "SIGNING_KEYS_DIR",
            keys,
            "credential signing keys (secret)",
            len(found),
            sum(path.stat().st_size for path in found if path.is_file()),
        )
    )
    return folders
