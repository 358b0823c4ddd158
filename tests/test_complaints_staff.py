"""The handlers' complaint pages: the queue per role, who may open a complaint (404 for anyone
else, administrators included), the event log entry of each view, every action through the
pages with their refusals, attachments, and the committees page with bad input."""

import html as html_lib
import io
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from werkzeug.datastructures import FileStorage

from complaints import services
from complaints.models import (
    Committee,
    CommitteeMember,
    Complaint,
    ComplaintEntry,
    Status,
    SubjectRoute,
)
from registry import i18n
from registry.accounts.models import Role
from registry.clock import local_today
from registry.database import utcnow
from registry.events.models import Event
from registry.mail import services as mail_services
from registry.mail.models import OutboxMessage
from registry.mediators.models import Certification, CertificationType
from registry.mediators.services import grant_certification
from tests.complaint_factories import (
    APPRAISAL_COMMITTEE,
    DESCRIPTION,
    GOVERNANCE_TASKFORCE,
    Handlers,
    at_level,
    file,
    make_handlers,
    make_member,
)
from tests.conftest import confirmation_page, csrf_token, post_form
from tests.factories import PASSWORD, grant, make_mediator, make_user, set_fees

PDF = b"%PDF-1.4 the contract"


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def sign_in(client, email):
    """Sign in as ``email`` (signing out whoever was signed in)."""
    client.delete_cookie("session")
    response = post_form(client, "/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 303, email


def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return html_lib.unescape(response.get_data(as_text=True))


def main_of(html):
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def section(html, heading_id):
    """Return the part of the page under the heading ``heading_id`` ("" if there is none)."""
    if f'id="{heading_id}"' not in html:
        return ""
    return html.split(f'id="{heading_id}"', 1)[1].split("</section>", 1)[0]


def views_of(session, complaint, action="complaint.viewed"):
    return session.scalars(
        select(Event)
        .where(Event.action == action, Event.subject_id == str(complaint.id))
        .order_by(Event.id)
    ).all()


@dataclass
class World:
    handlers: Handlers
    level1: Complaint  # open at Support, ten days: not acknowledged in time
    level2: Complaint  # acknowledged at the Executive Director
    level3: Complaint  # open at the Governance Taskforce (registry)
    program3: Complaint  # open at the Appraisal Committee (program)
    level4: Complaint  # responded at the Board (registry, through the Governance Taskforce)
    closed: Complaint  # resolved at Support yesterday
    anonymous: Complaint  # open at Support, anonymous, with a file


@pytest.fixture
def world(app, session):
    with app.app_context():
        handlers = make_handlers(session)
        level1 = file(session, description="The receipt of my fee never arrived, twice.").complaint
        level1.level_since = level1.filed_at = utcnow() - timedelta(days=10)
        closed = file(session).complaint
        services.resolve_complaint(
            session,
            closed,
            outcome="The receipt was sent again.",
            actor=handlers.support,
            now=utcnow(),
            today=local_today(),
        )
        upload = FileStorage(io.BytesIO(PDF), filename="contract.pdf")
        world = World(
            handlers=handlers,
            level1=level1,
            level2=at_level(session, handlers, 2, Status.ACKNOWLEDGED),
            level3=at_level(session, handlers, 3),
            program3=at_level(session, handlers, 3, subject="program"),
            level4=at_level(session, handlers, 4, Status.RESPONDED),
            closed=closed,
            anonymous=file(session, anonymous=True, uploads=[upload]).complaint,
        )
        session.flush()
    return world


# -- The queue -------------------------------------------------------------------------------

# Who sees which complaints where: at their levels, escalated past them, closed lately.
QUEUES = {
    "support": (
        {"level1", "anonymous"},
        {"level2", "level3", "program3", "level4"},
        {"closed"},
    ),
    "director": ({"level2"}, {"level3", "program3", "level4"}, set()),
    "governance": ({"level3"}, {"level4"}, set()),
    "appraisal": ({"program3"}, set(), set()),
    "board": ({"level4"}, set(), set()),
}
COMPLAINTS = ("level1", "level2", "level3", "program3", "level4", "closed", "anonymous")


def email_of(world, who):
    handlers = world.handlers
    return {
        "support": handlers.support.email,
        "director": handlers.director.email,
        "governance": handlers.members[GOVERNANCE_TASKFORCE].email,
        "appraisal": handlers.members[APPRAISAL_COMMITTEE].email,
        "board": handlers.board.email,
        "administrator": handlers.outsider.email,
    }[who]


@pytest.mark.parametrize("who", list(QUEUES))
def test_the_queue_shows_each_handler_their_complaints(client, session, world, who):
    sign_in(client, email_of(world, who))
    html = main_of(page(client, "/staff/complaints"))
    current, earlier, closed = QUEUES[who]
    parts = {
        "current": section(html, "current-heading"),
        "earlier": section(html, "earlier-heading"),
        "closed": section(html, "closed-heading"),
    }
    for name in COMPLAINTS:
        code = getattr(world, name).receipt_code
        expected = (
            "current"
            if name in current
            else "earlier"
            if name in earlier
            else "closed"
            if name in closed
            else None
        )
        for part, text in parts.items():
            assert (code in text) is (part == expected), (who, name, part)


def test_the_queue_counts_ages_and_overdue_markers(client, session, world):
    sign_in(client, world.handlers.support.email)
    html = main_of(page(client, "/staff/complaints"))
    counts = section(html, "counts-heading")
    assert "1 · Support (discussion)" in counts
    assert '<td data-label="Received"><div>2</div></td>' in counts
    assert '<td data-label="Acknowledged"><div>0</div></td>' in counts
    assert '<span class="status status-overdue">1</span>' in counts
    current = section(html, "current-heading")
    row = current.split(world.level1.receipt_code, 1)[1].split("</tr>", 1)[0]
    assert "Not acknowledged in time" in row and "10 days ago" in row
    assert '<td data-label="At this level" class="nowrap"><div>10 days</div>' in row
    other = current.split(world.anonymous.receipt_code, 1)[1].split("</tr>", 1)[0]
    assert "in time" not in other and "today" in other
    # The complaint's description is not in the queue.
    assert "fee never arrived" not in html


def test_the_board_sees_its_levels_counts(client, session, world):
    sign_in(client, world.handlers.board.email)
    counts = section(main_of(page(client, "/staff/complaints")), "counts-heading")
    assert "4 · Board (appeal)" in counts and "Support" not in counts
    assert '<td data-label="Responded"><div>1</div></td>' in counts


def test_a_committee_member_on_no_committee_handles_nothing(client, session, world):
    make_user(session, email="cm@example.org", roles=[Role.COMMITTEE_MEMBER])
    sign_in(client, "cm@example.org")
    html = main_of(page(client, "/staff/complaints"))
    assert "You handle no level" in html
    assert all(getattr(world, name).receipt_code not in html for name in COMPLAINTS)


@pytest.mark.parametrize(
    ("roles", "status"),
    [([Role.ADMINISTRATOR], 403), ([Role.MEDIATOR], 403), ([Role.APPRAISER], 403)],
)
def test_the_queue_is_for_handlers_only(client, session, world, roles, status):
    make_user(session, email="someone@example.org", roles=roles)
    sign_in(client, "someone@example.org")
    page(client, "/staff/complaints", status)


def test_strangers_are_sent_to_sign_in(client, session, world):
    for url in (
        "/staff/complaints",
        f"/staff/complaints/{world.level1.id}",
        "/staff/complaint-committees",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_the_queue_takes_the_same_number_of_queries_for_more_complaints(
    app, client, session, world
):
    sign_in(client, world.handlers.support.email)
    engine = app.extensions["db"].engine

    def statements() -> int:
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            page(client, "/staff/complaints")
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    before = statements()
    with app.app_context():
        for level in (1, 2, 3, 4):
            at_level(session, world.handlers, level, subject="program")
        services.withdraw_complaint(session, file(session).complaint, now=utcnow())
    assert statements() == before


# -- A complaint: who may open it, and the event log -------------------------------------

VIEWERS = [
    # (complaint, who, status)
    ("level1", "support", 200),
    ("level1", "director", 404),
    ("level1", "board", 404),
    ("level1", "administrator", 404),
    ("level3", "support", 200),
    ("level3", "director", 200),
    ("level3", "governance", 200),
    ("level3", "appraisal", 404),
    ("level3", "board", 404),
    ("level3", "administrator", 404),
    ("level4", "governance", 200),
    ("level4", "board", 200),
    ("level4", "appraisal", 404),
    ("closed", "support", 200),
    ("closed", "director", 404),
]


@pytest.mark.parametrize(("name", "who", "status"), VIEWERS)
def test_only_handlers_of_the_current_and_earlier_levels_open_a_complaint(
    client, session, world, name, who, status
):
    complaint = getattr(world, name)
    sign_in(client, email_of(world, who))
    html = page(client, f"/staff/complaints/{complaint.id}", status)
    if status == 200:
        assert f"<h1>Complaint {complaint.receipt_code}</h1>" in html
        assert complaint.description in html
    else:
        assert complaint.receipt_code not in html
    assert len(views_of(session, complaint)) == (1 if status == 200 else 0)


def test_a_missing_complaint_is_404_and_other_roles_403(client, session, world):
    sign_in(client, world.handlers.support.email)
    page(client, "/staff/complaints/999999", 404)
    make_user(session, email="med@example.org", roles=[Role.MEDIATOR])
    sign_in(client, "med@example.org")
    page(client, f"/staff/complaints/{world.level1.id}", 403)


def test_every_view_is_written_to_the_event_log(client, session, world):
    support = world.handlers.support
    sign_in(client, support.email)
    page(client, f"/staff/complaints/{world.level1.id}")
    page(client, f"/staff/complaints/{world.level1.id}")
    views = views_of(session, world.level1)
    assert len(views) == 2
    assert all(
        (v.actor_id, v.subject_type, v.data) == (support.id, "complaint", {"level": 1})
        for v in views
    )
    assert views_of(session, world.level2) == []
    assert "three" not in str(views[0].data)


def test_the_page_shows_the_complaint_and_the_timeline(client, session, world):
    sign_in(client, world.handlers.director.email)
    html = main_of(page(client, f"/staff/complaints/{world.level2.id}"))
    assert "Casey Complainant" in html and "casey@example.org" in html
    timeline = section(html, "timeline-heading")
    assert timeline.index("Filed") < timeline.index("Escalated") < timeline.index("Acknowledged")
    assert "Sam Support" in timeline and "Needs the next level." in timeline
    assert "Dana Director" in timeline
    assert "The complainant" in timeline  # who filed it
    assert "Acknowledge the complaint" not in html  # acknowledged already
    assert "Send the response" in html and "Escalate to level 3" in html
    assert "Record the final decision" not in html


def test_an_anonymous_complaint_and_its_files(client, session, world):
    sign_in(client, world.handlers.support.email)
    html = main_of(page(client, f"/staff/complaints/{world.anonymous.id}"))
    assert "Anonymous: no name, e-mail address or network address was kept." in html
    [attachment] = world.anonymous.attachments
    link = f"/staff/complaints/{world.anonymous.id}/attachments/{attachment.id}"
    assert link in section(html, "description-heading") and "contract.pdf" in html
    response = client.get(link)
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["Cache-Control"] == "no-store"
    response.close()
    [download] = views_of(session, world.anonymous, "complaint.attachment_downloaded")
    assert download.data == {"level": 1, "attachment_id": attachment.id}
    assert (
        client.get(f"/staff/complaints/{world.level1.id}/attachments/{attachment.id}").status_code
        == 404
    )


def test_files_are_not_served_to_outsiders(client, session, world):
    [attachment] = world.anonymous.attachments
    sign_in(client, world.handlers.director.email)
    url = f"/staff/complaints/{world.anonymous.id}/attachments/{attachment.id}"
    assert client.get(url).status_code == 404
    assert views_of(session, world.anonymous, "complaint.attachment_downloaded") == []


def test_someone_of_an_earlier_level_reads_without_forms(client, session, world):
    sign_in(client, world.handlers.support.email)
    html = main_of(page(client, f"/staff/complaints/{world.level3.id}"))
    assert 'id="act-heading"' not in html
    assert "Level 3 (Committee or taskforce) handles this complaint now" in html


# -- The actions -------------------------------------------------------------------------


def act(client, complaint, action, data=None):
    """POST ``action`` on the complaint; return the page it leads back to."""
    url = f"/staff/complaints/{complaint.id}"
    data = {**(data or {}), "confirmed": "1"}  # past the confirmation of a Board decision
    response = post_form(client, f"{url}/{action}", data, form_url=url)
    assert response.status_code == 303, (action, response.status_code)
    assert response.headers["Location"].endswith(url)
    return page(client, url)


def flashes(html):
    return html.split('class="flashes"', 1)[1].split("</div>", 1)[0] if "flashes" in html else ""


def test_support_carries_a_complaint_through_its_level(client, session, world):
    complaint = world.level1
    sign_in(client, world.handlers.support.email)
    html = act(client, complaint, "acknowledge")
    assert f"Complaint {complaint.receipt_code} is acknowledged; the complainant is told" in html
    html = act(client, complaint, "message", {"body": "Could you send the invoice number?"})
    assert "Your message is on the complaint's timeline" in flashes(html)
    html = act(client, complaint, "respond", {"body": "We sent the receipt again."})
    assert "The response is sent" in flashes(html)
    session.expire_all()
    assert complaint.status == Status.RESPONDED
    html = act(client, complaint, "escalate", {"reason": "The complainant needs a refund."})
    assert "is now at level 2 (Executive Director)" in flashes(html)
    session.expire_all()
    assert (complaint.level, complaint.status) == (2, Status.OPEN)
    kinds = session.scalars(
        select(ComplaintEntry.kind)
        .where(ComplaintEntry.complaint_id == complaint.id)
        .order_by(ComplaintEntry.id)
    ).all()
    assert kinds == ["filed", "acknowledged", "message", "responded", "escalated"]


def test_mail_to_a_complainant_keeps_the_language_the_complaint_was_filed_in(
    client, session, world, monkeypatch
):
    rendered = []  # (template, language it is written in, language of the request)
    render = mail_services.render_template

    def spy(template, **context):
        rendered.append((template, i18n.current_language(), i18n.select_locale()))
        return render(template, **context)

    monkeypatch.setattr(mail_services, "render_template", spy)
    address = "camille@example.org"
    form = {
        "csrf_token": csrf_token(client, "/fr/complaints/new"),
        "subject": "registry",
        "description": DESCRIPTION,
        "identity": "named",
        "name": "Camille Durand",
        "email": address,
    }
    assert client.post("/fr/complaints/new", data=form).status_code == 200
    complaint = session.scalars(
        select(Complaint).where(Complaint.complainant_email == address)
    ).one()
    assert complaint.locale == "fr"
    assert ("mail/complaint_filed.txt", "fr", "fr") in rendered
    assert mail_services.mail_languages(session, [address], complaint.locale) == {address: "fr"}

    # A handler acts on an English page: the complainant is still written to in French.
    rendered.clear()
    client.delete_cookie(i18n.LOCALE_COOKIE)
    sign_in(client, world.handlers.support.email)
    act(client, complaint, "acknowledge")
    assert rendered == [("mail/complaint_changed.txt", "fr", "en")]
    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == address).order_by(OutboxMessage.id)
    ).all()[-1]
    # Written in French, although the handler's page was English.
    assert message.subject == (
        f"Votre plainte {complaint.receipt_code}\u00a0: accusé de réception au niveau 1 (Support)"
    )


def test_a_level_resolves_and_the_board_decides(client, session, world):
    sign_in(client, world.handlers.director.email)
    html = act(client, world.level2, "resolve", {"outcome": "A refund is paid."})
    assert f"Complaint {world.level2.receipt_code} is resolved and closed." in flashes(html)
    assert "A refund is paid." in section(html, "outcome-heading")
    sign_in(client, world.handlers.board.email)
    decide_url = f"/staff/complaints/{world.level4.id}"
    response = post_form(
        client,
        f"{decide_url}/decide",
        {"decision": "The registry apologises."},
        form_url=decide_url,
    )
    confirmation_page(
        response,
        "Yes, record the decision",
        "Record the Board&#39;s decision?",
        "close the complaint for good",
        "The registry apologises.",  # carried to the confirming POST
    )
    session.expire_all()
    assert world.level4.closed_as is None
    html = act(client, world.level4, "decide", {"decision": "The registry apologises."})
    assert "closed for good" in flashes(html)
    session.expire_all()
    assert (world.level2.closed_as, world.level4.closed_as) == ("resolved", "decided")
    assert "Record the final decision" not in html


@pytest.mark.parametrize(
    ("who", "name", "action", "message"),
    [
        ("support", "level2", "acknowledge", "only its handlers can acknowledge it"),
        ("support", "level3", "escalate", "only its handlers can escalate it"),
        ("board", "level4", "escalate", "the Board's decision is final"),
        ("support", "level1", "decide", "Only the Board decides a complaint"),
        ("support", "closed", "message", "This complaint is closed"),
        ("director", "level2", "acknowledge", "already acknowledged"),
    ],
)
def test_refusals_are_flashed_and_change_nothing(
    client, session, world, who, name, action, message
):
    complaint = getattr(world, name)
    before = (complaint.level, complaint.status, len(complaint.entries))
    sign_in(client, email_of(world, who))
    data = {"body": "Hello.", "reason": "Up.", "decision": "Final.", "outcome": "Done."}
    html = act(client, complaint, action, data)
    assert message in flashes(html) and "flash-error" in html
    session.expire_all()
    assert (complaint.level, complaint.status, len(complaint.entries)) == before


@pytest.mark.parametrize(
    "action", ["acknowledge", "message", "respond", "resolve", "escalate", "decide"]
)
@pytest.mark.parametrize("who", ["director", "administrator"])
def test_people_who_cannot_read_a_complaint_get_404_for_every_action(
    client, session, world, who, action
):
    sign_in(client, email_of(world, who))
    url = f"/staff/complaints/{world.level1.id}/{action}"
    response = post_form(client, url, {"body": "x", "reason": "x"}, form_url="/account")
    assert response.status_code == 404
    session.expire_all()
    assert world.level1.status == Status.OPEN and len(world.level1.entries) == 1


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("message", {"body": "  "}, "Write the message."),
        ("respond", {}, "Write the response."),
        ("escalate", {"reason": ""}, "Say why the complaint goes to the next level."),
        ("resolve", {"outcome": "x" * 10_001}, "At most 10,000 characters."),
    ],
)
def test_bad_input_is_flashed(client, session, world, action, data, message):
    sign_in(client, world.handlers.support.email)
    html = act(client, world.level1, action, data)
    assert message in flashes(html)
    session.expire_all()
    assert world.level1.status == Status.OPEN and len(world.level1.entries) == 1


# -- The conduct process -------------------------------------------------------------------


@pytest.fixture
def conduct(app, session, world):
    """A complaint at assessment (level 3) about a mediator certified today (the pages act as
    of today)."""
    with app.app_context():
        set_fees(session)
        mediator = make_mediator(session, name="Maud Mediator")
        grant(session, mediator, on=local_today())
        complaint = at_level(
            session, world.handlers, 3, Status.ACKNOWLEDGED, subject="mediator", mediator=mediator
        )
    return complaint


def certification_of(session, complaint):
    session.expire_all()
    return session.scalars(
        select(Certification).where(Certification.mediator_id == complaint.mediator_id)
    ).one()


def test_the_assessment_form_asks_for_the_conduct_outcome(client, session, world, conduct):
    sign_in(client, world.handlers.members[1].email)
    html = main_of(page(client, f"/staff/complaints/{conduct.id}"))
    resolve = html.split("/resolve", 1)[1].split("</form>", 1)[0]
    assert "Outcome for the certification" in resolve and "Public reason" in resolve
    assert "Revoke the certification" in resolve
    # At the earlier levels, and on general complaints, a resolution has no conduct outcome.
    sign_in(client, world.handlers.director.email)
    html = main_of(page(client, f"/staff/complaints/{world.level2.id}"))
    assert "Written outcome" in html and "Outcome for the certification" not in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"outcome": "Assessed."}, "Choose what happens to the certification."),
        (
            {"outcome": "Assessed.", "conduct_outcome": "suspend"},
            "Give the reason shown publicly",
        ),
        ({"outcome": "Assessed.", "conduct_outcome": "banish"}, "Not a valid choice"),
    ],
)
def test_a_conduct_outcome_needs_a_choice_and_a_public_reason(
    client, session, world, conduct, data, message
):
    sign_in(client, world.handlers.members[1].email)
    html = act(client, conduct, "resolve", data)
    assert message in flashes(html)
    assert certification_of(session, conduct).suspended_on is None
    assert conduct.status == Status.ACKNOWLEDGED


def test_the_assessment_suspends_a_certification(client, session, app, world, conduct):
    sign_in(client, world.handlers.members[1].email)
    reason = "Breach of confidentiality found by the Professional Conduct Committee."
    html = act(
        client,
        conduct,
        "resolve",
        {"outcome": "Suspended.", "conduct_outcome": "suspend", "public_reason": reason},
    )
    assert "Conduct outcome: suspend the certification." in flashes(html)
    certification = certification_of(session, conduct)
    with app.app_context():
        assert certification.suspended_on == local_today()
    assert certification.suspension_reason == reason
    assert conduct.conduct_outcome == "suspend"


def test_the_board_revokes_on_appeal(client, session, app, world, conduct):
    with app.app_context():
        services.escalate_complaint(
            session, conduct, reason="Appeal.", actor=world.handlers.members[1], now=utcnow()
        )
    sign_in(client, world.handlers.board.email)
    html = act(
        client,
        conduct,
        "decide",
        {"decision": "Revoked.", "conduct_outcome": "revoke", "public_reason": "Serious breach."},
    )
    assert "closed for good. Conduct outcome: revoke the certification." in flashes(html)
    with app.app_context():
        assert certification_of(session, conduct).revoked_on == local_today()


def test_for_a_dual_holder_the_form_asks_which_certification(client, session, app, world, conduct):
    with app.app_context():
        advocate = grant_certification(
            session,
            conduct.mediator,
            certification_type=CertificationType.ADVOCATE,
            granted_on=local_today(),
            today=local_today(),
            now=utcnow(),
            actor=None,
            check_prerequisites=False,
        )
        number = advocate.certificate_number
    sign_in(client, world.handlers.members[1].email)
    html = main_of(page(client, f"/staff/complaints/{conduct.id}"))
    resolve = html.split("/resolve", 1)[1].split("</form>", 1)[0]
    assert "Certification it applies to" in resolve
    assert f"Certified Mediation Advocate {number}" in resolve
    assert "All the certifications they hold" in resolve
    data = {"outcome": "Suspended.", "conduct_outcome": "suspend", "public_reason": "Breach."}
    assert "say which one the outcome applies to" in flashes(act(client, conduct, "resolve", data))
    act(client, conduct, "resolve", {**data, "conduct_certificate": number})
    session.expire_all()
    assert advocate.suspended_on is not None
    assert conduct.mediator.certifications[0].suspended_on is None


# -- Committees and routes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "status", "edits"),
    [
        ([Role.ADMINISTRATOR], 200, True),
        ([Role.SUPPORT], 200, False),
        ([Role.EXECUTIVE_DIRECTOR], 200, False),
        ([Role.COMMITTEE_MEMBER], 403, False),
        ([Role.BOARD_MEMBER], 403, False),
    ],
)
def test_the_committees_page_per_role(client, session, world, roles, status, edits):
    make_user(session, email="someone@example.org", roles=roles)
    sign_in(client, "someone@example.org")
    html = page(client, "/staff/complaint-committees", status)
    if status != 200:
        return
    html = main_of(html)
    for name in ("Professional Conduct Committee", "Appraisal Committee", "Governance Taskforce"):
        assert name in html
    assert "Morgan Member 3" in html
    routes = section(html, "routes-heading")
    assert "A certified mediator or mediation advocate" in routes
    assert ("Add a member" in html) is edits and ("Route</button>" in routes) is edits


@pytest.fixture
def admin(client, session, world):
    sign_in(client, world.handlers.outsider.email)
    return world.handlers.outsider


def committee_post(client, url, data):
    response = post_form(client, url, data, form_url="/staff/complaint-committees")
    assert response.status_code == 303, response.status_code
    return flashes(page(client, "/staff/complaint-committees"))


def test_an_administrator_adds_and_removes_members(client, session, world, admin):
    user = make_user(
        session, email="new@example.org", name="Nia New", roles=[Role.COMMITTEE_MEMBER]
    )
    url = f"/staff/complaint-committees/{APPRAISAL_COMMITTEE}/members"
    data = {f"member-{APPRAISAL_COMMITTEE}-email": "NEW@example.org"}
    assert "Nia New sits on the Appraisal Committee." in committee_post(client, url, data)
    assert session.get(CommitteeMember, (APPRAISAL_COMMITTEE, user.id)) is not None
    assert "Nia New already sits on the Appraisal Committee." in committee_post(client, url, data)
    remove = f"/staff/complaint-committees/{APPRAISAL_COMMITTEE}/members/{user.id}/remove"
    assert "Nia New no longer sits on the Appraisal Committee." in committee_post(
        client, remove, {}
    )
    assert session.get(CommitteeMember, (APPRAISAL_COMMITTEE, user.id)) is None
    assert "Nia New does not sit on the Appraisal Committee." in committee_post(client, remove, {})
    actions = session.scalars(
        select(Event.action).where(Event.subject_type == "complaint_committee")
    ).all()
    assert sorted(actions) == [
        "complaint_committee.member_added",
        "complaint_committee.member_removed",
    ]


@pytest.mark.parametrize(
    ("email", "roles", "message"),
    [
        ("nobody@example.org", None, "There is no account with the e-mail address"),
        ("not an address", None, "This is not an e-mail address."),
        ("", None, "Give the e-mail address of their account."),
        ("med@example.org", [Role.MEDIATOR], "is not a committee member"),
    ],
)
def test_adding_a_member_refusals(client, session, world, admin, email, roles, message):
    if roles:
        make_user(session, email=email, roles=roles)
    url = f"/staff/complaint-committees/{GOVERNANCE_TASKFORCE}/members"
    data = {f"member-{GOVERNANCE_TASKFORCE}-email": email}
    assert message in committee_post(client, url, data)
    assert (
        count(session, CommitteeMember, CommitteeMember.committee_id == GOVERNANCE_TASKFORCE) == 1
    )


def test_a_disabled_account_cannot_be_seated(client, session, world, admin):
    user = make_user(session, email="gone@example.org", roles=[Role.COMMITTEE_MEMBER])
    user.disabled_at = utcnow()
    session.flush()
    url = f"/staff/complaint-committees/{GOVERNANCE_TASKFORCE}/members"
    html = committee_post(client, url, {f"member-{GOVERNANCE_TASKFORCE}-email": user.email})
    assert "is disabled" in html


def test_creating_a_committee_and_routing_a_subject_to_it(client, session, world, admin):
    created = committee_post(
        client,
        "/staff/complaint-committees",
        {"new-name": "  Ethics   Panel ", "new-description": "Ethics complaints."},
    )
    assert "The Ethics Panel is created" in created
    panel = session.scalars(select(Committee).where(Committee.name == "Ethics Panel")).one()
    url = "/staff/complaint-committees/routes/other"
    message = committee_post(client, url, {"route-other-committee_id": str(panel.id)})
    assert (
        "Something else: complaints that reach the third level from now on go to the Ethics Panel."
        in message
    )
    session.expire_all()
    assert session.get(SubjectRoute, "other").committee_id == panel.id
    assert "already goes to the Ethics Panel" in committee_post(
        client, url, {"route-other-committee_id": str(panel.id)}
    )
    # A complaint already at the third level keeps its committee.
    assert world.level3.committee_id == GOVERNANCE_TASKFORCE


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "Give the committee a name."), ("appraisal committee", "There is already a committee")],
)
def test_creating_a_committee_refusals(client, session, world, admin, name, message):
    html = committee_post(client, "/staff/complaint-committees", {"new-name": name})
    assert message in html
    assert count(session, Committee) == 3


@pytest.mark.parametrize("value", ["", "999999", "abc"])
def test_routing_to_an_unknown_committee_is_refused(client, session, world, admin, value):
    url = "/staff/complaint-committees/routes/program"
    assert "Choose a committee or taskforce." in committee_post(
        client, url, {"route-program-committee_id": value}
    )
    session.expire_all()
    assert session.get(SubjectRoute, "program").committee_id == APPRAISAL_COMMITTEE


def test_unknown_subjects_and_committees_are_404(client, session, world, admin):
    for url in (
        "/staff/complaint-committees/routes/weather",
        "/staff/complaint-committees/999999/members",
        f"/staff/complaint-committees/{APPRAISAL_COMMITTEE}/members/999999/remove",
    ):
        response = post_form(client, url, {}, form_url="/staff/complaint-committees")
        assert response.status_code == 404, url


def test_only_administrators_change_committees(client, session, world):
    sign_in(client, world.handlers.support.email)
    for url in (
        "/staff/complaint-committees",
        f"/staff/complaint-committees/{APPRAISAL_COMMITTEE}/members",
        "/staff/complaint-committees/routes/other",
    ):
        response = post_form(client, url, {}, form_url="/staff/complaint-committees")
        assert response.status_code == 403, url


def test_a_committee_without_members_is_marked(client, session, world, admin):
    member = world.handlers.members[APPRAISAL_COMMITTEE]
    url = f"/staff/complaint-committees/{APPRAISAL_COMMITTEE}/members/{member.id}/remove"
    committee_post(client, url, {})
    html = page(client, "/staff/complaint-committees")
    appraisal = html.split(f'id="committee-{APPRAISAL_COMMITTEE}"', 1)[1].split("</section>", 1)[0]
    assert "No members" in appraisal and "1 open complaint at the third level" in appraisal
    # The member no longer reads the complaint routed there.
    sign_in(client, member.email)
    page(client, f"/staff/complaints/{world.program3.id}", 404)


def test_a_member_is_seated_then_reads_the_committees_complaints(client, session, world, admin):
    newcomer = make_member(session, APPRAISAL_COMMITTEE, email="late@example.org", name="Lee Late")
    sign_in(client, newcomer.email)
    html = page(client, f"/staff/complaints/{world.program3.id}")
    assert "Acknowledge the complaint" in html
