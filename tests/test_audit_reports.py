"""Audit reports: drafts, submission, the chair's return and sign-off, notes, and the page."""

import re
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import func, select

from audits.models import (
    Audit,
    AuditFinding,
    AuditNote,
    AuditReport,
    AuditStatus,
    SubcommitteeMember,
)
from audits.queries import program_statuses
from audits.reports import services
from audits.schedule import ProgramStatus
from audits.services import AuditError
from registry.accounts.models import Role, User
from registry.database import utcnow
from registry.events.models import Event
from registry.mail.models import OutboxMessage
from registry.organisations.models import OrganisationAdmin, Program
from tests.audit_factories import (
    declare_and_assign,
    make_appraiser,
    make_audit,
    make_chair,
    make_organisation_admin,
    subcommittee,
)
from tests.conftest import confirmation_page, post_form
from tests.factories import PASSWORD, make_organisation, make_program, make_user
from tests.first_standards import first_criteria

D = date.fromisoformat
QAP_CODES = [criterion.code for criterion in first_criteria("QAP")]
STRENGTHS = "Published criteria and well-trained assessors."
WEAKNESSES = "Results reach the registry late."
SUMMARY = "The program assesses candidates fairly and keeps its files in order."
CONDITIONS = "Report every result to the registry within 30 days, from 1 April 2027."
EVIDENCE = "Read the published handbook and twelve assessment files."
NOTE = "Ask for the 2026 appeal register."
SIGN_OFF_DAY = D("2027-03-01")


# -- Helpers -------------------------------------------------------------------------------


@dataclass
class Setting:
    audit: Audit
    program: Program
    chair: User
    appraiser: User
    admin: User


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def mails_to(session, address):
    return session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == address).order_by(OutboxMessage.id)
    ).all()


def actions(session, action):
    return session.scalars(select(Event).where(Event.action == action).order_by(Event.id)).all()


def make_setting(session, program_type="QAP"):
    """An in-progress audit of a program with its chair, one appraiser and an admin."""
    organisation = make_organisation(session, name="Mediation Academy")
    program = make_program(session, program_type=program_type, organisation=organisation)
    chair = make_chair(session, program_type)
    appraiser = make_appraiser(session, program_type)
    admin = make_organisation_admin(session, organisation)
    audit = make_audit(session, program=program)
    declare_and_assign(session, audit, appraiser, chair=chair)
    if program_type == "CMTP":
        second = make_appraiser(session, program_type, email="bo@example.org", name="Bo Second")
        declare_and_assign(session, audit, second, chair=chair)
    return Setting(audit, program, chair, appraiser, admin)


@pytest.fixture
def qap(ctx, session):
    return make_setting(session)


def report_data(**changes):
    """A complete QAP report that renews, with ``changes``."""
    data = {
        "findings": {code: ("met", f"{EVIDENCE} ({code})") for code in QAP_CODES},
        "strengths": STRENGTHS,
        "weaknesses": WEAKNESSES,
        "summary": SUMMARY,
        "recommendation": "renew",
        "conditions": "",
        "deviations": [],
    }
    data.update(changes)
    return data


def with_finding(code, rating, evidence=EVIDENCE):
    return {**report_data()["findings"], code: (rating, evidence)}


def save(session, setting, actor=None, **changes):
    return services.save_draft(
        session,
        setting.audit,
        **report_data(**changes),
        now=utcnow(),
        actor=actor or setting.appraiser,
    )


def submit(session, setting, actor=None):
    return services.submit_report(
        session, setting.audit, now=utcnow(), actor=actor or setting.appraiser
    )


def submitted(session, setting, **changes):
    save(session, setting, **changes)
    return submit(session, setting)


def sign_off(session, setting, actor=None, today=SIGN_OFF_DAY):
    return services.sign_off(
        session, setting.audit, today=today, now=utcnow(), actor=actor or setting.chair
    )


def chair_and_appraiser(session, program_type="QAP"):
    """Return a committee member who chairs ``program_type`` and is in its appraiser pool."""
    user = make_user(
        session,
        email="both@example.org",
        name="Bea Both",
        roles=[Role.COMMITTEE_MEMBER, Role.APPRAISER],
    )
    group = subcommittee(session, program_type)
    group.chair_id = user.id
    session.add(SubcommitteeMember(subcommittee_id=group.id, user_id=user.id, joined_at=utcnow()))
    session.flush()
    return user


def status_of(session, program, today):
    return program_statuses(session, [program.id], today, 120)[program.id]


# -- Drafts --------------------------------------------------------------------------------


def test_a_first_save_creates_the_report_and_may_be_incomplete(session, qap):
    report = save(
        session,
        qap,
        findings={"QAP-1": ("partly", ""), "QAP-2": (None, "")},
        strengths="",
        weaknesses="",
        summary="",
        recommendation=None,
    )
    assert report.audit_id == qap.audit.id and report.updated_by_id == qap.appraiser.id
    assert [(f.criterion, f.rating, f.evidence) for f in report.findings] == [
        ("QAP-1", "partly", "")
    ]
    assert report.recommendation is None and report.submitted_at is None
    assert qap.audit.status == AuditStatus.IN_PROGRESS
    (event,) = actions(session, "audit.report_saved")
    assert event.data == {"program_id": qap.program.id, "findings": 1, "deviations": 0}


def test_a_later_save_replaces_findings_and_deviations(session, qap):
    save(session, qap, deviations=[("GEN-1", "Answered late."), ("QAP-7", "Late results.")])
    report = save(
        session,
        qap,
        findings={"QAP-1": ("not_met", "No handbook."), "QAP-2": ("met", "Files.")},
        deviations=[("QAP-1", "The criteria are not published.")],
    )
    assert [(f.criterion, f.rating) for f in report.findings] == [
        ("QAP-1", "not_met"),
        ("QAP-2", "met"),
    ]
    assert [(d.rule, d.description) for d in report.deviations] == [
        ("QAP-1", "The criteria are not published.")
    ]
    assert count(session, AuditReport) == 1
    assert count(session, AuditFinding, AuditFinding.audit_id == qap.audit.id) == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"deviations": [("", "Results are late.")]}, "Deviation 1 cites no rule"),
        ({"deviations": [("GEN-1", "ok"), ("", "x")]}, "Deviation 2 cites no rule"),
        (
            {"deviations": [("CMTP-2", "Too few hours.")]},
            "cites CMTP-2, which is not a rule for QAP programs",
        ),
        ({"deviations": [("GEN-1", "  ")]}, "The description of deviation 1 cannot be empty."),
        ({"findings": {"CMTP-1": ("met", "x")}}, "CMTP-1 is not a criterion of a QAP audit."),
        ({"findings": {"QAP-1": ("excellent", "x")}}, "Rate QAP-1 as met, partly met or not met."),
        ({"findings": {"QAP-1": (None, "Evidence")}}, "Rate QAP-1 as well"),
        ({"findings": {"QAP-1": ("met", "x" * 5001)}}, "The evidence for QAP-1 is 5001"),
        ({"strengths": "x" * 10001}, "The strengths section is 10001 characters long"),
        ({"summary": "x" * 10001}, "The summary for the organisation is 10001"),
        ({"recommendation": "abolish"}, "Recommend to renew, to renew with conditions"),
    ],
)
def test_an_invalid_draft_is_refused_and_changes_nothing(session, qap, changes, message):
    first = save(session, qap, deviations=[("GEN-1", "Answered late.")])
    updated_at = first.updated_at
    with pytest.raises(AuditError, match=re.escape(message)):
        save(session, qap, **{"strengths": "Changed", **changes})
    report = session.get(AuditReport, qap.audit.id)
    assert report.strengths == STRENGTHS and report.updated_at == updated_at
    assert [d.rule for d in report.deviations] == ["GEN-1"]
    assert len(report.findings) == len(QAP_CODES)
    assert len(actions(session, "audit.report_saved")) == 1


def test_an_invalid_first_draft_creates_no_report(session, qap):
    with pytest.raises(AuditError):
        save(session, qap, deviations=[("", "No rule")])
    assert count(session, AuditReport) == 0


def test_only_an_assigned_appraiser_saves_a_draft(session, qap):
    pool = make_appraiser(session, "QAP", email="pool@example.org", name="Pia Pool")
    for actor in (pool, qap.chair, qap.admin):
        with pytest.raises(AuditError, match="Only an appraiser assigned to this audit"):
            save(session, qap, actor=actor)
    assert count(session, AuditReport) == 0


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (AuditStatus.OPEN, "once all of this audit's appraisers are assigned"),
        (AuditStatus.SUBMITTED, "The report is with the chair"),
        (AuditStatus.COMPLETED, "its report can no longer be changed"),
    ],
)
def test_a_draft_is_saved_only_in_progress(session, qap, status, message):
    qap.audit.status = status
    if status == AuditStatus.COMPLETED:
        qap.audit.completed_on, qap.audit.outcome = D("2027-01-01"), "renew"
        qap.audit.signed_off_at = utcnow()
    session.flush()
    with pytest.raises(AuditError, match=re.escape(message)):
        save(session, qap)
    assert count(session, AuditReport) == 0


def test_events_never_carry_the_report(session, qap):
    submitted(session, qap, deviations=[("GEN-1", "Answered late.")])
    services.add_note(session, qap.audit, body=NOTE, now=utcnow(), actor=qap.appraiser)
    services.return_report(session, qap.audit, comments="Say more.", now=utcnow(), actor=qap.chair)
    logged = " ".join(
        f"{event.data} {event.reason}"
        for event in session.scalars(select(Event).where(Event.subject_type == "audit"))
    )
    for secret in (STRENGTHS, WEAKNESSES, SUMMARY, EVIDENCE, "Answered late.", NOTE, "Say more."):
        assert secret not in logged


# -- Submission ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "missing"),
    [
        (
            {"findings": {c: ("met", "x") for c in QAP_CODES if c not in ("QAP-3", "QAP-5")}},
            "a rating for QAP-3 and QAP-5",
        ),
        ({"findings": with_finding("QAP-2", "met", "")}, "evidence for QAP-2"),
        ({"strengths": ""}, "the strengths"),
        ({"weaknesses": ""}, "the weaknesses"),
        ({"summary": ""}, "the summary for the organisation"),
        ({"recommendation": None}, "a recommendation"),
        ({"recommendation": "renew_with_conditions"}, "the conditions of the renewal"),
        ({"conditions": CONDITIONS}, "no conditions, unless the recommendation is to renew with"),
        ({"recommendation": "suspend", "conditions": CONDITIONS}, "no conditions, unless"),
        (
            {"findings": with_finding("QAP-4", "partly")},
            "a deviation citing each criterion not fully met: QAP-4 (partly met)",
        ),
        (
            {
                "findings": with_finding("QAP-6", "not_met"),
                "deviations": [("GEN-3", "Files kept in an open cupboard.")],
            },
            "QAP-6 (not met)",
        ),
    ],
)
def test_an_incomplete_report_is_not_submitted(session, qap, changes, missing):
    save(session, qap, **changes)
    with pytest.raises(AuditError, match="The report cannot be submitted yet") as refused:
        submit(session, qap)
    assert missing in str(refused.value)
    report = session.get(AuditReport, qap.audit.id)
    assert report.submitted_at is None and qap.audit.status == AuditStatus.IN_PROGRESS
    assert mails_to(session, qap.chair.email) == []
    assert actions(session, "audit.report_submitted") == []


def test_submitting_without_a_draft_lists_everything(session, qap):
    with pytest.raises(AuditError) as refused:
        submit(session, qap)
    message = str(refused.value)
    assert "a rating for QAP-1, QAP-2, QAP-3, QAP-4, QAP-5, QAP-6 and QAP-7" in message
    assert "the strengths; the weaknesses; the summary for the organisation" in message
    assert count(session, AuditReport) == 0


def test_a_complete_report_is_submitted_and_the_chair_told(session, qap):
    report = submitted(
        session,
        qap,
        findings=with_finding("QAP-4", "partly"),
        deviations=[("QAP-4", "No observed performance for two candidates.")],
        recommendation="renew_with_conditions",
        conditions=CONDITIONS,
    )
    assert qap.audit.status == AuditStatus.SUBMITTED
    assert report.submitted_at is not None and report.submitted_by_id == qap.appraiser.id
    (mail,) = mails_to(session, qap.chair.email)
    assert mail.subject == "Audit report to sign off: Mediation Academy: QAP program (QAP)"
    assert f"http://registry.test/audits/{qap.audit.id}/report" in mail.body_text
    assert CONDITIONS not in mail.body_text and SUMMARY not in mail.body_text
    assert len(actions(session, "audit.report_submitted")) == 1


def test_a_submitted_report_is_not_submitted_again(session, qap):
    submitted(session, qap)
    with pytest.raises(AuditError, match="The report is with the chair"):
        submit(session, qap)
    assert len(mails_to(session, qap.chair.email)) == 1


def test_a_cmtp_report_has_findings_on_the_training_criteria(session, ctx):
    cmtp = make_setting(session, "CMTP")
    codes = [criterion.code for criterion in first_criteria("CMTP")]
    with pytest.raises(AuditError, match="QAP-1 is not a criterion of a CMTP audit"):
        save(session, cmtp)
    save(session, cmtp, findings={code: ("met", "Seen.") for code in codes})
    submit(session, cmtp)
    assert cmtp.audit.status == AuditStatus.SUBMITTED


# -- The chair's return --------------------------------------------------------------------


def test_the_chair_returns_a_report_with_comments(session, qap):
    submitted(session, qap)
    report = services.return_report(
        session, qap.audit, comments="  Give evidence for QAP-5.  ", now=utcnow(), actor=qap.chair
    )
    assert qap.audit.status == AuditStatus.IN_PROGRESS
    assert report.chair_comments == "Give evidence for QAP-5." and report.returned_at
    assert report.submitted_at is None and report.submitted_by_id is None
    (mail,) = mails_to(session, qap.appraiser.email)
    assert mail.subject == "Audit report returned: Mediation Academy: QAP program (QAP)"
    assert "Give evidence" not in mail.body_text  # the comments stay on the page
    save(session, qap, strengths="Revised strengths.")
    submit(session, qap)
    assert qap.audit.status == AuditStatus.SUBMITTED


def test_a_return_needs_comments(session, qap):
    submitted(session, qap)
    with pytest.raises(AuditError, match="Your comments cannot be empty"):
        services.return_report(session, qap.audit, comments=" ", now=utcnow(), actor=qap.chair)
    assert qap.audit.status == AuditStatus.SUBMITTED
    assert session.get(AuditReport, qap.audit.id).returned_at is None


def other_committee_member(session):
    return make_user(
        session, email="member@example.org", name="Mo Member", roles=[Role.COMMITTEE_MEMBER]
    )


@pytest.mark.parametrize("who", ["appraiser", "committee member", "chair of CMTP", "admin"])
def test_only_the_chair_returns_a_report(session, qap, who):
    submitted(session, qap)
    actor = {
        "appraiser": lambda: qap.appraiser,
        "committee member": lambda: other_committee_member(session),
        "chair of CMTP": lambda: make_chair(session, "CMTP", email="cmtp-chair@example.org"),
        "admin": lambda: qap.admin,
    }[who]()
    with pytest.raises(AuditError, match="Only the chair of the QAP subcommittee can return"):
        services.return_report(session, qap.audit, comments="No.", now=utcnow(), actor=actor)
    assert qap.audit.status == AuditStatus.SUBMITTED


def test_only_a_submitted_report_is_returned(session, qap):
    save(session, qap)
    with pytest.raises(AuditError, match="Only a submitted report can be returned"):
        services.return_report(session, qap.audit, comments="No.", now=utcnow(), actor=qap.chair)
    assert session.get(AuditReport, qap.audit.id).returned_at is None


# -- Sign-off ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "conditions", "status"),
    [
        ("renew", "", ProgramStatus.RECOGNISED),
        ("renew_with_conditions", CONDITIONS, ProgramStatus.WITH_CONDITIONS),
        ("suspend", "", ProgramStatus.SUSPENDED),
    ],
)
def test_sign_off_applies_the_outcome_to_the_program(session, qap, outcome, conditions, status):
    assert status_of(session, qap.program, D("2027-03-02")) == ProgramStatus.OVERDUE
    submitted(session, qap, recommendation=outcome, conditions=conditions)
    sign_off(session, qap)
    audit = qap.audit
    assert audit.status == AuditStatus.COMPLETED and audit.outcome == outcome
    assert audit.completed_on == D("2027-03-01") and audit.signed_off_by_id == qap.chair.id
    assert audit.signed_off_at is not None
    assert status_of(session, qap.program, D("2027-03-02")) == status
    (event,) = actions(session, "audit.signed_off")
    assert event.data["outcome"] == outcome and event.data["next_due_on"] == "2029-06-30"


@pytest.mark.parametrize(
    ("completed_on", "next_due"),
    [("2027-03-01", "2029-06-30"), ("2027-08-01", "2029-12-31"), ("2028-02-29", "2030-06-30")],
)
def test_sign_off_schedules_the_next_cycle(session, qap, completed_on, next_due):
    submitted(session, qap)
    next_audit = sign_off(session, qap, today=D(completed_on))
    assert next_audit.status == AuditStatus.SCHEDULED and next_audit.due_on == D(next_due)
    assert next_audit.program_id == qap.program.id and next_audit.opened_on is None
    assert count(session, Audit, Audit.program_id == qap.program.id) == 2


def test_a_withdrawn_program_gets_no_next_cycle(session, qap):
    submitted(session, qap)
    qap.program.withdrawn_on, qap.program.withdrawal_reason = D("2027-02-01"), "Closed"
    session.flush()
    assert sign_off(session, qap) is None
    assert qap.audit.status == AuditStatus.COMPLETED
    assert count(session, Audit, Audit.program_id == qap.program.id) == 1


def test_sign_off_tells_the_organisation_and_the_appraisers(session, qap):
    second_admin = make_organisation_admin(
        session, qap.program.organisation, email="second@academy.example"
    )
    submitted(
        session,
        qap,
        recommendation="renew_with_conditions",
        conditions=CONDITIONS,
        findings=with_finding("QAP-7", "partly"),
        deviations=[("QAP-7", "Results reach us months late.")],
    )
    sign_off(session, qap)
    for admin in (qap.admin, second_admin):
        (mail,) = mails_to(session, admin.email)
        assert mail.subject == "Audit outcome for QAP program: Renew with conditions"
        body = mail.body_text
        assert "1 March 2027" in body and "/report" in body
        assert "The next audit is due on 30 June 2029." in body
        # The outbox keeps every message and administrators read it: the summary and the
        # conditions stay on the page only the organisation's admins (and the report's
        # appraisers and chair) can open.
        for secret in (SUMMARY, CONDITIONS, STRENGTHS, WEAKNESSES, EVIDENCE, "months late"):
            assert secret not in body
    (mail,) = mails_to(session, qap.appraiser.email)
    assert "Outcome: Renew with conditions." in mail.body_text.replace("\n", " ")


def test_an_outcome_mail_without_conditions_says_renewed(session, qap):
    submitted(session, qap)
    sign_off(session, qap)
    (mail,) = mails_to(session, qap.admin.email)
    assert "The program's recognition is renewed." in mail.body_text
    assert "conditions" not in mail.body_text


def test_an_appraiser_who_also_chairs_cannot_sign_off(session, ctx):
    organisation = make_organisation(session)
    program = make_program(session, organisation=organisation)
    both = chair_and_appraiser(session)
    audit = make_audit(session, program=program)
    declare_and_assign(session, audit, both, chair=both)
    setting = Setting(audit, program, both, both, make_organisation_admin(session, organisation))
    submitted(session, setting)
    with pytest.raises(AuditError, match="independent of the report's authors"):
        sign_off(session, setting, actor=both)
    assert audit.status == AuditStatus.SUBMITTED and audit.outcome is None


@pytest.mark.parametrize(
    "who", ["appraiser", "committee member", "chair of CMTP", "admin", "not submitted"]
)
def test_sign_off_refusals_change_nothing(session, qap, who):
    if who == "not submitted":
        save(session, qap)
        actor, message = qap.chair, "Only a submitted report can be signed off"
    else:
        submitted(session, qap)
        message = "Only the chair of the QAP subcommittee can sign off an audit."
        actor = {
            "appraiser": lambda: qap.appraiser,
            "committee member": lambda: other_committee_member(session),
            "chair of CMTP": lambda: make_chair(session, "CMTP", email="cmtp-chair@example.org"),
            "admin": lambda: qap.admin,
        }[who]()
    status = qap.audit.status
    with pytest.raises(AuditError, match=re.escape(message)):
        sign_off(session, qap, actor=actor)
    assert qap.audit.status == status and qap.audit.outcome is None
    assert qap.audit.completed_on is None and qap.audit.signed_off_at is None
    assert count(session, Audit) == 1
    assert mails_to(session, qap.admin.email) == []
    assert actions(session, "audit.signed_off") == []


def test_a_signed_off_audit_is_not_signed_off_again(session, qap):
    submitted(session, qap)
    sign_off(session, qap)
    with pytest.raises(AuditError, match="this audit is completed"):
        sign_off(session, qap)
    with pytest.raises(AuditError, match="this audit is completed"):
        services.return_report(session, qap.audit, comments="No.", now=utcnow(), actor=qap.chair)
    assert count(session, Audit, Audit.program_id == qap.program.id) == 2


# -- Notes ---------------------------------------------------------------------------------


def test_appraisers_and_the_chair_add_notes(session, qap):
    services.add_note(session, qap.audit, body=f"  {NOTE} ", now=utcnow(), actor=qap.appraiser)
    services.add_note(session, qap.audit, body="Agreed.", now=utcnow(), actor=qap.chair)
    notes = services.notes_of(session, qap.audit.id)
    assert [(n.author_id, n.body) for n in notes] == [
        (qap.appraiser.id, NOTE),
        (qap.chair.id, "Agreed."),
    ]
    assert len(actions(session, "audit.note_added")) == 2


@pytest.mark.parametrize("who", ["pool appraiser", "admin", "committee member"])
def test_others_add_no_notes(session, qap, who):
    actor = {
        "pool appraiser": lambda: make_appraiser(session, "QAP", email="pool@example.org"),
        "admin": lambda: qap.admin,
        "committee member": lambda: other_committee_member(session),
    }[who]()
    with pytest.raises(AuditError, match="Only the audit's appraisers and the chair"):
        services.add_note(session, qap.audit, body=NOTE, now=utcnow(), actor=actor)
    assert count(session, AuditNote) == 0


def test_a_note_needs_text_and_an_open_audit(session, qap):
    with pytest.raises(AuditError, match="The note cannot be empty"):
        services.add_note(session, qap.audit, body=" ", now=utcnow(), actor=qap.appraiser)
    submitted(session, qap)
    sign_off(session, qap)
    with pytest.raises(AuditError, match="its notes are closed"):
        services.add_note(session, qap.audit, body=NOTE, now=utcnow(), actor=qap.chair)
    assert count(session, AuditNote) == 0


# -- Pages ---------------------------------------------------------------------------------


def sign_in(client, email):
    response = post_form(client, "/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 303, response.status_code


def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def main(html):
    return html.split("<main")[1].split("</main>")[0]


@pytest.fixture
def setting(app, session):
    with app.app_context():
        return make_setting(session)


def url(setting, suffix=""):
    return f"/audits/{setting.audit.id}/report{suffix}"


OTHERS = {
    "support": [Role.SUPPORT],
    "executive director": [Role.EXECUTIVE_DIRECTOR],
    "administrator": [Role.ADMINISTRATOR],
    "committee member": [Role.COMMITTEE_MEMBER],
    "other appraiser": [Role.APPRAISER],
    "other organisation's admin": [Role.ORGANISATION_ADMIN],
    "mediator": [Role.MEDIATOR],
    "peer reviewer": [Role.PEER_REVIEWER],
}
# What each outsider gets: the audit guard's 404, or the role check's 403.
OUTSIDER_STATUS = {
    "support": 404,
    "executive director": 404,
    "administrator": 404,
    "committee member": 404,
    "other appraiser": 404,
    "pool appraiser": 404,
    "other organisation's admin": 404,
    "mediator": 403,
    "peer reviewer": 403,
}
POSTS = ["", "/submit", "/return", "/sign-off"]


def make_outsider(session, who):
    if who == "pool appraiser":
        return make_appraiser(session, "QAP", email="outsider@example.org")
    user = make_user(session, email="outsider@example.org", roles=OTHERS[who])
    if who == "other organisation's admin":
        other = make_organisation(session, name="Elsewhere")
        session.add(OrganisationAdmin(organisation_id=other.id, user_id=user.id, added_at=utcnow()))
        session.flush()
    return user


@pytest.mark.parametrize("who", list(OUTSIDER_STATUS))
def test_outsiders_get_404_or_403_on_every_report_route(app, client, session, setting, who):
    with app.app_context():
        save(session, setting)
        make_outsider(session, who)
    sign_in(client, "outsider@example.org")
    status = OUTSIDER_STATUS[who]
    html = page(client, url(setting), status)
    assert STRENGTHS not in html
    for suffix in POSTS:
        response = post_form(client, url(setting, suffix), {}, form_url="/account")
        assert response.status_code == status, suffix
    notes = post_form(
        client, f"/audits/{setting.audit.id}/notes", {"body": NOTE}, form_url="/account"
    )
    assert notes.status_code == status
    assert count(session, AuditNote) == 0


def test_strangers_are_sent_to_sign_in(client, setting):
    response = client.get(url(setting))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_missing_audit_is_404(client, setting):
    sign_in(client, setting.appraiser.email)
    page(client, "/audits/999999/report", 404)


def test_the_organisation_posts_nothing(client, session, setting):
    sign_in(client, setting.admin.email)
    for suffix in POSTS:
        response = post_form(client, url(setting, suffix), {"comments": "x"}, form_url="/account")
        assert response.status_code == 404, suffix
    response = post_form(
        client, f"/audits/{setting.audit.id}/notes", {"body": NOTE}, form_url="/account"
    )
    assert response.status_code == 404
    assert count(session, AuditNote) == 0


def test_the_appraiser_sees_the_form_with_one_row_per_criterion(client, setting):
    sign_in(client, setting.appraiser.email)
    html = main(page(client, url(setting)))
    for criterion in first_criteria("QAP"):
        assert criterion.title in html
    assert html.count('name="findings-') == 3 * len(QAP_CODES)  # code, rating, evidence
    assert 'name="deviations-2-rule"' in html and 'name="deviations-3-rule"' not in html
    assert "GEN-1: The organisation cooperates" in html
    assert "Save draft" in html and "Submit to the chair" in html
    assert "a rating for QAP-1" in html  # what the report still needs
    assert "Appraisers' notes" in html and "No notes yet." in html


def form_data(**changes):
    """The report form as the browser posts it: every criterion row, three deviation rows."""
    data = {}
    for index, code in enumerate(QAP_CODES):
        data[f"findings-{index}-criterion"] = code
        data[f"findings-{index}-rating"] = "met"
        data[f"findings-{index}-evidence"] = f"{EVIDENCE} ({code})"
    for index in range(3):
        data[f"deviations-{index}-rule"] = ""
        data[f"deviations-{index}-description"] = ""
    data.update(
        strengths=STRENGTHS,
        weaknesses=WEAKNESSES,
        summary=SUMMARY,
        recommendation="renew",
        conditions="",
    )
    data.update(changes)
    return data


def test_saving_a_draft_on_the_page(client, session, setting):
    sign_in(client, setting.appraiser.email)
    data = form_data(
        **{
            "findings-3-rating": "partly",
            "deviations-0-rule": "QAP-4",
            "deviations-0-description": "Two files lack an observed performance.",
            "summary": "",
        }
    )
    response = post_form(client, url(setting), data)
    assert response.status_code == 303 and response.headers["Location"] == url(setting)
    report = session.get(AuditReport, setting.audit.id)
    assert [(d.rule, d.description) for d in report.deviations] == [
        ("QAP-4", "Two files lack an observed performance.")
    ]
    assert {f.criterion: f.rating for f in report.findings}["QAP-4"] == "partly"
    html = page(client, url(setting))
    assert "Your draft is saved." in html
    assert "Two files lack an observed performance.</textarea>" in html
    assert '<option selected value="QAP-4">' in html
    assert 'name="deviations-3-rule"' in html  # still three empty rows below
    assert "the summary for the organisation" in html


def test_a_deviation_without_a_rule_is_refused_on_the_page(client, session, setting):
    sign_in(client, setting.appraiser.email)
    data = form_data(**{"deviations-1-description": "Results reach the registry late."})
    response = post_form(client, url(setting), data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Choose the rule this deviation breaks." in html
    assert "Results reach the registry late.</textarea>" in html
    assert f"{STRENGTHS}</textarea>" in html
    assert count(session, AuditReport) == 0


def test_evidence_without_a_rating_is_kept_on_the_page(client, session, setting):
    sign_in(client, setting.appraiser.email)
    response = post_form(client, url(setting), form_data(**{"findings-0-rating": ""}))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Choose a rating as well, so that the evidence can be kept." in html
    assert f"{EVIDENCE} (QAP-1)</textarea>" in html
    assert count(session, AuditReport) == 0


def test_a_failed_submit_keeps_the_draft_and_says_what_is_missing(client, session, setting):
    sign_in(client, setting.appraiser.email)
    data = form_data(**{"findings-4-rating": "not_met", "recommendation": ""})
    response = post_form(client, url(setting, "/submit"), data, form_url=url(setting))
    assert response.status_code == 303 and response.headers["Location"] == url(setting)
    session.expire_all()
    assert setting.audit.status == AuditStatus.IN_PROGRESS
    report = session.get(AuditReport, setting.audit.id)
    assert report.summary == SUMMARY and report.submitted_at is None
    html = page(client, url(setting))
    assert "Your draft is saved, but not submitted." in html
    assert "a recommendation" in html and "QAP-5 (not met)" in html
    assert f"{SUMMARY}</textarea>" in html


def test_submit_return_and_sign_off_on_the_pages(app, client, session, setting):
    sign_in(client, setting.appraiser.email)
    response = post_form(client, url(setting, "/submit"), form_data(), form_url=url(setting))
    assert response.status_code == 303
    html = page(client, url(setting))
    assert "The report is submitted; the chair is told by e-mail." in html
    assert "Save draft" not in html and STRENGTHS in html and "Submitted" in html

    client = app.test_client()
    sign_in(client, setting.chair.email)
    html = page(client, url(setting))
    assert "Sign off: Renew" in html and "Return to the appraisers" in html
    response = post_form(client, url(setting, "/return"), {"comments": ""}, form_url=url(setting))
    assert response.status_code == 422
    assert "Say what the appraisers should revise." in response.get_data(as_text=True)
    comments = "Name the files you read for QAP-2."
    response = post_form(
        client, url(setting, "/return"), {"comments": comments}, form_url=url(setting)
    )
    assert response.status_code == 303
    assert "The report is returned to the appraisers" in page(client, url(setting))

    client = app.test_client()
    sign_in(client, setting.appraiser.email)
    html = page(client, url(setting))
    assert "The chair returned the report" in html and comments in html
    assert "Save draft" in html
    post_form(client, url(setting, "/submit"), form_data(), form_url=url(setting))

    client = app.test_client()
    sign_in(client, setting.chair.email)
    response = post_form(client, url(setting, "/sign-off"), {}, form_url=url(setting))
    confirmation_page(
        response,
        "Yes, sign off",
        f"Sign off the audit of {setting.program.name}?",
        "make the recommendation, Renew, the audit&#39;s outcome",
    )
    assert session.scalar(select(Audit.status).where(Audit.id == setting.audit.id)) != "completed"
    response = post_form(
        client, url(setting, "/sign-off"), {"confirmed": "1"}, form_url=url(setting)
    )
    assert response.status_code == 303
    html = page(client, url(setting))
    next_due = session.scalar(select(Audit.due_on).where(Audit.status == AuditStatus.SCHEDULED))
    assert "The audit is signed off: Renew. The organisation is told." in html
    assert f"The next audit is due on {next_due.strftime('%-d %B %Y')}." in html
    assert "Sign off:" not in html and "Add note" not in html


def test_a_chair_who_is_an_appraiser_sees_no_sign_off(app, client, session):
    with app.app_context():
        program = make_program(session)
        both = chair_and_appraiser(session)
        audit = make_audit(session, program=program)
        declare_and_assign(session, audit, both, chair=both)
        setting = Setting(audit, program, both, both, both)
        submitted(session, setting)
    sign_in(client, both.email)
    html = page(client, url(setting))
    assert "you cannot sign off its report" in html and "Sign off:" not in html
    response = post_form(
        client, url(setting, "/sign-off"), {"confirmed": "1"}, form_url=url(setting)
    )
    assert response.status_code == 422
    assert "independent of the report's authors" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Audit, audit.id).status == AuditStatus.SUBMITTED


def test_the_chair_reads_the_draft_but_cannot_edit_it(app, client, session, setting):
    with app.app_context():
        save(session, setting)
    sign_in(client, setting.chair.email)
    html = main(page(client, url(setting)))
    assert "The appraisers are writing the report" in html and STRENGTHS in html
    assert "Save draft" not in html and "Sign off" not in html and "Return to" not in html
    response = post_form(client, url(setting), form_data(strengths="Mine"), form_url=url(setting))
    assert response.status_code == 422
    assert "Only an appraiser assigned to this audit can write its report." in (
        response.get_data(as_text=True)
    )


def test_notes_on_the_page(app, client, session, setting):
    sign_in(client, setting.appraiser.email)
    notes_url = f"/audits/{setting.audit.id}/notes"
    response = post_form(client, notes_url, {"body": ""}, form_url=url(setting))
    assert response.status_code == 422 and "Write the note first." in response.get_data(
        as_text=True
    )
    response = post_form(client, notes_url, {"body": NOTE}, form_url=url(setting))
    assert response.status_code == 303 and response.headers["Location"] == url(setting)
    client = app.test_client()
    sign_in(client, setting.chair.email)
    html = page(client, url(setting))
    assert NOTE in html and "Alex Appraiser" in html


def test_the_organisation_sees_nothing_before_the_sign_off(app, client, session, setting):
    with app.app_context():
        submitted(session, setting, deviations=[("GEN-1", "Answered late.")])
        services.add_note(session, setting.audit, body=NOTE, now=utcnow(), actor=setting.chair)
    sign_in(client, setting.admin.email)
    html = main(page(client, url(setting)))
    assert "confidential until the chair" in html
    for secret in (STRENGTHS, WEAKNESSES, SUMMARY, EVIDENCE, "Answered late.", NOTE, "Renew"):
        assert secret not in html
    assert "<form" not in html


def test_the_organisation_sees_outcome_and_summary_after_sign_off(app, client, session, setting):
    with app.app_context():
        submitted(
            session,
            setting,
            recommendation="renew_with_conditions",
            conditions=CONDITIONS,
            findings=with_finding("QAP-7", "partly"),
            deviations=[("QAP-7", "Results reach us months late.")],
        )
        services.add_note(session, setting.audit, body=NOTE, now=utcnow(), actor=setting.chair)
        sign_off(session, setting)
    sign_in(client, setting.admin.email)
    html = main(page(client, url(setting)))
    assert "Renew with conditions" in html and SUMMARY in html and CONDITIONS in html
    assert "1 March 2027" in html
    for secret in (STRENGTHS, WEAKNESSES, EVIDENCE, "months late", NOTE, "QAP-7", "Evidence"):
        assert secret not in html
