"""The audit hub, the staff schedule and program pages, the public program page and the
organisation's audits page: who gets in, what each sees, and bad input."""

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select

from audits.models import Audit, AuditReport, AuditStatus, DocumentRequest
from registry.accounts.models import Role, User
from registry.clock import local_today
from registry.database import utcnow
from registry.events.models import Event
from registry.organisations.models import Organisation, Program
from tests.audit_factories import (
    declare_and_assign,
    make_appraiser,
    make_audit,
    make_chair,
    make_organisation_admin,
)
from tests.conftest import post_form
from tests.factories import PASSWORD, make_organisation, make_program, make_user, staff_user

SUMMARY = "The program assesses candidates consistently against published criteria."
CONDITIONS = "Publish the appeals procedure on the website within six months."
SECRET = "Assessor B marked two candidates without a second reader."  # strengths: confidential


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def sign_in(client, session, email, roles, name="Someone"):
    user = make_user(session, email=email, name=name, roles=roles)
    log_in(client, email)
    return user


def log_in(client, email):
    post_form(client, "/login", {"email": email, "password": PASSWORD})


def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def main_of(html):
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def complete(session, audit, on, outcome="renew", *, summary="", conditions="", signer=None):
    """Sign the audit off directly, with a report (the reports' services are another part's)."""
    signer = signer or staff_user(session)
    session.add(
        AuditReport(
            audit_id=audit.id,
            strengths=SECRET,
            weaknesses="Weak points, confidential.",
            summary=summary,
            recommendation=outcome,
            conditions=conditions,
            created_at=utcnow(),
            updated_at=utcnow(),
            updated_by_id=signer.id,
            submitted_at=utcnow(),
            submitted_by_id=signer.id,
        )
    )
    audit.status, audit.completed_on, audit.outcome = AuditStatus.COMPLETED, on, outcome
    audit.signed_off_at, audit.signed_off_by_id = utcnow(), signer.id
    session.flush()


@dataclass
class World:
    today: date
    academy: Organisation
    program: Program
    audit: Audit
    chair: User
    assigned: User
    pool: User
    admin: User
    other: Organisation
    other_program: Program


@pytest.fixture
def world(app, session):
    """A QAP program of the Academy under audit (one appraiser assigned, one more in the pool),
    and another organisation's program."""
    with app.app_context():
        today = local_today()
        academy = make_organisation(session, name="Mediation Academy")
        program = make_program(
            session, organisation=academy, recognised_on=today - timedelta(days=700)
        )
        audit = make_audit(
            session,
            program=program,
            status=AuditStatus.OPEN,
            due_on=today + timedelta(days=60),
            opened_on=today - timedelta(days=60),
        )
        chair = make_chair(session, "QAP")
        assigned = make_appraiser(session, "QAP", email="ada@example.org", name="Ada Appraiser")
        pool = make_appraiser(session, "QAP", email="pia@example.org", name="Pia Pool")
        declare_and_assign(session, audit, assigned, chair=chair)
        admin = make_organisation_admin(session, academy, email="admin@academy.example")
        other = make_organisation(session, name="Other Institute")
        other_program = make_program(
            session,
            program_type="CMTP",
            organisation=other,
            recognised_on=today - timedelta(days=100),
        )
        other_program.name = "Secret Other Training"
        session.flush()
    return World(today, academy, program, audit, chair, assigned, pool, admin, other, other_program)


# -- The audit hub ---------------------------------------------------------------------------

HUB_PEOPLE = {
    "chair": 200,
    "assigned appraiser": 200,
    "pool appraiser": 200,
    "organisation admin": 200,
    "support": 200,
    "executive director": 200,
    "another organisation's admin": 404,
    "another type's appraiser": 404,
    "committee member, not chair": 404,
    "mediator": 403,
    "peer reviewer": 403,
    "board member": 403,
}


def become(client, session, world, who):
    """Sign in as ``who`` (a key of HUB_PEOPLE)."""
    existing = {
        "chair": world.chair,
        "assigned appraiser": world.assigned,
        "pool appraiser": world.pool,
        "organisation admin": world.admin,
    }
    if who in existing:
        log_in(client, existing[who].email)
        return
    if who == "another organisation's admin":
        make_organisation_admin(session, world.other, email="otto@other.example")
        log_in(client, "otto@other.example")
        return
    if who == "another type's appraiser":
        make_appraiser(session, "CMTP", email="cmtp@example.org")
        log_in(client, "cmtp@example.org")
        return
    roles = {
        "support": [Role.SUPPORT],
        "executive director": [Role.EXECUTIVE_DIRECTOR],
        "committee member, not chair": [Role.COMMITTEE_MEMBER],
        "mediator": [Role.MEDIATOR],
        "peer reviewer": [Role.PEER_REVIEWER],
        "board member": [Role.BOARD_MEMBER],
    }[who]
    sign_in(client, session, "someone@example.org", roles)


@pytest.mark.parametrize(("who", "status"), list(HUB_PEOPLE.items()))
def test_the_hub_lets_in_each_standing(client, session, world, who, status):
    become(client, session, world, who)
    html = page(client, f"/audits/{world.audit.id}", status)
    if status == 200:
        assert "Audit of QAP program" in html and "Mediation Academy" in html
    else:
        assert "Mediation Academy" not in html


def test_strangers_are_sent_to_sign_in_and_missing_audits_are_404(client, session, world):
    response = client.get(f"/audits/{world.audit.id}")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    become(client, session, world, "support")
    page(client, "/audits/999999", 404)


@pytest.mark.parametrize("who", ["chair", "assigned appraiser", "support"])
def test_chair_appraisers_and_staff_see_who_is_assigned(client, session, world, who):
    become(client, session, world, who)
    html = main_of(page(client, f"/audits/{world.audit.id}"))
    assert "Ada Appraiser" in html and "Chris Chair" in html
    assert "Open: appraisers being assigned" in html or "In progress" in html
    assert f"/audits/{world.audit.id}/appraisers" in html
    assert f"/audits/{world.audit.id}/requests" in html


def test_the_report_link_is_for_the_chair_and_the_appraisers(client, session, world):
    become(client, session, world, "chair")
    assert f"/audits/{world.audit.id}/report" in page(client, f"/audits/{world.audit.id}")
    post_form(client, "/logout", {}, form_url="/account")
    become(client, session, world, "support")
    assert f"/audits/{world.audit.id}/report" not in page(client, f"/audits/{world.audit.id}")


def test_a_pool_appraiser_sees_only_the_name_and_dates(client, session, world):
    world.audit.reminded_on = world.audit.opened_on
    session.flush()
    become(client, session, world, "pool appraiser")
    html = main_of(page(client, f"/audits/{world.audit.id}"))
    assert "Opened" in html and "Reminded" not in html  # how far the work got is not theirs
    assert "Mediation Academy" in html and "QAP program" in html
    assert world.audit.due_on.strftime("%-d %B %Y") in html
    assert "Ada Appraiser" not in html and "Chris Chair" not in html
    assert "In progress" not in html
    assert f"/audits/{world.audit.id}/appraisers" in html
    assert "declare whether you have a conflict" in html
    assert f"/audits/{world.audit.id}/requests" not in html
    assert f"/audits/{world.audit.id}/report" not in html


def test_the_organisation_sees_its_schedule_but_not_who_appraises(client, session, world):
    become(client, session, world, "organisation admin")
    html = main_of(page(client, f"/audits/{world.audit.id}"))
    assert "Ada Appraiser" not in html and "Chris Chair" not in html
    assert f"/audits/{world.audit.id}/requests" in html
    assert f"/audits/{world.audit.id}/appraisers" not in html
    assert f"/audits/{world.audit.id}/report" not in html
    assert "once the chair signs the report off" in html


def test_after_sign_off_the_organisation_gets_the_outcome_link(client, session, world):
    complete(session, world.audit, world.today, summary=SUMMARY, signer=world.chair)
    become(client, session, world, "organisation admin")
    html = main_of(page(client, f"/audits/{world.audit.id}"))
    assert f"/audits/{world.audit.id}/report" in html and "Outcome and summary" in html
    assert "Renew" in html and SECRET not in html and SUMMARY not in html


def test_the_hub_shows_the_timeline_and_the_overdue_marker(client, session, world):
    audit = world.audit
    audit.due_on = world.today - timedelta(days=3)
    audit.reminded_on = world.today - timedelta(days=30)
    audit.overdue_marked_on = world.today - timedelta(days=2)
    session.flush()
    become(client, session, world, "support")
    html = main_of(page(client, f"/audits/{audit.id}"))
    for day in (audit.opened_on, audit.reminded_on, audit.overdue_marked_on):
        assert day.strftime("%-d %B %Y") in html
    assert "status-overdue" in html and "(overdue)" in html
    assert "Report submitted" not in html and "Signed off" not in html  # not happened yet


# -- The schedule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "status"),
    [
        ([Role.SUPPORT], 200),
        ([Role.EXECUTIVE_DIRECTOR], 200),
        ([Role.ADMINISTRATOR], 200),
        ([Role.COMMITTEE_MEMBER], 200),
        ([Role.APPRAISER], 403),
        ([Role.ORGANISATION_ADMIN], 403),
        ([Role.MEDIATOR], 403),
        ([Role.BOARD_MEMBER], 403),
    ],
)
def test_the_schedule_is_for_staff_and_the_committee(client, session, world, roles, status):
    sign_in(client, session, "someone@example.org", roles)
    page(client, "/staff/audits", status)


def test_the_schedule_sends_strangers_to_sign_in(client, session):
    response = client.get("/staff/audits")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.fixture
def schedule(world, session):
    """Three more programs: one overdue, one withdrawn, one recognised without a cycle."""
    today = world.today
    late = make_program(
        session, organisation=make_organisation(session, name="Late College"), program_type="QAP"
    )
    late.name = "Late QAP"
    make_audit(session, program=late, due_on=today - timedelta(days=10))
    gone = make_program(
        session, organisation=make_organisation(session, name="Gone School"), program_type="MAQAP"
    )
    gone.name, gone.withdrawn_on, gone.withdrawal_reason = "Gone MAQAP", today, "Closed down."
    session.flush()
    return late, gone


def test_the_schedule_lists_programs_by_due_date_with_counts(client, session, world, schedule):
    sign_in(client, session, "support@example.org", [Role.SUPPORT])
    html = main_of(page(client, "/staff/audits"))
    # Late (overdue) first, then the Academy's open audit, the other program, the withdrawn one.
    order = [html.index(name) for name in ("Late QAP", "QAP program", "Secret Other", "Gone")]
    assert order == sorted(order)
    assert 'Audit overdue <span class="tab-count">1</span>' in html
    assert 'Withdrawn <span class="tab-count">1</span>' in html
    assert 'All <span class="tab-count">4</span>' in html
    assert f"/audits/{world.audit.id}" in html
    assert f"/staff/programs/{world.program.id}" in html


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("status=overdue", ["Late QAP"], ["QAP program", "Gone MAQAP", "Secret Other"]),
        ("status=withdrawn", ["Gone MAQAP"], ["Late QAP", "Secret Other"]),
        ("type=CMTP", ["Secret Other"], ["Late QAP", "Gone MAQAP"]),
        ("type=QAP&status=under_audit", ["QAP program"], ["Late QAP", "Secret Other"]),
        ("type=ODRQAP", ["No program matches these filters."], ["Late QAP"]),
    ],
)
def test_the_schedule_filters(client, session, world, schedule, query, shown, hidden):
    sign_in(client, session, "support@example.org", [Role.SUPPORT])
    html = main_of(page(client, f"/staff/audits?{query}"))
    table = html.split("Public statuses", 1)[1]
    assert all(name in table for name in shown)
    assert not any(name in table for name in hidden)


@pytest.mark.parametrize(
    ("query", "message"),
    [("status=lost", "Unknown status"), ("type=XYZ", "Unknown program type &#39;XYZ&#39;")],
)
def test_the_schedule_refuses_unknown_filters(client, session, world, query, message):
    sign_in(client, session, "support@example.org", [Role.SUPPORT])
    assert message in page(client, f"/staff/audits?{query}", 400)


def test_a_committee_member_opens_only_the_hubs_of_the_types_they_chair(client, session, world):
    log_in(client, world.chair.email)
    html = main_of(page(client, "/staff/audits"))
    assert f"/audits/{world.audit.id}" in html
    other = make_audit(session, program=world.other_program, due_on=world.today)
    html = main_of(page(client, "/staff/audits"))
    assert f"/audits/{other.id}" not in html
    assert f"/programs/{world.other_program.id}" in html and "/staff/programs/" not in html


def test_the_schedule_takes_the_same_number_of_queries_for_more_programs(
    app, client, session, world
):
    sign_in(client, session, "support@example.org", [Role.SUPPORT])
    engine = app.extensions["db"].engine

    def statements() -> int:
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            page(client, "/staff/audits")
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    def add_programs(number: int) -> None:
        for n in range(number):
            organisation = make_organisation(session, name=f"Extra {number} {n}")
            program = make_program(session, organisation=organisation)
            make_audit(session, program=program, due_on=world.today + timedelta(days=n))
            done = make_audit(
                session,
                program=make_program(session, organisation=organisation),
                due_on=world.today,
            )
            complete(session, done, world.today)

    add_programs(1)
    before = statements()
    add_programs(5)
    assert statements() == before


# -- Staff: recording and withdrawing programs -----------------------------------------------


@pytest.mark.parametrize(
    ("roles", "status"),
    [([Role.ADMINISTRATOR], 200), ([Role.SUPPORT], 403), ([Role.COMMITTEE_MEMBER], 403)],
)
def test_only_administrators_record_programs(client, session, roles, status):
    sign_in(client, session, "someone@example.org", roles)
    page(client, "/staff/programs/new", status)


def program_data(organisation, **changes):
    data = {
        "organisation_id": str(organisation.id),
        "program_type": "ICQAP",
        "name": "Intercultural Assessment",
        "description": "Assesses intercultural competence.",
        "recognised_on": "2024-03-15",
    }
    return {**data, **changes}


def test_recording_a_program_schedules_its_first_audit(client, session, world):
    sign_in(client, session, "root@example.org", [Role.ADMINISTRATOR])
    response = post_form(client, "/staff/programs/new", program_data(world.academy))
    program = session.scalars(select(Program).where(Program.program_type == "ICQAP")).one()
    assert response.status_code == 303
    assert response.headers["Location"] == f"/staff/programs/{program.id}"
    audit = session.scalars(select(Audit).where(Audit.program_id == program.id)).one()
    assert audit.status == "scheduled" and audit.due_on == date(2026, 6, 30)
    html = page(client, response.headers["Location"])
    assert "Intercultural Assessment of Mediation Academy is recognised" in html
    assert "first audit is due on 30 June 2026" in html
    assert count(session, Event, Event.action == "program.recognised") == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"recognised_on": "FUTURE"}, "The recognition date cannot be in the future."),
        ({"recognised_on": "15/03/2024"}, "Enter a date as YYYY-MM-DD"),
        ({"recognised_on": "2023-02-29"}, "2023-02-29 is an impossible date"),
        ({"recognised_on": ""}, "Give the date of recognition"),
        ({"program_type": "XYZ"}, "Choose a known program type."),
        ({"program_type": ""}, "Choose a known program type."),
        ({"name": "   "}, "Give the program&#39;s name."),
        ({"name": "x" * 201}, "At most 200 characters."),
        ({"organisation_id": "0"}, "Choose an organisation from the list."),
        ({"organisation_id": "999999"}, "Choose an organisation from the list."),
    ],
)
def test_bad_programs_are_refused_with_the_reason(client, session, world, changes, message):
    if changes.get("recognised_on") == "FUTURE":
        changes = {"recognised_on": (world.today + timedelta(days=1)).isoformat()}
    sign_in(client, session, "root@example.org", [Role.ADMINISTRATOR])
    before = count(session, Program)
    response = post_form(client, "/staff/programs/new", program_data(world.academy, **changes))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(session, Program) == before


@pytest.mark.parametrize(
    ("roles", "status"),
    [
        ([Role.SUPPORT], 200),
        ([Role.EXECUTIVE_DIRECTOR], 200),
        ([Role.ADMINISTRATOR], 200),
        ([Role.COMMITTEE_MEMBER], 403),
        ([Role.ORGANISATION_ADMIN], 403),
    ],
)
def test_the_staff_program_page_is_for_staff(client, session, world, roles, status):
    sign_in(client, session, "someone@example.org", roles)
    page(client, f"/staff/programs/{world.program.id}", status)
    if status == 200:
        page(client, "/staff/programs/999999", 404)


def test_the_staff_program_page_shows_the_history_without_the_report(client, session, world):
    signer = staff_user(session)
    earlier = Audit(
        program=world.program,
        due_on=world.today - timedelta(days=700),
        status=AuditStatus.COMPLETED,
        scheduled_at=utcnow(),
        opened_on=world.today - timedelta(days=800),
        completed_on=world.today - timedelta(days=690),
        outcome="renew_with_conditions",
        signed_off_at=utcnow(),
        signed_off_by_id=signer.id,
    )
    session.add(earlier)
    session.flush()
    session.add(
        AuditReport(
            audit_id=earlier.id,
            strengths=SECRET,
            summary=SUMMARY,
            conditions=CONDITIONS,
            recommendation="renew_with_conditions",
            created_at=utcnow(),
            updated_at=utcnow(),
            updated_by_id=signer.id,
        )
    )
    session.flush()
    sign_in(client, session, "support@example.org", [Role.SUPPORT])
    html = main_of(page(client, f"/staff/programs/{world.program.id}"))
    assert "Renew with conditions" in html
    assert (world.today - timedelta(days=690)).strftime("%-d %B %Y") in html
    assert world.audit.due_on.strftime("%-d %B %Y") in html
    assert SUMMARY not in html and CONDITIONS not in html and SECRET not in html
    assert "Withdraw the recognition" not in html  # support cannot withdraw


def test_withdrawing_needs_a_reason_and_an_administrator(client, session, world):
    url = f"/staff/programs/{world.program.id}"
    sign_in(client, session, "support@example.org", [Role.SUPPORT])
    assert (
        post_form(client, f"{url}/withdraw", {"reason": "x"}, form_url="/account").status_code
        == 403
    )
    post_form(client, "/logout", {}, form_url="/account")
    sign_in(client, session, "root@example.org", [Role.ADMINISTRATOR])
    assert "Withdraw the recognition" in page(client, url)
    response = post_form(client, f"{url}/withdraw", {"reason": "  "}, form_url=url)
    assert response.status_code == 303 and response.headers["Location"] == url
    assert "Say why the recognition is withdrawn." in page(client, url)
    session.refresh(world.program)
    assert world.program.withdrawn_on is None
    response = post_form(client, f"{url}/withdraw", {"reason": "The program closed."}, form_url=url)
    assert response.status_code == 303
    html = page(client, url)
    assert "The recognition of QAP program is withdrawn" in html
    session.refresh(world.program)
    assert world.program.withdrawn_on == world.today
    assert world.program.withdrawal_reason == "The program closed."
    assert "Withdraw the recognition of" not in html
    response = post_form(client, f"{url}/withdraw", {"reason": "Again."}, form_url="/account")
    assert "already withdrawn" in page(client, response.headers["Location"])


# -- The public program page ------------------------------------------------------------------


def public_status_program(session, today, status):
    """Return a program whose public status on ``today`` is ``status``."""
    organisation = make_organisation(session, name=f"Org {status}")
    program = make_program(
        session, organisation=organisation, recognised_on=today - timedelta(days=100)
    )
    in_days = lambda days: today + timedelta(days=days)  # noqa: E731
    if status == "audit_due":
        make_audit(session, program=program, due_on=in_days(60))
    elif status == "under_audit":
        make_audit(session, program=program, status=AuditStatus.IN_PROGRESS, due_on=in_days(60))
    elif status == "overdue":
        make_audit(session, program=program, due_on=in_days(-5))
    elif status in ("with_conditions", "suspended", "recognised_after"):
        outcome = {"with_conditions": "renew_with_conditions", "suspended": "suspend"}.get(
            status, "renew"
        )
        done = make_audit(
            session, program=program, status=AuditStatus.SUBMITTED, due_on=in_days(-30)
        )
        complete(session, done, in_days(-40), outcome, summary=SUMMARY, conditions=CONDITIONS)
        make_audit(session, program=program, status=AuditStatus.SCHEDULED, due_on=in_days(600))
    elif status == "withdrawn":
        program.withdrawn_on, program.withdrawal_reason = in_days(-3), "A private reason."
        session.flush()
    return program


@pytest.mark.parametrize(
    ("status", "label", "explanation"),
    [
        ("recognised", "Recognised", "The program is recognised."),
        ("recognised_after", "Recognised", "The program is recognised."),
        ("audit_due", "Audit due", "two-yearly audit is due by"),
        ("under_audit", "Under audit", "Independent appraisers are auditing this program now."),
        ("overdue", "Audit overdue", "has not been completed yet"),
        (
            "with_conditions",
            "Recognised with conditions",
            "renewed the recognition with conditions",
        ),
        ("suspended", "Suspended", "is suspended after its last audit"),
        ("withdrawn", "Withdrawn", "was withdrawn on"),
    ],
)
def test_the_public_program_page_explains_each_status(
    client, session, world, status, label, explanation
):
    program = public_status_program(session, world.today, status)
    html = main_of(page(client, f"/programs/{program.id}"))
    assert f'status-{status.removesuffix("_after")}">{label}</span>' in html
    assert explanation in html
    assert program.organisation.name in html and "QAP" in html
    assert program.recognised_on.strftime("%-d %B %Y") in html
    for confidential in (SUMMARY, CONDITIONS, SECRET, "A private reason."):
        assert confidential not in html
    if status == "withdrawn":
        assert program.withdrawn_on.strftime("%-d %B %Y") in html
        assert "Next audit due" not in html
    else:
        assert "Next audit due" in html


def test_the_public_page_gives_the_month_of_the_last_audit_and_the_next_due_date(
    client, session, world
):
    program = public_status_program(session, world.today, "recognised_after")
    html = main_of(page(client, f"/programs/{program.id}"))
    completed = world.today - timedelta(days=40)
    assert (
        f'Last audit completed</dt><dd><time datetime="{completed:%Y-%m}">{completed:%B %Y}</time>'
        in html
    )
    assert (world.today + timedelta(days=600)).strftime("%-d %B %Y") in html


def test_the_public_page_of_a_missing_program_is_404(client, session):
    page(client, "/programs/999999", 404)


def test_the_organisation_profile_links_to_the_program_page(client, session, world):
    html = page(client, f"/organisations/{world.academy.id}")
    assert f"/programs/{world.program.id}" in html and "Under audit" in html


# -- The organisation's audits ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("organisation admin", 200),
        ("support", 200),
        ("another organisation's admin", 403),
        ("mediator", 403),
        ("chair", 403),
        ("pool appraiser", 403),
    ],
)
def test_the_organisation_page_is_for_its_admins_and_staff(client, session, world, who, status):
    become(client, session, world, who)
    page(client, f"/organisation/{world.academy.id}/audits", status)


def test_the_organisation_page_sends_strangers_to_sign_in_and_missing_is_404(
    client, session, world
):
    response = client.get(f"/organisation/{world.academy.id}/audits")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    become(client, session, world, "support")
    page(client, "/organisation/999999/audits", 404)


def add_request(session, audit, title, *, answered=False):
    requester = staff_user(session)
    session.add(
        DocumentRequest(
            audit_id=audit.id,
            kind="documents",
            title=title,
            description="Please send it.",
            due_on=audit.due_on,
            requested_at=utcnow(),
            requested_by_id=requester.id,
            answered_at=utcnow() if answered else None,
            answered_by_id=requester.id if answered else None,
        )
    )
    session.flush()


def test_the_organisation_sees_its_cycle_and_open_requests(client, session, world):
    add_request(session, world.audit, "Assessment rules")
    add_request(session, world.audit, "Assessor list")
    add_request(session, world.audit, "Annual report", answered=True)
    become(client, session, world, "organisation admin")
    html = main_of(page(client, f"/organisation/{world.academy.id}/audits"))
    assert "QAP program" in html and "Under audit" in html
    assert world.audit.due_on.strftime("%-d %B %Y") in html
    assert f'href="/audits/{world.audit.id}/requests">2 open requests</a>' in html
    assert "Ada Appraiser" not in html and "Chris Chair" not in html
    assert "No audit of Mediation Academy" in html
    assert "Secret Other Training" not in html


def test_the_outcome_and_summary_show_only_after_sign_off(client, session, world):
    draft = AuditReport(
        audit_id=world.audit.id,
        strengths=SECRET,
        summary="DRAFT SUMMARY NOT SIGNED OFF",
        recommendation="renew_with_conditions",
        conditions="DRAFT CONDITIONS",
        created_at=utcnow(),
        updated_at=utcnow(),
        updated_by_id=world.assigned.id,
    )
    session.add(draft)
    session.flush()
    become(client, session, world, "organisation admin")
    url = f"/organisation/{world.academy.id}/audits"
    html = main_of(page(client, url))
    assert "DRAFT" not in html and SECRET not in html
    session.delete(draft)
    session.flush()
    complete(
        session,
        world.audit,
        world.today,
        "renew_with_conditions",
        summary=SUMMARY,
        conditions=CONDITIONS,
        signer=world.chair,
    )
    html = main_of(page(client, url))
    assert "QAP program (QAP): Renew with conditions" in html
    assert SUMMARY in html and CONDITIONS in html
    assert SECRET not in html and "Weak points" not in html
    assert "Ada Appraiser" not in html and "Chris Chair" not in html
    assert world.today.strftime("%-d %B %Y") in html


def test_staff_see_outcomes_but_not_the_summary(client, session, world):
    complete(session, world.audit, world.today, summary=SUMMARY, signer=world.chair)
    become(client, session, world, "support")
    html = main_of(page(client, f"/organisation/{world.academy.id}/audits"))
    assert "QAP program (QAP): Renew" in html and SUMMARY not in html


def test_another_organisations_audits_never_show(client, session, world):
    other_audit = make_audit(session, program=world.other_program, due_on=world.today)
    complete(session, other_audit, world.today, summary="OTHER SUMMARY", signer=world.chair)
    become(client, session, world, "organisation admin")
    html = main_of(page(client, f"/organisation/{world.academy.id}/audits"))
    assert "OTHER SUMMARY" not in html and "Secret Other Training" not in html
    assert "Other Institute" not in html
    page(client, f"/organisation/{world.other.id}/audits", 403)
