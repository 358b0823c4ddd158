"""Document requests, spot checks and confidential uploads: services, storage and pages."""

import hashlib
import io
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from audits.documents import services, storage
from audits.jobs import sweep_audits
from audits.models import Audit, AuditDocument, AuditStatus, DocumentRequest, RequestKind
from audits.services import AuditError
from registry.accounts.models import Role, User
from registry.clock import local_today
from registry.database import utcnow
from registry.events.models import Event
from registry.mail.models import OutboxMessage
from registry.mediators.models import Mediator, ProgramLink
from registry.organisations.models import Organisation, Program
from tests.audit_factories import (
    declare_and_assign,
    make_appraiser,
    make_audit,
    make_chair,
    make_organisation_admin,
)
from tests.conftest import post_form
from tests.factories import (
    PASSWORD,
    make_mediator,
    make_organisation,
    make_program,
    make_user,
    staff_user,
)

TODAY = date(2026, 3, 10)
DUE = TODAY + timedelta(days=21)
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def zipped(**members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            # A fixed date: the bytes (and so the test ids) are the same in every xdist worker.
            member = zipfile.ZipInfo(name.replace("__", "/"), date_time=(2026, 1, 1, 0, 0, 0))
            archive.writestr(member, content)
    return buffer.getvalue()


DOCX = zipped(**{"[Content_Types].xml": "<Types/>", "word__document.xml": "<w:document/>"})
XLSX = zipped(**{"[Content_Types].xml": "<Types/>", "xl__workbook.xml": "<workbook/>"})
ODT = zipped(mimetype="application/vnd.oasis.opendocument.text", content="<x/>")
ODS = zipped(mimetype="application/vnd.oasis.opendocument.spreadsheet", content="<x/>")


# -- Helpers -------------------------------------------------------------------------------


@dataclass
class World:
    audit: Audit
    program: Program
    organisation: Organisation
    chair: User
    appraiser: User
    pool: User
    admin: User
    second_admin: User
    other_admin: User
    staff: User
    mediator: Mediator
    unlinked: Mediator


@pytest.fixture(autouse=True)
def files(app, tmp_path, monkeypatch) -> Path:
    """Keep every test's uploads in its own folder (``app`` lives for the whole run)."""
    folder = tmp_path / "audit-files"
    monkeypatch.setitem(app.config, "AUDIT_FILES_DIR", str(folder))
    return folder


def build_world(session) -> World:
    organisation = make_organisation(session, name="Mediation Academy")
    program = make_program(session, organisation=organisation)
    audit = make_audit(session, program=program)
    chair = make_chair(session)
    appraiser = make_appraiser(session)
    declare_and_assign(session, audit, appraiser, chair=chair)
    mediator = make_mediator(session, name="Zoë Müller")
    session.add(ProgramLink(program_id=program.id, mediator_id=mediator.id, linked_on=TODAY))
    other = make_organisation(session, name="Elsewhere Institute")
    make_program(session, organisation=other)
    world = World(
        audit=audit,
        program=program,
        organisation=organisation,
        chair=chair,
        appraiser=appraiser,
        pool=make_appraiser(session, email="pool@example.org", name="Pia Pool"),
        admin=make_organisation_admin(session, organisation),
        second_admin=make_organisation_admin(session, organisation, email="two@academy.example"),
        other_admin=make_organisation_admin(session, other, email="admin@elsewhere.example"),
        staff=staff_user(session),
        mediator=mediator,
        unlinked=make_mediator(session, name="Una Unlinked"),
    )
    session.flush()
    return world


@pytest.fixture
def world(app, session) -> World:
    with app.app_context():
        return build_world(session)


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def mails_to(session, address):
    return session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == address).order_by(OutboxMessage.id)
    ).all()


def events(session, action):
    return session.scalars(select(Event).where(Event.action == action).order_by(Event.id)).all()


def stored_files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.exists() else []


def ask(session, world, *, actor=None, today=TODAY, **overrides):
    values = {
        "kind": RequestKind.DOCUMENTS.value,
        "title": "Assessment records 2025",
        "description": "The assessors' score sheets of every candidate assessed in 2025.",
        "due_on": today + timedelta(days=21),
        "mediator": None,
        **overrides,
    }
    return services.request_documents(
        session, world.audit, today=today, now=utcnow(), actor=actor or world.appraiser, **values
    )


def upload(session, request, actor, data=PDF, name="Score sheets.pdf"):
    file = FileStorage(stream=io.BytesIO(data), filename=name)
    return services.upload_document(session, request, file, now=utcnow(), actor=actor)


def set_status(session, audit, status: AuditStatus) -> None:
    audit.status = status
    audit.opened_on = None if status == AuditStatus.SCHEDULED else audit.due_on
    done = status == AuditStatus.COMPLETED
    audit.completed_on = TODAY if done else None
    audit.outcome = "renew" if done else None
    audit.signed_off_at = utcnow() if done else None
    session.flush()


# -- Asking --------------------------------------------------------------------------------


def test_an_appraiser_asks_and_every_organisation_admin_is_mailed(ctx, session, world):
    request = ask(session, world)
    assert request.audit_id == world.audit.id and request.kind == "documents"
    assert request.due_on == DUE and request.requested_by_id == world.appraiser.id
    assert request.answered_at is None and request.documents == []
    (event,) = events(session, "audit.documents_requested")
    assert event.data["request_id"] == request.id and event.data["due_on"] == DUE.isoformat()
    for address in (world.admin.email, world.second_admin.email):
        (mail,) = mails_to(session, address)
        assert "Assessment records 2025" in mail.body_text
        assert "score sheets of every candidate" in mail.body_text
        assert "31 March 2026" in mail.subject
        assert f"/audits/{world.audit.id}/requests" in mail.body_text
        assert "10 MB" in mail.body_text
    assert mails_to(session, world.other_admin.email) == []


def test_the_chair_asks_a_spot_check_of_a_linked_mediator(ctx, session, world):
    request = ask(session, world, actor=world.chair, kind="spot_check", mediator=world.mediator)
    assert request.kind == RequestKind.SPOT_CHECK and request.mediator_id == world.mediator.id
    (mail,) = mails_to(session, world.admin.email)
    assert mail.subject.startswith("Mediation Academy: a spot check")
    assert f"Mediator: Zoë Müller ({world.mediator.public_id})" in mail.body_text


@pytest.mark.parametrize("who", ["pool", "admin", "staff", "other chair", "other admin"])
def test_only_the_assigned_appraisers_and_the_chair_ask(ctx, session, world, who):
    actors = {
        "pool": world.pool,
        "admin": world.admin,
        "staff": world.staff,
        "other admin": world.other_admin,
    }
    actor = actors.get(who) or make_chair(session, "CMTP", email="cmtp@example.org")
    with pytest.raises(AuditError, match="Only the audit's assigned appraisers and the"):
        ask(session, world, actor=actor)
    assert count(session, DocumentRequest) == 0 and count(session, OutboxMessage) == 0


@pytest.mark.parametrize(
    ("status", "appraiser_may", "chair_may"),
    [
        (AuditStatus.SCHEDULED, False, False),
        (AuditStatus.OPEN, True, True),
        (AuditStatus.IN_PROGRESS, True, True),
        (AuditStatus.SUBMITTED, False, True),
        (AuditStatus.COMPLETED, False, False),
    ],
)
def test_who_may_ask_in_each_audit_status(ctx, session, world, status, appraiser_may, chair_may):
    set_status(session, world.audit, status)
    for actor, may in ((world.appraiser, appraiser_may), (world.chair, chair_may)):
        if may:
            assert ask(session, world, actor=actor).audit_id == world.audit.id
        else:
            with pytest.raises(AuditError, match=r"cannot be requested|only the chair"):
                ask(session, world, actor=actor)
    assert count(session, DocumentRequest) == appraiser_may + chair_may


@pytest.mark.parametrize(
    ("due_on", "message"),
    [
        (None, "Choose a due date."),
        (TODAY, "The due date must be after today."),
        (TODAY - timedelta(days=1), "The due date must be after today."),
        (TODAY + timedelta(days=181), "at most 180 days ahead \\(6 September 2026\\)"),
    ],
)
def test_the_due_date_lies_within_180_days_after_today(ctx, session, world, due_on, message):
    with pytest.raises(AuditError, match=message):
        ask(session, world, due_on=due_on)
    assert count(session, DocumentRequest) == 0
    assert events(session, "audit.documents_requested") == []


def test_the_due_date_may_be_tomorrow_or_180_days_ahead(ctx, session, world):
    for days in (1, 180):
        assert ask(session, world, due_on=TODAY + timedelta(days=days)).due_on


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"kind": "spot_check", "mediator": "unlinked"}, "Una Unlinked is not linked to"),
        ({"kind": "documents", "mediator": "linked"}, "Only a spot check names a mediator"),
        ({"kind": "inspection"}, "Choose a document request or a spot check."),
        ({"title": "  "}, "The title cannot be empty."),
        ({"title": "x" * 201}, "The title is 201 characters long; the limit is 200."),
        ({"description": ""}, "The description cannot be empty."),
    ],
)
def test_bad_requests_are_refused(ctx, session, world, overrides, message):
    chosen = {"linked": world.mediator, "unlinked": world.unlinked}
    if "mediator" in overrides:
        overrides = {**overrides, "mediator": chosen[overrides["mediator"]]}
    with pytest.raises(AuditError, match=message):
        ask(session, world, **overrides)
    assert count(session, DocumentRequest) == 0 and count(session, OutboxMessage) == 0


# -- Storing files -------------------------------------------------------------------------


def test_an_upload_is_stored_privately_under_a_random_name(app, ctx, session, world, files):
    request = ask(session, world)
    document = upload(session, request, world.admin, name="../../Prüfung Müller.pdf")
    assert document.original_name == "Prüfung Müller.pdf"
    assert document.content_type == "application/pdf" and document.size_bytes == len(PDF)
    assert document.sha256 == hashlib.sha256(PDF).hexdigest()
    assert len(document.storage_name) == 64 and int(document.storage_name, 16) >= 0
    (path,) = stored_files(files)
    assert path.name == document.storage_name and path.read_bytes() == PDF
    assert files.stat().st_mode & 0o077 == 0 and path.stat().st_mode & 0o077 == 0
    assert not path.resolve().is_relative_to(Path(app.static_folder).resolve())
    (event,) = events(session, "audit.document_uploaded")
    assert event.data["document_id"] == document.id and "Müller" not in str(event.data)
    assert count(session, OutboxMessage) == 2  # only the request's mails: uploads are quiet


def test_the_default_folder_is_in_the_instance_folder(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_FILES_DIR", "")
    assert storage.files_dir() == (Path(app.instance_path) / "audit-files").resolve()


def test_a_folder_inside_the_static_folder_is_refused(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_FILES_DIR", str(Path(app.static_folder) / "up"))
    with pytest.raises(RuntimeError, match="must not be inside the static folder"):
        storage.files_dir()
    assert not (Path(app.static_folder) / "up").exists()


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("scan.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "image/png"),
        ("photo.JPG", b"\xff\xd8\xff\xe0" + b"\x00" * 20, "image/jpeg"),
        ("photo.jpeg", b"\xff\xd8\xff\xdb" + b"\x00" * 20, "image/jpeg"),
        ("policy.docx", DOCX, "application/vnd.openxmlformats-officedocument."),
        ("marks.xlsx", XLSX, "application/vnd.openxmlformats-officedocument."),
        ("policy.odt", ODT, "application/vnd.oasis.opendocument.text"),
        ("marks.ods", ODS, "application/vnd.oasis.opendocument.spreadsheet"),
        ("notes.txt", "Prüfer: Åsa\n".encode(), "text/plain; charset=utf-8"),
        ("marks.csv", b"name,score\nA,5\n", "text/csv; charset=utf-8"),
    ],
)
def test_accepted_kinds(ctx, session, world, name, data, content_type):
    document = upload(session, ask(session, world), world.admin, data=data, name=name)
    assert document.content_type.startswith(content_type) and document.original_name == name


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("setup.exe", b"MZ\x90\x00", "“setup.exe” is not a kind of file accepted here"),
        ("report", PDF, "“report” is not a kind of file accepted here"),
        (
            "report.pdf",
            b"MZ\x90\x00 not a pdf",
            "The content of “report.pdf” does not match its type \\(PDF\\)",
        ),
        ("scan.png", PDF, "does not match its type \\(PNG\\)"),
        ("policy.docx", zipped(a="b"), "does not match its type \\(DOCX\\)"),
        ("policy.docx", b"PK\x03\x04 broken", "does not match its type \\(DOCX\\)"),
        ("policy.odt", ODS, "does not match its type \\(ODT\\)"),
        ("notes.txt", b"abc\x00def", "does not match its type \\(TXT\\)"),
        ("notes.txt", "Prüfer".encode("latin-1"), "does not match its type \\(TXT\\)"),
        ("empty.pdf", b"", "“empty.pdf” is empty."),
        ("...", PDF, "The file has no usable name"),
        ("", PDF, "The file has no usable name"),
    ],
)
def test_refused_files_leave_nothing(ctx, session, world, files, name, data, message):
    request = ask(session, world)
    with pytest.raises(AuditError, match=message):
        upload(session, request, world.admin, data=data, name=name)
    assert count(session, AuditDocument) == 0 and stored_files(files) == []
    assert events(session, "audit.document_uploaded") == []


def deflated(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            with archive.open(name, "w") as member:
                for start in range(0, len(content), 1 << 20):
                    member.write(content[start : start + (1 << 20)])
    return buffer.getvalue()


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    """A .docx of 300 KB whose document.xml expands to 300 MB of zeros."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as member:
            for _ in range(300):
                member.write(bytes(1 << 20))
    return buffer.getvalue()


def test_a_zip_bomb_is_refused(ctx, session, world, files, zip_bomb):
    assert len(zip_bomb) < 1024 * 1024
    with pytest.raises(AuditError, match=r"“bomb\.docx” would expand to more than 29\.2 MB"):
        upload(session, ask(session, world), world.admin, data=zip_bomb, name="bomb.docx")
    assert count(session, AuditDocument) == 0 and stored_files(files) == []


def test_an_archive_that_expands_too_far_for_its_size_is_refused(ctx, session, world):
    # 5 MB from about 5 KB: within the 100 MB cap, but a thousand times its size.
    data = deflated({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": bytes(5 << 20)})
    with pytest.raises(AuditError, match="would expand to more than"):
        upload(session, ask(session, world), world.admin, data=data, name="sheet.xlsx")


def test_an_archive_that_hides_its_size_is_refused(ctx, session, world):
    honest = deflated({"[Content_Types].xml": b"<Types/>", "word/document.xml": bytes(5 << 20)})
    # Rewrite the central directory's "uncompressed size" of document.xml to 100 bytes.
    directory = honest.rindex(b"PK\x01\x02")
    lying = bytearray(honest)
    lying[directory + 24 : directory + 28] = (100).to_bytes(4, "little")
    with pytest.raises(AuditError, match=r"“policy\.docx” is damaged"):
        upload(session, ask(session, world), world.admin, data=bytes(lying), name="policy.docx")


def test_an_ordinary_compressed_office_file_is_accepted(ctx, session, world):
    paragraphs = "".join(
        f"<w:p>Criterion {n}: met; evidence in file {n * 7919 % 10007}.</w:p>" for n in range(2000)
    )
    text = f"<w:document>{paragraphs}</w:document>".encode()
    data = deflated({"[Content_Types].xml": b"<Types/>", "word/document.xml": text})
    document = upload(session, ask(session, world), world.admin, data=data, name="policy.docx")
    assert document.size_bytes == len(data)


def test_a_file_over_the_limit_is_refused_with_the_limit(app, ctx, session, world, monkeypatch):
    request = ask(session, world)
    monkeypatch.setitem(app.config, "AUDIT_UPLOAD_MAX_BYTES", 2 * 1024 * 1024)
    big = PDF + b"0" * (2 * 1024 * 1024)
    with pytest.raises(AuditError, match=r"“big\.pdf” is larger than 2 MB, the limit\."):
        upload(session, request, world.admin, data=big, name="big.pdf")
    assert count(session, AuditDocument) == 0
    exact = PDF + b"0" * (2 * 1024 * 1024 - len(PDF))
    assert upload(session, request, world.admin, data=exact, name="exact.pdf").size_bytes == len(
        exact
    )


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("C:\\Users\\olga\\Score sheet.pdf", "Score sheet.pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("  .hidden.csv  ", "hidden.csv"),
        ('a<b>c:"d|e?*.pdf', "a b c d e .pdf"),
        ("line\nbreak\t.pdf", "line break .pdf"),
        ("Łukasz Żółć.docx", "Łukasz Żółć.docx"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
        ("/", ""),
        (None, ""),
    ],
)
def test_clean_name(raw, clean):
    assert storage.clean_name(raw) == clean


def test_a_failing_database_write_removes_the_file(ctx, session, world, files, monkeypatch):
    request = ask(session, world)

    def broken(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(services, "log_audit", broken)
    with pytest.raises(RuntimeError, match="database gone"):
        upload(session, request, world.admin)
    assert stored_files(files) == []


def test_a_rolled_back_upload_leaves_no_file_and_a_committed_one_stays(ctx, session, world, files):
    request = ask(session, world)
    session.commit()
    upload(session, request, world.admin, name="lost.pdf")
    assert len(stored_files(files)) == 1
    session.rollback()
    assert stored_files(files) == [] and count(session, AuditDocument) == 0
    kept = upload(session, request, world.admin, name="kept.pdf")
    session.commit()
    assert [path.name for path in stored_files(files)] == [kept.storage_name]


@pytest.mark.parametrize("who", ["appraiser", "chair", "other admin", "staff"])
def test_only_the_organisation_uploads(ctx, session, world, files, who):
    request = ask(session, world)
    actor = {
        "appraiser": world.appraiser,
        "chair": world.chair,
        "other admin": world.other_admin,
        "staff": world.staff,
    }[who]
    with pytest.raises(AuditError, match="Only an administrator of the program's organisation"):
        upload(session, request, actor)
    assert count(session, AuditDocument) == 0 and stored_files(files) == []


def test_no_upload_to_an_answered_request_or_a_completed_audit(ctx, session, world, files):
    answered = ask(session, world)
    services.answer_request(
        session, answered, note="Sent by post.", now=utcnow(), actor=world.admin
    )
    with pytest.raises(AuditError, match=r"This request is already answered\."):
        upload(session, answered, world.admin)
    open_one = ask(session, world)
    set_status(session, world.audit, AuditStatus.COMPLETED)
    with pytest.raises(AuditError, match="The audit is completed: requests can no longer"):
        upload(session, open_one, world.admin)
    assert count(session, AuditDocument) == 0 and stored_files(files) == []


def test_a_request_takes_a_limited_number_of_files(ctx, session, world, files, monkeypatch):
    monkeypatch.setattr(services, "MAX_DOCUMENTS_PER_REQUEST", 2)
    request = ask(session, world)
    upload(session, request, world.admin)
    upload(session, request, world.admin)
    with pytest.raises(AuditError, match="A request takes at most 2 files"):
        upload(session, request, world.admin)
    assert count(session, AuditDocument) == 2 and len(stored_files(files)) == 2


# -- Answering -----------------------------------------------------------------------------


def test_answering_needs_a_file_or_a_note(ctx, session, world):
    request = ask(session, world)
    with pytest.raises(AuditError, match="Upload at least one file, or say in a note why"):
        services.answer_request(session, request, note="  ", now=utcnow(), actor=world.admin)
    assert request.answered_at is None and events(session, "audit.document_request_answered") == []


def test_answering_with_files_tells_the_appraisers(ctx, session, world):
    request = ask(session, world)
    upload(session, request, world.admin)
    upload(session, request, world.admin, name="More.pdf")
    services.answer_request(session, request, note="", now=utcnow(), actor=world.second_admin)
    assert request.answered_by_id == world.second_admin.id and request.answer_note == ""
    (mail,) = mails_to(session, world.appraiser.email)
    assert "“Assessment records 2025” answered" in mail.subject
    assert "with 2 files." in mail.body_text and "Score sheets" not in mail.body_text
    assert mails_to(session, world.chair.email) == []  # the appraiser asked, not the chair
    (event,) = events(session, "audit.document_request_answered")
    assert event.data == {"program_id": world.program.id, "request_id": request.id, "documents": 2}
    with pytest.raises(AuditError, match=r"This request is already answered\."):
        services.answer_request(session, request, note="again", now=utcnow(), actor=world.admin)


def test_answering_the_chairs_request_with_a_note_tells_the_chair_too(ctx, session, world):
    request = ask(session, world, actor=world.chair)
    services.answer_request(
        session, request, note="We keep no such records.", now=utcnow(), actor=world.admin
    )
    assert request.answer_note == "We keep no such records."
    for address in (world.chair.email, world.appraiser.email):
        (mail,) = mails_to(session, address)
        assert "with no file and a note." in mail.body_text
        assert "We keep no such records." not in mail.body_text


def test_only_the_organisation_answers(ctx, session, world):
    request = ask(session, world)
    for actor in (world.appraiser, world.other_admin, world.staff):
        with pytest.raises(AuditError, match="Only an administrator"):
            services.answer_request(session, request, note="Done.", now=utcnow(), actor=actor)
    assert request.answered_at is None


# -- The daily job -------------------------------------------------------------------------


def test_the_job_reminds_an_overdue_request_once(ctx, session, world):
    world.audit.due_on = date(2026, 12, 31)  # the audit itself is neither due soon nor overdue
    overdue = ask(session, world)
    answered = ask(session, world, title="Answered in time")
    services.answer_request(session, answered, note="Sent.", now=utcnow(), actor=world.admin)
    later = ask(session, world, title="Not due yet", due_on=TODAY + timedelta(days=60))
    before = len(mails_to(session, world.admin.email))
    day = DUE + timedelta(days=1)
    assert sweep_audits(session, DUE, utcnow())["requests_reminded"] == 0
    assert sweep_audits(session, day, utcnow())["requests_reminded"] == 1
    assert sweep_audits(session, day + timedelta(days=5), utcnow())["requests_reminded"] == 0
    session.expire_all()
    assert overdue.reminded_on == day and answered.reminded_on is None
    assert later.reminded_on is None
    (reminder,) = mails_to(session, world.admin.email)[before:]
    assert (
        "Assessment records 2025" in reminder.body_text
        and "Answered in time" not in reminder.body_text
    )


# -- Pages ---------------------------------------------------------------------------------


def sign_in(client, email):
    response = post_form(client, "/login", {"email": email, "password": PASSWORD})
    assert response.status_code in (302, 303), email


WHO = {
    "chair": lambda w: w.chair.email,
    "appraiser": lambda w: w.appraiser.email,
    "organisation": lambda w: w.admin.email,
    "staff": lambda w: w.staff.email,
    "pool": lambda w: w.pool.email,
    "other organisation": lambda w: w.other_admin.email,
}


def sign_in_as(client, session, world, who):
    """Sign in as ``who``: a standing on the audit, "mediator" (no audit role) or nobody."""
    if who == "mediator":
        make_user(session, email="med@example.org", roles=[Role.MEDIATOR])
        sign_in(client, "med@example.org")
    elif who != "nobody":
        sign_in(client, WHO[who](world))


@pytest.fixture
def asked(app, session, world):
    """A request of the world's audit with one PDF uploaded, made through the services."""
    with app.app_context():
        request = ask(session, world, today=local_today())
        document = upload(session, request, world.admin)
        session.commit()
    return request, document


def expected(status, who):
    """The status a standing gets, or the sign-in redirect for nobody and 403 for a mediator."""
    return {"nobody": 302, "mediator": 403}.get(who, status)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("chair", 200),
        ("appraiser", 200),
        ("organisation", 200),
        ("staff", 200),
        ("pool", 404),
        ("other organisation", 404),
        ("mediator", 403),
        ("nobody", 302),
    ],
)
def test_who_opens_the_requests_page(client, session, world, who, status):
    sign_in_as(client, session, world, who)
    response = client.get(f"/audits/{world.audit.id}/requests")
    assert response.status_code == status
    if who == "nobody":
        assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("chair", 200),
        ("appraiser", 200),
        ("organisation", 404),
        ("staff", 404),
        ("pool", 404),
        ("other organisation", 404),
        ("mediator", 403),
        ("nobody", 302),
    ],
)
def test_only_the_appraisers_and_the_chair_download(client, session, world, asked, who, status):
    _request, document = asked
    sign_in_as(client, session, world, who)
    response = client.get(f"/audits/{world.audit.id}/documents/{document.id}")
    assert response.status_code == status
    if status == 200:
        assert response.data == PDF
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert "Score sheets.pdf" in response.headers["Content-Disposition"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
    response.close()


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("notes.txt", "Prüfer: Åsa\n".encode(), "text/plain; charset=utf-8"),
        ("marks.csv", b"name,score\nA,5\n", "text/csv; charset=utf-8"),
        ("Score sheets.pdf", PDF, "application/pdf"),
    ],
)
def test_a_download_names_its_type_once(app, client, session, world, name, data, content_type):
    with app.app_context():
        request = ask(session, world, today=local_today())
        document = upload(session, request, world.admin, data, name)
        session.commit()
    sign_in_as(client, session, world, "appraiser")
    response = client.get(f"/audits/{world.audit.id}/documents/{document.id}")
    assert response.headers.getlist("Content-Type") == [content_type]
    assert response.data == data
    response.close()


def test_files_are_not_under_static(client, session, world, asked):
    _request, document = asked
    sign_in_as(client, session, world, "appraiser")
    for path in (document.storage_name, f"audit-files/{document.storage_name}"):
        assert client.get(f"/static/{path}").status_code == 404


@pytest.mark.parametrize("who", ["organisation", "staff", "pool", "other organisation"])
def test_only_askers_post_a_request(client, session, world, who):
    sign_in_as(client, session, world, who)
    data = {"kind": "documents", "title": "T", "description": "D", "due_on": "2099-01-01"}
    response = post_form(client, f"/audits/{world.audit.id}/requests", data, form_url="/account")
    assert response.status_code == 404
    assert count(session, DocumentRequest) == 0


@pytest.mark.parametrize("who", ["chair", "appraiser", "staff", "pool", "other organisation"])
def test_only_the_organisation_posts_files_and_answers(client, session, world, asked, files, who):
    request, _document = asked
    sign_in_as(client, session, world, who)
    base = f"/audits/{world.audit.id}/requests/{request.id}"
    data = {"file": (io.BytesIO(PDF), "more.pdf")}
    assert post_form(client, f"{base}/documents", data, form_url="/account").status_code == 404
    answer = post_form(client, f"{base}/answer", {"note": "x"}, form_url="/account")
    assert answer.status_code == 404
    assert count(session, AuditDocument) == 1 and len(stored_files(files)) == 1
    session.refresh(request)
    assert request.answered_at is None


def test_ids_of_another_audit_are_404(app, client, session, world, asked):
    request, document = asked
    with app.app_context():
        other = make_audit(session, program=make_program(session, organisation=world.organisation))
        declare_and_assign(session, other, world.appraiser, chair=world.chair)
    sign_in_as(client, session, world, "appraiser")
    assert client.get(f"/audits/{other.id}/documents/{document.id}").status_code == 404
    assert client.get(f"/audits/{world.audit.id}/documents/999999").status_code == 404
    client = app.test_client()
    sign_in_as(client, session, world, "organisation")
    base = f"/audits/{other.id}/requests/{request.id}"
    page = f"/audits/{world.audit.id}/requests"
    data = {"file": (io.BytesIO(PDF), "x.pdf")}
    assert post_form(client, f"{base}/documents", data, form_url=page).status_code == 404
    assert post_form(client, f"{base}/answer", {"note": "x"}, form_url=page).status_code == 404


def test_the_appraiser_sees_everything_and_a_prefilled_form(app, client, session, world, asked):
    _request, document = asked
    sign_in_as(client, session, world, "appraiser")
    html = client.get(f"/audits/{world.audit.id}/requests").get_data(as_text=True)
    with app.app_context():
        due = local_today() + timedelta(days=app.config["DOCUMENT_REQUEST_DAYS"])
    assert f'value="{due.isoformat()}"' in html
    assert f"Zoë Müller ({world.mediator.public_id})" in html and "Una Unlinked" not in html
    assert "Assessment records 2025" in html and "score sheets of every candidate" in html
    assert f'href="/audits/{world.audit.id}/documents/{document.id}"' in html
    assert "Score sheets.pdf" in html and "Alex Appraiser" in html


def test_the_organisation_sees_its_files_without_links_and_the_forms(client, session, world, asked):
    _request, document = asked
    sign_in_as(client, session, world, "organisation")
    html = client.get(f"/audits/{world.audit.id}/requests").get_data(as_text=True)
    assert "score sheets of every candidate" in html and "Score sheets.pdf" in html
    assert f"{len(PDF)} bytes" in html
    assert f"/documents/{document.id}" not in html
    assert 'enctype="multipart/form-data"' in html and "Mark as answered" in html
    assert "Send the request" not in html and "Open" in html


def test_staff_see_the_state_not_the_content(client, session, world, asked):
    sign_in_as(client, session, world, "staff")
    html = client.get(f"/audits/{world.audit.id}/requests").get_data(as_text=True)
    assert "Assessment records 2025" in html and "1 file received" in html
    assert "score sheets of every candidate" not in html and "Score sheets.pdf" not in html
    assert "Send the request" not in html and "Mark as answered" not in html


def test_an_overdue_request_is_marked(app, client, session, world):
    with app.app_context():
        ask(session, world, today=local_today() - timedelta(days=30))
    sign_in_as(client, session, world, "organisation")
    html = client.get(f"/audits/{world.audit.id}/requests").get_data(as_text=True)
    assert "status-struck" in html and "Overdue" in html


def test_asking_on_the_page(app, client, session, world):
    sign_in_as(client, session, world, "appraiser")
    page = f"/audits/{world.audit.id}/requests"
    with app.app_context():
        due = local_today() + timedelta(days=14)
    data = {
        "kind": "spot_check",
        "title": "File of Zoë Müller",
        "description": "Her complete assessment file.",
        "due_on": due.isoformat(),
        "mediator_id": str(world.mediator.id),
    }
    response = post_form(client, page, data)
    assert response.status_code == 303 and response.headers["Location"] == page
    html = client.get(page).get_data(as_text=True)
    assert "“File of Zoë Müller” is sent to Mediation Academy&#39;s administrators" in html
    request = session.scalars(select(DocumentRequest)).one()
    assert request.mediator_id == world.mediator.id and request.due_on == due
    assert len(mails_to(session, world.admin.email)) == 1


def test_a_document_request_ignores_the_hidden_mediator_choice(client, session, world):
    sign_in_as(client, session, world, "chair")
    page = f"/audits/{world.audit.id}/requests"
    data = {
        "kind": "documents",
        "title": "Complaints register",
        "description": "The register of complaints about the program since 2024.",
        "due_on": "2099-01-01",
        "mediator_id": str(world.mediator.id),  # left chosen, then hidden by "Document request"
    }
    assert post_form(client, page, data).status_code == 422  # the date is too far ahead
    data["due_on"] = (date.today() + timedelta(days=10)).isoformat()
    assert post_form(client, page, data).status_code == 303
    request = session.scalars(select(DocumentRequest)).one()
    assert request.kind == RequestKind.DOCUMENTS and request.mediator_id is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"due_on": "2001-01-01"}, "The due date must be after today."),
        ({"due_on": "soon"}, "Enter a date as YYYY-MM-DD, for example 2026-02-28."),
        ({"due_on": "2099-06-31"}, "2099-06-31 is an impossible date: June 2099 has 30 days."),
        ({"title": ""}, "Give the request a title."),
        ({"mediator_id": "999999"}, "Choose one of the program&#39;s linked mediators."),
    ],
)
def test_a_bad_request_on_the_page_keeps_the_input(client, session, world, change, message):
    sign_in_as(client, session, world, "chair")
    page = f"/audits/{world.audit.id}/requests"
    data = {
        "kind": "spot_check",
        "title": "File of Zoë Müller",
        "description": "Her complete assessment file, kept for the audit.",
        "due_on": "2099-01-01",
        "mediator_id": str(world.mediator.id),
        **change,
    }
    response = post_form(client, page, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    assert "Her complete assessment file, kept for the audit.</textarea>" in html
    assert count(session, DocumentRequest) == 0 and count(session, OutboxMessage) == 0


def test_uploading_and_answering_on_the_page(client, session, world, asked, files):
    request, _document = asked
    sign_in_as(client, session, world, "organisation")
    page = f"/audits/{world.audit.id}/requests"
    base = f"{page}/{request.id}"
    data = {"file": (io.BytesIO(b"name,score\nA,5\n"), "marks.csv")}
    response = post_form(client, f"{base}/documents", data, form_url=page)
    assert response.status_code == 303 and response.headers["Location"] == page
    assert "“marks.csv” is uploaded for “Assessment records 2025”." in client.get(page).get_data(
        as_text=True
    )
    assert count(session, AuditDocument) == 2 and len(stored_files(files)) == 2
    response = post_form(client, f"{base}/answer", {"note": "All there."}, form_url=page)
    assert response.status_code == 303
    html = client.get(page).get_data(as_text=True)
    assert "is marked as answered; the appraisers are told." in html
    assert "All there." in html and "Mark as answered" not in html
    session.refresh(request)
    assert request.answered_by_id == world.admin.id


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (None, None, "File: Choose a file to upload."),
        (b"MZ\x90", "tool.exe", "“tool.exe” is not a kind of file"),
        (b"hello", "fake.pdf", "The content of “fake.pdf” does not match its type (PDF)"),
        (b"", "blank.txt", "“blank.txt” is empty."),
        (PDF + b"0" * 2000, "big.pdf", "is larger than 1 KB, the limit."),
    ],
)
def test_a_refused_upload_on_the_page(
    app, client, session, world, files, monkeypatch, content, name, message
):
    with app.app_context():
        request = ask(session, world, today=local_today())
    monkeypatch.setitem(app.config, "AUDIT_UPLOAD_MAX_BYTES", 1024)
    sign_in_as(client, session, world, "organisation")
    page = f"/audits/{world.audit.id}/requests"
    data = {} if content is None else {"file": (io.BytesIO(content), name)}
    response = post_form(client, f"{page}/{request.id}/documents", data, form_url=page)
    assert response.status_code == 303
    assert message in client.get(page).get_data(as_text=True).replace("&#34;", '"')
    assert count(session, AuditDocument) == 0 and stored_files(files) == []


def test_a_body_over_the_request_limit_gets_413(app, client, session, world, files, monkeypatch):
    with app.app_context():
        request = ask(session, world, today=local_today())
    sign_in_as(client, session, world, "organisation")
    page = f"/audits/{world.audit.id}/requests"
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    data = {"file": (io.BytesIO(PDF + b"0" * 8192), "huge.pdf")}
    response = post_form(client, f"{page}/{request.id}/documents", data, form_url=page)
    assert response.status_code == 413 and "Too large" in response.get_data(as_text=True)
    assert count(session, AuditDocument) == 0 and stored_files(files) == []


def test_answering_without_anything_on_the_page_is_refused(app, client, session, world):
    with app.app_context():
        request = ask(session, world, today=local_today())
    sign_in_as(client, session, world, "organisation")
    page = f"/audits/{world.audit.id}/requests"
    post_form(client, f"{page}/{request.id}/answer", {"note": ""}, form_url=page)
    assert "Upload at least one file, or say in a note why" in client.get(page).get_data(
        as_text=True
    )
    session.refresh(request)
    assert request.answered_at is None
