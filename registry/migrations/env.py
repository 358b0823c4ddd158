"""Alembic environment: runs migrations on the engine ``registry.migrate`` hands over."""

from typing import Any

from alembic import context

from registry.database import UTCDateTime
from registry.migrate import include_name
from registry.models import metadata

# A fixed key for PostgreSQL's advisory lock, so two processes running `init` at once
# (several web nodes starting together) migrate one after the other.
MIGRATION_LOCK_KEY = 727_165_001


def _render_item(type_: str, obj: object, autogen_context: Any) -> str | bool:
    """Write the project's column types as plain SQLAlchemy types in migration files."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations() -> None:
    engine = context.config.attributes["engine"]
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            # SQLite runs DDL inside transactions too: a failed migration leaves nothing.
            transactional_ddl=True,
            render_item=_render_item,
            include_name=include_name,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
            context.run_migrations()


run_migrations()
