"""Schema migrations with Alembic: the only way the schema is created or changed."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic configuration for ``engine`` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade_to_head(engine: Engine) -> tuple[str | None, str]:
    """Upgrade the schema to the newest revision; return (revision before, revision after)."""
    before = current_revision(engine)
    command.upgrade(alembic_config(engine), "head")
    return before, current_revision(engine) or ""


def current_revision(engine: Engine) -> str | None:
    """Return the schema's revision, or None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str:
    """Return the newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head() or ""


def new_revision(engine: Engine, message: str, *, autogenerate: bool) -> None:
    """Write a new migration file, compared against the models when ``autogenerate``."""
    command.revision(alembic_config(engine), message=message, autogenerate=autogenerate)
