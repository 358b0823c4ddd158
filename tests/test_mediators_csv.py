"""Mediators CSV: all-or-nothing import with line-numbered errors, streaming export, the CLI."""

import csv
import io
from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.cli import main
from registry.contributions.models import Invoice
from registry.database import db, utcnow
from registry.events.models import Event
from registry.mediators import csvio
from registry.mediators.csvio import (
    COLUMNS,
    EXPORT_COLUMNS,
    IMPORT_COLUMNS,
    ImportFailed,
    export_mediators,
    import_mediators,
)
from registry.mediators.jobs import run_lifecycle
from registry.mediators.models import Certification, Mediator, SpecialisationGrant, Status
from registry.mediators.status import mediator_standing
from tests.conftest import create_database, drop_database
from tests.factories import grant, make_mediator, set_fees, staff_user

D = date.fromisoformat
TODAY = D("2026-06-15")
HEADER = ",".join(COLUMNS)
GOOD = "Ana Applicant,ana@example.org,NL,en,,,,"


def as_stream(*lines: str, bom: bool = False) -> io.BytesIO:
    text = "\n".join(lines) + "\n"
    return io.BytesIO((b"\xef\xbb\xbf" if bom else b"") + text.encode())


def do_import(
    session: Session, *lines: str, bom: bool = False, today: date = TODAY, granted: bool = False
):
    return import_mediators(
        session,
        as_stream(*lines, bom=bom),
        today=today,
        now=utcnow(),
        actor=staff_user(session),
        source="test.csv",
        specialisations_are_granted=granted,
    )


def row_counts(session: Session) -> tuple[int, ...]:
    models = (Mediator.id, Certification.id, Invoice.id, Event.id)
    return tuple(session.scalar(select(func.count(column))) for column in models)


def errors_of(session: Session, *lines: str, granted: bool = False) -> list[tuple[int, str]]:
    """Import ``lines`` expecting failure; check nothing was written; return the errors."""
    staff_user(session)
    before = row_counts(session)
    with pytest.raises(ImportFailed) as failure:
        do_import(session, *lines, granted=granted)
    assert row_counts(session) == before
    return failure.value.errors


def by_email(session: Session, email: str) -> Mediator:
    return session.scalar(select(Mediator).where(Mediator.email == email))


def exported(session: Session, *, for_import: bool = False) -> list[dict[str, str]]:
    out = io.StringIO()
    export_mediators(session, out, today=TODAY, for_import=for_import)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


GOOD_FILE = (
    HEADER,
    "Jürgen Müller, Juergen@Example.org ,Germany,German; en,"
    "Intercultural;ONLINE_DISPUTE_RESOLUTION,mr-2026-7,"
    "2026-05-15,2027-05-14",
    "Olga Old,olga@example.org,fr,fr,,OLD-1,2023-06-01,2024-05-31",
    GOOD,
)


@pytest.fixture
def imported(ctx, session):
    set_fees(session, years=[2026], currency="CHF")
    return do_import(session, *GOOD_FILE, granted=True)


def test_a_good_file_imports_with_computed_statuses(session, imported):
    assert str(imported) == "Imported 3 mediators: 1 certified, 1 struck, 1 applicant."
    jurgen, olga, ana = (
        by_email(session, f"{name}@example.org") for name in ("juergen", "olga", "ana")
    )
    assert mediator_standing(session, jurgen, TODAY).status is Status.CERTIFIED
    assert mediator_standing(session, olga, TODAY).status is Status.STRUCK
    assert mediator_standing(session, ana, TODAY).status is Status.APPLICANT
    assert ana.certifications == []
    recorded = [
        (c.recorded_status, c.recorded_since)
        for c in (jurgen.current_certification, olga.current_certification)
    ]
    # Struck the day after the grace year that followed the paid period.
    assert recorded == [("certified", D("2026-05-15")), ("struck", D("2025-06-01"))]
    event = session.scalar(select(Event).where(Event.action == "mediators.imported"))
    assert event.data["statuses"] == {"certified": 1, "struck": 1, "applicant": 1}


def test_imported_values_are_normalised(session, imported):
    jurgen = by_email(session, "juergen@example.org")
    assert jurgen.name == "Jürgen Müller"
    assert {"mueller", "muller", "jurgen"} <= set(jurgen.search_name.split())
    assert (jurgen.country, jurgen.languages) == ("DE", ["de", "en"])
    grants = jurgen.specialisation_grants
    assert [g.code for g in grants] == ["intercultural", "online_dispute_resolution"]
    assert {(g.granted_on, g.basis, g.program_id) for g in grants} == {
        (D("2026-05-15"), "Imported as granted from test.csv on 2026-06-15.", None)
    }
    assert jurgen.current_certification.certificate_number == "MR-2026-7"
    assert jurgen.current_certification.certification_type == "mediator"


def test_the_paid_period_is_a_zero_invoice_settled_from_the_grant(session, imported):
    invoices = session.scalars(select(Invoice).order_by(Invoice.period_start)).all()
    assert [
        (i.period_start, i.period_end, i.amount_minor, i.currency, i.settled_on, i.issued_on)
        for i in invoices
    ] == [
        # No fee schedule for 2023: EUR; the 2026 schedule is in CHF.
        (D("2023-06-01"), D("2024-05-31"), 0, "EUR", D("2023-06-01"), TODAY),
        (D("2026-05-15"), D("2027-05-14"), 0, "CHF", D("2026-05-15"), TODAY),
    ]


def test_the_daily_job_logs_no_transition_for_imported_statuses(session, imported):
    assert run_lifecycle(session, TODAY, utcnow())["transitions"] == 0
    actions = session.scalars(select(Event.action).where(Event.action.like("certification.%")))
    assert actions.all() == []


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (",x@example.org,NL,,,,,", "name is required"),
        ("A" * 201 + ",x@example.org,NL,,,,,", "name is longer than 200 characters"),
        ("Xavier,not-an-address,NL,,,,,", "email 'not-an-address' is not a valid e-mail address"),
        ("Xavier,,NL,,,,,", "email is required"),
        ("Xavier,x@example.org,,,,,,", "country is required"),
        ("Xavier,x@example.org,Atlantis,,,,,", "unknown country 'Atlantis'"),
        ("Xavier,x@example.org,NL,en;Klingon,,,,", "unknown language(s): Klingon"),
        (
            "Xavier,x@example.org,NL,,intercultural,C-1,2025-01-01,",
            "specialisations are credentials the registry grants; import them only from a "
            "registry that granted them, with --specialisations-are-granted",
        ),
        ("Xavier,x@example.org,NL,,,C-1,,", "certificate_number needs certified_on"),
        ("Xavier,x@example.org,NL,,,,2024-01-01,", "certified_on needs a certificate_number"),
        ("Xavier,x@example.org,NL,,,,,2027-01-01", "paid_until needs certified_on"),
        (
            "Xavier,x@example.org,NL,,,C-1,2025-03-01,2025-02-28",
            "paid_until 2025-02-28 is before certified_on 2025-03-01",
        ),
        ("Xavier,x@example.org,NL,,,C-1,2026-06-16,", "certified_on 2026-06-16 is in the future"),
        ("Xavier,x@example.org,NL,,,C-1,2025-02-30,", "certified_on '2025-02-30' is not a date"),
        ("Xavier,x@example.org,NL,,,C-1,01/02/2025,", "certified_on '01/02/2025' is not a date"),
        ("Xavier,x@example.org,NL,,,C 1,2025-01-01,", "certificate_number 'C 1' is not 1 to 32"),
        ("Xavier,x@example.org,NL,,,", "expected 8 fields, found 6"),
    ],
)
def test_a_bad_row_is_reported_at_its_line_and_nothing_is_imported(ctx, session, row, message):
    errors = errors_of(session, HEADER, GOOD, row)
    assert len(errors) == 1
    line, reported = errors[0]
    assert line == 3
    assert message in reported


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("Xavier,x@example.org,NL,,intercultural;Astrology,C-1,2025-01-01,", "Astrology"),
        ("Xavier,x@example.org,NL,,intercultural,,,", "an applicant holds none"),
    ],
)
def test_granted_specialisations_must_be_known_and_held_by_a_certified_row(
    ctx, session, row, message
):
    errors = errors_of(session, HEADER, GOOD, row, granted=True)
    assert [line for line, _ in errors] == [3]
    assert message in errors[0][1]


def test_no_self_declared_specialisation_is_imported_as_granted(ctx, session):
    """Without the flag the column is refused; nothing at all is written."""
    set_fees(session, years=[2026])
    errors = errors_of(session, HEADER, "Cora,cora@example.org,NL,,Intercultural,C-1,2026-01-10,")
    assert errors[0][0] == 2 and "--specialisations-are-granted" in errors[0][1]
    assert session.scalar(select(func.count(SpecialisationGrant.id))) == 0


def test_every_bad_row_is_reported_at_its_physical_line(ctx, session):
    errors = errors_of(
        session,
        HEADER,
        'Quinn Quote,quinn@example.org,NL,"en;',
        'nl",,,,',  # the row above spans lines 2 and 3
        "",
        "Bad Country,bad@example.org,Nowhere,,,,,",
        GOOD,
        "Two Problems,two@example.org,NL,xx,,,,2027-01-01",
    )
    assert errors == [
        (5, "unknown country 'Nowhere'; use an ISO code (NL) or English name"),
        (7, "unknown language(s): xx"),
        (7, "paid_until needs certified_on; an applicant has no listing period"),
    ]


def test_duplicates_inside_the_file_are_reported_on_the_later_line(ctx, session):
    errors = errors_of(
        session,
        HEADER,
        "First,same@example.org,NL,,,ab-1,2025-01-01,",
        "Second,Same@Example.org,NL,,,AB-1,2025-01-01,",
    )
    assert errors == [
        (3, "e-mail address same@example.org is also on line 2 (its name differs)"),
        (3, "certificate number AB-1 is also on line 2"),
    ]


def test_emails_and_numbers_in_the_database_are_refused(ctx, session):
    set_fees(session)
    grant(
        session,
        make_mediator(session, email="taken@example.org"),
        on=D("2024-01-01"),
        number="MR-9",
    )
    errors = errors_of(session, HEADER, GOOD, "Taker,TAKEN@example.org,NL,,,mr-9,2025-01-01,")
    assert errors == [
        (3, "a mediator profile with the e-mail taken@example.org exists already"),
        (3, "certificate number MR-9 is in use already; numbers are never reused"),
    ]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (HEADER.replace(",paid_until", ""), "(missing: paid_until)"),
        (HEADER + ",status", "(unexpected: status)"),
        (HEADER + ",name", "(a column is repeated)"),
        ("Name;Email;Country", "missing: name, email"),
    ],
)
def test_a_wrong_header_is_one_clear_error(ctx, session, header, reason):
    errors = errors_of(session, header, GOOD)
    assert len(errors) == 1
    assert errors[0][0] == 1
    assert "the header must have exactly the columns name,email,country," in errors[0][1]
    assert reason in errors[0][1]


def test_an_empty_file_is_an_error(ctx, session):
    with pytest.raises(ImportFailed) as failure:
        import_mediators(
            session, io.BytesIO(b""), today=TODAY, now=utcnow(), actor=None, source="empty.csv"
        )
    assert failure.value.errors[0][0] == 1
    assert "the file is empty" in failure.value.errors[0][1]


def test_the_header_columns_may_come_in_any_order_and_case(ctx, session):
    do_import(
        session,
        "EMAIL,Name,country,languages,specialisations,certificate_number,certified_on,paid_until",
        "ana@example.org,Ana,NL,,,,,",
    )
    assert by_email(session, "ana@example.org").name == "Ana"


def test_a_utf8_file_with_a_bom_imports(ctx, session):
    summary = do_import(session, HEADER, "Łukasz Nowak,lukasz@example.org,Poland,pl,,,,", bom=True)
    assert summary.total == 1
    assert by_email(session, "lukasz@example.org").search_name == "lukasz nowak"


def test_malformed_csv_is_reported_at_its_line(ctx, session):
    errors = errors_of(session, HEADER, GOOD, 'Xavier,"x@example.org"z,NL,,,,,')
    assert len(errors) == 1
    assert errors[0][0] == 3
    assert errors[0][1].startswith("the CSV is malformed:")


def test_a_line_that_is_not_utf8_is_reported(ctx, session):
    stream = io.BytesIO(f"{HEADER}\n{GOOD}\nM\xfcller,m@example.org,DE,,,,,\n".encode("latin-1"))
    with pytest.raises(ImportFailed) as failure:
        import_mediators(session, stream, today=TODAY, now=utcnow(), actor=None)
    assert failure.value.errors == [(3, "the line is not valid UTF-8 text")]
    assert session.scalar(select(func.count(Mediator.id))) == 0


def test_export_writes_status_as_of_today(ctx, session):
    set_fees(session)
    do_import(
        session,
        HEADER,
        "Cora Current,cora@example.org,NL,nl;en,investor_state,C-1,2026-01-10,2027-01-09",
        "Lars Lapsed,lars@example.org,SE,sv,,L-1,2025-01-01,2025-12-31",
        GOOD,
        granted=True,
    )
    paid = grant(session, make_mediator(session, email="paid@example.org"), on=D("2026-02-01"))
    rows = {row["email"]: row for row in exported(session)}
    assert list(rows["cora@example.org"].values()) == [
        "Cora Current",
        "cora@example.org",
        "NL",
        "en;nl",
        "investor_state",
        "C-1",
        "2026-01-10",
        "2027-01-09",
        by_email(session, "cora@example.org").public_id,
        "certified",
        "2026-01-10",
    ]
    lars = rows["lars@example.org"]
    assert (lars["status"], lars["status_since"], lars["paid_until"]) == (
        "lapsed",
        "2026-01-01",
        "2025-12-31",
    )
    ana = rows["ana@example.org"]
    assert (ana["certificate_number"], ana["certified_on"], ana["status"]) == ("", "", "applicant")
    assert rows["paid@example.org"]["certificate_number"] == paid.certificate_number
    assert rows["paid@example.org"]["paid_until"] == "2027-01-31"
    assert list(exported(session, for_import=True)[0]) == list(IMPORT_COLUMNS)
    assert list(rows["ana@example.org"]) == list(EXPORT_COLUMNS)


FORMULA_NAME = '=HYPERLINK("http://evil.example","Ana")'
FORMULAS = (FORMULA_NAME, "@SUM(1+1)", "+31 20 555 0000", "-2+3", "'t Hooft")


def test_export_writes_formulas_as_text_that_the_import_reads_back(ctx, session):
    for number, name in enumerate(FORMULAS):
        make_mediator(session, name=name, email=f"formula{number}@example.org")
    out = io.StringIO()
    export_mediators(session, out, today=TODAY, for_import=True)
    written = [row["name"] for row in csv.DictReader(io.StringIO(out.getvalue()))]
    assert written == [f"'{name}" for name in FORMULAS[:-1]] + ["'t Hooft"]
    records = csvio._records(io.StringIO(out.getvalue()), errors := [])
    assert [values["name"] for _line, values in records] == list(FORMULAS)
    assert errors == []


def test_export_shows_the_latest_grant(ctx, session):
    set_fees(session)
    mediator = make_mediator(session, email="again@example.org")
    grant(session, mediator, on=D("2020-01-01"), number="FIRST-1")
    grant(session, mediator, on=D("2026-03-01"), number="SECOND-1")
    (row,) = exported(session)
    assert (row["certificate_number"], row["status"]) == ("SECOND-1", "certified")


def test_export_walks_the_mediators_in_batches(ctx, session, monkeypatch):
    lines = [
        f"Person {n},p{n}@example.org,NL,en,,{f'N-{n},2026-01-01,2026-12-31' if n % 2 else ',,'}"
        for n in range(10)
    ]
    monkeypatch.setattr(csvio, "IMPORT_BATCH", 3)
    summary = do_import(session, HEADER, *lines)
    assert str(summary) == "Imported 10 mediators: 5 certified, 5 applicants."
    batches = []
    original = csvio._export_rows

    def spy(session, batch, today, grace):
        batches.append(len(batch))
        return original(session, batch, today, grace)

    monkeypatch.setattr(csvio, "EXPORT_BATCH", 3)
    monkeypatch.setattr(csvio, "_export_rows", spy)
    rows = exported(session)
    assert batches == [3, 3, 3, 1]
    assert [row["email"] for row in rows] == [f"p{n}@example.org" for n in range(10)]
    assert [row["status"] for row in rows] == ["applicant", "certified"] * 5
    assert [row["certificate_number"] for row in rows[1::2]] == [f"N-{n}" for n in range(1, 10, 2)]


# Command line, on databases of their own (the commands commit).


def run(url: str, *args: str):
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": url})


def write_csv(path, *lines: str):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cli_import_reports_each_problem_and_imports_nothing(
    fresh_app, fresh_database_url, tmp_path
):
    today = date.today()
    bad = write_csv(
        tmp_path / "bad.csv",
        HEADER,
        GOOD,
        f"Future,future@example.org,NL,,,F-1,{today + timedelta(days=30)},",
        "Nobody,nobody@example.org,Nowhere,,,,,",
    )
    result = run(fresh_database_url, "mediators", "import", str(bad))
    assert result.exit_code == 1
    assert "line 3: certified_on" in result.stderr and "is in the future" in result.stderr
    assert "line 4: unknown country 'Nowhere'" in result.stderr
    assert "2 problem(s) in bad.csv. Nothing was imported." in result.stderr
    with db.transaction() as session:
        assert session.scalar(select(func.count(Mediator.id))) == 0


def test_cli_round_trip_into_a_fresh_database(
    fresh_app, fresh_database_url, database_kind, tmp_path, tmp_path_factory
):
    today = date.today()
    source = write_csv(
        tmp_path / "in.csv",
        HEADER,
        f"Zoë Müller,zoe@example.org,NL,nl;en,intercultural,Z-1,{today - timedelta(days=30)},"
        f"{today + timedelta(days=335)}",
        f"Sam Struck,sam@example.org,BE,fr,,S-1,{today - timedelta(days=1100)},"
        f"{today - timedelta(days=735)}",
        GOOD,
    )
    refused = run(fresh_database_url, "mediators", "import", str(source))
    assert refused.exit_code == 1
    assert "line 2: specialisations are credentials" in refused.stderr
    granted = "--specialisations-are-granted"
    result = run(fresh_database_url, "mediators", "import", granted, str(source))
    assert result.exit_code == 0, result.output
    assert result.stdout == "Imported 3 mediators: 1 certified, 1 struck, 1 applicant.\n"
    with db.transaction() as session:
        set_fees(session)
        grant(
            session,
            make_mediator(session, email="granted@example.org"),
            on=today - timedelta(days=400),
        )
        make_mediator(session, name=FORMULA_NAME, email="formula@example.org")
    exported_file = tmp_path / "out.csv"
    result = run(
        fresh_database_url, "mediators", "export", "--for-import", "--output", str(exported_file)
    )
    assert result.exit_code == 0, result.output
    assert "Exported 5 mediators." in result.stderr
    with exported_file.open(encoding="utf-8") as written:
        assert f"'{FORMULA_NAME}" in [row["name"] for row in csv.DictReader(written)]
    # Written under a temporary name, then renamed: nothing else is left behind.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.csv", "out.csv"]
    first = run(fresh_database_url, "mediators", "export")
    assert first.exit_code == 0, first.output
    excel = run(fresh_database_url, "mediators", "export", "--bom")
    assert excel.stdout == "\ufeff" + first.stdout

    other = create_database(database_kind, tmp_path_factory)
    try:
        assert run(other, "init").exit_code == 0
        result = run(other, "mediators", "import", granted, str(exported_file))
        assert result.exit_code == 0, result.output
        again = run(other, "mediators", "export", "--for-import")
        assert again.stdout == exported_file.read_text(encoding="utf-8")
        second = run(other, "mediators", "export")
    finally:
        drop_database(other)
    statuses = [
        [(row["email"], row["status"]) for row in csv.DictReader(io.StringIO(result.stdout))]
        for result in (first, second)
    ]
    assert statuses[0] == statuses[1]
    assert [status for _, status in statuses[0]] == [
        "certified",
        "struck",
        "applicant",
        "lapsed",
        "applicant",
    ]
    names = [row["name"] for row in csv.DictReader(io.StringIO(second.stdout))]
    assert names[-1] == f"'{FORMULA_NAME}"
