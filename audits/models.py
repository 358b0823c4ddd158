"""Program audits (product brief §2).

Every recognised program has one *open cycle* at a time: an ``Audit`` row whose status walks
scheduled → open → in progress → submitted → completed (a chair's return sends a submitted
audit back to in progress). The daily job schedules it, opens it a lead time before its due
date, reminds and marks it overdue; the chair's sign-off completes it, applies the outcome to
the program and schedules the next cycle.

Appraisers of the program type's subcommittee file a ``ConflictDeclaration`` for the audit
before they can be assigned (``AuditAssignment``); the assigned appraisers request documents
(``DocumentRequest``, ``AuditDocument``), keep notes (``AuditNote``) and write the
``AuditReport`` with its ``AuditFinding``\\ s and ``AuditDeviation``\\ s.
"""

from datetime import date, datetime
from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.accounts.models import User
from registry.database import Base, sql_values
from registry.i18n import _l
from registry.mediators.models import Mediator
from registry.organisations.models import Program
from standards.models import StandardRule, StandardVersion


class AuditStatus(StrEnum):
    SCHEDULED = "scheduled"  # the cycle's due date is known; not opened yet
    OPEN = "open"  # opened by the job: appraisers declare and are assigned
    IN_PROGRESS = "in_progress"  # the appraisers are assigned and work on the report
    SUBMITTED = "submitted"  # the report waits for the chair's sign-off
    COMPLETED = "completed"  # signed off: the outcome applies to the program

    @property
    def label(self) -> str:
        return str(AUDIT_STATUS_LABELS[self])


AUDIT_STATUS_LABELS = {
    AuditStatus.SCHEDULED: _l("Scheduled"),
    AuditStatus.OPEN: _l("Open: appraisers being assigned"),
    AuditStatus.IN_PROGRESS: _l("In progress"),
    AuditStatus.SUBMITTED: _l("Report submitted to the chair"),
    AuditStatus.COMPLETED: _l("Completed"),
}

# Statuses in which an audit is under way (opened and not yet signed off).
ACTIVE_STATUSES = frozenset({AuditStatus.OPEN, AuditStatus.IN_PROGRESS, AuditStatus.SUBMITTED})


class AuditKind(StrEnum):
    CYCLE = "cycle"  # a recognised program's two-yearly audit
    RECOGNITION = "recognition"  # the appraisal of an application (``recognition``)


class Recommendation(StrEnum):
    RENEW = "renew"
    RENEW_WITH_CONDITIONS = "renew_with_conditions"
    SUSPEND = "suspend"

    @property
    def label(self) -> str:
        return {
            Recommendation.RENEW: _("Renew"),
            Recommendation.RENEW_WITH_CONDITIONS: _("Renew with conditions"),
            Recommendation.SUSPEND: _("Suspend"),
        }[self]

    def label_for(self, kind: str) -> str:
        """The recommendation as an audit of ``kind`` says it: an application is recognised."""
        if kind != AuditKind.RECOGNITION:
            return self.label
        return {
            Recommendation.RENEW: _("Recognise"),
            Recommendation.RENEW_WITH_CONDITIONS: _("Recognise with conditions"),
            Recommendation.SUSPEND: _("Decline"),
        }[self]


class Rating(StrEnum):
    MET = "met"
    PARTLY = "partly"
    NOT_MET = "not_met"

    @property
    def label(self) -> str:
        return {
            Rating.MET: _("Met"),
            Rating.PARTLY: _("Partly met"),
            Rating.NOT_MET: _("Not met"),
        }[self]


class RequestKind(StrEnum):
    DOCUMENTS = "documents"
    SPOT_CHECK = "spot_check"  # e.g. the assessment file of one mediator

    @property
    def label(self) -> str:
        return {
            RequestKind.DOCUMENTS: _("Document request"),
            RequestKind.SPOT_CHECK: _("Spot check"),
        }[self]


class Subcommittee(Base):
    """The Appraisal Committee's subcommittee for one program type, its chair and members.

    The members who hold the appraiser role are the pool of appraisers for that type.
    """

    __tablename__ = "appraisal_subcommittees"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_type: Mapped[str] = mapped_column(String(8), unique=True)
    # Signs off the audits of the type; None until an administrator appoints one.
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    chair: Mapped[User | None] = relationship(lazy="joined")
    members: Mapped[list["SubcommitteeMember"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class SubcommitteeMember(Base):
    __tablename__ = "appraisal_subcommittee_members"

    subcommittee_id: Mapped[int] = mapped_column(
        ForeignKey("appraisal_subcommittees.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    joined_at: Mapped[datetime]

    user: Mapped[User] = relationship(lazy="joined")


OPEN_CYCLE = "status <> 'completed'"


class Audit(Base):
    """One two-yearly audit of a program: from scheduling to the chair's sign-off."""

    __tablename__ = "audits"
    __table_args__ = (
        CheckConstraint(f"status IN ({sql_values(AuditStatus)})", name="known_status"),
        CheckConstraint(f"kind IN ({sql_values(AuditKind)})", name="known_kind"),
        CheckConstraint(
            f"outcome IS NULL OR outcome IN ({sql_values(Recommendation)})", name="known_outcome"
        ),
        CheckConstraint("(status = 'scheduled') = (opened_on IS NULL)", name="opened_unless_new"),
        CheckConstraint(
            "(status = 'completed') = (completed_on IS NOT NULL)"
            " AND (status = 'completed') = (outcome IS NOT NULL)"
            " AND (status = 'completed') = (signed_off_at IS NOT NULL)",
            name="completed_has_outcome",
        ),
        # One open cycle per program: the job schedules and opens each audit once.
        Index(
            "uq_audits_open_cycle",
            "program_id",
            unique=True,
            sqlite_where=text(OPEN_CYCLE),
            postgresql_where=text(OPEN_CYCLE),
        ),
        UniqueConstraint("program_id", "due_on", name="uq_audits_program_due"),
        Index("ix_audits_status_due", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    # A recognition audit appraises the program's application and opens on submission; the
    # chair's decision on the application completes it (``recognition.services``).
    kind: Mapped[str] = mapped_column(String(16), default=AuditKind.CYCLE)
    # A cycle's: a 30 June or 31 December (audits.schedule.due_date); a recognition audit's:
    # a target some weeks after the application.
    due_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(16))
    scheduled_at: Mapped[datetime]
    opened_on: Mapped[date | None]
    # Marks of the daily job, so that each notice goes out once.
    reminded_on: Mapped[date | None]
    overdue_marked_on: Mapped[date | None]
    completed_on: Mapped[date | None]
    outcome: Mapped[str | None] = mapped_column(String(24))
    signed_off_at: Mapped[datetime | None]
    signed_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    program: Mapped[Program] = relationship(lazy="joined")
    signed_off_by: Mapped[User | None] = relationship(foreign_keys=[signed_off_by_id])
    # The standard versions it is judged against (empty until it opens).
    standard_versions: Mapped[list["AuditStandardVersion"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def status_label(self) -> str:
        return AuditStatus(self.status).label

    @property
    def outcome_label(self) -> str | None:
        return Recommendation(self.outcome).label_for(self.kind) if self.outcome else None

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_recognition(self) -> bool:
        return self.kind == AuditKind.RECOGNITION

    def is_overdue_on(self, day: date) -> bool:
        return self.status != AuditStatus.COMPLETED and day > self.due_on


class AuditStandardVersion(Base):
    """A standard version an audit is judged against: fixed when the audit opens."""

    __tablename__ = "audit_standard_versions"

    audit_id: Mapped[int] = mapped_column(
        ForeignKey("audits.id", ondelete="CASCADE"), primary_key=True
    )
    version_id: Mapped[int] = mapped_column(
        ForeignKey("standard_versions.id"), primary_key=True, index=True
    )

    version: Mapped[StandardVersion] = relationship(lazy="joined")


class ConflictDeclaration(Base):
    """An appraiser's conflict-of-interest declaration for one audit.

    "No conflict" is declared explicitly (``has_conflict`` false). A conflict declared later
    turns the same row into a conflict (``conflict_declared_at``) and is final.
    """

    __tablename__ = "audit_conflict_declarations"
    __table_args__ = (
        CheckConstraint(
            "has_conflict = (has_relationship OR has_gifts OR has_prior_work OR has_other)",
            name="conflict_has_kind",
        ),
        CheckConstraint("NOT has_conflict OR details IS NOT NULL", name="conflict_explained"),
        CheckConstraint(
            "has_conflict = (conflict_declared_at IS NOT NULL)", name="conflict_has_date"
        ),
    )

    audit_id: Mapped[int] = mapped_column(
        ForeignKey("audits.id", ondelete="CASCADE"), primary_key=True
    )
    appraiser_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    declared_at: Mapped[datetime]
    has_conflict: Mapped[bool]
    # The kinds of the code of conduct: a relationship or activity with the organisation,
    # gifts or offers from it, prior work (expertise, time, side activities) for it, other.
    has_relationship: Mapped[bool] = mapped_column(default=False)
    has_gifts: Mapped[bool] = mapped_column(default=False)
    has_prior_work: Mapped[bool] = mapped_column(default=False)
    has_other: Mapped[bool] = mapped_column(default=False)
    details: Mapped[str | None] = mapped_column(Text)
    conflict_declared_at: Mapped[datetime | None]

    appraiser: Mapped[User] = relationship(lazy="joined")


ACTIVE_ASSIGNMENT = "removed_at IS NULL"


class AuditAssignment(Base):
    """An appraiser assigned to an audit, until removed (conflict declared later, or chair)."""

    __tablename__ = "audit_assignments"
    __table_args__ = (
        CheckConstraint(
            "(removed_at IS NULL) = (removal_reason IS NULL)", name="removal_has_reason"
        ),
        Index(
            "uq_audit_assignments_active",
            "audit_id",
            "appraiser_id",
            unique=True,
            sqlite_where=text(ACTIVE_ASSIGNMENT),
            postgresql_where=text(ACTIVE_ASSIGNMENT),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    appraiser_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_at: Mapped[datetime]
    assigned_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    removed_at: Mapped[datetime | None]
    removal_reason: Mapped[str | None] = mapped_column(Text)

    appraiser: Mapped[User] = relationship(foreign_keys=[appraiser_id], lazy="joined")


class DocumentRequest(Base):
    """A request to the organisation for documents, or a spot check, with a due date."""

    __tablename__ = "audit_document_requests"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_values(RequestKind)})", name="known_kind"),
        CheckConstraint(
            "(answered_at IS NULL) = (answered_by_id IS NULL)", name="answer_has_author"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    # A spot check may name the mediator whose file is wanted.
    mediator_id: Mapped[int | None] = mapped_column(ForeignKey("mediators.id"))
    due_on: Mapped[date]
    requested_at: Mapped[datetime]
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Set when the organisation says it has sent everything asked for.
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answer_note: Mapped[str] = mapped_column(Text, default="")
    # Set by the daily job when it reminds the organisation of an overdue request.
    reminded_on: Mapped[date | None]

    audit: Mapped[Audit] = relationship()
    mediator: Mapped[Mediator | None] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    documents: Mapped[list["AuditDocument"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="AuditDocument.uploaded_at"
    )

    def is_overdue_on(self, day: date) -> bool:
        return self.answered_at is None and day > self.due_on


class AuditDocument(Base):
    """A file the organisation uploaded for a request; the bytes live outside the web root."""

    __tablename__ = "audit_documents"
    __table_args__ = (CheckConstraint("size_bytes > 0", name="not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("audit_document_requests.id", ondelete="CASCADE"), index=True
    )
    # The uploader's file name, cleaned; shown and used for downloads, never for storage.
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    # A random name in AUDIT_FILES_DIR.
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_at: Mapped[datetime]
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    uploaded_by: Mapped[User] = relationship()


class AuditReport(Base):
    """The appraisers' report: a draft while the audit is in progress, then the chair's."""

    __tablename__ = "audit_reports"
    __table_args__ = (
        CheckConstraint(
            f"recommendation IS NULL OR recommendation IN ({sql_values(Recommendation)})",
            name="known_recommendation",
        ),
        CheckConstraint(
            "(returned_at IS NULL) = (chair_comments IS NULL)", name="return_has_comments"
        ),
    )

    audit_id: Mapped[int] = mapped_column(
        ForeignKey("audits.id", ondelete="CASCADE"), primary_key=True
    )
    strengths: Mapped[str] = mapped_column(Text, default="")
    weaknesses: Mapped[str] = mapped_column(Text, default="")
    # What the organisation reads after sign-off, with the outcome (and any conditions).
    summary: Mapped[str] = mapped_column(Text, default="")
    recommendation: Mapped[str | None] = mapped_column(String(24))
    conditions: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The chair's comments of the last return.
    returned_at: Mapped[datetime | None]
    chair_comments: Mapped[str | None] = mapped_column(Text)

    audit: Mapped[Audit] = relationship()
    findings: Mapped[list["AuditFinding"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="AuditFinding.criterion"
    )
    deviations: Mapped[list["AuditDeviation"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="AuditDeviation.id"
    )

    @property
    def recommendation_label(self) -> str | None:
        if not self.recommendation:
            return None
        return Recommendation(self.recommendation).label_for(self.audit.kind)


class AuditFinding(Base):
    """The finding on one criterion: the evidence and whether the criterion is met."""

    __tablename__ = "audit_findings"
    __table_args__ = (CheckConstraint(f"rating IN ({sql_values(Rating)})", name="known_rating"),)

    audit_id: Mapped[int] = mapped_column(
        ForeignKey("audit_reports.audit_id", ondelete="CASCADE"), primary_key=True
    )
    # A code of audits.criteria for the program's type, e.g. "CMTP-2".
    criterion: Mapped[str] = mapped_column(String(16), primary_key=True)
    # The rule of the standard version the audit is judged against (the same code).
    rule_id: Mapped[int] = mapped_column(ForeignKey("standard_rules.id"), index=True)
    rating: Mapped[str] = mapped_column(String(8))
    evidence: Mapped[str] = mapped_column(Text)

    rule: Mapped[StandardRule] = relationship(lazy="joined")

    @property
    def rating_label(self) -> str:
        return Rating(self.rating).label


class AuditDeviation(Base):
    """A deviation from the registry's rules, citing the rule (a code of audits.criteria)."""

    __tablename__ = "audit_deviations"
    __table_args__ = (CheckConstraint("rule <> ''", name="cites_rule"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(
        ForeignKey("audit_reports.audit_id", ondelete="CASCADE"), index=True
    )
    rule: Mapped[str] = mapped_column(String(16))
    # The cited rule in the standard version the audit is judged against.
    rule_id: Mapped[int] = mapped_column(ForeignKey("standard_rules.id"), index=True)
    description: Mapped[str] = mapped_column(Text)

    cited_rule: Mapped[StandardRule] = relationship(lazy="joined")


class AuditNote(Base):
    """An appraiser's or chair's working note on an audit: never shown to the organisation."""

    __tablename__ = "audit_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    author: Mapped[User] = relationship(lazy="joined")
