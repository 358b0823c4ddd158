"""Demo audits: the committee, and programs in every public status, relative to today.

Loaded by ``mediator-registry demo`` through the registry's ``demo_loaders`` hook. Audits
already under way are carried through the real services (declarations, assignments, document
requests, drafts, a submitted report); completed history is written as rows, with full reports.
The walk-through program is the Amsterdam Mediation Academy's QAP, whose audit is open and
waiting for its appraiser (README, "An audit from due to signed off").
"""

import io
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from audits.committee.services import (
    add_member,
    appoint_chair,
    assign_appraiser,
    declare_conflicts,
)
from audits.documents.services import answer_request, request_documents, upload_document
from audits.jobs import sweep_audits
from audits.models import (
    Audit,
    AuditAssignment,
    AuditDeviation,
    AuditFinding,
    AuditReport,
    AuditStatus,
    ConflictDeclaration,
    Recommendation,
)
from audits.queries import standard_set
from audits.reports.services import save_draft, submit_report
from audits.schedule import opening_date
from audits.services import fix_standards
from registry.accounts.models import User
from registry.accounts.services import find_user
from registry.clock import add_years
from registry.organisations.models import Program

DOMAIN = "demo.registry.example"
# Who chairs each subcommittee, and the appraisers in each pool.
CHAIRS = {"CMTP": "chair", "QAP": "chair", "MAQAP": "committee", "ICQAP": "committee"}
CHAIRS["ODRQAP"] = "committee"
POOLS = {
    "appraiser": ("CMTP", "QAP", "ICQAP"),
    "appraiser2": ("CMTP", "QAP", "MAQAP", "ODRQAP"),
    "appraiser3": ("CMTP", "MAQAP", "ICQAP", "ODRQAP"),
}
SUMMARY = (
    "The program meets the registry's criteria. Candidates are well informed, assessors are "
    "independent and files are complete; reporting to the registry could be faster."
)
STRENGTHS = "Clear published criteria; experienced, independent assessors; complete files."
WEAKNESSES = "Results sometimes reach the registry weeks after the assessment."
CONDITIONS = "Report every result to the registry within 30 days, from the next assessment on."
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def half_year_end(day: date) -> date:
    """Return the first 30 June or 31 December on or after ``day``."""
    mid_year = date(day.year, 6, 30)
    return mid_year if day <= mid_year else date(day.year, 12, 31)


def completion_for(due_on: date) -> date:
    """Return a completion day whose next audit falls due on ``due_on``."""
    return add_years(due_on, -2) - timedelta(days=45)


def _at(day: date) -> datetime:
    return datetime.combine(day, time(10), tzinfo=UTC)


class _AuditDemo:
    def __init__(self, session: Session, today: date, now: datetime) -> None:
        self.session, self.today, self.now = session, today, now
        self.people = {
            local: find_user(session, f"{local}@{DOMAIN}")
            for local in ("admin", "chair", "committee", "organisation", *POOLS)
        }
        # The next due date after today, and the last one before it.
        self.next_due = half_year_end(today + timedelta(days=1))
        ends = (date(today.year - 1, 12, 31), date(today.year, 6, 30))
        self.last_due = max(end for end in ends if end < today)

    def program(self, organisation: str, program_type: str) -> Program:
        return self.session.scalars(
            select(Program)
            .where(Program.program_type == program_type)
            .where(Program.organisation.has(name=organisation))
        ).one()

    def committee(self) -> None:
        admin = self.people["admin"]
        for program_type, local in CHAIRS.items():
            appoint_chair(self.session, program_type, self.people[local], now=self.now, actor=admin)
        for local, types in POOLS.items():
            for program_type in types:
                add_member(
                    self.session, program_type, self.people[local], now=self.now, actor=admin
                )

    def completed(
        self, program: Program, completed_on: date, outcome: Recommendation, appraiser: str
    ) -> Audit:
        """Write a signed-off audit with its declaration, assignment and full report."""
        chair = self.people[CHAIRS[program.program_type]]
        author = self.people[appraiser]
        at = _at(completed_on)
        audit = Audit(
            program=program,
            due_on=half_year_end(completed_on),
            status=AuditStatus.COMPLETED,
            scheduled_at=at - timedelta(days=200),
            opened_on=completed_on - timedelta(days=90),
            completed_on=completed_on,
            outcome=outcome,
            signed_off_at=at,
            signed_off_by_id=chair.id,
        )
        self.session.add(audit)
        self.session.flush()
        fix_standards(self.session, audit, audit.opened_on)
        self.session.add_all(
            [
                ConflictDeclaration(
                    audit_id=audit.id,
                    appraiser_id=author.id,
                    declared_at=at - timedelta(days=80),
                    has_conflict=False,
                ),
                AuditAssignment(
                    audit_id=audit.id,
                    appraiser_id=author.id,
                    assigned_at=at - timedelta(days=75),
                    assigned_by_id=chair.id,
                ),
            ]
        )
        self.session.add(self._report(audit, author, outcome, at))
        self.session.flush()
        return audit

    def _report(
        self, audit: Audit, author: User, outcome: Recommendation, at: datetime
    ) -> AuditReport:
        conditional = outcome != Recommendation.RENEW
        criteria = standard_set(self.session, audit).criteria
        # A renewal on conditions or a suspension: the last criterion is only partly met.
        deviations = [
            AuditDeviation(
                rule=criteria[-1].code,
                rule_id=criteria[-1].id,
                description="Results reached the registry up to four months late.",
            )
        ]
        return AuditReport(
            audit_id=audit.id,
            strengths=STRENGTHS,
            weaknesses=WEAKNESSES,
            summary=SUMMARY if not conditional else f"{SUMMARY} {WEAKNESSES}",
            recommendation=outcome,
            conditions=CONDITIONS if outcome == Recommendation.RENEW_WITH_CONDITIONS else "",
            created_at=at - timedelta(days=30),
            updated_at=at - timedelta(days=10),
            updated_by_id=author.id,
            submitted_at=at - timedelta(days=10),
            submitted_by_id=author.id,
            findings=[
                AuditFinding(
                    criterion=criterion.code,
                    rule_id=criterion.id,
                    rating="partly" if conditional and criterion is criteria[-1] else "met",
                    evidence="Checked the published documents and a sample of five files.",
                )
                for criterion in criteria
            ],
            deviations=deviations if conditional else [],
        )

    def open_audit(self, program: Program, due_on: date) -> Audit:
        """Open the program's audit due on ``due_on`` (as the job would have)."""
        audit = Audit(
            program=program,
            due_on=due_on,
            status=AuditStatus.OPEN,
            scheduled_at=self.now - timedelta(days=400),
            opened_on=min(self.today, opening_date(due_on, 120)),
        )
        self.session.add(audit)
        self.session.flush()
        fix_standards(self.session, audit, audit.opened_on)
        return audit

    def declare(self, audit: Audit, local: str, *, conflict: bool = False) -> None:
        declare_conflicts(
            self.session,
            audit,
            self.people[local],
            relationship=conflict,
            gifts=False,
            prior_work=False,
            other=False,
            no_conflict=not conflict,
            details="Taught on this organisation's course in 2025." if conflict else None,
            now=self.now - timedelta(days=20),
        )

    def assign(self, audit: Audit, local: str) -> None:
        self.declare(audit, local)
        chair = self.people[CHAIRS[audit.program.program_type]]
        assign_appraiser(
            self.session,
            audit,
            self.people[local],
            now=self.now - timedelta(days=18),
            actor=chair,
        )

    def draft(self, audit: Audit, local: str, *, complete: bool) -> None:
        criteria = standard_set(self.session, audit).criteria
        shown = criteria if complete else criteria[:3]
        save_draft(
            self.session,
            audit,
            findings={c.code: ("met", "Read the handbook and five files.") for c in shown},
            strengths=STRENGTHS,
            weaknesses=WEAKNESSES if complete else "",
            summary=SUMMARY if complete else "",
            recommendation=Recommendation.RENEW if complete else None,
            conditions="",
            deviations=[],
            now=self.now - timedelta(days=5),
            actor=self.people[local],
        )

    def request(self, audit: Audit, local: str, *, answered: bool) -> None:
        asked = request_documents(
            self.session,
            audit,
            kind="documents",
            title="Assessment handbook and the last year's results",
            description="The current assessment handbook and the list of results for the "
            "last twelve months, with the dates they were reported to the registry.",
            due_on=self.today + timedelta(days=14),
            today=self.today - timedelta(days=10),
            now=self.now - timedelta(days=10),
            actor=self.people[local],
        )
        if answered:
            olga = self.people["organisation"]
            upload = FileStorage(io.BytesIO(PDF), filename="assessment-handbook.pdf")
            upload_document(self.session, asked, upload, now=self.now, actor=olga)
            answer_request(self.session, asked, note="", now=self.now, actor=olga)


def load_audit_demo(session: Session, *, today: date, now: datetime) -> None:
    """Load the Appraisal Committee and audits in every state (see the module docstring)."""
    demo = _AuditDemo(session, today, now)
    demo.committee()
    _audits_under_way(demo)
    for organisation, kind, days_ago, outcome, appraiser in SIGNED_OFF:
        program = demo.program(organisation, kind)
        demo.completed(program, today - timedelta(days=days_ago), outcome, appraiser)
    withdrawn = demo.program("Singapore International Mediation Training", "CMTP")
    withdrawn.withdrawn_on = today - timedelta(days=60)
    withdrawn.withdrawal_reason = "The organisation stopped running the program."
    # The daily job's view of today: the next cycles scheduled, the overdue audit marked.
    sweep_audits(session, today, now)


# Recently signed off: (organisation, type, days ago, outcome, appraiser).
SIGNED_OFF = [
    ("Nairobi Centre for Dispute Resolution", "QAP", 40, Recommendation.RENEW, "appraiser"),
    (
        "Nairobi Centre for Dispute Resolution",
        "ICQAP",
        100,
        Recommendation.RENEW_WITH_CONDITIONS,
        "appraiser3",
    ),
    ("Lisbon Advocacy School", "MAQAP", 20, Recommendation.SUSPEND, "appraiser3"),
    ("Centre Européen de Médiation", "CMTP", 300, Recommendation.RENEW, "appraiser3"),
    ("Centre Européen de Médiation", "ICQAP", 500, Recommendation.RENEW, "appraiser3"),
    ("Singapore International Mediation Training", "CMTP", 400, Recommendation.RENEW, "appraiser3"),
]


def _audits_under_way(demo: _AuditDemo) -> None:
    """Open audits: due (the walk-through), submitted, in progress, and one overdue."""
    next_due, last_due = demo.next_due, demo.last_due
    amsterdam = "Amsterdam Mediation Academy"
    for organisation, kind in ((amsterdam, "QAP"), (amsterdam, "CMTP"), (ODR, "ODRQAP")):
        program = demo.program(organisation, kind)
        demo.completed(program, completion_for(next_due), Recommendation.RENEW, "appraiser2")
    demo.open_audit(demo.program(amsterdam, "QAP"), next_due)
    # Two appraisers, the organisation's documents in, the report waiting for the chair.
    submitted = demo.open_audit(demo.program(amsterdam, "CMTP"), next_due)
    demo.assign(submitted, "appraiser")
    demo.assign(submitted, "appraiser3")
    demo.request(submitted, "appraiser", answered=True)
    demo.draft(submitted, "appraiser", complete=True)
    submit_report(demo.session, submitted, now=demo.now, actor=demo.people["appraiser"])
    # In progress: a request waiting for the organisation, a draft begun.
    in_progress = demo.open_audit(demo.program(ODR, "ODRQAP"), next_due)
    demo.assign(in_progress, "appraiser2")
    demo.request(in_progress, "appraiser2", answered=False)
    demo.draft(in_progress, "appraiser2", complete=False)
    # Overdue, with one of its two appraisers (the other declared a conflict).
    overdue_program = demo.program(ODR, "CMTP")
    demo.completed(overdue_program, completion_for(last_due), Recommendation.RENEW, "appraiser3")
    overdue = demo.open_audit(overdue_program, last_due)
    demo.declare(overdue, "appraiser", conflict=True)
    demo.assign(overdue, "appraiser2")


ODR = "Online Mediation Institute"
