"""The public complaint pages: filing (named, anonymous, attachments), the receipt, tracking."""

import hashlib
import html
import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from complaints import services
from complaints.jobs import purge_tracking
from complaints.models import (
    ClosedAs,
    Complaint,
    ComplaintAttachment,
    ComplaintEntry,
    EntryKind,
    Level,
    Status,
    Subject,
    Tracking,
)
from complaints.views import NO_MATCH, TRACKED
from registry.database import Base, utcnow
from registry.events.models import Event
from registry.mail.models import OutboxMessage
from tests.complaint_factories import DESCRIPTION, certified_mediator, make_handlers
from tests.conftest import csrf_token
from tests.factories import make_organisation, make_program

PDF = b"%PDF-1.7\n%test\n"
# A documentation address (RFC 5737), so that finding it anywhere can only mean it was stored.
ADDRESS = "203.0.113.77"
PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}


@pytest.fixture
def files(app, tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "complaint-files"
    monkeypatch.setitem(app.config, "COMPLAINT_FILES_DIR", str(folder))
    return folder


def stored_files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.exists() else []


def text_of(response) -> str:
    """Return a response's page as text, with HTML's character references read."""
    return html.unescape(response.get_data(as_text=True))


def count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def send(client: FlaskClient, url: str, data: dict, *, form_url: str | None = None):
    """POST ``data`` (files as (bytes, name) pairs, or lists of them) with a CSRF token."""
    fields = {"csrf_token": csrf_token(client, form_url or url)}
    for key, value in data.items():
        if isinstance(value, tuple):
            value = (io.BytesIO(value[0]), value[1])
        elif isinstance(value, list):
            value = [(io.BytesIO(content), name) for content, name in value]
        fields[key] = value
    return client.post(url, data=fields, content_type="multipart/form-data")


def intake(client: FlaskClient, **data: object):
    """File a complaint through the form: anonymous, about the registry, unless told otherwise."""
    form = {"subject": "registry", "description": DESCRIPTION, "identity": "anonymous", **data}
    return send(client, "/complaints/new", {k: v for k, v in form.items() if v is not None})


def receipt(response) -> tuple[str, str]:
    """Return the receipt code and secret shown on a receipt page."""
    text = text_of(response)
    code = re.search(r'id="receipt-code"[^>]*>([^<]+)<', text)
    secret = re.search(r'id="receipt-secret"[^>]*>([^<]+)<', text)
    assert code and secret, "no receipt on the page"
    return code.group(1), secret.group(1)


def only_complaint(session) -> Complaint:
    return session.scalars(sa.select(Complaint)).one()


def track(client: FlaskClient, code: str, secret: str):
    return send(client, "/complaints/track", {"receipt_code": code, "secret": secret})


def file_and_track(client: FlaskClient, **data: object) -> tuple[str, str]:
    response = intake(client, **data)
    assert response.status_code == 200, text_of(response)
    code, secret = receipt(response)
    assert track(client, code, secret).status_code == 303
    return code, secret


def tracked_page(client: FlaskClient) -> str:
    response = client.get("/complaints/tracked")
    assert response.status_code == 200
    return text_of(response)


def act(client: FlaskClient, action: str, data: dict):
    return send(client, f"/complaints/tracked/{action}", data, form_url="/complaints/tracked")


# -- The intake form -----------------------------------------------------------------------


def test_the_intake_form_explains_anonymity_limits_and_what_happens_next(client, session):
    response = client.get("/complaints/new")
    assert response.status_code == 200
    text = " ".join(text_of(response).split())
    for subject in Subject:
        assert subject.label in text
    assert "no name, no e-mail address and no network (IP) address" in text
    assert "you follow it only with the <strong>receipt code and secret</strong>" in text
    assert "Up to 5 files of at most 5 MB each: PDF, PNG, JPEG" in text
    assert "within 7 days and responds within 30 days" in text
    assert "the Appraisal Committee for programs and organisations" in text
    assert "the Governance Taskforce for the registry and anything else" in text
    assert "deleted 730 days after they close" in text
    assert 'enctype="multipart/form-data"' in text


# -- Filing --------------------------------------------------------------------------------


def test_a_named_complaint_shows_the_receipt_once_and_mails_the_code(client, session):
    response = intake(client, identity="named", name="Casey Complainant", email="Casey@Example.org")
    assert response.status_code == 200
    for header, value in PRIVATE_HEADERS.items():
        assert response.headers[header] == value
    code, secret = receipt(response)
    complaint = only_complaint(session)
    assert complaint.receipt_code == code and not complaint.is_anonymous
    assert (complaint.complainant_name, complaint.complainant_email) == (
        "Casey Complainant",
        "casey@example.org",
    )
    assert complaint.secret_hash == services.secret_hash(secret) != secret
    assert (complaint.level, complaint.status) == (Level.SUPPORT, Status.OPEN)
    assert "We sent the receipt code (not the secret) to" in text_of(response)
    mail = session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.to_address == "casey@example.org")
    ).one()
    assert code in mail.body_text and secret not in mail.body_text
    # The secret is shown on this page only: no stored row holds it.
    assert secret not in everything_stored(session)


def everything_stored(session) -> str:
    """Return every value in every table, as text."""
    values = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(sa.select(table)):
            values.extend(str(value) for value in row)
    return "\n".join(values)


def test_an_anonymous_complaint_keeps_no_identity_and_no_address(app, session):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ADDRESS
    # Typed in the named choice's fields, then anonymous chosen: the fields are dropped.
    response = intake(client, name="Whistle Blower", email="whistle@example.org")
    assert response.status_code == 200
    text = text_of(response)
    assert "You filed anonymously: no name, e-mail address or network address is kept" in text
    complaint = only_complaint(session)
    assert complaint.is_anonymous
    assert complaint.complainant_name is None and complaint.complainant_email is None
    events = session.scalars(sa.select(Event).where(Event.subject_type == "complaint")).all()
    assert [event.action for event in events] == ["complaint.filed"]
    assert all(event.actor_id is None for event in events)
    stored = everything_stored(session)
    for identifying in (ADDRESS, "Whistle Blower", "whistle@example.org"):
        assert identifying not in stored
    assert (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.to_address == "whistle@example.org")
        )
        == 0
    )


@pytest.mark.parametrize("by", ["certificate number", "profile id"])
def test_a_complaint_about_a_mediator_names_them(app, client, session, by):
    with app.app_context():
        mediator = certified_mediator(session)
    number = mediator.current_certification.certificate_number
    reference = f" {number.lower()} " if by == "certificate number" else mediator.public_id
    response = intake(client, subject="mediator", mediator_reference=reference)
    assert response.status_code == 200, text_of(response)
    complaint = only_complaint(session)
    assert complaint.mediator_id == mediator.id and complaint.is_conduct
    assert "The Discussion level (Support) acknowledges" in text_of(response)


@pytest.mark.parametrize("reference", ["", "MR-1999-0001", "MNOSUCHONE1", "\x00"])
def test_an_unknown_mediator_is_refused(app, client, session, reference):
    with app.app_context():
        certified_mediator(session)
    response = intake(client, subject="mediator", mediator_reference=reference)
    assert response.status_code == 422
    text = text_of(response)
    assert "The complaint is not filed yet: see the marked fields." in text
    assert "certificate number or profile id" in text
    assert count(session, Complaint) == 0


def test_a_complaint_names_a_program_or_an_organisation(client, session):
    organisation = make_organisation(session, name="Mediation Academy")
    program = make_program(session, organisation=organisation)
    page = text_of(client.get("/complaints/new"))
    assert f'value="p:{program.id}"' in page and f'value="o:{organisation.id}"' in page
    assert intake(client, subject="program", program=f"p:{program.id}").status_code == 200
    assert intake(client, subject="program", program=f"o:{organisation.id}").status_code == 200
    assert intake(client, subject="program", program="").status_code == 200
    rows = session.scalars(sa.select(Complaint).order_by(Complaint.id)).all()
    assert [(row.program_id, row.organisation_id) for row in rows] == [
        (program.id, organisation.id),
        (None, organisation.id),
        (None, None),
    ]
    response = intake(client, subject="program", program="p:999999")
    assert response.status_code == 422
    assert "Choose a program or organisation from the list." in text_of(response)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"description": ""}, "Describe your complaint."),
        ({"description": "Too short."}, "Write at least 20 and at most 10,000 characters."),
        ({"description": "x" * 10_001}, "Write at least 20 and at most 10,000 characters."),
        ({"subject": None}, "Choose what your complaint is about."),
        ({"subject": "weather"}, "Not a valid choice"),
        ({"identity": None}, "Choose whether to file with your name or anonymously."),
        ({"identity": "named", "email": "a@example.org"}, "Enter your name, or choose to"),
        ({"identity": "named", "name": "Casey"}, "Enter your e-mail address, so that we can"),
        ({"identity": "named", "name": "Casey", "email": "casey@"}, "Enter a valid e-mail"),
        ({"subject": "mediator"}, "Enter the mediator's certificate number or profile id."),
    ],
)
def test_bad_input_files_nothing(client, session, data, message):
    response = intake(client, **data)
    assert response.status_code == 422
    assert message in text_of(response)
    assert count(session, Complaint) == 0 and count(session, Event) == 0


def test_a_complaint_keeps_its_attachments(client, session, files):
    response = intake(client, attachments=[(PDF, "Letter.pdf"), (b"dates,what\n", "notes.csv")])
    assert response.status_code == 200, text_of(response)
    complaint = only_complaint(session)
    names = sorted(attachment.original_name for attachment in complaint.attachments)
    assert names == ["Letter.pdf", "notes.csv"]
    stored = {attachment.storage_name for attachment in complaint.attachments}
    assert {path.name for path in stored_files(files)} == stored
    pdf = next(a for a in complaint.attachments if a.original_name == "Letter.pdf")
    assert pdf.sha256 == hashlib.sha256(PDF).hexdigest() and pdf.content_type == "application/pdf"


@pytest.mark.parametrize(
    ("attachments", "message"),
    [
        ([(b"MZ\x90", "tool.exe")], "“tool.exe” is not a kind of file accepted here."),
        ([(b"hello", "fake.pdf")], "The content of “fake.pdf” does not match its type (PDF)"),
        ([(PDF, "fine.pdf"), (PDF + b"0" * 2000, "big.pdf")], "“big.pdf” is larger than 1 KB"),
        ([(PDF, f"{n}.pdf") for n in range(6)], "You attached 6 files; attach at most 5."),
    ],
)
def test_refused_attachments_file_nothing(
    app, client, session, files, monkeypatch, attachments, message
):
    monkeypatch.setitem(app.config, "COMPLAINT_UPLOAD_MAX_BYTES", 1024)
    response = intake(client, attachments=attachments)
    assert response.status_code == 422
    assert message in text_of(response)
    assert count(session, Complaint) == 0 and count(session, ComplaintAttachment) == 0
    assert stored_files(files) == []


def test_filing_is_rate_limited_and_refused_forms_do_not_count(app, client, session, monkeypatch):
    monkeypatch.setitem(app.config, "COMPLAINT_FILE_RATE_LIMIT", "2 per hour")
    assert [intake(client, description="").status_code for _ in range(3)] == [422] * 3
    assert [intake(client).status_code for _ in range(3)] == [200, 200, 429]
    limited = intake(client)
    assert "Too many complaints or replies were sent from your network" in text_of(limited)
    assert limited.headers["Cache-Control"] == "no-store"
    assert count(session, Complaint) == 2
    assert client.get("/complaints/new").status_code == 200  # reading the form stays open


# -- Tracking ------------------------------------------------------------------------------


def test_the_right_code_and_secret_open_the_complaint(client, session, files):
    response = intake(client, attachments=[(PDF, "Evidence.pdf")])
    code, secret = receipt(response)
    assert client.get("/complaints/track").status_code == 200
    # Case, spaces and dashes do not matter.
    opened = track(client, code.lower().replace("-", " "), secret.lower().replace("-", ""))
    assert opened.status_code == 303 and opened.headers["Location"] == "/complaints/tracked"
    with client.session_transaction() as cookie:
        token = cookie[TRACKED]
    # The cookie holds a random token; which complaint it opens is known only to the server.
    assert isinstance(token, str) and len(token) >= 43
    assert session.scalar(sa.select(Tracking.complaint_id)) == only_complaint(session).id
    page = client.get("/complaints/tracked")
    for header, value in PRIVATE_HEADERS.items():
        assert page.headers[header] == value
    text = text_of(page)
    assert f"Your complaint {code}" in text
    assert 'Support <span class="muted">(level 1 of 4)' in text
    assert "You filed the complaint; the Support level received it" in text
    assert DESCRIPTION in text and "Evidence.pdf" in text
    assert "Anonymous: no name, e-mail or network address is kept" in text
    assert "You can ask for escalation once the Support level has responded." in text


@pytest.mark.parametrize("wrong", ["code", "secret", "both"])
def test_a_wrong_code_or_secret_gets_one_answer(client, session, wrong):
    code, secret = receipt(intake(client))
    other = "CAAAA-AAAAA"
    attempt = {
        "code": (other, secret),
        "secret": (code, "AAAAA-AAAAA-AAAAA-AAAAA"),
        "both": (other, "AAAAA-AAAAA-AAAAA-AAAAA"),
    }[wrong]
    response = track(client, *attempt)
    assert response.status_code == 404
    text = text_of(response)
    assert NO_MATCH in text and secret not in text
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/complaints/tracked").headers["Location"] == "/complaints/track"


def test_tracking_is_rate_limited(app, client, session, monkeypatch):
    monkeypatch.setitem(app.config, "COMPLAINT_TRACK_RATE_LIMIT", "3 per minute")
    code, secret = receipt(intake(client))
    codes = [track(client, code, "WRONG-SECRET").status_code for _ in range(3)]
    limited = track(client, code, secret)  # even the right secret, once over the limit
    assert [*codes, limited.status_code] == [404, 404, 404, 429]
    assert "Too many attempts to open a complaint" in text_of(limited)
    for header, value in PRIVATE_HEADERS.items():
        assert limited.headers[header] == value


@pytest.mark.parametrize(
    ("code", "secret", "messages"),
    [
        ("", "", ["Enter the receipt code.", "Enter the secret."]),
        ("C2345-\x00", "ABC<script>", ["letters, digits and dashes only"] * 2),
    ],
)
def test_malformed_tracking_input_is_asked_again(client, session, code, secret, messages):
    response = track(client, code, secret)
    assert response.status_code == 422
    text = text_of(response)
    assert all(message in text for message in messages) and NO_MATCH not in text


@pytest.mark.parametrize(
    "path", ["/complaints/tracked", "/complaints/tracked/reply", "/complaints/tracked/escalate"]
)
def test_without_a_tracked_complaint_the_pages_ask_for_the_code(client, session, path):
    intake(client)
    if path == "/complaints/tracked":
        response = client.get(path)
    else:
        response = send(
            client, path, {"body": "Hello", "reason": "x"}, form_url="/complaints/track"
        )
    assert response.status_code == 303 and response.headers["Location"] == "/complaints/track"
    assert "Enter your receipt code and secret" in text_of(client.get("/complaints/track"))
    assert count(session, ComplaintEntry) == 1  # only the filing


def test_a_tracked_complaint_is_shown_for_an_hour(client, session):
    file_and_track(client)
    tracking = session.scalar(sa.select(Tracking))
    assert tracking.expires_at - tracking.opened_at == timedelta(hours=1)
    tracking.opened_at = utcnow() - timedelta(minutes=59)
    tracking.expires_at = utcnow() + timedelta(minutes=1)
    session.flush()
    assert client.get("/complaints/tracked").status_code == 200
    tracking.opened_at = utcnow() - timedelta(minutes=61)
    tracking.expires_at = utcnow() - timedelta(minutes=1)
    session.flush()
    assert client.get("/complaints/tracked").headers["Location"] == "/complaints/track"
    with client.session_transaction() as cookie:
        assert TRACKED not in cookie


def test_the_cookie_never_shows_which_complaint_it_opens(app, client, session):
    file_and_track(client)
    complaint = only_complaint(session)
    raw = client.get_cookie("session").value
    payload = app.session_interface.get_signing_serializer(app).loads(raw)
    # Only an opaque random token (the old cookie held {"id": complaint id, "at": time}).
    assert isinstance(payload[TRACKED], str) and len(payload[TRACKED]) >= 43
    assert payload[TRACKED] != str(complaint.id)
    assert set(payload) <= {TRACKED, "csrf_token", "_flashes", "_fresh"}


def test_forgetting_the_complaint_on_this_device(app, client, session):
    file_and_track(client)
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    assert copy.get("/complaints/tracked").status_code == 200
    response = send(client, "/complaints/tracked/forget", {}, form_url="/complaints/tracked")
    assert response.status_code == 303 and response.headers["Location"] == "/complaints/track"
    assert "This browser no longer shows your complaint." in text_of(
        client.get("/complaints/track")
    )
    assert client.get("/complaints/tracked").status_code == 303
    # A copy of the cookie taken before forgetting opens nothing either.
    assert copy.get("/complaints/tracked").headers["Location"] == "/complaints/track"
    assert count(session, Tracking) == 0


def test_expired_tracking_is_purged(app, client, session):
    file_and_track(client)
    file_and_track(app.test_client())
    expired = session.scalars(sa.select(Tracking)).first()
    expired.opened_at = utcnow() - timedelta(hours=2)
    expired.expires_at = utcnow() - timedelta(hours=1)
    session.flush()
    assert purge_tracking(session, date.today(), utcnow()) == {"purged": 1}
    assert count(session, Tracking) == 1


# -- The complainant's actions --------------------------------------------------------------


def test_the_timeline_names_levels_never_handlers(app, client, session):
    handlers = make_handlers(session)
    file_and_track(client)
    complaint = only_complaint(session)
    with app.app_context():
        services.acknowledge_complaint(session, complaint, actor=handlers.support, now=utcnow())
        services.send_message(
            session, complaint, body="Could you tell us the date?", actor=handlers.support,
            now=utcnow(),
        )  # fmt: skip
    text = tracked_page(client)
    assert "The Support level acknowledged it" in text
    assert "Message from the Support level" in text and "Could you tell us the date?" in text
    assert handlers.support.name not in text and handlers.support.email not in text


def test_a_reply_with_a_file_joins_the_timeline(client, session, files):
    file_and_track(client)
    response = act(
        client, "reply", {"body": "The date was 3 May.", "attachments": [(PDF, "May.pdf")]}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/complaints/tracked"
    text = tracked_page(client)
    assert "Your reply is added to the complaint." in text
    assert "The date was 3 May." in text and "May.pdf" in text
    reply = session.scalars(
        sa.select(ComplaintEntry).where(ComplaintEntry.kind == EntryKind.REPLY)
    ).one()
    assert reply.author_id is None
    assert [a.entry_id for a in only_complaint(session).attachments] == [reply.id]
    assert len(stored_files(files)) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"body": ""}, "Your reply: Write your reply."),
        ({"body": "Here.", "attachments": [(b"MZ", "x.exe")]}, "“x.exe” is not a kind of file"),
    ],
)
def test_a_refused_reply_changes_nothing_and_keeps_the_text(client, session, files, data, message):
    file_and_track(client)
    response = act(client, "reply", data)
    assert response.status_code == 422
    text = text_of(response)
    assert message in text
    if data["body"]:
        assert data["body"] in text
    assert count(session, ComplaintEntry) == 1 and stored_files(files) == []


def test_escalation_waits_for_a_response_then_moves_up_one_level(app, client, session):
    handlers = make_handlers(session)
    file_and_track(client)
    early = act(client, "escalate", {"reason": "Too slow."})
    assert early.status_code == 422
    assert "You can ask for escalation once the Support level has responded." in text_of(early)
    complaint = only_complaint(session)
    assert complaint.level == Level.SUPPORT
    with app.app_context():
        services.respond_to_complaint(
            session, complaint, body="We looked into it.", actor=handlers.support, now=utcnow()
        )
    page = tracked_page(client)
    assert "Escalate to the Executive Director level" in page
    assert "Response from the Support level" in page and "We looked into it." in page
    assert act(client, "escalate", {"reason": ""}).status_code == 422
    response = act(client, "escalate", {"reason": "The answer misses my point."})
    assert response.status_code == 303
    session.refresh(complaint)
    assert (complaint.level, complaint.status) == (Level.EXECUTIVE_DIRECTOR, Status.OPEN)
    text = tracked_page(client)
    assert "Your complaint moved up to the next level." in text
    assert "You asked for escalation; it moved up to Executive Director" in text
    assert "The answer misses my point." in text
    assert "Escalate to the" not in text


def test_the_board_is_the_last_level(app, client, session):
    handlers = make_handlers(session)
    file_and_track(client)
    complaint = only_complaint(session)
    with app.app_context():
        for level in (Level.SUPPORT, Level.EXECUTIVE_DIRECTOR, Level.COMMITTEE):
            services.escalate_complaint(
                session, complaint, reason="Up.", actor=handlers.of_level(level), now=utcnow()
            )
        services.respond_to_complaint(
            session, complaint, body="The Board's view.", actor=handlers.board, now=utcnow()
        )
    text = tracked_page(client)
    assert 'Board <span class="muted">(level 4 of 4)' in text
    assert "the Board's decision will be final" in text and "Escalate to the" not in text
    response = act(client, "escalate", {"reason": "Higher still."})
    assert response.status_code == 422
    assert "Your complaint is at the Board, the last level" in text_of(response)
    session.refresh(complaint)
    assert complaint.level == Level.BOARD


def test_withdrawing_needs_a_confirmation_and_closes_the_complaint(client, session):
    file_and_track(client)
    refused = act(client, "withdraw", {})
    assert refused.status_code == 422
    assert "Tick the box to confirm that you withdraw it." in text_of(refused)
    assert not only_complaint(session).is_closed
    assert act(client, "withdraw", {"confirm": "y"}).status_code == 303
    complaint = only_complaint(session)
    assert (complaint.status, complaint.closed_as) == (Status.CLOSED, ClosedAs.WITHDRAWN)
    text = tracked_page(client)
    assert "Your complaint is withdrawn and closed." in text
    assert "You withdrew the complaint" in text


def test_a_closed_complaint_refuses_replies(app, client, session):
    handlers = make_handlers(session)
    file_and_track(client)
    complaint = only_complaint(session)
    with app.app_context():
        services.resolve_complaint(
            session,
            complaint,
            outcome="We changed our answering times.",
            actor=handlers.support,
            now=utcnow(),
            today=utcnow().date(),
        )
    text = tracked_page(client)
    assert "This complaint is closed (resolved): it no longer takes replies" in text
    assert 'action="/complaints/tracked/reply"' not in text
    assert "The Support level resolved it" in text and "We changed our answering times." in text
    entries = count(session, ComplaintEntry)
    for action, data in [
        ("reply", {"body": "But wait."}),
        ("escalate", {"reason": "No."}),
        ("withdraw", {"confirm": "y"}),
    ]:
        response = act(client, action, data)
        assert response.status_code == 422
        assert "This complaint is closed (resolved); you can no longer" in text_of(response)
    assert count(session, ComplaintEntry) == entries


def test_a_conduct_complaint_reads_with_the_conduct_levels(app, client, session):
    with app.app_context():
        mediator = certified_mediator(session)
    file_and_track(client, subject="mediator", mediator_reference=mediator.public_id)
    text = tracked_page(client)
    assert 'Discussion <span class="muted">(level 1 of 4)' in text
    assert f"{Subject.MEDIATOR.label}: {mediator.name}" in text


def test_replies_are_rate_limited_like_filing(app, client, session, monkeypatch):
    monkeypatch.setitem(app.config, "COMPLAINT_FILE_RATE_LIMIT", "1 per hour")
    file_and_track(client)
    assert act(client, "reply", {"body": ""}).status_code == 422  # a refused reply is free
    assert act(client, "reply", {"body": "First."}).status_code == 303
    limited = act(client, "reply", {"body": "Second."})
    assert limited.status_code == 429
    assert "Too many complaints or replies" in text_of(limited)
    assert count(session, ComplaintEntry) == 2
