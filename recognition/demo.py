"""Demo applications for recognition at every stage, through the real services.

All are the Amsterdam Mediation Academy's (its administrator is the demo's organisation
account), so one sign-in follows them all on the dashboard. The appraisals reuse the audits
demo's helpers (declarations, assignments, requests, drafts) on the recognition audits.
"""

import io
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from audits.demo import CONDITIONS, PDF, STRENGTHS, SUMMARY, WEAKNESSES, _AuditDemo
from audits.jobs import sweep_audits
from audits.models import Audit, Recommendation
from audits.queries import standard_set
from audits.reports.services import save_draft, submit_report
from recognition.models import ProgramApplication
from recognition.services import (
    REQUIRED_DOCUMENTS,
    ProgramDetails,
    decide_application,
    submit_application,
)
from registry.accounts.models import User
from registry.organisations.models import Organisation

ACADEMY = "Amsterdam Mediation Academy"
# (type, name, locations, days ago submitted, the stage it has reached)
APPLICATIONS = [
    ("MAQAP", "Advocacy in Mediation", [("NL", "Amsterdam")], 3, "submitted"),
    (
        "ICQAP",
        "Intercultural Assessment",
        [("NL", "Amsterdam"), ("SR", "Paramaribo")],
        30,
        "appraisal",
    ),
    ("ODRQAP", "Online Assessment Days", [("NL", "")], 60, "report"),
    ("QAP", "Family Mediation Assessment", [("NL", "Utrecht")], 120, "recognise"),
    ("CMTP", "Workplace Mediation Course", [("NL", "Rotterdam")], 150, "conditions"),
    ("CMTP", "Weekend Mediation Course", [("BE", "Antwerp")], 200, "decline"),
    ("QAP", "Peer Mediation Assessment", [("NL", "Leiden")], 220, "decline_resubmitted"),
]
DESCRIPTION = "Applied for in the demo: {name}, delivered by the Amsterdam Mediation Academy."
# The chair's reasons for each declined application.
DECLINE_REASONS = {
    "Weekend Mediation Course": (
        "The course is too short to cover the curriculum the standard requires, and the"
        " participants' role-plays are not observed or assessed by the trainers."
    ),
    "Peer Mediation Assessment": (
        "The program has no appeal procedure for candidates and its assessors' qualifications"
        " are not documented."
    ),
}
# The report on the timely reporting criterion when results reach the registry late.
LATE_RESULTS = "QAP-7"
LATE_EVIDENCE = "Three of the last twelve results reached the registry more than 30 days late."
LATE_DEVIATION = "Results reported late: three of twelve last year, up to seven weeks after."


def _documents() -> dict[str, FileStorage | None]:
    return {key: FileStorage(io.BytesIO(PDF), filename=f"{key}.pdf") for key in REQUIRED_DOCUMENTS}


def load_recognition_demo(session: Session, *, today: date, now: datetime) -> None:
    """Load one application at every stage (see the module docstring)."""
    demo = _AuditDemo(session, today, now)
    academy = session.scalars(select(Organisation).where(Organisation.name == ACADEMY)).one()
    olga = demo.people["organisation"]
    for program_type, name, locations, days_ago, stage in APPLICATIONS:
        submitted_on = today - timedelta(days=days_ago)
        application = _apply(
            session, academy, olga, program_type, name, locations, submitted_on, now, days_ago
        )
        _carry(demo, application, stage, today - timedelta(days=max(days_ago - 40, 1)), now)
        if stage == "decline_resubmitted":
            _apply(
                session,
                academy,
                olga,
                program_type,
                name,
                locations,
                today - timedelta(days=10),
                now,
                10,
                resubmission_of=application,
            )
    # The daily job's view of today: the recognised programs' first audits scheduled.
    sweep_audits(session, today, now)


def _apply(
    session: Session,
    academy: Organisation,
    olga: User,
    program_type: str,
    name: str,
    locations: list[tuple[str, str]],
    submitted_on: date,
    now: datetime,
    days_ago: int,
    resubmission_of: ProgramApplication | None = None,
) -> ProgramApplication:
    return submit_application(
        session,
        academy,
        ProgramDetails(program_type, name, DESCRIPTION.format(name=name), locations),
        _documents(),
        resubmission_of=resubmission_of,
        today=submitted_on,
        now=now - timedelta(days=days_ago),
        actor=olga,
    )


def _carry(
    demo: _AuditDemo, application: ProgramApplication, stage: str, decided_on: date, now: datetime
) -> None:
    """Carry the application's appraisal to ``stage``."""
    if stage == "submitted":
        return
    audit = application.audit
    pool = {"ICQAP": "appraiser", "ODRQAP": "appraiser2", "QAP": "appraiser", "CMTP": "appraiser"}
    first = pool[application.program.program_type]
    demo.assign(audit, first)
    if application.program.program_type == "CMTP":
        demo.declare(audit, "appraiser2", conflict=True)  # refused: a conflict
        demo.assign(audit, "appraiser3")
    demo.request(audit, first, answered=stage != "appraisal")
    if stage == "appraisal":
        return
    _draft(demo, audit, first, stage)
    submit_report(demo.session, audit, now=now - timedelta(days=4), actor=demo.people[first])
    if stage == "report":
        return
    decision = {
        "recognise": "recognise",
        "conditions": "recognise_with_conditions",
        "decline": "decline",
        "decline_resubmitted": "decline",
    }[stage]
    declined = decision == "decline"
    decide_application(
        demo.session,
        application,
        decision=decision,
        reasons=(
            DECLINE_REASONS[application.program.name]
            if declined
            else "The program meets every criterion of the standard versions in force."
        ),
        conditions=(
            "Publish an appeal procedure within six months."
            if decision == "recognise_with_conditions"
            else ""
        ),
        today=decided_on,
        now=datetime.combine(decided_on, time(10), tzinfo=UTC),
        actor=demo.people[
            "chair" if application.program.program_type in ("QAP", "CMTP") else "committee"
        ],
    )


def _draft(demo: _AuditDemo, audit: Audit, local: str, stage: str) -> None:
    """Save the appraisers' complete report; its ratings agree with its weaknesses.

    The report awaiting the chair finds results reported late: timely reporting is partly met,
    with a deviation citing it, and the recognition is recommended with a condition.
    """
    criteria = standard_set(demo.session, audit).criteria
    late = stage == "report" and any(c.code == LATE_RESULTS for c in criteria)
    findings = {c.code: ("met", "Read the handbook and five files.") for c in criteria}
    if late:
        findings[LATE_RESULTS] = ("partly", LATE_EVIDENCE)
    with_conditions = late or stage == "conditions"
    save_draft(
        demo.session,
        audit,
        findings=findings,
        strengths=STRENGTHS,
        weaknesses=(
            WEAKNESSES
            if late
            else "None that bears on the criteria; the handbook could give more worked examples."
        ),
        summary=SUMMARY if late else "The program meets every criterion of the standards.",
        recommendation=(
            Recommendation.RENEW_WITH_CONDITIONS if with_conditions else Recommendation.RENEW
        ),
        conditions=(CONDITIONS if late else "Publish an appeal procedure within six months.")
        if with_conditions
        else "",
        deviations=[(LATE_RESULTS, LATE_DEVIATION)] if late else [],
        now=demo.now - timedelta(days=5),
        actor=demo.people[local],
    )
