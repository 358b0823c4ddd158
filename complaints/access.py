"""Who may see and act on a complaint: one set of rules for every page, service and job.

A level's handlers are the enabled accounts holding its role (``queries.LEVEL_ROLES``); at the
third level they must also sit on the complaint's committee. Handlers of the current level act
on an open complaint; handlers of the current and every earlier level read it. Nobody else
does, whatever their role: an administrator is an outsider here. The complainant reads the
complaint with its receipt code and secret (``services.find_tracked``), not with an account.
"""

from sqlalchemy import ColumnElement, and_, false, or_
from sqlalchemy.orm import Session

from complaints import queries
from complaints.models import Complaint, Level
from registry.accounts.models import User


def handles_level(session: Session, user: User, complaint: Complaint, level: int) -> bool:
    """Return whether ``user`` handles ``complaint`` at ``level`` (closed or not)."""
    if not user.is_active or not user.has_role(queries.LEVEL_ROLES[Level(level)]):
        return False
    if level == Level.COMMITTEE:
        return complaint.committee_id is not None and complaint.committee_id in (
            queries.committee_ids(session, user.id)
        )
    return True


def can_handle(session: Session, user: User, complaint: Complaint) -> bool:
    """Return whether ``user`` may act on ``complaint`` now: a handler of its open level."""
    return not complaint.is_closed and handles_level(session, user, complaint, complaint.level)


def can_view(session: Session, user: User, complaint: Complaint) -> bool:
    """Return whether ``user`` may read ``complaint``: a handler of its level or an earlier one."""
    return any(
        handles_level(session, user, complaint, level) for level in range(1, complaint.level + 1)
    )


def handled_levels(session: Session, user: User) -> dict[int, set[int] | None]:
    """Return the levels ``user`` handles: level -> the committee ids there (None for all).

    The third level is left out for a committee member who sits on no committee.
    """
    if not user.is_active:
        return {}
    levels: dict[int, set[int] | None] = {}
    for level, role in queries.LEVEL_ROLES.items():
        if not user.has_role(role):
            continue
        if level == Level.COMMITTEE:
            committees = queries.committee_ids(session, user.id)
            if committees:
                levels[level] = committees
        else:
            levels[level] = None
    return levels


def viewable_by(session: Session, user: User) -> ColumnElement[bool]:
    """Return a condition on ``Complaint`` true for the complaints ``user`` may read (lists)."""
    conditions = []
    for level, committees in handled_levels(session, user).items():
        reached = Complaint.level >= level
        if committees is not None:
            reached = and_(reached, Complaint.committee_id.in_(committees))
        conditions.append(reached)
    return or_(*conditions) if conditions else false()


def handled_now_by(session: Session, user: User) -> ColumnElement[bool]:
    """Return a condition on ``Complaint`` true for the complaints at a level ``user`` handles."""
    conditions = []
    for level, committees in handled_levels(session, user).items():
        at_level = Complaint.level == level
        if committees is not None:
            at_level = and_(at_level, Complaint.committee_id.in_(committees))
        conditions.append(at_level)
    return or_(*conditions) if conditions else false()
