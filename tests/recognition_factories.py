"""Test data builders for program recognition: an application submitted through the service,
its appraisal carried to a submitted report."""

import io
from dataclasses import dataclass
from datetime import date

from werkzeug.datastructures import FileStorage

from audits.committee.services import assign_appraiser, declare_conflicts
from audits.reports.services import save_draft, submit_report
from recognition.models import ProgramApplication
from recognition.services import REQUIRED_DOCUMENTS, ProgramDetails, submit_application
from registry.accounts.models import User
from registry.database import utcnow
from registry.organisations.models import Organisation
from tests.first_standards import first_criteria

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SUBMITTED_ON = date(2026, 3, 2)


def documents(**missing: None) -> dict[str, FileStorage | None]:
    """Return one PDF per required document, less those named in ``missing``."""
    return {
        key: None if key in missing else FileStorage(stream=io.BytesIO(PDF), filename=f"{key}.pdf")
        for key in REQUIRED_DOCUMENTS
    }


def details(**changes: object) -> ProgramDetails:
    values: dict = {
        "program_type": "QAP",
        "name": "Assessment Days",
        "description": "Two days of role-plays assessed by two assessors.",
        "locations": [("NL", "Utrecht"), ("BE", "")],
    }
    values.update(changes)
    return ProgramDetails(**values)


def apply(
    session,
    organisation: Organisation,
    admin: User,
    *,
    today: date = SUBMITTED_ON,
    resubmission_of: ProgramApplication | None = None,
    **changes: object,
) -> ProgramApplication:
    return submit_application(
        session,
        organisation,
        details(**changes),
        documents(),
        resubmission_of=resubmission_of,
        today=today,
        now=utcnow(),
        actor=admin,
    )


def declare_none(session, application: ProgramApplication, appraiser: User) -> None:
    declare_conflicts(
        session,
        application.audit,
        appraiser,
        relationship=False,
        gifts=False,
        prior_work=False,
        other=False,
        no_conflict=True,
        details=None,
        now=utcnow(),
    )


def appraise(
    session, application: ProgramApplication, appraiser: User, chair: User, recommendation="renew"
) -> None:
    """Declare, assign, write and submit a complete report through the audits services."""
    declare_none(session, application, appraiser)
    assign_appraiser(session, application.audit, appraiser, now=utcnow(), actor=chair)
    program_type = application.program.program_type
    save_draft(
        session,
        application.audit,
        findings={
            c.code: ("met", f"Read the handbook ({c.code}).") for c in first_criteria(program_type)
        },
        strengths="Clear criteria.",
        weaknesses="Few assessors.",
        summary="A sound program.",
        recommendation=recommendation,
        conditions="",
        deviations=[],
        now=utcnow(),
        actor=appraiser,
    )
    submit_report(session, application.audit, now=utcnow(), actor=appraiser)


@dataclass
class World:
    organisation: Organisation
    admin: User
    chair: User
    appraiser: User
