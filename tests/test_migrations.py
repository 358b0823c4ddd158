"""Migrations: the schema they build matches the models, and data survives the upgrades."""

import json
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


def test_0007_turns_declared_specialisations_into_practice_areas_not_grants(fresh_database_url):
    engine = make_engine(fresh_database_url)
    stamp = "2026-01-05 10:00:00"
    try:
        command.upgrade(alembic_config(engine), "0006")
        with engine.begin() as connection:
            people = {}
            for name, areas, declared in (
                ("Ana", "Commercial, banking", ["commercial", "intercultural"]),
                ("Ben", "", ["family"]),
                ("Cy", "Workplace", []),
            ):
                people[name] = _insert(
                    connection,
                    "mediators",
                    public_id=f"M{name.upper():0>10}",
                    name=name,
                    search_name=name.lower(),
                    email=f"{name.lower()}@example.org",
                    biography="",
                    contact="",
                    practice_areas=areas,
                    created_at=stamp,
                    updated_at=stamp,
                )
                for code in declared:
                    connection.execute(
                        sa.text("INSERT INTO mediator_specialisations VALUES (:m, :c)"),
                        {"m": people[name], "c": code},
                    )
            certification = _insert(
                connection,
                "certifications",
                mediator_id=people["Ana"],
                certificate_number="MR-2025-000001",
                certification_type="mediator",
                granted_on=date(2025, 1, 1),
                recorded_status="certified",
                recorded_since=date(2025, 1, 1),
            )
            connection.execute(
                sa.text(
                    "INSERT INTO listings (mediator_id, certification_id, public_id, name, "
                    "search_name, facets, country, certification_type, certificate_number, "
                    "certified_since, listed_until, refreshed_at) VALUES (:m, :c, 'MANA', 'Ana', "
                    "'ana', ' tmediator cnl scommercial sintercultural len ', 'NL', 'mediator', "
                    "'MR-2025-000001', '2025-01-01', '2027-01-01', :t)"
                ),
                {"m": people["Ana"], "c": certification, "t": stamp},
            )
        upgrade_to_head(engine)
        with engine.connect() as connection:
            areas = dict(
                connection.execute(sa.text("SELECT name, practice_areas FROM mediators")).all()
            )
            grants = connection.scalar(sa.text("SELECT count(*) FROM specialisation_grants"))
            codes = connection.scalars(sa.text("SELECT code FROM specialisations ORDER BY code"))
            bases = connection.execute(
                sa.text("SELECT program_type, code FROM specialisation_bases ORDER BY code")
            ).all()
            listing = connection.execute(
                sa.text("SELECT facets, certifications FROM listings")
            ).one()
        # Nothing unverified is promoted: the declarations are practice areas, as declared.
        assert areas == {
            "Ana": "Commercial, banking, Intercultural",
            "Ben": "Family",
            "Cy": "Workplace",
        }
        assert grants == 0
        assert codes.all() == ["intercultural", "investor_state", "online_dispute_resolution"]
        assert [tuple(row) for row in bases] == [
            ("ICQAP", "intercultural"),
            ("ODRQAP", "online_dispute_resolution"),
        ]
        assert listing.facets == " tmediator cnl len "
        certifications = listing.certifications
        if isinstance(certifications, str):  # SQLite hands JSON back as text
            certifications = json.loads(certifications)
        assert certifications == [{"type": "mediator", "certificate_number": "MR-2025-000001"}]
    finally:
        engine.dispose()


def test_0014_numbers_existing_reminders_by_day_in_the_registry_calendar(fresh_database_url):
    engine = make_engine(fresh_database_url)
    try:
        command.upgrade(alembic_config(engine), "0013")
        with engine.begin() as connection:
            organisation = _insert(
                connection,
                "organisations",
                name="Mediation Academy",
                head_office_country="NL",
                account_type="qap3",
                website="",
                description="",
                created_at="2026-01-05 10:00:00",
            )
            mediators = [
                _insert(
                    connection,
                    "mediators",
                    public_id=f"MREMINDED{n:02}",
                    name=f"Person {n}",
                    search_name=f"person {n}",
                    email=f"p{n}@example.org",
                    biography="",
                    contact="",
                    practice_areas="",
                    created_at="2026-01-05 10:00:00",
                    updated_at="2026-01-05 10:00:00",
                )
                for n in range(3)
            ]
            # 23:30 UTC on 1 March is 2 March in Amsterdam, the registry's default calendar.
            for mediator, sent_at in zip(
                mediators,
                (
                    "2026-03-02 09:00:00+00:00",
                    "2026-03-01 23:30:00+00:00",
                    "2026-03-01 12:00:00+00:00",
                ),
                strict=True,
            ):
                _insert(
                    connection,
                    "organisation_reminders",
                    organisation_id=organisation,
                    mediator_id=mediator,
                    sent_at=sent_at,
                )
        upgrade_to_head(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT mediator_id, sent_on, day_number FROM organisation_reminders "
                    "ORDER BY mediator_id"
                )
            ).all()
        assert [(row[0], str(row[1]), row[2]) for row in rows] == [
            (mediators[0], "2026-03-02", 2),
            (mediators[1], "2026-03-02", 1),
            (mediators[2], "2026-03-01", 1),
        ]
    finally:
        engine.dispose()
