"""Program recognition: services, the audit sweep and what the public sees."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from audits.committee.services import assign_appraiser, declare_conflicts
from audits.jobs import sweep_audits
from audits.models import Audit, AuditDocument, AuditKind, AuditStatus
from audits.reports.services import sign_off
from audits.schedule import due_date
from audits.services import AuditError
from recognition.models import ApplicationStatus, ProgramApplication
from recognition.services import RecognitionError, decide_application, submit_application
from registry.database import utcnow
from registry.events.models import Event
from registry.mail.models import OutboxMessage
from registry.mediators.queries import program_choices
from registry.mediators.services import MediatorError, record_assessment
from registry.organisations.models import ASSESSMENT_TYPES, Program
from registry.organisations.services import OrganisationError, link_mediator_to_program
from tests.audit_factories import make_appraiser, make_chair, make_organisation_admin
from tests.factories import make_mediator, make_organisation
from tests.recognition_factories import (
    SUBMITTED_ON,
    World,
    apply,
    appraise,
    declare_none,
    details,
    documents,
)

DECIDED_ON = date(2026, 5, 4)


@pytest.fixture(autouse=True)
def files(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_FILES_DIR", str(tmp_path / "audit-files"))


@pytest.fixture
def world(ctx, session) -> World:
    organisation = make_organisation(session, name="Mediation Academy")
    admin = make_organisation_admin(session, organisation)
    chair = make_chair(session, "QAP")
    appraiser = make_appraiser(session, "QAP")
    return World(organisation, admin, chair, appraiser)


def mails_to(session, address):
    return session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == address).order_by(OutboxMessage.id)
    ).all()


def actions(session, subject_id):
    return session.scalars(
        select(Event.action)
        .where(Event.subject_type == "program_application", Event.subject_id == str(subject_id))
        .order_by(Event.id)
    ).all()


def decide(session, application, chair, decision="recognise", **extra):
    return decide_application(
        session,
        application,
        decision=decision,
        reasons=extra.pop("reasons", "Meets every criterion."),
        today=DECIDED_ON,
        now=utcnow(),
        actor=chair,
        **extra,
    )


def test_an_application_is_recognised_and_its_first_audit_scheduled(world, session):
    application = apply(session, world.organisation, world.admin)
    program, audit = application.program, application.audit
    assert program.recognised_on is None and not program.is_recognised
    assert audit.kind == AuditKind.RECOGNITION and audit.status == AuditStatus.OPEN
    assert {link.version.standard.code for link in audit.standard_versions} >= {"QAP", "GEN"}
    assert sorted((loc.country, loc.city) for loc in program.locations) == [
        ("BE", ""),
        ("NL", "Utrecht"),
    ]
    assert session.scalar(select(func.count()).select_from(AuditDocument)) == 3
    assert application.status == ApplicationStatus.SUBMITTED
    assert mails_to(session, world.chair.email)[-1].subject.startswith(
        "New application for recognition"
    )
    # Not in the organisation's programs, and not touched by the sweep while applied for.
    session.expire_all()
    assert world.organisation.programs == []
    assert sweep_audits(session, SUBMITTED_ON + timedelta(days=200), utcnow())["scheduled"] == 0

    appraise(session, application, world.appraiser, world.chair)
    assert application.status == ApplicationStatus.REPORT_SUBMITTED
    decide(session, application, world.chair)

    assert application.status == ApplicationStatus.RECOGNISED
    assert program.recognised_on == DECIDED_ON
    assert audit.status == AuditStatus.COMPLETED and audit.outcome == "renew"
    assert audit.outcome_label == "Recognise"  # as an application's outcome reads
    assert "Decision: Recognise" in mails_to(session, world.admin.email)[-1].body_text
    assert actions(session, application.id) == [
        "program_application.submitted",
        "program_application.recognised",
    ]
    # The decision schedules the first audit by the existing rule; the daily sweep adds none.
    swept = sweep_audits(session, DECIDED_ON + timedelta(days=1), utcnow())
    assert swept["scheduled"] == 0
    first = session.scalars(
        select(Audit).where(Audit.program_id == program.id, Audit.kind == AuditKind.CYCLE)
    ).one()
    assert first.status == AuditStatus.SCHEDULED and first.due_on == due_date(DECIDED_ON)
    assert sweep_audits(session, DECIDED_ON + timedelta(days=2), utcnow())["scheduled"] == 0
    session.expire_all()
    assert [p.id for p in world.organisation.programs] == [program.id]


def test_recognition_with_conditions_requires_them(world, session):
    application = apply(session, world.organisation, world.admin)
    appraise(session, application, world.appraiser, world.chair)
    with pytest.raises(RecognitionError, match="The conditions"):
        decide(session, application, world.chair, "recognise_with_conditions")
    with pytest.raises(RecognitionError, match="Conditions go with"):
        decide(session, application, world.chair, "recognise", conditions="Report yearly.")
    assert application.decision is None and application.program.recognised_on is None
    decide(session, application, world.chair, "recognise_with_conditions", conditions="Yearly.")
    assert application.status == ApplicationStatus.RECOGNISED_WITH_CONDITIONS
    assert application.audit.outcome == "renew_with_conditions"


def test_declined_with_a_conflicted_appraiser_refused_then_resubmitted(world, session):
    application = apply(session, world.organisation, world.admin)
    conflicted = make_appraiser(session, "QAP", email="conflicted@example.org", name="Cy Conflict")
    declare_conflicts(
        session,
        application.audit,
        conflicted,
        relationship=True,
        gifts=False,
        prior_work=False,
        other=False,
        no_conflict=False,
        details="I trained their assessors last year.",
        now=utcnow(),
    )
    with pytest.raises(AuditError, match="declared a conflict of interest"):
        assign_appraiser(session, application.audit, conflicted, now=utcnow(), actor=world.chair)
    appraise(session, application, world.appraiser, world.chair, recommendation="suspend")
    # The audit pages' sign-off is refused: the decision is the application's.
    with pytest.raises(AuditError, match="decide on the application"):
        sign_off(session, application.audit, today=DECIDED_ON, now=utcnow(), actor=world.chair)
    decide(session, application, world.chair, "decline", reasons="No appeal procedure.")

    assert application.status == ApplicationStatus.DECLINED
    assert application.program.recognised_on is None
    assert "No appeal procedure." in mails_to(session, world.admin.email)[-1].body_text
    assert sweep_audits(session, DECIDED_ON + timedelta(days=1), utcnow())["scheduled"] == 0
    with pytest.raises(RecognitionError, match="already decided"):
        decide(session, application, world.chair, "recognise")

    again = apply(session, world.organisation, world.admin, resubmission_of=application)
    assert again.resubmission_of_id == application.id and again.program_id != application.program_id
    assert again.status == ApplicationStatus.SUBMITTED
    with pytest.raises(RecognitionError, match="already been resubmitted"):
        apply(session, world.organisation, world.admin, resubmission_of=application, name="X")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"program_type": "XYZ"}, "known program type"),
        ({"name": "  "}, "The program's name"),
        ({"description": ""}, "The description"),
        ({"locations": [("", "")]}, "at least one country"),
        ({"locations": [("ZZ", "Nowhere")]}, "country of each location"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(world, session, changes, message):
    with pytest.raises(RecognitionError, match=message):
        apply(session, world.organisation, world.admin, **changes)
    assert session.scalar(select(func.count()).select_from(ProgramApplication)) == 0


def test_every_required_document_is_needed(world, session):
    with pytest.raises(RecognitionError, match="missing: Policies"):
        submit_application(
            session,
            world.organisation,
            details(),
            documents(policies=None),
            today=SUBMITTED_ON,
            now=utcnow(),
            actor=world.admin,
        )
    assert session.scalar(select(func.count()).select_from(Program)) == 0


def test_wrong_roles_and_states_are_refused(world, session):
    other = make_organisation(session, name="Elsewhere Institute")
    with pytest.raises(RecognitionError, match="Only an administrator"):
        apply(session, other, world.admin)
    trainer_only = make_organisation(session, name="Trainers Only", account_type="qap1")
    trainer_admin = make_organisation_admin(session, trainer_only, email="t@trainers.example")
    with pytest.raises(RecognitionError, match="not for QAP programs"):
        apply(session, trainer_only, trainer_admin)

    application = apply(session, world.organisation, world.admin)
    with pytest.raises(RecognitionError, match="already has a QAP application"):
        apply(session, world.organisation, world.admin, name="Second")
    with pytest.raises(RecognitionError, match="Only a declined application"):
        apply(session, world.organisation, world.admin, resubmission_of=application)
    # Before the report: nobody decides; then only the chair, never an appraiser.
    with pytest.raises(RecognitionError, match="not submitted their report"):
        decide(session, application, world.chair)
    appraise(session, application, world.appraiser, world.chair)
    with pytest.raises(RecognitionError, match="Only the chair"):
        decide(session, application, world.appraiser)
    with pytest.raises(RecognitionError, match="Only the chair"):
        decide(session, application, world.admin)
    assert application.decision is None


def test_a_pool_appraiser_must_declare_before_assignment(world, session):
    application = apply(session, world.organisation, world.admin)
    with pytest.raises(AuditError, match="has not declared"):
        assign_appraiser(
            session, application.audit, world.appraiser, now=utcnow(), actor=world.chair
        )
    declare_none(session, application, world.appraiser)
    assign_appraiser(session, application.audit, world.appraiser, now=utcnow(), actor=world.chair)
    assert application.status == ApplicationStatus.UNDER_APPRAISAL


def test_a_program_applied_for_cannot_be_used_before_its_recognition(world, session):
    application = apply(session, world.organisation, world.admin)
    program_id = application.program_id
    mediator = make_mediator(session, email="zoe@example.org")
    with pytest.raises(OrganisationError, match="Choose one of the programs"):
        link_mediator_to_program(
            session,
            world.organisation,
            program_id=program_id,
            mediator_reference="zoe@example.org",
            linked_on=SUBMITTED_ON,
            today=SUBMITTED_ON,
            now=utcnow(),
            actor=world.admin,
        )
    with pytest.raises(MediatorError, match="Choose a recognised program"):
        record_assessment(
            session,
            mediator,
            program_id=program_id,
            assessed_on=SUBMITTED_ON,
            today=SUBMITTED_ON,
            now=utcnow(),
            actor=world.admin,
        )
    assert program_id not in dict(program_choices(session, ASSESSMENT_TYPES))
    appraise(session, application, world.appraiser, world.chair)
    decide(session, application, world.chair)
    assert program_id in dict(program_choices(session, ASSESSMENT_TYPES))
