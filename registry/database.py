"""The data layer: one declarative base, aware-UTC datetimes, engines and sessions.

SQLite (the embedded default) gets WAL, a busy timeout and foreign keys on every connection,
and the transaction mode is chosen per engine: ``BEGIN IMMEDIATE`` for writers, so concurrent
writers queue on the busy timeout instead of failing with "database is locked" when a deferred
read transaction tries to upgrade. PostgreSQL is reached through psycopg 3.

A web request gets one session, opened on first use and closed at teardown; requests with an
unsafe method (POST, PUT, PATCH, DELETE) use the immediate-transaction engine. Jobs and CLI
commands use ``db.transaction()``. Services never commit: the request or the job does.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

SQLITE_BUSY_TIMEOUT_MS = 15_000
POSTGRES_CONNECT_TIMEOUT_SECONDS = 5

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime that is always timezone-aware UTC in Python, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(UTC)
        # SQLite has no time zones: keep the UTC wall time so values sort as text.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON().with_variant(JSONB(), "postgresql"),
    }


def sql_values(enum: type[StrEnum]) -> str:
    """Return an enum's values as a SQL list for a CheckConstraint: "'a', 'b'"."""
    return ", ".join(f"'{member.value}'" for member in enum)


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the project's connection settings."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    # pool_pre_ping: a connection the server dropped (a restart, a failover) is replaced before
    # use, so the site recovers by itself. A bounded connect timeout keeps requests and
    # /readyz from hanging on a database host that does not answer at all.
    connect_args = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


@dataclass
class _Bound:
    """One application's engine and session factories."""

    engine: Engine | Connection
    reader: sessionmaker[Session]
    writer: sessionmaker[Session]


class Database:
    """Access to the current application's database (state in ``app.extensions["db"]``)."""

    def init_app(self, app: Flask) -> None:
        app.extensions["db"] = self._bound(make_engine(app.config["DATABASE_URL"]))
        app.teardown_appcontext(self._close_session)

    @staticmethod
    def _bound(engine: Engine | Connection, **session_options: Any) -> _Bound:
        options = {"expire_on_commit": False, **session_options}
        writer = engine.execution_options(sqlite_begin="IMMEDIATE")
        return _Bound(
            engine, sessionmaker(bind=engine, **options), sessionmaker(bind=writer, **options)
        )

    def bind(self, app: Flask, engine: Engine | Connection, **session_options: Any) -> None:
        """Point ``app``'s sessions at ``engine`` (tests bind them to one connection)."""
        app.extensions["db"] = self._bound(engine, **session_options)

    @property
    def _state(self) -> _Bound:
        return current_app.extensions["db"]

    @property
    def engine(self) -> Engine | Connection:
        return self._state.engine

    @property
    def session(self) -> Session:
        """The session of the current request or app context, opened on first use."""
        if "db_session" not in g:
            safe = has_request_context() and request.method in {"GET", "HEAD", "OPTIONS"}
            g.db_session = (self._state.reader if safe else self._state.writer)()
        return g.db_session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Open a write transaction that commits on success and rolls back on error."""
        with self._state.writer() as session, session.begin():
            yield session

    @staticmethod
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


db = Database()
