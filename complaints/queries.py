"""Reading complaints: routes of the third level, handlers of a level, committee membership."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from complaints.models import Committee, CommitteeMember, Complaint, Level, SubjectRoute
from registry.accounts.models import Role, User, UserRole

# The role that handles each level; the third level also needs membership of the committee.
LEVEL_ROLES = {
    Level.SUPPORT: Role.SUPPORT,
    Level.EXECUTIVE_DIRECTOR: Role.EXECUTIVE_DIRECTOR,
    Level.COMMITTEE: Role.COMMITTEE_MEMBER,
    Level.BOARD: Role.BOARD_MEMBER,
}


def routed_committee(session: Session, subject: str) -> Committee | None:
    """Return the committee or taskforce that takes complaints of ``subject`` at level 3."""
    route = session.get(SubjectRoute, subject)
    return route.committee if route is not None else None


def committee_ids(session: Session, user_id: int) -> set[int]:
    """Return the ids of the committees ``user_id`` sits on."""
    return set(
        session.scalars(
            select(CommitteeMember.committee_id).where(CommitteeMember.user_id == user_id)
        )
    )


def handlers_of(session: Session, complaint: Complaint, level: int) -> list[User]:
    """Return the enabled accounts that handle ``complaint`` at ``level``, by name."""
    query = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == LEVEL_ROLES[Level(level)], User.disabled_at.is_(None))
        .order_by(User.name, User.id)
    )
    if level == Level.COMMITTEE:
        if complaint.committee_id is None:
            return []
        query = query.join(CommitteeMember, CommitteeMember.user_id == User.id).where(
            CommitteeMember.committee_id == complaint.committee_id
        )
    return list(session.scalars(query))


def by_receipt_code(session: Session, receipt_code: str) -> Complaint | None:
    """Return the complaint with ``receipt_code`` (already normalised), or None."""
    return session.scalars(
        select(Complaint).where(Complaint.receipt_code == receipt_code)
    ).one_or_none()
