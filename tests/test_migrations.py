"""Migrations: the schema they build matches the models, and data survives the upgrades."""

from datetime import date

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from registry.database import make_engine
from registry.migrate import alembic_config, include_name, upgrade_to_head
from registry.models import metadata


def test_the_migrated_schema_matches_the_models(fresh_database_url):
    engine = make_engine(fresh_database_url)
    try:
        upgrade_to_head(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": include_name}
            )
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def _insert(connection, table: str, **values) -> int:
    columns = ", ".join(values)
    marks = ", ".join(f":{name}" for name in values)
    result = connection.execute(
        sa.text(f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING id"), values
    )
    return result.scalar_one()


def test_0004_turns_recorded_digest_dates_into_digests_and_links_programs(fresh_database_url):
    engine = make_engine(fresh_database_url)
    stamp = "2026-01-05 10:00:00"
    try:
        command.upgrade(alembic_config(engine), "0003")
        with engine.begin() as connection:
            organisation = _insert(
                connection,
                "organisations",
                name="Mediation Academy",
                head_office_country="NL",
                account_type="qap3",
                website="",
                description="",
                created_at=stamp,
            )
            program = _insert(
                connection,
                "programs",
                organisation_id=organisation,
                program_type="QAP",
                name="Assessment",
                description="",
                recognised_on=date(2020, 6, 30),
            )
            people = {}
            for name, digest_on in (("Ana", date(2025, 3, 1)), ("Ben", None)):
                people[name] = _insert(
                    connection,
                    "mediators",
                    public_id=f"M{name.upper():0>10}",
                    name=name,
                    search_name=name.lower(),
                    email=f"{name.lower()}@example.org",
                    biography="",
                    contact="",
                    practice_areas="",
                    feedback_digest_on=digest_on,
                    created_at=stamp,
                    updated_at=stamp,
                )
            _insert(
                connection,
                "assessments",
                mediator_id=people["Ana"],
                program_id=program,
                assessed_on=date(2024, 11, 2),
                recorded_at=stamp,
            )
        upgrade_to_head(engine)
        with engine.connect() as connection:
            digests = connection.execute(
                sa.text("SELECT mediator_id, published_on, valid_until FROM feedback_digests")
            ).all()
            links = connection.execute(
                sa.text("SELECT program_id, mediator_id, linked_on FROM program_mediators")
            ).all()
        assert [(row[0], str(row[1]), str(row[2])) for row in digests] == [
            (people["Ana"], "2025-03-01", "2027-02-28")  # 730 days, the first day counted
        ]
        assert [(row[0], row[1], str(row[2])) for row in links] == [
            (program, people["Ana"], "2024-11-02")
        ]
    finally:
        engine.dispose()
