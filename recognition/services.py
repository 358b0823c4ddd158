"""Applications for recognition: submitted by an organisation, decided by the chair.

Between the two, the appraisal is the recognition audit's, on the audit pages: the pool's
conflict declarations, the chair's assignments, document requests and the report
(``audits.committee``, ``audits.documents``, ``audits.reports``). One function per state
change; each takes the actor and the clock, checks the state, logs, flushes, never commits.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from audits import queries as audit_queries
from audits.documents.services import upload_document
from audits.models import (
    Audit,
    AuditKind,
    AuditStatus,
    DocumentRequest,
    Recommendation,
    RequestKind,
)
from audits.notify import log_audit
from audits.reports.services import report_of
from audits.services import AuditError, fix_standards, locked, schedule_audit
from recognition.models import Decision, ProgramApplication
from registry.accounts.models import Role, User
from registry.events.services import record_event
from registry.i18n import _l
from registry.mail.services import queue_template_mail
from registry.organisations.models import (
    AccountType,
    Organisation,
    Program,
    ProgramLocation,
    ProgramType,
)
from registry.reference import COUNTRIES
from registry.validation import checked_text

MAX_NAME_LENGTH = 200
MAX_TEXT_LENGTH = 5000
MAX_CITY_LENGTH = 100
MAX_LOCATIONS = 50
# The target for the appraisal: its recognition audit is due this long after submission.
APPRAISAL_DAYS = 120

# The documents every application carries; each is the answer to one document request of the
# appraisal, so it is confidential exactly as audit documents are.
REQUIRED_DOCUMENTS = {
    "program": _l("The program: curriculum or assessment process, with its outcomes"),
    "people": _l("Trainers or assessors, and their qualifications"),
    "policies": _l("Policies: complaints, conflicts of interest, records and equal treatment"),
}

# The outcome of the recognition audit that each decision gives.
OUTCOMES = {
    Decision.RECOGNISE: Recommendation.RENEW,
    Decision.RECOGNISE_WITH_CONDITIONS: Recommendation.RENEW_WITH_CONDITIONS,
    Decision.DECLINE: Recommendation.SUSPEND,
}


class RecognitionError(AuditError):
    """A change to an application that the rules do not allow."""


class DocumentRefused(RecognitionError):
    """A required document that cannot be kept (wrong type or content, too large)."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key  # which of REQUIRED_DOCUMENTS


def text(value: str | None, *, what: str, limit: int = MAX_TEXT_LENGTH, minimum: int = 1) -> str:
    """Return ``value`` trimmed, or raise RecognitionError if it is empty or too long."""
    return checked_text(value, what=what, limit=limit, error=RecognitionError, minimum=minimum)


@dataclass(frozen=True)
class ProgramDetails:
    """What the organisation says of the program it applies for."""

    program_type: str
    name: str
    description: str
    # (country code, city) pairs; the city may be empty.
    locations: list[tuple[str, str]]


# -- Reading -------------------------------------------------------------------------------


def is_administrator(session: Session, user: User, organisation_id: int) -> bool:
    """Return whether ``user`` administers the organisation (with the role)."""
    return user.has_role(Role.ORGANISATION_ADMIN) and audit_queries.is_organisation_admin(
        session, user.id, organisation_id
    )


def application_of_audit(session: Session, audit_id: int) -> ProgramApplication | None:
    """Return the application that ``audit_id`` appraises, if it is a recognition audit."""
    return session.scalars(
        select(ProgramApplication).where(ProgramApplication.audit_id == audit_id)
    ).one_or_none()


def resubmission_of(session: Session, application: ProgramApplication) -> ProgramApplication | None:
    """Return the application that resubmits ``application``, if any."""
    return session.scalars(
        select(ProgramApplication).where(ProgramApplication.resubmission_of_id == application.id)
    ).one_or_none()


def required_requests(session: Session, application: ProgramApplication) -> list[DocumentRequest]:
    """Return the document requests the application's required documents answered."""
    return list(
        session.scalars(
            select(DocumentRequest)
            .where(
                DocumentRequest.audit_id == application.audit_id,
                DocumentRequest.requested_by_id == application.submitted_by_id,
            )
            .order_by(DocumentRequest.id)
        )
    )


def pending_refusals(
    session: Session, organisation: Organisation, previous: ProgramApplication | None = None
) -> list[str]:
    """Return why no application can be submitted now, one line a type; empty if one can.

    An organisation may apply for the types its account is for (a resubmission for its
    application's type) unless each already has an application under appraisal.
    """
    if previous is not None:
        kinds = [ProgramType(previous.program.program_type)]
    else:
        kinds = [kind for kind in ProgramType if _may_apply_for(organisation, kind)]
    refusals = []
    for kind in kinds:
        try:
            _check_undecided_none(session, organisation, kind)
        except RecognitionError as refused:
            refusals.append(str(refused))
    return refusals if len(refusals) == len(kinds) else []


# -- Submitting ----------------------------------------------------------------------------


def _may_apply_for(organisation: Organisation, kind: ProgramType) -> bool:
    trains = organisation.account_type in (AccountType.QAP1, AccountType.QAP3)
    assesses = organisation.account_type in (AccountType.QAP2, AccountType.QAP3)
    return trains if kind.is_training else assesses


def _checked_type(organisation: Organisation, program_type: str) -> ProgramType:
    if program_type not in set(ProgramType):
        raise RecognitionError(_("Choose a known program type."))
    kind = ProgramType(program_type)
    if not _may_apply_for(organisation, kind):
        raise RecognitionError(
            _(
                "%(organisation)s's account is not for %(type)s programs; ask the registry to"
                " change the account type first.",
                organisation=organisation.name,
                type=kind.value,
            )
        )
    return kind


def _checked_locations(locations: list[tuple[str, str]]) -> list[tuple[str, str]]:
    cleaned: dict[tuple[str, str], None] = {}
    for country, city in locations:
        code = (country or "").strip().upper()
        if not code and not (city or "").strip():
            continue
        if code not in COUNTRIES:
            raise RecognitionError(_("Choose the country of each location from the list."))
        place = text(city, what=_("The city"), limit=MAX_CITY_LENGTH, minimum=0)
        cleaned[(code, place)] = None
    if not cleaned:
        raise RecognitionError(_("Give at least one country where the program is delivered."))
    if len(cleaned) > MAX_LOCATIONS:
        raise RecognitionError(_("Give at most %(limit)s locations.", limit=MAX_LOCATIONS))
    return list(cleaned)


def _check_undecided_none(session: Session, organisation: Organisation, kind: ProgramType) -> None:
    pending = session.scalars(
        select(ProgramApplication.id)
        .join(Program, Program.id == ProgramApplication.program_id)
        .where(
            ProgramApplication.organisation_id == organisation.id,
            ProgramApplication.decision.is_(None),
            Program.program_type == kind.value,
        )
    ).first()
    if pending is not None:
        raise RecognitionError(
            _(
                "%(organisation)s already has a %(type)s application under appraisal; wait for"
                " its decision.",
                organisation=organisation.name,
                type=kind.value,
            )
        )


def _check_resubmission(
    session: Session, previous: ProgramApplication, organisation: Organisation, kind: ProgramType
) -> None:
    if previous.organisation_id != organisation.id:
        raise RecognitionError(_("Only the organisation's own application can be resubmitted."))
    if previous.decision != Decision.DECLINE:
        raise RecognitionError(_("Only a declined application can be resubmitted."))
    if resubmission_of(session, previous) is not None:
        raise RecognitionError(_("This application has already been resubmitted."))
    if previous.program.program_type != kind.value:
        raise RecognitionError(
            _(
                "A resubmission is for the same program type: %(type)s.",
                type=previous.program.program_type,
            )
        )


def _check_documents(documents: dict[str, FileStorage | None]) -> None:
    missing = [str(label) for key, label in REQUIRED_DOCUMENTS.items() if not documents.get(key)]
    if missing:
        raise RecognitionError(
            _(
                "Attach every required document; missing: %(documents)s.",
                documents="; ".join(missing),
            )
        )


def submit_application(
    session: Session,
    organisation: Organisation,
    details: ProgramDetails,
    documents: dict[str, FileStorage | None],
    *,
    resubmission_of: ProgramApplication | None = None,
    today: date,
    now: datetime,
    actor: User,
) -> ProgramApplication:
    """Apply for the recognition of a program; its appraisal opens at once.

    The program is recorded unrecognised, with the recognition audit that appraises it, judged
    against the standard versions in force ``today``; each required document answers a
    document request of that audit. The chair and the pool of the type's subcommittee are told.
    """
    if not is_administrator(session, actor, organisation.id):
        raise RecognitionError(_("Only an administrator of the organisation can apply."))
    kind = _checked_type(organisation, details.program_type)
    if resubmission_of is not None:
        _check_resubmission(session, resubmission_of, organisation, kind)
    _check_undecided_none(session, organisation, kind)
    program = Program(
        organisation=organisation,
        program_type=kind.value,
        name=text(details.name, what=_("The program's name"), limit=MAX_NAME_LENGTH),
        description=text(details.description, what=_("The description")),
        recognised_on=None,
        locations=[
            ProgramLocation(country=country, city=city)
            for country, city in _checked_locations(details.locations)
        ],
    )
    _check_documents(documents)
    audit = Audit(
        program=program,
        kind=AuditKind.RECOGNITION,
        due_on=today + timedelta(days=APPRAISAL_DAYS),
        status=AuditStatus.OPEN,
        scheduled_at=now,
        opened_on=today,
    )
    fix_standards(session, audit, today)  # the versions in force on submission, as audits do
    if not audit.standard_versions or audit_queries.subcommittee_for(session, kind.value) is None:
        raise RecognitionError(
            _("%(type)s programs cannot be appraised yet: ask the registry.", type=kind.value)
        )
    application = ProgramApplication(
        organisation=organisation,
        program=program,
        audit=audit,
        resubmission_of_id=resubmission_of.id if resubmission_of else None,
        submitted_at=now,
        submitted_by_id=actor.id,
    )
    session.add(application)
    session.flush()
    log_audit(session, "audit.opened", audit, now=now, actor=actor, due_on=str(audit.due_on))
    for key, label in REQUIRED_DOCUMENTS.items():
        try:
            _attach(session, audit, str(label), documents[key], today=today, now=now, actor=actor)
        except RecognitionError:
            raise
        except AuditError as refused:
            # The caller rolls back: no row is written and the files stored so far are removed.
            raise DocumentRefused(str(refused), key) from None
    _log(
        session,
        "submitted",
        application,
        now=now,
        actor=actor,
        program_type=kind.value,
        resubmission_of_id=application.resubmission_of_id,
        versions=[link.version_id for link in audit.standard_versions],
    )
    _tell_subcommittee(session, application, now=now)
    return application


def _attach(
    session: Session,
    audit: Audit,
    title: str,
    upload: FileStorage | None,
    *,
    today: date,
    now: datetime,
    actor: User,
) -> None:
    """Keep a required document as the answer to a request of the appraisal."""
    request = DocumentRequest(
        audit_id=audit.id,
        kind=RequestKind.DOCUMENTS,
        title=title,
        description=_("Required with the application for recognition."),
        due_on=today,
        requested_at=now,
        requested_by_id=actor.id,
    )
    session.add(request)
    session.flush()
    assert upload is not None  # checked by _check_documents
    upload_document(session, request, upload, now=now, actor=actor)
    request.answered_at, request.answered_by_id = now, actor.id
    session.flush()


def _log(
    session: Session,
    action: str,
    application: ProgramApplication,
    *,
    now: datetime,
    actor: User,
    reason: str | None = None,
    **data: object,
) -> None:
    record_event(
        session,
        action=f"program_application.{action}",
        subject_type="program_application",
        subject_id=application.id,
        now=now,
        actor=actor,
        reason=reason,
        data={
            "organisation_id": application.organisation_id,
            "program_id": application.program_id,
            "audit_id": application.audit_id,
            **data,
        },
    )
    session.flush()


def _tell_subcommittee(session: Session, application: ProgramApplication, *, now: datetime) -> None:
    """Tell the chair (who assigns) and the pool (who declare conflicts) of the new application."""
    program_type = application.program.program_type
    subcommittee = audit_queries.subcommittee_for(session, program_type)
    chair = subcommittee.chair if subcommittee else None
    if chair is not None and chair.is_active:
        queue_template_mail(
            session,
            "recognition_submitted.txt",
            to=[chair.email],
            now=now,
            application=application,
            for_chair=True,
        )
    pool = [user.email for user in audit_queries.pool(session, program_type)]
    queue_template_mail(
        session, "recognition_submitted.txt", to=pool, now=now, application=application
    )


# -- Deciding ------------------------------------------------------------------------------


def decision_refusal(session: Session, application: ProgramApplication, user: User) -> str | None:
    """Return why ``user`` cannot decide on ``application`` now, or None if they can."""
    audit = application.audit
    if not audit_queries.chairs_audit(session, user, audit):
        return _(
            "Only the chair of the %(type)s subcommittee decides on an application.",
            type=application.program.program_type,
        )
    if application.decision is not None:
        return _("This application is already decided.")
    if audit.status != AuditStatus.SUBMITTED:
        return _("The appraisers have not submitted their report yet.")
    report = report_of(session, audit.id)
    if audit_queries.is_assigned(session, user.id, audit.id) or (
        report is not None and report.submitted_by_id == user.id
    ):
        return _(
            "You are one of the appraisers, so you cannot decide: the decision must be"
            " independent of the report's authors."
        )
    return None


def decide_application(
    session: Session,
    application: ProgramApplication,
    *,
    decision: str,
    reasons: str,
    conditions: str = "",
    today: date,
    now: datetime,
    actor: User,
) -> ProgramApplication:
    """Record the chair's decision, with reasons sent to the organisation.

    It completes the recognition audit; a recognition dates the program, which then shows in
    the directory with its first audit scheduled from that date.
    """
    locked(session, application.audit)
    refusal = decision_refusal(session, application, actor)
    if refusal:
        raise RecognitionError(refusal)
    if decision not in set(Decision):
        raise RecognitionError(_("Choose a decision."))
    chosen = Decision(decision)
    reasons = text(reasons, what=_("The reasons"))
    with_conditions = chosen == Decision.RECOGNISE_WITH_CONDITIONS
    conditions = text(conditions, what=_("The conditions"), minimum=1 if with_conditions else 0)
    if conditions and not with_conditions:
        raise RecognitionError(
            _(
                "Conditions go with a recognition with conditions; clear them or choose that"
                " decision."
            )
        )
    audit = application.audit
    audit.outcome = OUTCOMES[chosen]
    audit.completed_on = today
    audit.signed_off_at, audit.signed_off_by_id = now, actor.id
    audit.status = AuditStatus.COMPLETED
    if chosen != Decision.DECLINE:
        application.program.recognised_on = today
    application.decision, application.reasons, application.conditions = chosen, reasons, conditions
    application.decided_at, application.decided_by_id = now, actor.id
    session.flush()
    log_audit(session, "audit.signed_off", audit, now=now, actor=actor, outcome=audit.outcome)
    _log(session, _DECIDED_ACTIONS[chosen], application, now=now, actor=actor, reason=reasons)
    if application.program.is_recognised:
        # The first two-yearly audit, by the rule every recognised program follows.
        schedule_audit(session, application.program, now=now, actor=actor)
    queue_template_mail(
        session,
        "recognition_decided.txt",
        to=audit_queries.organisation_admin_emails(session, application.organisation_id),
        now=now,
        application=application,
    )
    return application


_DECIDED_ACTIONS = {
    Decision.RECOGNISE: "recognised",
    Decision.RECOGNISE_WITH_CONDITIONS: "recognised_with_conditions",
    Decision.DECLINE: "declined",
}
