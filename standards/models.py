"""Standards: the registry's published, versioned rules, and where audits' criteria come from.

A ``Standard`` (e.g. "QAP criteria", code ``QAP``) has ``StandardVersion``\\ s; each version has
numbered ``StandardRule``\\ s with stable codes (``QAP-3``). A version is drafted, may go to
public consultation one or more times, and once the Board approves it, it is published and
immutable: its rules never change, so a report judged against version 1 keeps citing version 1
after version 2 is published.

Which programs a standard judges is ``applies_to`` (program types, space-separated) and how:
a ``criteria`` standard gives a report one finding per rule; a ``rules`` standard (the general
rules) is cited by deviations only; a ``guidance`` standard (a code of conduct) judges no
program.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.accounts.models import User
from registry.database import Base, sql_values
from registry.i18n import _l
from standards.wording import translated


class StandardKind(StrEnum):
    CRITERIA = "criteria"  # an audit report has one finding per rule
    RULES = "rules"  # deviations cite them; no finding per rule
    GUIDANCE = "guidance"  # judges no program (e.g. the appraisers' code of conduct)

    @property
    def label(self) -> str:
        return str(STANDARD_KIND_LABELS[self])


STANDARD_KIND_LABELS = {
    StandardKind.CRITERIA: _l("Audit criteria"),
    StandardKind.RULES: _l("General rules"),
    StandardKind.GUIDANCE: _l("Guidance"),
}


class VersionStatus(StrEnum):
    DRAFTING = "drafting"  # the taskforce writes the rules (private to its members)
    CONSULTATION = "consultation"  # published for comment until the closing date
    REVISING = "revising"  # the consultation closed: answers and revisions
    PROPOSED = "proposed"  # the chair proposed publication; the Board decides
    PUBLISHED = "published"  # approved and public: immutable

    @property
    def label(self) -> str:
        return str(VERSION_STATUS_LABELS[self])


VERSION_STATUS_LABELS = {
    VersionStatus.DRAFTING: _l("Drafting"),
    VersionStatus.CONSULTATION: _l("In public consultation"),
    VersionStatus.REVISING: _l("Revising after consultation"),
    VersionStatus.PROPOSED: _l("Proposed for publication"),
    VersionStatus.PUBLISHED: _l("Published"),
}

PUBLISHED = "status = 'published'"
UNPUBLISHED = "status <> 'published'"


class Standard(Base):
    __tablename__ = "standards"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_values(StandardKind)})", name="known_kind"),
        CheckConstraint("code <> ''", name="has_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable and never translated: the prefix of its rules' codes and its address.
    code: Mapped[str] = mapped_column(String(16), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))
    # The program types it judges, space-separated (e.g. "QAP MAQAP ICQAP ODRQAP").
    applies_to: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime]

    versions: Mapped[list["StandardVersion"]] = relationship(
        back_populates="standard", order_by="StandardVersion.number"
    )

    @property
    def display_title(self) -> str:
        return translated(self.title)

    @property
    def display_purpose(self) -> str:
        return translated(self.purpose)

    @property
    def program_types(self) -> list[str]:
        return self.applies_to.split()

    @property
    def kind_label(self) -> str:
        return StandardKind(self.kind).label


class StandardVersion(Base):
    """One version of a standard: drafted, consulted on, then published and immutable."""

    __tablename__ = "standard_versions"
    __table_args__ = (
        CheckConstraint(f"status IN ({sql_values(VersionStatus)})", name="known_status"),
        CheckConstraint("number > 0", name="positive_number"),
        CheckConstraint(
            "(status = 'published') = (published_on IS NOT NULL)"
            " AND (status = 'published') = (published_at IS NOT NULL)",
            name="published_has_date",
        ),
        UniqueConstraint("standard_id", "number", name="uq_standard_versions_number"),
        # At most one version in the making per standard.
        Index(
            "uq_standard_versions_unpublished",
            "standard_id",
            unique=True,
            sqlite_where=text(UNPUBLISHED),
            postgresql_where=text(UNPUBLISHED),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("standards.id", ondelete="CASCADE"))
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    # What changed from the previous version, in the taskforce's words (public once published).
    change_summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    # Bumped on every saved edit of a draft's rules: drafts are versioned.
    draft_revision: Mapped[int] = mapped_column(default=1)
    # In force from this day (the Board's approval) until the next version's.
    published_on: Mapped[date | None]
    published_at: Mapped[datetime | None]
    # The Board member who approved it; None for the first versions, which were the rules the
    # registry already applied when standards came in (migration 0019).
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    standard: Mapped[Standard] = relationship(back_populates="versions", lazy="joined")
    rules: Mapped[list["StandardRule"]] = relationship(
        back_populates="version",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="StandardRule.position",
    )
    approved_by: Mapped[User | None] = relationship()

    @property
    def is_published(self) -> bool:
        return self.status == VersionStatus.PUBLISHED

    @property
    def status_label(self) -> str:
        return VersionStatus(self.status).label

    @property
    def display_summary(self) -> str:
        return translated(self.change_summary)

    @property
    def label(self) -> str:
        """E.g. "QAP v2": how reports and pages cite a version."""
        return f"{self.standard.code} v{self.number}"


class StandardRule(Base):
    """A numbered rule of one version. Published versions' rules are never edited."""

    __tablename__ = "standard_rules"
    __table_args__ = (
        UniqueConstraint("version_id", "code", name="uq_standard_rules_code"),
        CheckConstraint("code <> '' AND body <> ''", name="has_code_and_body"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("standard_versions.id", ondelete="CASCADE"), index=True
    )
    # Stable across versions, e.g. "QAP-3"; a rule that keeps its code is the same rule.
    code: Mapped[str] = mapped_column(String(16))
    position: Mapped[int]
    body: Mapped[str] = mapped_column(Text)

    version: Mapped[StandardVersion] = relationship(back_populates="rules")

    @property
    def title(self) -> str:
        """The rule's text in the page's language (see ``standards.wording``)."""
        return translated(self.body)


# -- Standard setting: proposals, taskforces, consultations ---------------------------------


class Decision(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"

    @property
    def label(self) -> str:
        return str(DECISION_LABELS[self])


DECISION_LABELS = {
    Decision.PENDING: _l("Awaiting the Board"),
    Decision.ACCEPTED: _l("Accepted"),
    Decision.DECLINED: _l("Declined"),
}


class StandardProposal(Base):
    """Step 1: someone proposes a standard; the Board accepts (creating it) or declines."""

    __tablename__ = "standard_proposals"
    __table_args__ = (
        CheckConstraint(f"decision IN ({sql_values(Decision)})", name="known_decision"),
        CheckConstraint(
            "(decision = 'pending') = (decided_at IS NULL)"
            " AND (decision = 'pending') = (decision_reason IS NULL)",
            name="decided_with_reason",
        ),
        CheckConstraint("(decision = 'accepted') = (standard_id IS NOT NULL)", name="accepted"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    proposed_at: Mapped[datetime]
    decision: Mapped[str] = mapped_column(String(16), default=Decision.PENDING)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    # The standard the Board created on acceptance.
    standard_id: Mapped[int | None] = mapped_column(ForeignKey("standards.id"), unique=True)

    proposed_by: Mapped[User] = relationship(foreign_keys=[proposed_by_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    standard: Mapped[Standard | None] = relationship()

    @property
    def decision_label(self) -> str:
        return Decision(self.decision).label


CURRENT_MEMBER = "ended_at IS NULL"


class TaskforceMember(Base):
    """Step 2: a member (or the chair) of a standard's Taskforce, named by the Board.

    Membership is public. A member leaves by ``ended_at`` (the row is kept); the term is what
    the Board set.
    """

    __tablename__ = "taskforce_members"
    __table_args__ = (
        CheckConstraint("term_ends_on >= term_starts_on", name="term_in_order"),
        Index(
            "uq_taskforce_members_current",
            "standard_id",
            "user_id",
            unique=True,
            sqlite_where=text(CURRENT_MEMBER),
            postgresql_where=text(CURRENT_MEMBER),
        ),
        # One current chair per taskforce.
        Index(
            "uq_taskforce_members_chair",
            "standard_id",
            unique=True,
            sqlite_where=text(f"is_chair AND {CURRENT_MEMBER}"),
            postgresql_where=text(f"is_chair AND {CURRENT_MEMBER}"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("standards.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    is_chair: Mapped[bool] = mapped_column(default=False)
    term_starts_on: Mapped[date]
    term_ends_on: Mapped[date]
    appointed_at: Mapped[datetime]
    appointed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    standard: Mapped[Standard] = relationship()

    def serves_on(self, day: date) -> bool:
        return self.ended_at is None and self.term_starts_on <= day <= self.term_ends_on


class Consultation(Base):
    """Step 4: one round of public consultation on a draft version, until its closing date.

    ``rules`` is the draft as consulted on (code and text of each rule), kept so that the
    comments of an earlier round read against what they commented on.
    """

    __tablename__ = "standard_consultations"
    __table_args__ = (
        UniqueConstraint("version_id", "round", name="uq_standard_consultations_round"),
        CheckConstraint("closes_on >= opened_on", name="closes_after_opening"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("standard_versions.id", ondelete="CASCADE"), index=True
    )
    round: Mapped[int]
    rules: Mapped[list[dict[str, str]]] = mapped_column(
        JSON().with_variant(JSONB(), "postgresql"), default=list
    )
    # The draft revision consulted on (standard_versions.draft_revision at opening).
    draft_revision: Mapped[int]
    opened_on: Mapped[date]
    closes_on: Mapped[date]  # the last day comments are taken
    opened_at: Mapped[datetime]
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Set when the consultation is closed (by the chair or by the daily job after closes_on).
    closed_at: Mapped[datetime | None]

    version: Mapped[StandardVersion] = relationship(lazy="joined")
    comments: Mapped[list["ConsultationComment"]] = relationship(
        back_populates="consultation",
        order_by="ConsultationComment.id",
        cascade="all, delete-orphan",
    )
    answers: Mapped[list["CommentAnswer"]] = relationship(
        order_by="CommentAnswer.id", cascade="all, delete-orphan"
    )

    def is_open_on(self, day: date) -> bool:
        return self.closed_at is None and self.opened_on <= day <= self.closes_on


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    PARTLY = "partly"
    NOT_ACCEPTED = "not_accepted"

    @property
    def label(self) -> str:
        return str(VERDICT_LABELS[self])


VERDICT_LABELS = {
    Verdict.ACCEPTED: _l("Accepted"),
    Verdict.PARTLY: _l("Partly accepted"),
    Verdict.NOT_ACCEPTED: _l("Not accepted"),
}


class CommentAnswer(Base):
    """Step 5: the Taskforce's answer to a group of comments, with its verdict and why."""

    __tablename__ = "standard_comment_answers"
    __table_args__ = (
        CheckConstraint(f"verdict IN ({sql_values(Verdict)})", name="known_verdict"),
        CheckConstraint("body <> ''", name="has_body"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("standard_consultations.id", ondelete="CASCADE"), index=True
    )
    verdict: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    answered_at: Mapped[datetime]
    answered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    answered_by: Mapped[User] = relationship()
    comments: Mapped[list["ConsultationComment"]] = relationship(
        back_populates="answer", order_by="ConsultationComment.id"
    )

    @property
    def verdict_label(self) -> str:
        return Verdict(self.verdict).label


class ConsultationComment(Base):
    """A comment on a consulted draft, on the whole draft or on one rule.

    Named with an account (``author_id``) or with a name and an e-mail address that must be
    confirmed before the comment is shown; or anonymous, keeping nothing that identifies the
    author. Moderation hides a comment with a reason; nothing is ever deleted.
    """

    __tablename__ = "standard_consultation_comments"
    __table_args__ = (
        CheckConstraint("body <> ''", name="has_body"),
        CheckConstraint(
            "NOT is_anonymous OR (author_id IS NULL AND author_name IS NULL"
            " AND author_email IS NULL)",
            name="anonymous_keeps_no_identity",
        ),
        CheckConstraint(
            "is_anonymous OR author_id IS NOT NULL"
            " OR (author_name IS NOT NULL AND author_email IS NOT NULL)",
            name="named_has_identity",
        ),
        CheckConstraint("(hidden_at IS NULL) = (hidden_reason IS NULL)", name="hidden_with_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("standard_consultations.id", ondelete="CASCADE"), index=True
    )
    # A rule code of the consulted draft, or None for the whole draft.
    rule_code: Mapped[str | None] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    is_anonymous: Mapped[bool] = mapped_column(default=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    author_name: Mapped[str | None] = mapped_column(String(200))
    author_email: Mapped[str | None] = mapped_column(String(254))
    # For a comment named by e-mail: the hash of the link's token, and when it was confirmed.
    confirmation_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    confirmed_at: Mapped[datetime | None]
    hidden_at: Mapped[datetime | None]
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    answer_id: Mapped[int | None] = mapped_column(
        ForeignKey("standard_comment_answers.id", ondelete="SET NULL"), index=True
    )

    consultation: Mapped[Consultation] = relationship(back_populates="comments")
    author: Mapped[User | None] = relationship(foreign_keys=[author_id], lazy="joined")
    answer: Mapped[CommentAnswer | None] = relationship(back_populates="comments")

    @property
    def is_shown(self) -> bool:
        """Public once not hidden and, when named by e-mail only, confirmed."""
        pending = self.author_email is not None and self.confirmed_at is None
        return self.hidden_at is None and not pending


class FoundingKind(StrEnum):
    SPECIALISATION = "specialisation"
    PROGRAM_TYPE = "program_type"

    @property
    def label(self) -> str:
        return str(FOUNDING_KIND_LABELS[self])


FOUNDING_KIND_LABELS = {
    FoundingKind.SPECIALISATION: _l("A new specialisation"),
    FoundingKind.PROGRAM_TYPE: _l("A new program type"),
}


class FoundingProposal(Base):
    """Step 6: the Taskforce proposes that a published standard found a specialisation or a
    program type; the Board approves (adding it to the reference data) or declines."""

    __tablename__ = "standard_founding_proposals"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_values(FoundingKind)})", name="known_kind"),
        CheckConstraint(f"decision IN ({sql_values(Decision)})", name="known_decision"),
        CheckConstraint(
            "(decision = 'pending') = (decided_at IS NULL)"
            " AND (decision = 'pending') = (decision_reason IS NULL)",
            name="decided_with_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("standards.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # The new specialisation's or program type's code and name.
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    rationale: Mapped[str] = mapped_column(Text)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime]
    decision: Mapped[str] = mapped_column(String(16), default=Decision.PENDING)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_reason: Mapped[str | None] = mapped_column(Text)

    standard: Mapped[Standard] = relationship(lazy="joined")

    @property
    def decision_label(self) -> str:
        return Decision(self.decision).label

    @property
    def kind_label(self) -> str:
        return FoundingKind(self.kind).label


# -- 360 feedback ---------------------------------------------------------------------------


class FeedbackSubject(StrEnum):
    STANDARD = "standard"
    PROGRAM = "program"
    INITIATIVE = "initiative"

    @property
    def label(self) -> str:
        return str(FEEDBACK_SUBJECT_LABELS[self])


FEEDBACK_SUBJECT_LABELS = {
    FeedbackSubject.STANDARD: _l("A standard"),
    FeedbackSubject.PROGRAM: _l("A program"),
    FeedbackSubject.INITIATIVE: _l("An initiative of the registry"),
}


class OpenFeedback(Base):
    """360 feedback on a standard, a program or an initiative, named or anonymous.

    It reaches the body responsible (a standard's Taskforce; the Appraisal subcommittee of a
    program's type; the Board for an initiative), which acknowledges it. An anonymous sender
    leaves nothing that identifies them, as with complaints.
    """

    __tablename__ = "open_feedback"
    __table_args__ = (
        CheckConstraint(f"subject IN ({sql_values(FeedbackSubject)})", name="known_subject"),
        CheckConstraint(
            "(subject = 'standard') = (standard_id IS NOT NULL)"
            " AND (subject = 'program') = (program_id IS NOT NULL)"
            " AND (subject = 'initiative') = (initiative IS NOT NULL)",
            name="one_subject",
        ),
        CheckConstraint(
            "NOT is_anonymous OR (sender_id IS NULL AND sender_name IS NULL"
            " AND sender_email IS NULL)",
            name="anonymous_keeps_no_identity",
        ),
        CheckConstraint(
            "(acknowledged_at IS NULL) = (acknowledged_by_id IS NULL)", name="ack_has_author"
        ),
        CheckConstraint("body <> ''", name="has_body"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(16))
    standard_id: Mapped[int | None] = mapped_column(ForeignKey("standards.id"), index=True)
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id"), index=True)
    initiative: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    is_anonymous: Mapped[bool] = mapped_column(default=False)
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sender_name: Mapped[str | None] = mapped_column(String(200))
    sender_email: Mapped[str | None] = mapped_column(String(254))
    # The page's language, for the acknowledgement e-mail.
    locale: Mapped[str | None] = mapped_column(String(8))
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledgement: Mapped[str] = mapped_column(Text, default="")

    standard: Mapped[Standard | None] = relationship()
    sender: Mapped[User | None] = relationship(foreign_keys=[sender_id])
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])


# -- A published version never changes --------------------------------------------------------


class PublishedVersionError(RuntimeError):
    """A write to a published version or its rules (the services refuse these first)."""


def _was_published(version: StandardVersion | None) -> bool:
    """Return whether ``version`` was published before this flush's changes."""
    if version is None:
        return False
    history = inspect(version).attrs.status.load_history()
    return VersionStatus.PUBLISHED in (*(history.unchanged or ()), *(history.deleted or ()))


def _writes_columns(target: Base) -> bool:
    """Return whether a flush would write a column of ``target`` (not only a relationship)."""
    state = inspect(target)
    return any(
        state.attrs[column.key].history.has_changes() for column in state.mapper.column_attrs
    )


@event.listens_for(StandardVersion, "before_update")
def _refuse_version_update(_mapper: Any, _connection: Any, target: StandardVersion) -> None:
    if _was_published(target) and _writes_columns(target):
        raise PublishedVersionError(f"{target.label} is published and immutable")


@event.listens_for(StandardVersion, "before_delete")
def _refuse_version_delete(_mapper: Any, _connection: Any, target: StandardVersion) -> None:
    if _was_published(target):
        raise PublishedVersionError(f"{target.label} is published and cannot be deleted")


@event.listens_for(StandardRule, "before_update")
@event.listens_for(StandardRule, "before_delete")
@event.listens_for(StandardRule, "before_insert")
def _refuse_rule_change(_mapper: Any, connection: Any, target: StandardRule) -> None:
    version = target.version
    if version is None:  # a new rule given only its version's id: ask the database
        status = connection.scalar(
            select(StandardVersion.status).where(StandardVersion.id == target.version_id)
        )
        published = status == VersionStatus.PUBLISHED
    else:
        published = _was_published(version)
    if published:
        raise PublishedVersionError(f"rule {target.code} of a published version is immutable")
