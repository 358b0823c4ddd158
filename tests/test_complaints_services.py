"""Complaint services: filing (named, anonymous, with files), tracking, visibility per role,
the conduct process on a mediator's certification, and what the complainant is told."""

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from werkzeug.datastructures import FileStorage

from complaints import access, services
from complaints.models import (
    ClosedAs,
    CommitteeMember,
    Complaint,
    ComplaintAttachment,
    ComplaintEntry,
    EntryKind,
    Level,
    Status,
    Subject,
    SubjectRoute,
)
from complaints.services import ComplaintError
from registry.accounts.models import Role
from registry.database import utcnow
from registry.events.models import Event
from registry.mail.models import OutboxMessage
from registry.mediators.models import CertificationType
from registry.mediators.models import Status as MediatorStatus
from registry.mediators.services import grant_certification
from registry.mediators.status import certification_standing, mediator_standing
from tests.complaint_factories import (
    APPRAISAL_COMMITTEE,
    CONDUCT_COMMITTEE,
    DESCRIPTION,
    GOVERNANCE_TASKFORCE,
    TODAY,
    Handlers,
    at_level,
    certified_mediator,
    escalate_to,
    file,
    make_handlers,
    make_member,
)
from tests.factories import make_mediator, make_organisation, make_program, make_user

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
CODE = re.compile(r"C[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{5}")


@pytest.fixture
def handlers(session, ctx) -> Handlers:
    return make_handlers(session)


@pytest.fixture
def files(app, tmp_path, monkeypatch) -> Path:
    """Complaint files go to a folder of this test."""
    folder = tmp_path / "complaint-files"
    monkeypatch.setitem(app.config, "COMPLAINT_FILES_DIR", str(folder))
    return folder


def upload(data: bytes = PDF, name: str = "Letter.pdf") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def events_of(session, complaint: Complaint) -> list[Event]:
    return list(
        session.scalars(
            select(Event)
            .where(Event.subject_type == "complaint", Event.subject_id == str(complaint.id))
            .order_by(Event.id)
        )
    )


def mails_to(session, address: str) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.to_address == address)
            .order_by(OutboxMessage.id)
        )
    )


# -- Filing --------------------------------------------------------------------------------


def test_filing_a_named_complaint(session, handlers):
    filed = file(session, name="  Casey Complainant ", email=" Casey@Example.org ")
    complaint = filed.complaint
    assert CODE.fullmatch(filed.receipt_code) and complaint.receipt_code == filed.receipt_code
    assert (complaint.complainant_name, complaint.complainant_email) == (
        "Casey Complainant",
        "casey@example.org",
    )
    assert (complaint.level, complaint.status, complaint.level_since) == (
        Level.SUPPORT,
        Status.OPEN,
        complaint.filed_at,
    )
    assert [entry.kind for entry in complaint.entries] == [EntryKind.FILED]
    # Only a hash of the secret is kept.
    assert filed.secret not in complaint.secret_hash
    assert len(complaint.secret_hash) == 64
    (event,) = events_of(session, complaint)
    assert (event.action, event.actor) == ("complaint.filed", None)
    assert "casey" not in f"{event.reason} {event.data}".lower()
    # The complainant gets the receipt code and the tracking link, never the secret.
    (receipt,) = mails_to(session, "casey@example.org")
    assert filed.receipt_code in receipt.subject + receipt.body_text
    assert "http://registry.test/complaints/track" in receipt.body_text
    assert filed.secret not in receipt.body_text
    # Support, the first level, is told; the other levels are not.
    (notice,) = mails_to(session, handlers.support.email)
    assert f"/staff/complaints/{complaint.id}" in notice.body_text
    assert DESCRIPTION not in notice.body_text
    assert mails_to(session, handlers.director.email) == []


def test_an_anonymous_complaint_keeps_no_identity(session, handlers):
    filed = file(session, anonymous=True)
    complaint = filed.complaint
    services.respond_to_complaint(
        session, complaint, body="Our answer.", actor=handlers.support, now=utcnow()
    )
    services.reply_to_complaint(session, complaint, body="Thank you.", now=utcnow())
    services.request_escalation(session, complaint, reason="Not enough.", now=utcnow())
    services.withdraw_complaint(session, complaint, now=utcnow())
    session.flush()
    row = session.execute(
        text(
            "SELECT is_anonymous, complainant_name, complainant_email"
            " FROM complaints WHERE id = :id"
        ),
        {"id": complaint.id},
    ).one()
    assert tuple(row) == (True, None, None)
    events = events_of(session, complaint)
    assert [event.action for event in events] == [
        "complaint.filed",
        "complaint.responded",
        "complaint.replied",
        "complaint.escalation_requested",
        "complaint.withdrawn",
    ]
    # The complainant's own actions have no actor; nothing written travels to the log.
    assert [event.actor for event in events] == [None, handlers.support, None, None, None]
    for event in events:
        logged = f"{event.reason} {event.data}"
        for written in (DESCRIPTION, "Our answer.", "Thank you.", "Not enough."):
            assert written not in logged
    # No address was kept, so nobody but the handlers was written to.
    staff = {user.email for user in (handlers.support, handlers.director)}
    assert {mail.to_address for mail in session.scalars(select(OutboxMessage))} <= staff


@pytest.mark.parametrize(("name", "email"), [("Casey", None), (None, "casey@example.org")])
def test_an_anonymous_complaint_refuses_a_name_or_address(session, handlers, name, email):
    with pytest.raises(ComplaintError, match="anonymous complaint keeps no name"):
        services.file_complaint(
            session,
            subject=Subject.REGISTRY,
            description=DESCRIPTION,
            is_anonymous=True,
            name=name,
            email=email,
            now=utcnow(),
        )
    assert count(session, Complaint) == 0


def about(session, what: str) -> dict:
    """The arguments naming what a complaint is about, for the refusal cases."""
    if what == "applicant":
        return {"mediator": make_mediator(session)}
    if what == "mediator":
        return {"mediator": certified_mediator(session)}
    if what == "program":
        return {"program": make_program(session)}
    if what == "foreign program":
        return {"program": make_program(session), "organisation": make_organisation(session)}
    return {}


REFUSED_FILINGS = [
    # (changes to a valid named complaint about the registry, what it names, the message)
    ({"subject": "weather"}, "", "Choose what the complaint is about"),
    ({"description": "Too short."}, "", "at least 20 characters"),
    ({"description": "x" * 10_001}, "", "the limit is 10000"),
    ({"name": "  "}, "", "Your name cannot be empty"),
    ({"email": ""}, "", "Give an e-mail address"),
    ({"email": "casey@"}, "", "not a valid e-mail address"),
    ({"subject": "mediator"}, "", "Choose the certified mediator"),
    ({"subject": "mediator"}, "applicant", "never been certified"),
    ({}, "mediator", "Only a complaint about a mediator"),
    ({}, "program", "Only a complaint about a program"),
    ({"subject": "program"}, "foreign program", "is not a program of"),
]


@pytest.mark.parametrize(("changes", "what", "message"), REFUSED_FILINGS)
def test_refused_filings_store_nothing(session, handlers, changes, what, message):
    arguments = {
        "subject": Subject.REGISTRY,
        "description": DESCRIPTION,
        "is_anonymous": False,
        "name": "Casey",
        "email": "casey@example.org",
        **about(session, what),
        **changes,
    }
    before = [count(session, model) for model in (Event, OutboxMessage)]
    with pytest.raises(ComplaintError, match=message):
        services.file_complaint(session, now=utcnow(), **arguments)
    assert count(session, Complaint) == 0
    assert [count(session, model) for model in (Event, OutboxMessage)] == before


def test_a_program_complaint_keeps_the_programs_organisation(session, handlers):
    program = make_program(session)
    complaint = file(session, Subject.PROGRAM, program=program).complaint
    assert (complaint.program, complaint.organisation) == (program, program.organisation)


def test_receipt_codes_are_unique(session, handlers):
    codes = {file(session).receipt_code for _ in range(20)}
    assert len(codes) == 20 and all(CODE.fullmatch(code) for code in codes)


# -- Attachments ---------------------------------------------------------------------------


def test_files_are_stored_with_the_complaint_and_replies(session, handlers, files):
    filed = file(session, uploads=[upload(), upload(b"Dates,Events\n", "Timeline.csv")])
    complaint = filed.complaint
    assert [a.original_name for a in complaint.attachments] == ["Letter.pdf", "Timeline.csv"]
    filed_entry = complaint.entries[0]
    assert {a.entry_id for a in complaint.attachments} == {filed_entry.id}
    assert (files / complaint.attachments[0].storage_name).read_bytes() == PDF
    # An empty file field of the form sends a nameless upload: it is no file.
    services.reply_to_complaint(
        session,
        complaint,
        body="The contract.",
        uploads=[upload(name="Contract.pdf"), FileStorage(io.BytesIO(b""), filename="")],
        now=utcnow(),
    )
    reply = complaint.entries[-1]
    assert reply.kind == EntryKind.REPLY
    assert [(a.original_name, a.entry_id) for a in complaint.attachments[2:]] == [
        ("Contract.pdf", reply.id)
    ]


@pytest.mark.parametrize(
    ("uploads", "message"),
    [
        ([(b"MZ not a pdf", "Letter.pdf")], "does not match its type"),
        ([(b"#!/bin/sh", "run.sh")], "not a kind of file accepted"),
        ([(PDF, f"Page {n}.pdf") for n in range(6)], "attach at most 5"),
        ([(PDF, "Letter.pdf"), (PDF * 10_000, "Huge.pdf")], "larger than"),
    ],
)
def test_refused_files_refuse_the_complaint(
    session, handlers, files, app, monkeypatch, uploads, message
):
    monkeypatch.setitem(app.config, "COMPLAINT_UPLOAD_MAX_BYTES", 100_000)
    with pytest.raises(ComplaintError, match=message):
        file(session, uploads=[upload(data, name) for data, name in uploads])
    assert count(session, Complaint) == count(session, ComplaintAttachment) == 0
    assert not files.exists() or list(files.iterdir()) == []


# -- Tracking ------------------------------------------------------------------------------


def test_tracking_opens_with_the_right_code_and_secret(session, handlers):
    filed = file(session)
    other = file(session)
    code, secret = filed.receipt_code, filed.secret
    assert services.find_tracked(session, code, secret) is filed.complaint
    # Codes and secrets are read forgivingly: case, spaces, dashes.
    loose_code = f" {code.lower().replace('-', ' ')} "
    assert services.find_tracked(session, loose_code, secret.lower()) is filed.complaint
    for wrong_code, wrong_secret in [
        (code, other.secret),  # another complaint's secret
        (code, secret[:-1] + ("A" if secret[-1] != "A" else "B")),
        (code, ""),
        ("CAAAA-AAAAA", secret),  # no such code
        (other.receipt_code, secret),
        ("", ""),
    ]:
        assert services.find_tracked(session, wrong_code, wrong_secret) is None


# -- Visibility ----------------------------------------------------------------------------

ROLES = ("support", "director", "conduct", "appraisal", "governance", "board", "outsider")


def person(handlers: Handlers, role: str):
    return {
        "support": handlers.support,
        "director": handlers.director,
        "conduct": handlers.members[CONDUCT_COMMITTEE],
        "appraisal": handlers.members[APPRAISAL_COMMITTEE],
        "governance": handlers.members[GOVERNANCE_TASKFORCE],
        "board": handlers.board,
        "outsider": handlers.outsider,
    }[role]


VISIBLE = {
    # A complaint about a program at each level: who reads it.
    1: {"support"},
    2: {"support", "director"},
    3: {"support", "director", "appraisal"},
    4: {"support", "director", "appraisal", "board"},
}


@pytest.mark.parametrize("level", tuple(Level))
def test_handlers_of_the_current_and_earlier_levels_read_a_complaint(session, handlers, level):
    complaint = at_level(session, handlers, level, subject=Subject.PROGRAM)
    for role in ROLES:
        user = person(handlers, role)
        assert access.can_view(session, user, complaint) == (role in VISIBLE[level]), role
        handles_now = role in VISIBLE[level] - VISIBLE.get(level - 1, set())
        assert access.can_handle(session, user, complaint) == handles_now, role
        listed = session.scalars(select(Complaint.id).where(access.viewable_by(session, user)))
        assert (complaint.id in set(listed)) == (role in VISIBLE[level]), role
        queued = session.scalars(select(Complaint.id).where(access.handled_now_by(session, user)))
        assert (complaint.id in set(queued)) == handles_now, role


def test_closed_complaints_stay_visible_to_their_handlers_only(session, handlers):
    complaint = at_level(session, handlers, Level.BOARD, subject=Subject.PROGRAM)
    services.decide_complaint(
        session, complaint, decision="Final.", actor=handlers.board, now=utcnow(), today=TODAY
    )
    assert access.can_view(session, handlers.board, complaint)
    assert not access.can_handle(session, handlers.board, complaint)
    assert not access.can_view(session, handlers.outsider, complaint)


def test_roles_alone_do_not_open_a_complaint(session, handlers):
    """An administrator who is also a committee member sees nothing of another committee."""
    complaint = at_level(session, handlers, Level.COMMITTEE, subject=Subject.REGISTRY)
    everything_but = make_user(
        session,
        email="many@registry.example",
        name="Many Hats",
        roles=[Role.ADMINISTRATOR, Role.COMMITTEE_MEMBER, Role.MEDIATOR],
    )
    assert not access.can_view(session, everything_but, complaint)
    make_member(session, APPRAISAL_COMMITTEE, email="second@registry.example", name="Second")
    # Sitting on the committee without the committee member role is not enough either.
    no_role = make_user(session, email="norole@registry.example", name="No Role", roles=[])
    session.add(CommitteeMember(committee_id=GOVERNANCE_TASKFORCE, user_id=no_role.id))
    session.flush()
    assert not access.can_view(session, no_role, complaint)


def test_a_disabled_account_handles_and_reads_nothing(session, handlers):
    complaint = at_level(session, handlers, Level.SUPPORT)
    handlers.support.disabled_at = utcnow()
    assert not access.can_view(session, handlers.support, complaint)
    assert access.handled_levels(session, handlers.support) == {}


def test_handled_levels_name_the_committees(session, handlers):
    assert access.handled_levels(session, handlers.support) == {1: None}
    assert access.handled_levels(session, handlers.members[APPRAISAL_COMMITTEE]) == {
        3: {APPRAISAL_COMMITTEE}
    }
    assert access.handled_levels(session, handlers.board) == {4: None}
    assert access.handled_levels(session, handlers.outsider) == {}
    chair = make_member(session, CONDUCT_COMMITTEE, email="both@registry.example", name="Both")
    session.add(CommitteeMember(committee_id=GOVERNANCE_TASKFORCE, user_id=chair.id))
    session.flush()
    assert access.handled_levels(session, chair) == {3: {CONDUCT_COMMITTEE, GOVERNANCE_TASKFORCE}}


# -- The chain -----------------------------------------------------------------------------


def test_a_complaint_climbs_to_a_final_board_decision(session, handlers):
    complaint = file(session, Subject.PROGRAM).complaint
    respond_at = utcnow()
    services.respond_to_complaint(
        session, complaint, body="Our answer.", actor=handlers.support, now=respond_at
    )
    # Responding acknowledges too.
    assert complaint.acknowledged_at == complaint.responded_at == respond_at
    moved_at = utcnow()
    services.request_escalation(session, complaint, reason="Unanswered.", now=moved_at)
    assert (complaint.level, complaint.status, complaint.level_since) == (2, Status.OPEN, moved_at)
    assert complaint.acknowledged_at is None and complaint.responded_at is None
    escalate_to(session, complaint, Level.BOARD, handlers)
    assert complaint.committee.name == "Appraisal Committee"
    services.decide_complaint(
        session,
        complaint,
        decision="The Board upholds the complaint.",
        actor=handlers.board,
        now=utcnow(),
        today=TODAY,
    )
    assert (complaint.status, complaint.closed_as, complaint.outcome) == (
        Status.CLOSED,
        ClosedAs.DECIDED,
        "The Board upholds the complaint.",
    )
    assert [(entry.kind, entry.level) for entry in complaint.entries] == [
        (EntryKind.FILED, 1),
        (EntryKind.RESPONDED, 1),
        (EntryKind.ESCALATION_REQUESTED, 1),
        (EntryKind.ESCALATED, 2),
        (EntryKind.ESCALATED, 3),
        (EntryKind.DECIDED, 4),
    ]
    assert [entry.author for entry in complaint.entries] == [
        None,
        handlers.support,
        None,
        handlers.director,
        handlers.members[APPRAISAL_COMMITTEE],
        handlers.board,
    ]


def test_escalation_tells_the_new_levels_handlers_only(session, handlers):
    complaint = at_level(session, handlers, Level.EXECUTIVE_DIRECTOR, subject=Subject.PROGRAM)
    before = {role: len(mails_to(session, person(handlers, role).email)) for role in ROLES}
    escalate_to(session, complaint, Level.COMMITTEE, handlers)
    told = {
        role
        for role in ROLES
        if len(mails_to(session, person(handlers, role).email)) > before[role]
    }
    assert told == {"appraisal"}
    (notice,) = mails_to(session, handlers.members[APPRAISAL_COMMITTEE].email)
    assert "escalated to level 3" in notice.body_text


def test_the_third_level_needs_a_route(session, handlers):
    complaint = at_level(session, handlers, Level.EXECUTIVE_DIRECTOR)
    session.delete(session.get(SubjectRoute, Subject.REGISTRY))
    session.flush()
    entries = count(session, ComplaintEntry)
    with pytest.raises(ComplaintError, match="No committee or taskforce is chosen"):
        services.escalate_complaint(
            session, complaint, reason="Next.", actor=handlers.director, now=utcnow()
        )
    session.expire_all()
    assert (complaint.level, complaint.committee_id) == (Level.EXECUTIVE_DIRECTOR, None)
    assert count(session, ComplaintEntry) == entries


def test_resolving_needs_a_written_outcome(session, handlers):
    complaint = at_level(session, handlers, Level.SUPPORT)
    with pytest.raises(ComplaintError, match="The outcome cannot be empty"):
        services.resolve_complaint(
            session, complaint, outcome="  ", actor=handlers.support, now=utcnow(), today=TODAY
        )
    with pytest.raises(ComplaintError, match="reason for escalating cannot be empty"):
        services.escalate_complaint(
            session, complaint, reason="", actor=handlers.support, now=utcnow()
        )
    assert complaint.status == Status.OPEN


# -- The conduct process -------------------------------------------------------------------


def conduct_complaint(session, handlers, level: int, mediator=None) -> Complaint:
    return at_level(session, handlers, level, subject=Subject.MEDIATOR, mediator=mediator)


def test_an_assessment_suspends_the_mediator_with_a_public_reason(session, handlers):
    complaint = conduct_complaint(session, handlers, Level.COMMITTEE)
    services.resolve_complaint(
        session,
        complaint,
        outcome="The committee found a breach of confidentiality.",
        actor=handlers.members[CONDUCT_COMMITTEE],
        now=utcnow(),
        today=TODAY,
        conduct_outcome="suspend",
        public_reason="Suspended after a conduct assessment: breach of confidentiality.",
    )
    assert (complaint.closed_as, complaint.conduct_outcome) == (ClosedAs.RESOLVED, "suspend")
    standing = mediator_standing(session, complaint.mediator, TODAY)
    assert (standing.status, standing.since) == (MediatorStatus.SUSPENDED, TODAY)
    assert standing.certification.suspension_reason == (
        "Suspended after a conduct assessment: breach of confidentiality."
    )
    logged = session.scalars(select(Event.action).where(Event.subject_type == "certification"))
    assert "certification.suspended" in set(logged)


def test_an_appeal_of_no_action_lifts_the_suspension(session, handlers):
    mediator = certified_mediator(session)
    assessed = conduct_complaint(session, handlers, Level.COMMITTEE, mediator=mediator)
    services.resolve_complaint(
        session,
        assessed,
        outcome="Suspended.",
        actor=handlers.members[CONDUCT_COMMITTEE],
        now=utcnow(),
        today=TODAY,
        conduct_outcome="suspend",
        public_reason="Suspended after a conduct assessment.",
    )
    appeal = conduct_complaint(session, handlers, Level.BOARD, mediator=mediator)
    assert appeal.level_label == "Appeal"
    later = TODAY + timedelta(days=10)
    services.decide_complaint(
        session,
        appeal,
        decision="On appeal, the Board finds no breach.",
        actor=handlers.board,
        now=utcnow(),
        today=later,
        conduct_outcome="no_action",
    )
    certification = mediator.current_certification
    assert certification.suspension_lifted_on == later
    assert mediator_standing(session, mediator, later).status == MediatorStatus.CERTIFIED
    assert mediator_standing(session, mediator, later - timedelta(days=1)).status == (
        MediatorStatus.SUSPENDED
    )


def test_a_board_revocation_on_appeal(session, handlers):
    complaint = conduct_complaint(session, handlers, Level.BOARD)
    services.decide_complaint(
        session,
        complaint,
        decision="Revoked.",
        actor=handlers.board,
        now=utcnow(),
        today=TODAY,
        conduct_outcome="revoke",
        public_reason="Revoked on appeal for repeated misconduct.",
    )
    certification = complaint.mediator.current_certification
    assert (certification.revoked_on, certification.revocation_reason) == (
        TODAY,
        "Revoked on appeal for repeated misconduct.",
    )
    assert mediator_standing(session, complaint.mediator, TODAY).status == MediatorStatus.REVOKED


# -- What the complainant is told ----------------------------------------------------------


def test_the_complainant_is_told_of_each_change_without_content(session, handlers):
    filed = file(session, Subject.PROGRAM)
    complaint, now = filed.complaint, utcnow()
    support = handlers.support
    services.acknowledge_complaint(session, complaint, actor=support, now=now)
    services.send_message(session, complaint, body="A private question.", actor=support, now=now)
    services.respond_to_complaint(
        session, complaint, body="A private answer.", actor=support, now=now
    )
    services.request_escalation(session, complaint, reason="My own reason.", now=now)
    services.resolve_complaint(
        session,
        complaint,
        outcome="A private outcome.",
        actor=handlers.director,
        now=now,
        today=TODAY,
    )
    mails = mails_to(session, "casey@example.org")
    assert [mail.subject.split(": ", 1)[1] for mail in mails[1:]] == [
        "it was acknowledged at level 1 (Support)",
        "you have a new message from level 1 (Support)",
        "it was answered at level 1 (Support)",
        "it moved up to level 2 (Executive Director)",
        "it was resolved at level 2 (Executive Director)",
    ]
    for mail in mails:
        assert filed.receipt_code in mail.subject
        assert "http://registry.test/complaints/track" in mail.body_text
        assert filed.secret not in mail.body_text
        for written in ("private", "My own reason", DESCRIPTION):
            assert written not in mail.body_text


def test_handlers_are_told_of_replies_and_withdrawal(session, handlers):
    complaint = at_level(session, handlers, Level.EXECUTIVE_DIRECTOR)
    services.reply_to_complaint(session, complaint, body="Secret detail.", now=utcnow())
    services.withdraw_complaint(session, complaint, now=utcnow())
    subjects = [mail.subject for mail in mails_to(session, handlers.director.email)]
    assert subjects[-2:] == [
        f"The complainant replied: complaint {complaint.receipt_code}",
        f"The complainant withdrew: complaint {complaint.receipt_code}",
    ]
    assert all(
        "Secret detail" not in m.body_text for m in mails_to(session, handlers.director.email)
    )
    assert (complaint.closed_as, complaint.outcome) == (ClosedAs.WITHDRAWN, None)


def test_a_closed_complaint_takes_no_reply(session, handlers):
    complaint = at_level(session, handlers, Level.SUPPORT)
    services.withdraw_complaint(session, complaint, now=utcnow())
    entries = count(session, ComplaintEntry)
    with pytest.raises(ComplaintError, match="closed"):
        services.reply_to_complaint(session, complaint, body="One more thing.", now=utcnow())
    assert count(session, ComplaintEntry) == entries


def test_events_name_the_complaint_and_its_levels(session, handlers):
    complaint = at_level(session, handlers, Level.EXECUTIVE_DIRECTOR)
    escalated = events_of(session, complaint)[-1]
    assert (escalated.action, escalated.actor) == ("complaint.escalated", handlers.support)
    assert escalated.data == {"level": 2, "status": "open", "from_level": 1}
    assert escalated.reason is None


@pytest.mark.parametrize("code", ["C\x00ABC-DEFGH", "'; DROP TABLE complaints; --", "Ü" * 10])
def test_codes_outside_the_alphabet_match_nothing(session, handlers, code):
    assert services.find_tracked(session, code, "anything") is None


def dual_holder(session):
    """A certified mediator who became a Certified Mediation Advocate too."""
    mediator = certified_mediator(session)
    advocate = grant_certification(
        session,
        mediator,
        certification_type=CertificationType.ADVOCATE,
        granted_on=TODAY - timedelta(days=30),
        today=TODAY,
        now=utcnow(),
        actor=None,
        check_prerequisites=False,
    )
    return mediator, mediator.certifications[0], advocate


def test_a_conduct_outcome_names_which_of_two_certifications_it_changes(session, handlers):
    mediator, as_mediator, as_advocate = dual_holder(session)
    complaint = conduct_complaint(session, handlers, Level.COMMITTEE, mediator=mediator)
    resolve = {
        "outcome": "Breach of the advocates' code.",
        "actor": handlers.members[CONDUCT_COMMITTEE],
        "now": utcnow(),
        "today": TODAY,
        "conduct_outcome": "suspend",
        "public_reason": "Suspended as advocate after a conduct assessment.",
    }
    with pytest.raises(ComplaintError, match=r"holds 2 certifications .* say which one"):
        services.resolve_complaint(session, complaint, **resolve)
    with pytest.raises(ComplaintError, match="holds no live certificate X-1"):
        services.resolve_complaint(session, complaint, certificate="X-1", **resolve)
    assert not complaint.is_closed
    services.resolve_complaint(
        session, complaint, certificate=as_advocate.certificate_number, **resolve
    )
    assert certification_standing(session, as_advocate, TODAY).status is MediatorStatus.SUSPENDED
    assert certification_standing(session, as_mediator, TODAY).status is MediatorStatus.CERTIFIED


def test_a_conduct_outcome_can_change_all_of_a_persons_certifications(session, handlers):
    mediator, as_mediator, as_advocate = dual_holder(session)
    complaint = conduct_complaint(session, handlers, Level.BOARD, mediator=mediator)
    services.decide_complaint(
        session,
        complaint,
        decision="Revoked on appeal.",
        actor=handlers.board,
        now=utcnow(),
        today=TODAY,
        conduct_outcome="revoke",
        public_reason="Revoked on appeal for repeated misconduct.",
        certificate=services.ALL_CERTIFICATIONS,
    )
    for certification in (as_mediator, as_advocate):
        assert certification_standing(session, certification, TODAY).status is (
            MediatorStatus.REVOKED
        )
