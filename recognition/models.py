"""Applications for the recognition of a program (issue 23): the organisation-facing record.

The program applied for is a ``Program`` row without a recognition date; its appraisal is an
``Audit`` of kind "recognition" on that program (see ``recognition`` for the design).
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from audits.models import Audit, AuditStatus
from registry.accounts.models import User
from registry.database import Base, sql_values
from registry.i18n import _l
from registry.organisations.models import Organisation, Program


class Decision(StrEnum):
    RECOGNISE = "recognise"
    RECOGNISE_WITH_CONDITIONS = "recognise_with_conditions"
    DECLINE = "decline"

    @property
    def label(self) -> str:
        return str(DECISION_LABELS[self])


DECISION_LABELS = {
    Decision.RECOGNISE: _l("Recognise"),
    Decision.RECOGNISE_WITH_CONDITIONS: _l("Recognise with conditions"),
    Decision.DECLINE: _l("Decline"),
}


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"  # its appraisal is open: appraisers declare and are assigned
    UNDER_APPRAISAL = "under_appraisal"  # the appraisers are assigned and at work
    REPORT_SUBMITTED = "report_submitted"  # the report waits for the chair's decision
    RECOGNISED = "recognised"
    RECOGNISED_WITH_CONDITIONS = "recognised_with_conditions"
    DECLINED = "declined"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    ApplicationStatus.SUBMITTED: _l("Submitted: appraisers being assigned"),
    ApplicationStatus.UNDER_APPRAISAL: _l("Under appraisal"),
    ApplicationStatus.REPORT_SUBMITTED: _l("Report with the subcommittee's chair"),
    ApplicationStatus.RECOGNISED: _l("Recognised"),
    ApplicationStatus.RECOGNISED_WITH_CONDITIONS: _l("Recognised with conditions"),
    ApplicationStatus.DECLINED: _l("Declined"),
}

DECIDED_STATUS = {
    Decision.RECOGNISE: ApplicationStatus.RECOGNISED,
    Decision.RECOGNISE_WITH_CONDITIONS: ApplicationStatus.RECOGNISED_WITH_CONDITIONS,
    Decision.DECLINE: ApplicationStatus.DECLINED,
}
APPRAISAL_STATUS = {
    AuditStatus.OPEN: ApplicationStatus.SUBMITTED,
    AuditStatus.IN_PROGRESS: ApplicationStatus.UNDER_APPRAISAL,
    AuditStatus.SUBMITTED: ApplicationStatus.REPORT_SUBMITTED,
}


class ProgramApplication(Base):
    """An organisation's application for the recognition of one program, and its decision.

    Its status is computed: from the decision once taken, else from its appraisal's status.
    """

    __tablename__ = "program_applications"
    __table_args__ = (
        CheckConstraint(
            f"decision IS NULL OR decision IN ({sql_values(Decision)})", name="known_decision"
        ),
        CheckConstraint(
            "(decision IS NULL) = (decided_at IS NULL)"
            " AND (decision IS NULL) = (decided_by_id IS NULL)"
            " AND (decision IS NULL) = (reasons IS NULL)",
            name="decision_has_reasons",
        ),
        CheckConstraint(
            "(decision = 'recognise_with_conditions') = (conditions <> '')",
            name="conditions_with_decision",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    # The program applied for: its name, description and locations are the application's.
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), unique=True)
    # The appraisal: an audit of kind "recognition" on that program.
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id"), unique=True)
    # The declined application this one resubmits (at most one resubmission each).
    resubmission_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("program_applications.id"), unique=True
    )
    submitted_at: Mapped[datetime]
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str | None] = mapped_column(String(32))
    # Sent to the organisation with the decision.
    reasons: Mapped[str | None] = mapped_column(Text)
    # The conditions of a recognition with conditions; empty otherwise.
    conditions: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    program: Mapped[Program] = relationship(lazy="joined")
    audit: Mapped[Audit] = relationship(lazy="joined")
    submitted_by: Mapped[User] = relationship(foreign_keys=[submitted_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    resubmission_of: Mapped["ProgramApplication | None"] = relationship(
        remote_side=[id], foreign_keys=[resubmission_of_id]
    )

    @property
    def status(self) -> ApplicationStatus:
        if self.decision is not None:
            return DECIDED_STATUS[Decision(self.decision)]
        return APPRAISAL_STATUS[AuditStatus(self.audit.status)]

    @property
    def status_label(self) -> str:
        return self.status.label

    @property
    def decision_label(self) -> str | None:
        return Decision(self.decision).label if self.decision else None
