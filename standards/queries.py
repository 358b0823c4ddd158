"""Reading standards: the versions in force, their rules, and who sits on a taskforce."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from standards.models import (
    Consultation,
    ConsultationComment,
    Decision,
    FoundingProposal,
    Standard,
    StandardKind,
    StandardProposal,
    StandardRule,
    StandardVersion,
    TaskforceMember,
    VersionStatus,
)

# The kinds of standard an audit is judged against (guidance judges no program).
JUDGING_KINDS = (StandardKind.CRITERIA, StandardKind.RULES)


def standard_by_code(session: Session, code: str) -> Standard | None:
    return session.scalar(select(Standard).where(Standard.code == code))


def published_versions(session: Session, standard_id: int) -> list[StandardVersion]:
    """Return a standard's published versions, oldest first."""
    return list(
        session.scalars(
            select(StandardVersion)
            .where(
                StandardVersion.standard_id == standard_id,
                StandardVersion.status == VersionStatus.PUBLISHED,
            )
            .order_by(StandardVersion.number)
        )
    )


def version_in_force(session: Session, standard_id: int, day: date) -> StandardVersion | None:
    """Return the version of a standard in force on ``day``.

    That is the latest version published on or before ``day``; before the first publication,
    the first version (the first versions hold the rules the registry applied from its start).
    None while nothing is published.
    """
    return _in_force(published_versions(session, standard_id), day)


def _in_force(versions: Sequence[StandardVersion], day: date) -> StandardVersion | None:
    """Of one standard's published ``versions`` (oldest first), the one in force on ``day``."""
    in_force = [version for version in versions if version.published_on <= day]
    if in_force:
        return in_force[-1]
    return versions[0] if versions else None


def versions_for_program_type(
    session: Session, program_type: str, day: date
) -> list[StandardVersion]:
    """Return the versions in force on ``day`` that judge a program of ``program_type``."""
    published = session.scalars(
        select(StandardVersion)
        .join(Standard)
        .where(
            Standard.kind.in_(JUDGING_KINDS),
            StandardVersion.status == VersionStatus.PUBLISHED,
        )
        .order_by(Standard.code, StandardVersion.number)
    )
    by_standard: dict[int, list[StandardVersion]] = {}
    for version in published:
        if program_type in version.standard.program_types:
            by_standard.setdefault(version.standard_id, []).append(version)
    versions = (_in_force(versions, day) for versions in by_standard.values())
    return ordered(version for version in versions if version is not None)


def ordered(versions: Iterable[StandardVersion]) -> list[StandardVersion]:
    """Criteria first, the broadest standard first (QAP before MAQAP), then the rules."""
    return sorted(
        versions,
        key=lambda version: (
            version.standard.kind != StandardKind.CRITERIA,
            -len(version.standard.program_types),
            version.standard.code,
        ),
    )


@dataclass(frozen=True)
class StandardSet:
    """The standard versions one audit (or appraisal) is judged against."""

    versions: tuple[StandardVersion, ...]

    @property
    def criteria(self) -> list[StandardRule]:
        """The rules a report has one finding each for."""
        return criteria_of(self.versions)

    @property
    def rules(self) -> list[StandardRule]:
        """The rules a deviation may cite: the criteria, then the general rules."""
        return citable_rules_of(self.versions)

    @property
    def label(self) -> str:
        """E.g. "QAP v1, MAQAP v1, GEN v1"."""
        return ", ".join(version.label for version in self.versions)


def criteria_of(versions: Sequence[StandardVersion]) -> list[StandardRule]:
    """Return the rules a report has one finding each for: those of the criteria versions."""
    return [
        rule
        for version in ordered(versions)
        if version.standard.kind == StandardKind.CRITERIA
        for rule in version.rules
    ]


def citable_rules_of(versions: Sequence[StandardVersion]) -> list[StandardRule]:
    """Return the rules a deviation may cite: the criteria, then the general rules."""
    return [rule for version in ordered(versions) for rule in version.rules]


def current_taskforce(session: Session, standard_id: int, day: date) -> list[TaskforceMember]:
    """Return a standard's taskforce serving on ``day``: the chair first, then by name."""
    members = session.scalars(
        select(TaskforceMember).where(
            TaskforceMember.standard_id == standard_id, TaskforceMember.ended_at.is_(None)
        )
    )
    serving = [member for member in members if member.serves_on(day)]
    return sorted(serving, key=lambda member: (not member.is_chair, member.user.name))


def taskforce_standing(
    session: Session, user_id: int, standard_id: int, day: date
) -> TaskforceMember | None:
    """Return ``user_id``'s current seat on the standard's taskforce, or None."""
    for member in current_taskforce(session, standard_id, day):
        if member.user_id == user_id:
            return member
    return None


# -- Standard setting (the Board's and the taskforces' pages) --------------------------------


def version_in_making(session: Session, standard_id: int) -> StandardVersion | None:
    """Return the standard's unpublished version (at most one), or None."""
    return session.scalar(
        select(StandardVersion).where(
            StandardVersion.standard_id == standard_id,
            StandardVersion.status != VersionStatus.PUBLISHED,
        )
    )


def consultations_of(session: Session, version_id: int) -> list[Consultation]:
    """Return a version's consultations, first round first."""
    return list(
        session.scalars(
            select(Consultation)
            .where(Consultation.version_id == version_id)
            .order_by(Consultation.round)
        )
    )


def unanswered_comments(session: Session, version_id: int) -> list[ConsultationComment]:
    """Return the shown comments of a version's consultations that have no answer yet."""
    comments = session.scalars(
        select(ConsultationComment)
        .join(Consultation)
        .where(Consultation.version_id == version_id, ConsultationComment.answer_id.is_(None))
        .order_by(ConsultationComment.id)
    )
    return [comment for comment in comments if comment.is_shown]


def proposals_by(session: Session, user_id: int) -> list[StandardProposal]:
    """Return the proposals ``user_id`` made, newest first."""
    return list(
        session.scalars(
            select(StandardProposal)
            .where(StandardProposal.proposed_by_id == user_id)
            .order_by(StandardProposal.proposed_at.desc(), StandardProposal.id.desc())
        )
    )


def pending_proposals(session: Session) -> list[StandardProposal]:
    """Return the proposals waiting for the Board, oldest first."""
    return list(
        session.scalars(
            select(StandardProposal)
            .where(StandardProposal.decision == Decision.PENDING)
            .order_by(StandardProposal.proposed_at, StandardProposal.id)
        )
    )


def versions_in(session: Session, status: VersionStatus) -> list[StandardVersion]:
    """Return the versions in ``status``, by standard code."""
    return list(
        session.scalars(
            select(StandardVersion)
            .join(Standard)
            .where(StandardVersion.status == status)
            .order_by(Standard.code)
        )
    )


def pending_foundings(session: Session) -> list[FoundingProposal]:
    """Return the founding proposals waiting for the Board, oldest first."""
    return list(
        session.scalars(
            select(FoundingProposal)
            .where(FoundingProposal.decision == Decision.PENDING)
            .order_by(FoundingProposal.proposed_at, FoundingProposal.id)
        )
    )


def foundings_of(session: Session, standard_id: int) -> list[FoundingProposal]:
    """Return a standard's founding proposals, newest first."""
    return list(
        session.scalars(
            select(FoundingProposal)
            .where(FoundingProposal.standard_id == standard_id)
            .order_by(FoundingProposal.proposed_at.desc(), FoundingProposal.id.desc())
        )
    )


def all_standards(session: Session) -> list[Standard]:
    return list(session.scalars(select(Standard).order_by(Standard.code)))


def taskforce_history(session: Session, standard_id: int) -> list[TaskforceMember]:
    """Return every membership of a standard's taskforce, current ones first, then by name."""
    members = session.scalars(
        select(TaskforceMember).where(TaskforceMember.standard_id == standard_id)
    )
    return sorted(
        members,
        key=lambda member: (member.ended_at is not None, not member.is_chair, member.user.name),
    )


def seats_of(session: Session, user_id: int, day: date) -> list[TaskforceMember]:
    """Return the taskforce seats ``user_id`` holds on ``day``, by standard code."""
    members = session.scalars(
        select(TaskforceMember)
        .join(Standard, Standard.id == TaskforceMember.standard_id)
        .where(TaskforceMember.user_id == user_id, TaskforceMember.ended_at.is_(None))
        .order_by(Standard.code)
    )
    return [member for member in members if member.serves_on(day)]


def due_consultations(session: Session, day: date) -> list[Consultation]:
    """Return the open consultations whose closing date is before ``day``."""
    return list(
        session.scalars(
            select(Consultation)
            .where(Consultation.closed_at.is_(None), Consultation.closes_on < day)
            .order_by(Consultation.id)
        )
    )
