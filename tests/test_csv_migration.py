"""A faithful CSV migration: the optional columns that carry what a verifier is told.

The round trip of the full demo register (export for import, import into an empty registry)
must leave every answer the public API gives identical, on SQLite and on PostgreSQL.
"""

import csv
import io
from datetime import date

import pytest
from sqlalchemy import func, select

from registry.clock import local_today
from registry.contributions.models import Invoice
from registry.mediators.csvio import COLUMNS, IMPORT_COLUMNS, MIGRATION, export_mediators
from registry.mediators.models import Certification, Mediator, Status
from registry.search.verification import verify_certificate, verify_mediator
from tests.conftest import create_database, drop_database, fill_from_template, make_test_app
from tests.factories import set_fees
from tests.round_trip import differences, export_for_import, import_file, view_of
from tests.test_mediators_csv import TODAY, by_email, do_import, errors_of

D = date.fromisoformat
HEADER = ",".join(IMPORT_COLUMNS)
EMPTY_MIGRATION = "," * len(MIGRATION)


def line(*cells: str, **migration: str) -> str:
    """Return one CSV line: the eight short-format cells, then the migration columns."""
    extra = [migration.get(column, "") for column in MIGRATION]
    return ",".join([*cells, *extra])


# The full demo register, exported for import and imported into an empty registry.


@pytest.fixture
def target_app(database_kind, tmp_path_factory):
    url = create_database(database_kind, tmp_path_factory)
    fill_from_template(url, tmp_path_factory)
    application = make_test_app(url)
    yield application
    application.extensions["db"].engine.dispose()
    drop_database(url)


@pytest.mark.xdist_group("demo")  # the worker that loaded the demo once for its tests
def test_the_demo_register_round_trips_identically_for_every_verifier(demo, target_app):
    today = local_today()
    text = export_for_import(demo.app, today)
    summary = import_file(target_app, text, today)
    before, after = view_of(demo.app, today), view_of(target_app, today)
    assert len(before) == 302
    # The demo has every status, conduct outcomes, dual certifications and specialisations.
    statuses = {answer["profile"]["status"] for answer in before.values()}
    assert statuses == {status.value for status in Status}
    assert any(len(answer["profile"]["certifications"]) == 2 for answer in before.values())
    assert sum(bool(answer["profile"]["specialisations"]) for answer in before.values()) > 50
    assert "6 suspended, 7 revoked" in summary
    assert differences(before, after) == (0, {})
    # Nothing a verifier sees changed, and the imported register exports the same file.
    assert export_for_import(target_app, today) == text


# The migration columns, one at a time.


@pytest.fixture
def fees(ctx, session):
    set_fees(session, years=[2020, 2021, 2022, 2023, 2024, 2025, 2026])


def test_public_id_type_and_created_on_are_kept(session, fees):
    do_import(
        session,
        HEADER,
        line("Ada Advocate,ada@example.org,NL,en,,ADV-1,2026-01-10,2026-12-31",
             public_id="mabcdef2345", certification_type="advocate",
             listing_periods="2026-01-10/2026-12-31@2026-01-10"),
        line("Abe Applicant,abe@example.org,NL,en,,,,", created_on="2025-03-04",
             public_id="MAPPLICANT1"),
    )  # fmt: skip
    ada = verify_mediator(session, "MABCDEF2345", TODAY)
    assert (ada.certification.certification_type, ada.status) == ("advocate", Status.CERTIFIED)
    abe = verify_mediator(session, "MAPPLICANT1", TODAY)
    assert (abe.status, abe.status_since) == (Status.APPLICANT, D("2025-03-04"))


def test_a_late_settlement_keeps_the_day_certification_was_restored(session, fees):
    periods = "2024-02-01/2025-01-31@2024-02-01;2025-02-01/2026-01-31@2025-03-20"
    do_import(
        session,
        HEADER,
        line("Lea Late,lea@example.org,NL,,,L-1,2024-02-01,2026-01-31", listing_periods=periods),
    )
    answer = verify_certificate(session, "L-1", D("2025-06-01"))
    assert (answer.status, answer.status_since) == (Status.CERTIFIED, D("2025-03-20"))
    # Between the end of the first period and the late payment, she was lapsed.
    assert verify_certificate(session, "L-1", D("2025-03-01")).status is Status.LAPSED
    invoices = session.scalars(select(Invoice.settled_on).order_by(Invoice.period_start)).all()
    assert invoices == [D("2024-02-01"), D("2025-03-20")]


def test_conduct_outcomes_keep_their_dates_and_public_reasons(session, fees):
    do_import(
        session,
        HEADER,
        line("Sam Suspended,sam@example.org,NL,,,S-1,2025-01-01,2026-12-31",
             listing_periods="2025-01-01/2026-12-31@2025-01-01", suspended_on="2026-04-01",
             suspension_reason="Conduct assessment in progress."),
        line("Rita Revoked,rita@example.org,NL,,,R-1,2024-01-01,2026-12-31",
             listing_periods="2024-01-01/2026-12-31@2024-01-01", suspended_on="2025-01-01",
             suspension_lifted_on="2025-02-01", suspension_reason="Inquiry.",
             revoked_on="2026-05-01", revocation_reason="Breach of impartiality."),
    )  # fmt: skip
    sam, rita = verify_certificate(session, "S-1", TODAY), verify_certificate(session, "R-1", TODAY)
    assert (sam.status, sam.status_since, sam.reason) == (
        Status.SUSPENDED,
        D("2026-04-01"),
        "Conduct assessment in progress.",
    )
    assert (rita.status, rita.status_since, rita.reason) == (
        Status.REVOKED,
        D("2026-05-01"),
        "Breach of impartiality.",
    )
    assert verify_certificate(session, "R-1", D("2025-01-15")).reason == "Inquiry."


def test_a_person_with_both_certifications_has_a_row_for_each(session, fees):
    do_import(
        session,
        HEADER,
        line("Dee Dual,dee@example.org,NL,en,,M-1,2025-01-01,2026-12-31",
             listing_periods="2025-01-01/2026-12-31@2025-01-01", public_id="MDUAL000001"),
        line("Dee Dual,dee@example.org,NL,en,,A-1,2025-06-01,", public_id="MDUAL000001",
             certification_type="advocate", covered_by="m-1"),
    )  # fmt: skip
    dee = by_email(session, "dee@example.org")
    mediator, advocate = dee.certifications
    assert advocate.covered_by_id == mediator.id
    answer = verify_mediator(session, "MDUAL000001", TODAY)
    assert [(v.certification.certificate_number, v.status) for v in answer.certifications] == [
        ("M-1", Status.CERTIFIED),
        ("A-1", Status.CERTIFIED),
    ]


def test_an_old_struck_grant_and_its_successor_both_import(session, fees):
    do_import(
        session,
        HEADER,
        line("Nora New,nora@example.org,NL,,,OLD-1,2020-01-01,2020-12-31"),
        line("Nora New,nora@example.org,NL,,,NEW-1,2026-02-01,2027-01-31"),
    )
    assert verify_certificate(session, "OLD-1", TODAY).status is Status.STRUCK
    assert verify_certificate(session, "NEW-1", TODAY).status is Status.CERTIFIED
    assert session.scalar(select(func.count(Mediator.id))) == 1


def test_specialisations_keep_their_grant_and_expiry_dates(session, fees):
    do_import(
        session,
        HEADER,
        line("Ivy,ivy@example.org,NL,,intercultural@2026-02-01/2028-01-31;investor_state,"
             "I-1,2026-01-10,2026-12-31"),
        granted=True,
    )  # fmt: skip
    shown = verify_certificate(session, "I-1", TODAY).specialisations
    assert [(s.code, s.granted_on, s.valid_until) for s in shown] == [
        ("intercultural", D("2026-02-01"), D("2028-01-31")),
        ("investor_state", D("2026-01-10"), None),
    ]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (line("X,x@example.org,NL,,,,,", public_id="M-12"), "public_id 'M-12' is not 6 to 16"),
        (line("X,x@example.org,NL,,,C-1,2025-01-01,", certification_type="judge"),
         "certification_type 'judge' is not one of mediator, advocate"),
        (line("X,x@example.org,NL,,,C-1,2025-01-01,", suspended_on="2025-02-01"),
         "suspended_on needs suspension_reason"),
        (line("X,x@example.org,NL,,,C-1,2025-01-01,", revocation_reason="Why"),
         "revocation_reason needs revoked_on"),
        (line("X,x@example.org,NL,,,C-1,2025-01-01,", revoked_on="2024-12-31",
              revocation_reason="Why"), "revoked_on 2024-12-31 is before certified_on"),
        (line("X,x@example.org,NL,,,C-1,2025-01-01,", suspension_lifted_on="2025-03-01"),
         "suspension_lifted_on needs suspended_on"),
        (line("X,x@example.org,NL,,,C-1,2025-01-01,2025-12-31",
              listing_periods="2025-01-01/2025-10-31@2025-01-01"),
         "paid_until must be the end of the last listing period (2025-10-31)"),
        (line("X,x@example.org,NL,,,C-1,2025-01-01,", listing_periods="2025-01-01/2025-12-31"),
         "listing period '2025-01-01/2025-12-31' is not START/END@SETTLED"),
        (line("X,x@example.org,NL,,,C-1,2025-01-01,", covered_by="C-9"),
         "covered_by C-9 is not a certificate of this person"),
        (line("X,x@example.org,NL,,,,,", listing_periods="2025-01-01/2025-12-31@2025-01-01"),
         "listing_periods needs certified_on"),
        (line("X,x@example.org,NL,,,,,", created_on="2026-07-01"),
         "created_on 2026-07-01 is in the future"),
    ],
)  # fmt: skip
def test_a_bad_migration_value_is_reported_at_its_line(ctx, session, row, message):
    good = line("Ana Applicant,ana@example.org,NL,en,,,,")
    errors = errors_of(session, HEADER, good, row)
    assert {line for line, _ in errors} == {3}
    assert any(message in reported for _line, reported in errors)


def test_public_ids_that_collide_are_refused_with_their_lines(ctx, session, fees):
    do_import(session, HEADER, line("Old,old@example.org,NL,,,,,", public_id="MTAKEN0001"))
    errors = errors_of(
        session,
        HEADER,
        line("A,a@example.org,NL,,,,,", public_id="MTAKEN0001"),
        line("B,b@example.org,NL,,,,,", public_id="MTWICE0001"),
        line("C,c@example.org,NL,,,,,", public_id="mtwice0001"),
    )
    assert errors == [
        (2, "public_id MTAKEN0001 belongs to a mediator in this registry already"),
        (4, "public_id MTWICE0001 is also on line 3 (another person)"),
    ]


def test_rows_of_one_person_must_agree_on_the_profile(ctx, session):
    errors = errors_of(
        session,
        HEADER,
        line("Dee,dee@example.org,NL,en,,M-1,2025-01-01,"),
        line("Dee,dee@example.org,BE,nl,,A-1,2025-06-01,", certification_type="advocate"),
        line("Dee,dee@example.org,NL,en,,,,"),
    )
    assert errors == [
        (3, "e-mail address dee@example.org is also on line 2 (its country, languages differ)"),
        (4, "e-mail address dee@example.org is also on line 2 "
            "(a person's rows each hold one certification)"),
    ]  # fmt: skip


def test_a_second_grant_of_a_type_while_the_first_holds_writes_nothing(ctx, session, fees):
    errors = errors_of(
        session,
        HEADER,
        line("Nora,nora@example.org,NL,,,FIRST-1,2025-01-01,2026-12-31"),
        line("Nora,nora@example.org,NL,,,SECOND-1,2026-02-01,2027-01-31"),
    )
    assert errors == [
        (
            3,
            "certificate FIRST-1 (line 2) is certified on 2026-02-01; a new grant of the same "
            "type needs it struck or revoked first",
        )
    ]
    assert session.scalar(select(func.count(Certification.id))) == 0


def test_the_short_format_still_imports_and_exports_the_migration_columns(ctx, session, fees):
    do_import(
        session, ",".join(COLUMNS), "Olga,olga@example.org,fr,fr,,OLD-1,2023-06-01,2024-05-31"
    )
    out = io.StringIO()
    export_mediators(session, out, today=TODAY, for_import=True)
    (row,) = csv.DictReader(io.StringIO(out.getvalue()))
    olga = by_email(session, "olga@example.org")
    assert row["public_id"] == olga.public_id
    assert (row["certification_type"], row["created_on"]) == ("mediator", TODAY.isoformat())
    assert row["listing_periods"] == "2023-06-01/2024-05-31@2023-06-01"


def test_a_covered_grant_needs_its_payer_certified_on_its_day(ctx, session, fees):
    errors = errors_of(
        session,
        HEADER,
        line("Dee,dee@example.org,NL,,,M-1,2024-01-01,2024-12-31"),
        line("Dee,dee@example.org,NL,,,A-1,2025-06-01,", certification_type="advocate",
             covered_by="M-1"),
    )  # fmt: skip
    assert errors == [
        (
            3,
            "covered_by M-1 is lapsed on 2025-06-01; one contribution covers both "
            "certifications only while it is certified",
        )
    ]


def test_a_specialisation_cannot_predate_the_first_certification(ctx, session, fees):
    errors = errors_of(
        session,
        HEADER,
        line("Ivy,ivy@example.org,NL,,intercultural@2025-12-31,I-1,2026-01-10,2026-12-31"),
        granted=True,
    )
    assert errors == [
        (
            2,
            "specialisation(s) intercultural granted before the first certification "
            "(2026-01-10); only a certified mediator is granted one",
        )
    ]
