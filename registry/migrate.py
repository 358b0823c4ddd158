"""Schema migrations with Alembic: the only way the schema is created or changed."""

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"

# Made by hand, outside the models: the FTS5 table (with its shadow tables) of migration 0003,
# and PostgreSQL's tsvector columns of listings and their GIN index (migrations 0003, 0013).
# Autogenerate must leave them be.
HAND_MADE = ("listings_fts", "ix_listings_search_name", "ix_listings_words")
HAND_MADE_COLUMNS = {("listings", "name_words"), ("listings", "facet_words")}


def include_name(name: str | None, type_: str, parents: Any) -> bool:
    """Tell autogenerate whether to compare a database object (hand-made ones are skipped)."""
    if type_ == "column":
        return (parents.get("table_name"), name) not in HAND_MADE_COLUMNS
    return not (type_ in {"table", "index"} and name and name.startswith(HAND_MADE))


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
