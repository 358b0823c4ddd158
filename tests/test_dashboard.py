"""Organisation accounts and the organisation dashboard: buckets, progress and missing steps,
tenant isolation on every route, filters and sorting, the CSV export, reminders with their
rate limits, the staff pages for administrators and program links, and the links recorded
assessments and trainings create.
"""

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from registry.accounts.models import Role, User
from registry.clock import add_years, local_today
from registry.csvfiles import neutralise
from registry.database import utcnow
from registry.events.models import Event
from registry.formatting import format_day
from registry.mail.models import OutboxMessage
from registry.mediators.checklist import MIN_BIOGRAPHY, profile_checklist, profile_complete_clause
from registry.mediators.models import Mediator, ProgramLink, Status
from registry.mediators.services import (
    record_assessment,
    record_qualification,
    revoke_certification,
    suspend_certification,
)
from registry.organisations import dashboard, services, views
from registry.organisations.dashboard import (
    CSV_COLUMNS,
    Bucket,
    DashboardFilter,
    dashboard_facts,
    dashboard_page,
    dashboard_rows,
    day_start,
    needs_status,
    ordered_ids,
    step_key,
)
from registry.organisations.models import (
    DashboardReminder,
    Organisation,
    OrganisationAdmin,
    Program,
)
from registry.organisations.views import NOT_AN_ADMINISTRATOR
from tests.conftest import post_form
from tests.factories import (
    PASSWORD,
    grant,
    make_digest,
    make_mediator,
    make_organisation,
    make_program,
    make_user,
    set_fees,
    staff_user,
)

ALL_STEPS = [
    "Complete profile",
    "Assessment by a QAP",
    "Current Feedback Digest",
    "Certification granted",
    "First listing contribution paid or waived",
]


@dataclass
class World:
    """Two organisations; the academy's mediators stand in every state on ``today``."""

    today: date
    academy: Organisation
    qap: Program
    cmtp: Program
    other: Organisation
    other_qap: Program
    mediators: dict[str, Mediator]

    def __getitem__(self, key: str) -> Mediator:
        return self.mediators[key]


def count(session: Session, model: type, *where: object) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def link(session: Session, program: Program, mediator: Mediator, on: date) -> None:
    """Link as staff do for a mediator still in training."""
    session.add(ProgramLink(program=program, mediator=mediator, linked_on=on))
    session.flush()


def assess(session: Session, mediator: Mediator, program: Program, on: date, today: date) -> None:
    record_assessment(
        session,
        mediator,
        program_id=program.id,
        assessed_on=on,
        today=today,
        now=utcnow(),
        actor=staff_user(session),
    )


def covered_through(
    session: Session, world_today: date, program: Program, name: str, last_day: date
) -> Mediator:
    """A mediator assessed, with a current digest, whose first paid period ends ``last_day``."""
    mediator = make_mediator(session, name=name)
    start = add_years(last_day + timedelta(days=1), -1)
    assess(session, mediator, program, start - timedelta(days=30), world_today)
    make_digest(session, mediator, published_on=world_today - timedelta(days=200))
    grant(session, mediator, on=start)
    assert mediator.current_certification is not None
    return mediator


def conduct(session: Session, mediator: Mediator, action, today: date) -> None:  # type: ignore[no-untyped-def]
    action(
        session,
        mediator.current_certification,
        on=today - timedelta(days=5),
        reason="Outcome of the professional conduct process.",
        today=today,
        now=utcnow(),
        actor=staff_user(session),
    )


def build_world(session: Session) -> World:
    today = local_today()
    set_fees(session, years=range(today.year - 4, today.year + 3))
    academy = make_organisation(session, name="Mediation Academy")
    qap = make_program(session, program_type="QAP", organisation=academy)
    cmtp = make_program(session, program_type="CMTP", organisation=academy)
    other = make_organisation(session, name="Other Institute", country="BE")
    other_qap = make_program(session, program_type="QAP", organisation=other)
    day = lambda n: today + timedelta(days=n)  # noqa: E731
    m: dict[str, Mediator] = {}
    m["nothing"] = make_mediator(session, name="Łukasz Nowak", complete=False)
    link(session, cmtp, m["nothing"], day(-50))
    m["assessed"] = make_mediator(session, name="Zoë Müller")
    assess(session, m["assessed"], qap, day(-30), today)
    m["unpaid"] = make_mediator(session, name="Gita Unpaid")
    assess(session, m["unpaid"], qap, day(-60), today)
    make_digest(session, m["unpaid"], published_on=day(-40))
    grant(session, m["unpaid"], on=day(-10), paid=False)
    for key, name, last_day in (
        ("certified", "Carla Certified", 300),
        ("lapse_60", "Lena Sixty", 60),
        ("lapse_61", "Leo Sixtyone", 61),
        ("grace", "Greta Grace", -10),
        ("struck", "Stan Struck", -375),
        ("suspended", "Susi Suspended", 200),
        ("revoked", "Rex Revoked", 250),
    ):
        m[key] = covered_through(session, today, qap, name, day(last_day))
    conduct(session, m["suspended"], suspend_certification, today)
    conduct(session, m["revoked"], revoke_certification, today)
    m["outsider"] = make_mediator(session, name="Otto Outsider")
    assess(session, m["outsider"], other_qap, day(-20), today)
    session.flush()
    return World(today, academy, qap, cmtp, other, other_qap, m)


@pytest.fixture
def world(app: Flask, session: Session) -> World:
    with app.app_context():
        return build_world(session)


def rows_by_key(session: Session, world: World) -> dict[str, object]:
    rows = {row.mediator.id: row for row in dashboard_rows(session, world.academy, world.today)}
    return {key: rows.get(mediator.id) for key, mediator in world.mediators.items()}


EXPECTED = {
    "nothing": (Bucket.NEARING_CERTIFICATION, Status.APPLICANT, 0, ALL_STEPS),
    "assessed": (Bucket.NEARING_CERTIFICATION, Status.APPLICANT, 2, ALL_STEPS[2:]),
    "unpaid": (Bucket.NEARING_CERTIFICATION, Status.APPLICANT, 4, ALL_STEPS[4:]),
    "certified": (Bucket.CERTIFIED, Status.CERTIFIED, 5, []),
    "lapse_60": (Bucket.NEARING_LAPSE, Status.CERTIFIED, 5, []),
    "lapse_61": (Bucket.CERTIFIED, Status.CERTIFIED, 5, []),
    "grace": (Bucket.IN_GRACE, Status.LAPSED, 5, []),
    "struck": (Bucket.STRUCK, Status.STRUCK, 5, []),
    "suspended": (Bucket.SUSPENDED_OR_REVOKED, Status.SUSPENDED, 5, []),
    "revoked": (Bucket.SUSPENDED_OR_REVOKED, Status.REVOKED, 5, []),
}


# -- Buckets, progress, missing steps ------------------------------------------------------


@pytest.mark.parametrize("key", list(EXPECTED))
def test_each_mediator_gets_its_bucket_progress_and_missing_steps(ctx, session, world, key):
    row = rows_by_key(session, world)[key]
    bucket, status, done, missing = EXPECTED[key]
    assert row.bucket is bucket
    assert row.standing.status is status
    assert (row.done, row.total) == (done, len(ALL_STEPS))
    assert [step.label for step in row.missing] == missing


def test_nearing_lapse_ends_exactly_sixty_days_ahead(ctx, session, world):
    rows = rows_by_key(session, world)
    assert rows["lapse_60"].standing.covered_until == world.today + timedelta(days=60)
    assert rows["lapse_61"].standing.covered_until == world.today + timedelta(days=61)
    assert rows["grace"].standing.grace_ends_on == world.today + timedelta(days=-10 + 365)


def test_stuck_since_is_the_last_dated_step_or_the_link_date(ctx, session, world):
    rows = rows_by_key(session, world)
    assert rows["nothing"].stuck_since == world.today - timedelta(days=50)
    assert rows["nothing"].stuck_days == 50
    assert rows["assessed"].stuck_since == world.today - timedelta(days=30)
    assert rows["unpaid"].stuck_since == world.today - timedelta(days=10)  # the grant


def test_only_the_organisations_own_mediators_are_rows(ctx, session, world):
    rows = rows_by_key(session, world)
    assert rows["outsider"] is None
    assert all(rows[key] is not None for key in EXPECTED)
    other = dashboard_rows(session, world.other, world.today)
    assert [row.mediator.name for row in other] == ["Otto Outsider"]


def test_rows_take_the_same_number_of_queries_for_more_mediators(app, ctx, session, world):
    engine = app.extensions["db"].engine

    def statements() -> int:
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            session.expire_all()
            dashboard_rows(session, world.academy, world.today)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    before = statements()
    for number in range(6):
        extra = covered_through(
            session, world.today, world.qap, f"Extra {number}", world.today + timedelta(days=90)
        )
        make_digest(session, extra, published_on=world.today - timedelta(days=3))
    assert statements() == before


# -- Who may see a dashboard --------------------------------------------------------------


def sign_in(client, session: Session, email: str, roles: list[Role]) -> User:  # type: ignore[no-untyped-def]
    user = make_user(session, email=email, name=email.split("@")[0].title(), roles=roles)
    post_form(client, "/login", {"email": email, "password": PASSWORD})
    return user


def administer(session: Session, organisation: Organisation, user: User) -> None:
    session.add(
        OrganisationAdmin(organisation_id=organisation.id, user_id=user.id, added_at=utcnow())
    )
    session.flush()


def admin_of(client, session: Session, organisation: Organisation, email: str) -> User:  # type: ignore[no-untyped-def]
    user = sign_in(client, session, email, [Role.ORGANISATION_ADMIN])
    administer(session, organisation, user)
    return user


def dashboard_url(world: World, **args: str) -> str:
    query = "&".join(f"{key}={value}" for key, value in args.items())
    return f"/organisation/{world.academy.id}/dashboard" + (f"?{query}" if query else "")


def csv_url(world: World, **args: str) -> str:
    return dashboard_url(world, **args).replace("/dashboard", "/dashboard.csv")


def remind_url(world: World, mediator: Mediator, organisation: Organisation | None = None) -> str:
    organisation = organisation or world.academy
    return f"/organisation/{organisation.id}/mediators/{mediator.public_id}/remind"


ROUTES = ["dashboard", "csv", "remind"]


def request_route(client, world: World, route: str, form_url: str):  # type: ignore[no-untyped-def]
    if route == "dashboard":
        return client.get(dashboard_url(world))
    if route == "csv":
        return client.get(csv_url(world, bucket="nearing_certification"))
    return post_form(client, remind_url(world, world["assessed"]), {}, form_url=form_url)


@pytest.mark.parametrize("route", ROUTES)
def test_another_organisations_admin_is_refused_on_every_route(client, session, world, route):
    admin_of(client, session, world.other, "olga@other.example")
    response = request_route(client, world, route, f"/organisation/{world.other.id}/dashboard")
    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert str(NOT_AN_ADMINISTRATOR) in text
    assert "Mediation Academy" not in text
    assert not any(m.name in text or m.public_id in text for m in world.mediators.values())
    assert count(session, DashboardReminder) == 0
    assert count(session, OutboxMessage, OutboxMessage.to_address == world["assessed"].email) == 0


@pytest.mark.parametrize("route", ROUTES)
def test_an_organisation_admin_of_no_organisation_is_refused(client, session, world, route):
    sign_in(client, session, "nobody@org.example", [Role.ORGANISATION_ADMIN])
    response = request_route(client, world, route, "/account")
    assert response.status_code == 403
    assert str(NOT_AN_ADMINISTRATOR) in response.get_data(as_text=True)


@pytest.mark.parametrize("route", ROUTES)
def test_other_roles_are_refused_and_strangers_sent_to_sign_in(client, session, world, route):
    assert request_route(client, world, route, "/login").status_code == 302
    sign_in(client, session, "mia@example.org", [Role.MEDIATOR, Role.PEER_REVIEWER])
    response = request_route(client, world, route, "/account")
    assert response.status_code == 403
    assert "Mediation Academy" not in response.get_data(as_text=True)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("who", ["admin", "support"])
def test_the_organisations_admins_and_registry_staff_are_let_in(client, session, world, route, who):
    if who == "admin":
        admin_of(client, session, world.academy, "ada@academy.example")
    else:
        sign_in(client, session, "support@example.org", [Role.SUPPORT])
    expected = 303 if route == "remind" else 200
    assert request_route(client, world, route, dashboard_url(world)).status_code == expected
    assert count(session, DashboardReminder) == (route == "remind")


def test_registry_staff_see_any_dashboard(client, session, world):
    sign_in(client, session, "director@example.org", [Role.EXECUTIVE_DIRECTOR])
    response = client.get(dashboard_url(world))
    assert response.status_code == 200
    assert "Zoë Müller" in response.get_data(as_text=True)


def test_an_unknown_organisation_is_not_found_for_staff(client, session, world):
    sign_in(client, session, "support@example.org", [Role.SUPPORT])
    assert client.get("/organisation/999999/dashboard").status_code == 404


def test_a_reminder_for_another_organisations_mediator_is_refused(client, session, world):
    admin_of(client, session, world.academy, "ada@academy.example")
    for public_id in (world["outsider"].public_id, "MNOSUCHID22"):
        url = f"/organisation/{world.academy.id}/mediators/{public_id}/remind"
        response = post_form(client, url, {}, form_url=dashboard_url(world))
        assert response.status_code == 303
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert str(services.NOT_LINKED) in page
        assert "Otto Outsider" not in page
    assert count(session, DashboardReminder) == 0
    assert count(session, OutboxMessage, OutboxMessage.to_address == world["outsider"].email) == 0


# -- The page ------------------------------------------------------------------------------

TAB = re.compile(r'>([A-Za-z ]+) <span class="tab-count">([\d,]+)</span>')


def test_the_dashboard_shows_counts_chart_and_rows(client, session, world):
    admin_of(client, session, world.academy, "ada@academy.example")
    page = client.get(dashboard_url(world)).get_data(as_text=True)
    assert dict(TAB.findall(page)) == {
        "All": "10",
        "Nearing certification": "3",
        "Certified": "2",
        "Nearing lapse": "1",
        "In grace": "1",
        "Struck": "1",
        "Suspended or revoked": "2",
    }
    assert "Applicants' steps done" in page and "<svg" in page
    assert "Otto Outsider" not in page
    listed, unlisted = world["certified"], world["grace"]
    assert f'href="/mediators/{listed.public_id}"' in page
    assert f'href="/mediators/{unlisted.public_id}"' not in page and unlisted.name in page


def test_the_dashboard_shows_no_email_money_or_feedback(client, session, world):
    admin_of(client, session, world.academy, "ada@academy.example")
    page = client.get(dashboard_url(world)).get_data(as_text=True)
    assert not any(m.email in page for m in world.mediators.values())
    assert "EUR" not in page and "150.00" not in page and "invoice" not in page.lower()
    assert "Parties found the mediator" not in page  # the digest's summary


def test_an_organisation_admin_is_sent_to_their_dashboard(client, session, world):
    user = admin_of(client, session, world.academy, "ada@academy.example")
    response = client.get("/organisation")
    assert response.status_code == 302
    assert response.headers["Location"] == dashboard_url(world)
    administer(session, world.other, user)
    page = client.get("/organisation").get_data(as_text=True)
    assert "Mediation Academy" in page and "Other Institute" in page


def test_an_organisation_admin_without_organisation_is_told_whom_to_ask(client, session, world):
    sign_in(client, session, "new@org.example", [Role.ORGANISATION_ADMIN])
    page = client.get("/organisation").get_data(as_text=True)
    assert "not linked to an organisation yet" in page and "support" in page
    assert "Mediation Academy" not in page


def test_bad_filters_are_refused(client, session, world):
    admin_of(client, session, world.academy, "ada@academy.example")
    for args in ({"bucket": "bogus"}, {"program": str(world.other_qap.id)}, {"sort": "email"}):
        assert client.get(dashboard_url(world, **args)).status_code == 400
        assert client.get(csv_url(world, **args)).status_code == 400
    assert client.get(dashboard_url(world, step="nope")).status_code == 400


# -- Filters, sorting and the CSV export ---------------------------------------------------


def csv_rows(client, url: str) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def csv_names(client, url: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [row["name"] for row in csv_rows(client, url)]


def test_the_csv_has_a_header_every_row_and_a_named_attachment(client, session, world):
    admin_of(client, session, world.academy, "ada@academy.example")
    response = client.get(csv_url(world))
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="mediation-academy-mediators-{world.today.isoformat()}.csv"'
    )
    text = response.get_data(as_text=True)
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(text))}
    assert len(rows) == 10 and "Otto Outsider" not in rows
    assert rows["Lena Sixty"] == {
        "name": "Lena Sixty",
        "public_id": world["lapse_60"].public_id,
        "programs": "QAP program",
        "bucket": "Nearing lapse",
        "status": "certified",
        "progress": "5/5",
        "missing_steps": "",
        "stuck_since": (world.today - timedelta(days=200)).isoformat(),
        "stuck_days": "200",
        "covered_until": (world.today + timedelta(days=60)).isoformat(),
        "grace_ends_on": "",
    }
    assert rows["Zoë Müller"]["missing_steps"] == "; ".join(ALL_STEPS[2:])
    assert rows["Greta Grace"]["grace_ends_on"] == (world.today + timedelta(days=355)).isoformat()
    assert not any(m.email in text for m in world.mediators.values())


def test_the_csv_for_excel_starts_with_a_utf8_byte_order_mark(client, session, world):
    admin_of(client, session, world.academy, "ada@academy.example")
    page = client.get(dashboard_url(world, sort="name")).text
    assert "dashboard.csv?bom=1&amp;sort=name" in page and "CSV for Excel" in page
    plain, excel = client.get(csv_url(world)), client.get(csv_url(world, bom="1"))
    assert excel.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert excel.data.startswith(b"\xef\xbb\xbf") and not plain.data.startswith(b"\xef")
    assert excel.data.removeprefix(b"\xef\xbb\xbf") == plain.data
    assert "Zoë Müller".encode() in excel.data
    refused = client.get(csv_url(world, bom="yes"))
    assert refused.status_code == 400 and "bom is 1" in refused.text


FORMULAS = ('=HYPERLINK("http://evil.example")', "+31 20 555", "-2+3", "@SUM(A1)")


def test_csv_cells_never_start_a_formula(client, session, world):
    for number, name in enumerate(FORMULAS):
        mediator = make_mediator(session, name=name, email=f"formula{number}@x.example")
        link(session, world.qap, mediator, world.today)
    admin_of(client, session, world.academy, "ada@academy.example")
    names = csv_names(client, csv_url(world, q="", sort="name"))
    for name in FORMULAS:
        assert f"'{name}" in names and name not in names
    assert [neutralise(value) for value in ("\tx", "\rx", "x=1", None, 7)] == [
        "'\tx",
        "'\rx",
        "x=1",
        "",
        "7",
    ]


# "CMTP" stands in for the id of the academy's CMTP program, known once the world is built.
FILTERS = [
    ({"bucket": "nearing_certification"}, ["Gita Unpaid", "Łukasz Nowak", "Zoë Müller"]),
    ({"bucket": "nearing_lapse"}, ["Lena Sixty"]),
    ({"bucket": "suspended_or_revoked"}, ["Rex Revoked", "Susi Suspended"]),
    ({"program": "CMTP"}, ["Łukasz Nowak"]),
    ({"step": "assessment-by-a-qap"}, ["Łukasz Nowak"]),
    (
        {"step": "first-listing-contribution-paid-or-waived"},
        ["Gita Unpaid", "Łukasz Nowak", "Zoë Müller"],
    ),
    ({"q": "muller"}, ["Zoë Müller"]),
    ({"q": "MÜLLER"}, ["Zoë Müller"]),
    ({"q": "mueller"}, ["Zoë Müller"]),
    ({"q": "lukasz"}, ["Łukasz Nowak"]),
    ({"q": "sixty"}, ["Lena Sixty", "Leo Sixtyone"]),
    ({"q": "xty"}, ["Lena Sixty", "Leo Sixtyone"]),
    ({"q": "sixty", "bucket": "certified"}, ["Leo Sixtyone"]),
]


def test_filters(client, session, world):
    admin_of(client, session, world.academy, "ada@academy.example")
    for args, names in FILTERS:
        if args.get("program") == "CMTP":
            args = {"program": str(world.cmtp.id)}
        assert csv_names(client, csv_url(world, **args)) == names, args


APPLICANTS = {"bucket": "nearing_certification"}
BY_COVERED = [
    "Stan Struck",
    "Greta Grace",
    "Lena Sixty",
    "Leo Sixtyone",
    "Susi Suspended",
    "Rex Revoked",
    "Carla Certified",
]
NOT_COVERED = ["Gita Unpaid", "Łukasz Nowak", "Zoë Müller"]


SORTED = [
    (
        {"sort": "name"},
        [
            "Carla Certified",
            "Gita Unpaid",
            "Greta Grace",
            "Lena Sixty",
            "Leo Sixtyone",
            "Łukasz Nowak",
            "Rex Revoked",
            "Stan Struck",
            "Susi Suspended",
            "Zoë Müller",
        ],
    ),
    ({**APPLICANTS, "sort": "-name"}, ["Zoë Müller", "Łukasz Nowak", "Gita Unpaid"]),
    ({**APPLICANTS, "sort": "progress"}, ["Łukasz Nowak", "Zoë Müller", "Gita Unpaid"]),
    ({**APPLICANTS, "sort": "-progress"}, ["Gita Unpaid", "Zoë Müller", "Łukasz Nowak"]),
    ({**APPLICANTS, "sort": "stuck"}, ["Łukasz Nowak", "Zoë Müller", "Gita Unpaid"]),
    ({**APPLICANTS, "sort": "-stuck"}, ["Gita Unpaid", "Zoë Müller", "Łukasz Nowak"]),
    ({"sort": "covered"}, BY_COVERED + NOT_COVERED),
    ({"sort": "-covered"}, BY_COVERED[::-1] + NOT_COVERED),
]


def test_sorting(client, session, world):
    admin_of(client, session, world.academy, "ada@academy.example")
    for args, names in SORTED:
        assert csv_names(client, csv_url(world, **args)) == names, args


def test_the_page_and_the_csv_show_the_same_view(client, session, world):
    admin_of(client, session, world.academy, "ada@academy.example")
    args = {"bucket": "nearing_certification", "sort": "progress"}
    page = client.get(dashboard_url(world, **args)).get_data(as_text=True)
    shown = [name for name in NOT_COVERED if name in page]
    order = sorted(shown, key=page.index)
    assert order == csv_names(client, csv_url(world, **args))
    assert "dashboard.csv?bucket=nearing_certification&amp;sort=progress" in page


def test_counts_and_chart_follow_the_other_filters_but_not_the_bucket(ctx, session, world):
    wanted = DashboardFilter(bucket=Bucket.CERTIFIED, name="e")
    board, page = dashboard_page(session, world.academy, wanted, world.today, 1, 100)
    # "e" is in every name but Gita Unpaid's, Łukasz Nowak's and Stan Struck's.
    assert board.in_scope == 7 and board.counts[Bucket.STRUCK] == 0
    assert board.counts[Bucket.NEARING_CERTIFICATION] == 1
    assert [row.mediator.name for row in page.items] == ["Carla Certified", "Leo Sixtyone"]
    steps = {bar.label: (bar.count, bar.scale) for bar in board.steps}
    assert steps["Assessment by a QAP"] == (1, 1) and steps["Certification granted"] == (0, 1)
    standing = {bar.label: (bar.count, bar.scale) for bar in board.standing}
    assert standing["Certified"] == (2, 7) and standing["Suspended or revoked"] == (2, 7)


# -- At scale: facts in SQL, pages cut by the database, the export streamed ------------------


def facts_by_id(session: Session, world: World, **options: bool) -> dict[int, object]:
    facts = dashboard_facts(session, world.academy, world.today, **options)
    columns = [
        facts.table.c.mediator_id,
        facts.bucket,
        facts.done_count,
        facts.stuck_since,
        *facts.done.values(),
    ]
    return {row[0]: row for row in session.execute(select(*columns))}


def test_the_sql_facts_agree_with_the_rows_for_every_mediator(ctx, session, world):
    facts = facts_by_id(session, world)
    rows = dashboard_rows(session, world.academy, world.today)
    assert sorted(facts) == sorted(row.mediator.id for row in rows)
    for row in rows:
        _, bucket, done_count, stuck_since, *done = facts[row.mediator.id]
        assert (Bucket(bucket), done_count, stuck_since) == (row.bucket, row.done, row.stuck_since)
        assert [bool(flag) for flag in done] == [step.is_done for step in row.steps]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"biography": "x" * (MIN_BIOGRAPHY - 1) + " \n\t "},
        {"biography": " \n" + "x" * MIN_BIOGRAPHY + "\n"},
        {"contact": " \t\n"},
        {"practice_areas": "  "},
        {"country": None},
        {"languages": []},
        {"name": "   "},
    ],
)
def test_the_sql_profile_check_agrees_with_the_checklist(ctx, session, world, changes):
    mediator = world["certified"]
    for field_name, value in changes.items():
        setattr(mediator, field_name, value)
    session.flush()
    in_python = all(item.is_done for item in profile_checklist(mediator))
    in_sql = session.scalar(select(profile_complete_clause()).where(Mediator.id == mediator.id))
    assert bool(in_sql) is in_python
    assert in_python is (changes == {} or "x" * MIN_BIOGRAPHY in changes.get("biography", ""))


def test_the_list_without_status_columns_keeps_the_same_order(ctx, session, world):
    """The light query of a plain list (no bucket, name order) lists what the full one does."""
    wanted = DashboardFilter(name="e")
    assert not needs_status(wanted)
    light = dashboard_facts(session, world.academy, world.today, with_status=False)
    full = dashboard_facts(session, world.academy, world.today)
    in_light = session.scalars(ordered_ids(light, wanted)).all()
    assert in_light == session.scalars(ordered_ids(full, wanted)).all() and len(in_light) == 7
    for wanted in (
        DashboardFilter(bucket=Bucket.IN_GRACE),
        DashboardFilter(sort="covered"),
        DashboardFilter(step=step_key("First listing contribution paid or waived")),
    ):
        assert needs_status(wanted)


EVERY_BY_NAME = [
    "Carla Certified",
    "Gita Unpaid",
    "Greta Grace",
    "Lena Sixty",
    "Leo Sixtyone",
    "Łukasz Nowak",
    "Rex Revoked",
    "Stan Struck",
    "Susi Suspended",
    "Zoë Müller",
]


@pytest.mark.parametrize(
    ("wanted", "names"),
    [
        (DashboardFilter(), EVERY_BY_NAME),
        (DashboardFilter(sort="-name"), EVERY_BY_NAME[::-1]),
        (DashboardFilter(sort="covered"), BY_COVERED + NOT_COVERED),
        (
            DashboardFilter(bucket=Bucket.NEARING_CERTIFICATION, sort="progress"),
            ["Łukasz Nowak", "Zoë Müller", "Gita Unpaid"],
        ),
    ],
)
def test_pages_cut_the_ordered_list_without_gaps_or_repeats(ctx, session, world, wanted, names):
    pages = []
    for number in range(1, 6):
        board, page = dashboard_page(session, world.academy, wanted, world.today, number, 3)
        assert (page.total, page.pages) == (len(names), -(-len(names) // 3))
        assert page.total == board.shown(wanted.bucket)
        pages.append([row.mediator.name for row in page.items])
    assert [name for page in pages for name in page] == names
    assert pages[-1] == []  # past the last page: nothing, and no error


def test_a_page_loads_only_its_own_mediators_and_a_fixed_number_of_queries(
    app, ctx, session, world
):
    engine = app.extensions["db"].engine
    wanted = DashboardFilter(bucket=Bucket.CERTIFIED, sort="stuck")

    def loads() -> tuple[int, int]:
        statements: list[str] = []
        mediators: list[Mediator] = []
        on_statement = lambda *args: statements.append(args[2])  # noqa: E731
        on_load = lambda target, _context: mediators.append(target)  # noqa: E731
        event.listen(engine, "before_cursor_execute", on_statement)
        event.listen(Mediator, "load", on_load)
        try:
            with Session(bind=session.connection()) as fresh:
                academy = fresh.get(Organisation, world.academy.id)
                dashboard_page(fresh, academy, wanted, world.today, 1, 2)
        finally:
            event.remove(engine, "before_cursor_execute", on_statement)
            event.remove(Mediator, "load", on_load)
        return len(statements), len(mediators)

    before = loads()
    for number in range(6):
        covered_through(
            session, world.today, world.qap, f"Extra {number}", world.today + timedelta(days=90)
        )
    assert loads() == before and before[1] == 2


def test_the_page_shows_one_page_with_links_to_the_others(client, session, world, monkeypatch):
    monkeypatch.setattr(views, "DASHBOARD_PAGE_SIZE", 2)
    admin_of(client, session, world.academy, "ada@academy.example")
    page = client.get(dashboard_url(world, page="3")).get_data(as_text=True)
    shown = [name for name in EVERY_BY_NAME if name in page]
    assert shown == EVERY_BY_NAME[4:6] and "Page 3 of 5" in page
    for rel, number in (("first", 1), ("prev", 2), ("next", 4), ("last", 5)):
        assert f'dashboard?page={number}" rel="{rel}"' in page
    assert dict(TAB.findall(page))["All"] == "10"
    first = client.get(dashboard_url(world)).get_data(as_text=True)
    assert 'rel="prev"' not in first and 'rel="first"' not in first and 'rel="last"' in first
    last = client.get(dashboard_url(world, bucket="in_grace", page="2")).get_data(as_text=True)
    assert "There is no page 2; the last is page 1." in last


@pytest.mark.parametrize(
    ("bucket", "names"),
    [
        ("nearing_certification", NOT_COVERED),
        ("certified", ["Carla Certified", "Leo Sixtyone"]),
        ("nearing_lapse", ["Lena Sixty"]),
        ("in_grace", ["Greta Grace"]),
        ("struck", ["Stan Struck"]),
        ("suspended_or_revoked", ["Rex Revoked", "Susi Suspended"]),
    ],
)
def test_each_bucket_tab_lists_its_mediators_and_keeps_every_count(
    client, session, world, bucket, names
):
    admin_of(client, session, world.academy, "ada@academy.example")
    page = client.get(dashboard_url(world, bucket=bucket)).get_data(as_text=True)
    assert [name for name in EVERY_BY_NAME if name in page] == sorted(
        names, key=EVERY_BY_NAME.index
    )
    assert f'<p class="count" role="status">{len(names)} mediator' in page
    assert dict(TAB.findall(page))["All"] == "10"
    assert f'class="bucket-{bucket}" href' in page and 'aria-current="page">' in page


def test_the_csv_export_streams_every_row_in_batches(client, session, world, monkeypatch):
    monkeypatch.setattr(dashboard, "BATCH", 3)
    monkeypatch.setattr(dashboard, "CSV_CHUNK", 200)
    admin_of(client, session, world.academy, "ada@academy.example")
    response = client.get(csv_url(world, sort="-name"), buffered=False)
    assert response.status_code == 200 and response.is_streamed
    chunks = [chunk.decode() for chunk in response.response]
    response.close()
    assert len(chunks) >= 4
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert [row["name"] for row in rows] == EVERY_BY_NAME[::-1]
    by_name = {row["name"]: row for row in rows}
    assert by_name["Greta Grace"]["bucket"] == "In grace"
    assert by_name["Zoë Müller"]["missing_steps"] == "; ".join(ALL_STEPS[2:])


# -- Reminders -----------------------------------------------------------------------------


def long_day(day: date) -> str:
    """Return ``day`` as pages and mails in English show it: "5 January 2026"."""
    return f"{day.day} {day:%B %Y}"


def outbox(session: Session, mediator: Mediator) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.to_address == mediator.email)
    return list(session.scalars(query.order_by(OutboxMessage.id)))


def test_a_reminder_mails_the_missing_steps_and_returns_to_the_view(client, session, world):
    user = admin_of(client, session, world.academy, "ada@academy.example")
    view = dashboard_url(world, bucket="nearing_certification", sort="progress")
    url = remind_url(world, world["assessed"]) + "?bucket=nearing_certification&sort=progress"
    response = post_form(client, url, {}, form_url=view)
    assert response.status_code == 303
    assert response.headers["Location"] == view
    [message] = outbox(session, world["assessed"])
    assert message.subject == "Mediation Academy: your next steps towards certification"
    assert "Mediation Academy, whose QAP program you took part in" in message.body_text
    assert "- Current Feedback Digest: Ask parties of past mediations" in message.body_text
    assert "- Certification granted: Registry staff grant" in message.body_text
    assert "http://registry.test/my/checklist" in message.body_text
    reminder = session.scalar(select(DashboardReminder))
    assert (reminder.organisation_id, reminder.mediator_id, reminder.sent_by_id) == (
        world.academy.id,
        world["assessed"].id,
        user.id,
    )
    logged = session.scalar(select(Event).where(Event.action == "organisation.reminder_sent"))
    assert logged.data["mediator"] == world["assessed"].public_id and logged.actor_id == user.id
    page = client.get(view).get_data(as_text=True)
    assert "A reminder is on its way to Zoë Müller." in page
    assert f"Reminded {long_day(world.today)}" in page


def test_a_second_reminder_within_the_window_is_refused(client, session, world):
    admin_of(client, session, world.academy, "ada@academy.example")
    url = remind_url(world, world["grace"])
    assert post_form(client, url, {}, form_url=dashboard_url(world)).status_code == 303
    response = post_form(client, url, {}, form_url=dashboard_url(world))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    next_day = world.today + timedelta(days=7)
    assert (
        f"A reminder was sent on {format_day(world.today)}; the next can be sent from "
        f"{format_day(next_day)}." in page
    )
    assert count(session, DashboardReminder) == 1 and len(outbox(session, world["grace"])) == 1
    assert count(session, Event, Event.action == "organisation.reminder_sent") == 1


def noon(day: date) -> datetime:
    return day_start(day) + timedelta(hours=12)


def remind(session: Session, world: World, key: str, day: date) -> DashboardReminder:
    return services.send_reminder(
        session,
        world.academy,
        world[key],
        today=day,
        now=noon(day),
        actor=staff_user(session),
    )


def test_the_next_reminder_is_allowed_after_the_window(ctx, session, world):
    remind(session, world, "lapse_60", world.today)
    with pytest.raises(services.OrganisationError, match="the next can be sent from"):
        remind(session, world, "lapse_60", world.today + timedelta(days=6))
    assert count(session, DashboardReminder) == 1
    remind(session, world, "lapse_60", world.today + timedelta(days=7))
    assert count(session, DashboardReminder) == 2
    first, _ = outbox(session, world["lapse_60"])
    covered = long_day(world.today + timedelta(days=60))
    assert first.subject == f"Mediation Academy: your listing period ends on {covered}"


def test_an_organisation_sends_at_most_its_daily_number(app, ctx, session, world, monkeypatch):
    monkeypatch.setitem(app.config, "ORGANISATION_REMINDERS_PER_DAY", 2)
    remind(session, world, "nothing", world.today)
    remind(session, world, "assessed", world.today)
    with pytest.raises(services.OrganisationError, match="has sent 2 reminders today"):
        remind(session, world, "unpaid", world.today)
    assert count(session, DashboardReminder) == 2 and outbox(session, world["unpaid"]) == []
    remind(session, world, "unpaid", world.today + timedelta(days=1))


@pytest.mark.parametrize("key", ["certified", "lapse_61", "struck", "suspended", "revoked"])
def test_only_mediators_with_something_to_do_soon_are_reminded(ctx, session, world, key):
    with pytest.raises(services.OrganisationError, match="Reminders go to mediators nearing"):
        remind(session, world, key, world.today)
    assert count(session, DashboardReminder) == 0 and outbox(session, world[key]) == []


def test_a_mediator_in_grace_is_told_when_grace_ends(ctx, session, world):
    remind(session, world, "grace", world.today)
    [message] = outbox(session, world["grace"])
    grace_ends = long_day(world.today + timedelta(days=355))
    assert message.subject == "Mediation Academy: your certification has lapsed"
    assert f"paying the listing contribution by {grace_ends} restores" in message.body_text


def test_a_mediator_nearing_lapse_is_told_what_else_is_missing(ctx, session, world):
    mediator = make_mediator(session, name="Nadia Nodigest")
    start = add_years(world.today + timedelta(days=31), -1)
    assess(session, mediator, world.qap, start - timedelta(days=10), world.today)
    grant(session, mediator, on=start)
    world.mediators["nodigest"] = mediator
    remind(session, world, "nodigest", world.today)
    [message] = outbox(session, mediator)
    covered = long_day(world.today + timedelta(days=30))
    assert f"Your certification is listed until {covered}." in message.body_text
    assert "Also still to do:\n- Current Feedback Digest: Ask parties" in message.body_text


def test_the_service_refuses_another_organisations_mediator(ctx, session, world):
    with pytest.raises(services.OrganisationError, match="not linked"):
        remind(session, world, "outsider", world.today)
    assert count(session, DashboardReminder) == 0


# -- Staff: administrators and program links -----------------------------------------------


def test_adding_an_admin_grants_the_role_and_refuses_twice(ctx, session, world):
    staff = staff_user(session)
    person = make_user(session, email="ada@academy.example", roles=[Role.MEDIATOR])
    services.add_organisation_admin(
        session, world.academy, email=" ADA@academy.example ", actor=staff, now=utcnow()
    )
    assert person.has_role(Role.ORGANISATION_ADMIN, Role.MEDIATOR)
    assert count(session, OrganisationAdmin, OrganisationAdmin.user_id == person.id) == 1
    assert count(session, Event, Event.action == "organisation.admin_added") == 1
    with pytest.raises(services.OrganisationError, match="already an administrator"):
        services.add_organisation_admin(
            session, world.academy, email="ada@academy.example", actor=staff, now=utcnow()
        )
    with pytest.raises(services.OrganisationError, match="no account with the e-mail"):
        services.add_organisation_admin(
            session, world.academy, email="ghost@example.org", actor=staff, now=utcnow()
        )


def test_removing_an_admin_refuses_someone_who_is_not_one(ctx, session, world):
    staff = staff_user(session)
    person = make_user(session, email="ada@academy.example", roles=[Role.ORGANISATION_ADMIN])
    administer(session, world.academy, person)
    services.remove_organisation_admin(
        session, world.academy, user_id=person.id, actor=staff, now=utcnow()
    )
    assert count(session, OrganisationAdmin) == 0
    assert count(session, Event, Event.action == "organisation.admin_removed") == 1
    with pytest.raises(services.OrganisationError, match="not an administrator"):
        services.remove_organisation_admin(
            session, world.academy, user_id=person.id, actor=staff, now=utcnow()
        )


def link_by_staff(session: Session, world: World, reference: str, **given: object) -> ProgramLink:
    values: dict[str, object] = {"program_id": world.cmtp.id, "linked_on": world.today}
    values.update(given)
    return services.link_mediator_to_program(
        session,
        world.academy,
        mediator_reference=reference,
        today=world.today,
        now=utcnow(),
        actor=staff_user(session),
        **values,  # type: ignore[arg-type]
    )


def test_linking_a_mediator_by_public_id_or_email(ctx, session, world):
    outsider = world["outsider"]
    link_by_staff(session, world, outsider.public_id.lower())
    link_by_staff(session, world, f" {outsider.email.upper()} ", program_id=world.qap.id)
    assert count(session, ProgramLink, ProgramLink.mediator_id == outsider.id) == 3
    assert count(session, Event, Event.action == "organisation.mediator_linked") == 2
    names = [row.mediator.name for row in dashboard_rows(session, world.academy, world.today)]
    assert "Otto Outsider" in names


@pytest.mark.parametrize(
    ("reference", "given", "refusal"),
    [
        ("MNOSUCHID22", {}, "No mediator has the public id or e-mail address"),
        ("nobody@example.org", {}, "No mediator has the public id or e-mail address"),
        ("outsider", {"program": "other"}, "Choose one of the programs of Mediation Academy"),
        ("outsider", {"program": 999999}, "Choose one of the programs of Mediation Academy"),
        ("outsider", {"days": 1}, "cannot be dated in the future"),
        ("nothing", {}, "Łukasz Nowak is already linked to CMTP program"),
    ],
)
def test_linking_refusals(ctx, session, world, reference, given, refusal):
    if reference in world.mediators:
        reference = world[reference].public_id
    values: dict[str, object] = {}
    if given.get("program") == "other":
        values["program_id"] = world.other_qap.id
    elif "program" in given:
        values["program_id"] = given["program"]
    if "days" in given:
        values["linked_on"] = world.today + timedelta(days=1)
    links = count(session, ProgramLink)
    with pytest.raises(services.OrganisationError, match=refusal):
        link_by_staff(session, world, reference, **values)
    assert count(session, ProgramLink) == links


def test_unlinking_and_its_refusal(ctx, session, world):
    mediator, staff = world["nothing"], staff_user(session)
    services.unlink_mediator_from_program(
        session,
        world.academy,
        program_id=world.cmtp.id,
        mediator=mediator,
        now=utcnow(),
        actor=staff,
    )
    assert count(session, ProgramLink, ProgramLink.mediator_id == mediator.id) == 0
    with pytest.raises(services.OrganisationError, match="Łukasz Nowak is not linked"):
        services.unlink_mediator_from_program(
            session,
            world.academy,
            program_id=world.cmtp.id,
            mediator=mediator,
            now=utcnow(),
            actor=staff,
        )
    with pytest.raises(services.OrganisationError, match="Choose one of the programs"):
        services.unlink_mediator_from_program(
            session,
            world.academy,
            program_id=world.other_qap.id,
            mediator=world["outsider"],
            now=utcnow(),
            actor=staff,
        )


def test_staff_pages_list_and_manage_an_organisation(client, session, world):
    sign_in(client, session, "root@example.org", [Role.ADMINISTRATOR])
    make_user(session, email="ada@academy.example", name="Ada Admin", roles=[Role.MEDIATOR])
    page = client.get("/staff/organisations").get_data(as_text=True)
    assert "Mediation Academy" in page and "Other Institute" in page
    detail = f"/staff/organisations/{world.academy.id}"
    response = post_form(
        client, f"{detail}/admins", {"email": "ada@academy.example"}, form_url=detail
    )
    assert response.status_code == 303 and response.headers["Location"] == detail
    page = client.get(detail).get_data(as_text=True)
    assert "Ada Admin (ada@academy.example) now administers Mediation Academy." in page
    outsider = world["outsider"]
    data = {"program_id": world.qap.id, "mediator": outsider.email, "linked_on": world.today}
    response = post_form(client, f"{detail}/links", data, form_url=detail)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Otto Outsider is linked to QAP program." in page
    unlink = f"{detail}/programs/{world.qap.id}/mediators/{outsider.public_id}/unlink"
    response = post_form(client, unlink, {}, form_url=detail)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Otto Outsider is no longer linked to that program." in page


def test_support_links_mediators_but_only_administrators_add_admins(client, session, world):
    sign_in(client, session, "support@example.org", [Role.SUPPORT])
    detail = f"/staff/organisations/{world.academy.id}"
    page = client.get(detail).get_data(as_text=True)
    assert "Add administrator" not in page and "Link mediator" in page
    response = post_form(client, f"{detail}/admins", {"email": "x@example.org"}, form_url=detail)
    assert response.status_code == 403
    data = {"program_id": world.qap.id, "mediator": "MNOSUCHID22", "linked_on": world.today}
    response = post_form(client, f"{detail}/links", data, form_url=detail)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "No mediator has the public id or e-mail address &#39;MNOSUCHID22&#39;." in page


def test_an_organisation_admin_cannot_use_the_staff_pages(client, session, world):
    admin_of(client, session, world.academy, "ada@academy.example")
    assert client.get("/staff/organisations").status_code == 403
    assert client.get(f"/staff/organisations/{world.academy.id}").status_code == 403


# -- Links made by recorded assessments and trainings --------------------------------------


def test_recording_assessments_and_trainings_links_the_programs(ctx, session, world):
    mediator, staff = make_mediator(session, name="Nina New"), staff_user(session)
    first = world.today - timedelta(days=90)
    assess(session, mediator, world.qap, first, world.today)
    assess(session, mediator, world.qap, world.today - timedelta(days=5), world.today)
    record_qualification(
        session,
        mediator,
        program_id=world.cmtp.id,
        completed_on=world.today - timedelta(days=200),
        today=world.today,
        now=utcnow(),
        actor=staff,
    )
    links = session.scalars(select(ProgramLink).where(ProgramLink.mediator_id == mediator.id))
    found = {(link.program_id, link.linked_on, link.linked_by_id) for link in links}
    assert found == {
        (world.qap.id, first, staff.id),
        (world.cmtp.id, world.today - timedelta(days=200), staff.id),
    }


def test_recording_keeps_an_earlier_staff_link(ctx, session, world):
    mediator = world["nothing"]  # linked by staff to the CMTP 50 days ago
    record_qualification(
        session,
        mediator,
        program_id=world.cmtp.id,
        completed_on=world.today,
        today=world.today,
        now=utcnow(),
        actor=staff_user(session),
    )
    link_row = session.get(ProgramLink, (world.cmtp.id, mediator.id))
    assert link_row.linked_on == world.today - timedelta(days=50)


def test_reminders_sent_at_once_are_held_to_the_limits_by_the_database(
    app, ctx, session, world, monkeypatch
):
    """Two requests that both read the counts before either wrote: the database refuses one."""
    monkeypatch.setitem(app.config, "ORGANISATION_REMINDERS_PER_DAY", 1)
    remind(session, world, "lapse_60", world.today)
    monkeypatch.setattr(services, "last_reminder_day", lambda *_args: None)
    monkeypatch.setattr(services, "last_day_number", lambda *_args: 0)
    for key in ("lapse_60", "grace"):  # the same mediator again; another one past the limit
        with pytest.raises(services.OrganisationError, match="at the same moment"):
            remind(session, world, key, world.today)
    assert count(session, DashboardReminder) == 1 and outbox(session, world["grace"]) == []
    # The transaction stays usable: the next day's reminder goes out.
    remind(session, world, "grace", world.today + timedelta(days=1))
    assert count(session, DashboardReminder) == 2
