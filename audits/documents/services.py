"""Document requests and spot checks: asked by the appraisers, answered by the organisation.

Who may do what:

- The chair of the program type's subcommittee may ask while the audit is under way (open,
  in progress, or submitted: before signing off the chair may want one more file). An
  assigned appraiser may ask while the audit is open or in progress: once the report is
  submitted it is in the chair's hands, and a return sends the audit back to in progress.
- An administrator of the program's organisation uploads files and marks a request answered,
  until it is answered or the audit is completed.

Mails and the event log carry no more than the request itself: never a file's name or its
content, which only the audit's appraisers and chair see. The daily sweep (``audits.jobs``)
reminds the organisation once of a request left unanswered past its due date.
"""

from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from audits import queries
from audits.access import Standing, standings_on
from audits.documents import storage
from audits.models import (
    ACTIVE_STATUSES,
    Audit,
    AuditDocument,
    AuditStatus,
    DocumentRequest,
    RequestKind,
)
from audits.notify import log_audit
from audits.services import MAX_NAME_LENGTH, AuditError, locked, text
from registry.accounts.models import Role, User
from registry.formatting import format_day
from registry.mail.services import queue_template_mail
from registry.mediators.models import Mediator, ProgramLink

MAX_DESCRIPTION_LENGTH = 5000
MAX_NOTE_LENGTH = 2000
MAX_DUE_DAYS = 180
MAX_DOCUMENTS_PER_REQUEST = 50
APPRAISER_STATUSES = frozenset({AuditStatus.OPEN, AuditStatus.IN_PROGRESS})


# -- Reading -------------------------------------------------------------------------------


def requests_of(session: Session, audit_id: int) -> list[DocumentRequest]:
    """Return the audit's requests, oldest first."""
    return list(
        session.scalars(
            select(DocumentRequest)
            .where(DocumentRequest.audit_id == audit_id)
            .order_by(DocumentRequest.requested_at, DocumentRequest.id)
        )
    )


def linked_mediators(session: Session, program_id: int) -> list[Mediator]:
    """Return the mediators linked to the program (the candidates of a spot check), by name."""
    return list(
        session.scalars(
            select(Mediator)
            .join(ProgramLink, ProgramLink.mediator_id == Mediator.id)
            .where(ProgramLink.program_id == program_id)
            .order_by(Mediator.name, Mediator.id)
        )
    )


def request_refusal(session: Session, audit: Audit, user: User) -> str | None:
    """Return why ``user`` cannot ask for documents in ``audit`` now, or None if they can."""
    standings = standings_on(session, user, audit)
    if not standings & {Standing.CHAIR, Standing.APPRAISER}:
        return _("Only the audit's assigned appraisers and the subcommittee's chair can ask.")
    if audit.status not in ACTIVE_STATUSES:
        if audit.status == AuditStatus.SCHEDULED:
            return _("Documents cannot be requested: the audit is scheduled.")
        return _("Documents cannot be requested: the audit is completed.")
    if Standing.CHAIR not in standings and audit.status not in APPRAISER_STATUSES:
        return _("The report is with the chair: only the chair can ask for more documents now.")
    return None


def upload_refusal(session: Session, request: DocumentRequest, user: User) -> str | None:
    """Return why ``user`` cannot add to or answer ``request`` now, or None if they can."""
    audit = request.audit
    organisation_id = audit.program.organisation_id
    if not (
        user.has_role(Role.ORGANISATION_ADMIN)
        and queries.is_organisation_admin(session, user.id, organisation_id)
    ):
        return _("Only an administrator of the program's organisation can answer a request.")
    if audit.status not in ACTIVE_STATUSES:
        if audit.status == AuditStatus.SCHEDULED:
            return _("The audit is scheduled: requests can no longer be answered.")
        return _("The audit is completed: requests can no longer be answered.")
    if request.answered_at is not None:
        return _("This request is already answered.")
    return None


# -- Changing ------------------------------------------------------------------------------


def _locked_request(session: Session, request: DocumentRequest) -> DocumentRequest:
    """Re-read ``request`` under a row lock, so an upload and an answer take turns."""
    return session.scalars(
        select(DocumentRequest)
        .where(DocumentRequest.id == request.id)
        .with_for_update(of=DocumentRequest)
        .execution_options(populate_existing=True)
    ).one()


def _check_due_date(due_on: date | None, today: date) -> date:
    if due_on is None:
        raise AuditError(_("Choose a due date."))
    if due_on <= today:
        raise AuditError(_("The due date must be after today."))
    latest = today + timedelta(days=MAX_DUE_DAYS)
    if due_on > latest:
        raise AuditError(
            _(
                "The due date can be at most %(days)s days ahead (%(latest)s).",
                days=MAX_DUE_DAYS,
                latest=format_day(latest),
            )
        )
    return due_on


def _check_mediator(
    session: Session, audit: Audit, kind: RequestKind, mediator: Mediator | None
) -> None:
    if mediator is None:
        return
    if kind != RequestKind.SPOT_CHECK:
        raise AuditError(_("Only a spot check names a mediator; choose “Spot check” or no one."))
    if session.get(ProgramLink, (audit.program_id, mediator.id)) is None:
        raise AuditError(
            _(
                "%(mediator)s is not linked to %(program)s.",
                mediator=mediator.name,
                program=audit.program.name,
            )
        )


def request_documents(
    session: Session,
    audit: Audit,
    *,
    kind: str,
    title: str,
    description: str,
    due_on: date | None,
    mediator: Mediator | None = None,
    today: date,
    now: datetime,
    actor: User,
) -> DocumentRequest:
    """Ask the program's organisation for documents, or a spot check, by ``due_on``."""
    audit = locked(session, audit)
    refusal = request_refusal(session, audit, actor)
    if refusal:
        raise AuditError(refusal)
    if kind not in set(RequestKind):
        raise AuditError(_("Choose a document request or a spot check."))
    request = DocumentRequest(
        audit=audit,
        kind=kind,
        title=text(title, what=_("The title"), limit=MAX_NAME_LENGTH),
        description=text(description, what=_("The description"), limit=MAX_DESCRIPTION_LENGTH),
        due_on=_check_due_date(due_on, today),
        requested_at=now,
        requested_by_id=actor.id,
    )
    _check_mediator(session, audit, RequestKind(kind), mediator)
    request.mediator = mediator
    session.add(request)
    session.flush()
    log_audit(
        session,
        "audit.documents_requested",
        audit,
        now=now,
        actor=actor,
        request_id=request.id,
        kind=kind,
        due_on=request.due_on.isoformat(),
    )
    _mail_organisation(
        session,
        "audit_document_request.txt",
        request,
        now=now,
        kind_names=storage.KIND_NAMES,
        max_size=storage.human_size(current_app.config["AUDIT_UPLOAD_MAX_BYTES"]),
    )
    return request


def _mail_organisation(
    session: Session, template: str, request: DocumentRequest, *, now: datetime, **extra: object
) -> int:
    organisation = request.audit.program.organisation
    return queue_template_mail(
        session,
        template,
        to=queries.organisation_admin_emails(session, organisation.id),
        now=now,
        request=request,
        audit=request.audit,
        program=request.audit.program,
        organisation=organisation,
        **extra,
    )


def upload_document(
    session: Session, request: DocumentRequest, upload: FileStorage, *, now: datetime, actor: User
) -> AuditDocument:
    """Keep a file the organisation sends for ``request``; refuse a wrong type or size."""
    request = _locked_request(session, request)
    refusal = upload_refusal(session, request, actor)
    if refusal:
        raise AuditError(refusal)
    if len(request.documents) >= MAX_DOCUMENTS_PER_REQUEST:
        raise AuditError(
            _(
                "A request takes at most %(limit)s files; combine some into one file.",
                limit=MAX_DOCUMENTS_PER_REQUEST,
            )
        )
    try:
        stored = storage.store_upload(session, upload.stream, upload.filename)
    except storage.UploadRefused as refused:
        raise AuditError(str(refused)) from None
    try:
        document = _add_document(session, request, stored, now=now, actor=actor)
    except BaseException:
        storage.discard(session, stored)
        raise
    return document


def _add_document(
    session: Session,
    request: DocumentRequest,
    stored: storage.StoredFile,
    *,
    now: datetime,
    actor: User,
) -> AuditDocument:
    document = AuditDocument(
        original_name=stored.original_name,
        content_type=stored.content_type,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        storage_name=stored.storage_name,
        uploaded_at=now,
        uploaded_by_id=actor.id,
    )
    request.documents.append(document)
    session.flush()
    log_audit(
        session,
        "audit.document_uploaded",
        request.audit,
        now=now,
        actor=actor,
        request_id=request.id,
        document_id=document.id,
        size_bytes=document.size_bytes,
        content_type=document.content_type,
    )
    return document


def answer_request(
    session: Session, request: DocumentRequest, *, note: str, now: datetime, actor: User
) -> DocumentRequest:
    """Mark ``request`` answered: with its files, or a note saying why there are none."""
    request = _locked_request(session, request)
    refusal = upload_refusal(session, request, actor)
    if refusal:
        raise AuditError(refusal)
    note = text(note, what=_("The note"), limit=MAX_NOTE_LENGTH, minimum=0)
    if not request.documents and not note:
        raise AuditError(_("Upload at least one file, or say in a note why there is none."))
    request.answered_at, request.answered_by_id, request.answer_note = now, actor.id, note
    session.flush()
    log_audit(
        session,
        "audit.document_request_answered",
        request.audit,
        now=now,
        actor=actor,
        request_id=request.id,
        documents=len(request.documents),
    )
    queue_template_mail(
        session,
        "audit_document_request_answered.txt",
        to=_auditors_emails(session, request),
        now=now,
        request=request,
        audit=request.audit,
        program=request.audit.program,
    )
    return request


def _auditors_emails(session: Session, request: DocumentRequest) -> list[str]:
    """Return the addresses of the audit's appraisers, and of the chair if the chair asked."""
    audit = request.audit
    emails = [
        assignment.appraiser.email
        for assignment in queries.active_assignments(session, audit.id)
        if assignment.appraiser.is_active
    ]
    asker = request.requested_by
    if asker.is_active and queries.is_chair(session, asker.id, audit.program.program_type):
        emails.append(asker.email)
    return emails
