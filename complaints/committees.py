"""The committees and taskforces of the third level, and the subject routes: one function each.

Administrators keep them. A member must hold the committee member role; the route of a
subject decides which committee takes complaints of that subject when they reach the third
level (a complaint already there keeps the committee it was given).
"""

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from complaints.models import Committee, CommitteeMember, Subject, SubjectRoute
from complaints.services import ComplaintError
from registry.accounts.models import Role, User
from registry.events.services import record_event
from registry.formatting import format_number

MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 1000


def _check_administrator(actor: User) -> None:
    if not actor.has_role(Role.ADMINISTRATOR):
        raise ComplaintError(_("Only administrators change the complaint committees."))


def _log(
    session: Session,
    action: str,
    committee: Committee,
    *,
    now: datetime,
    actor: User,
    **data: object,
) -> None:
    record_event(
        session,
        action=f"complaint_committee.{action}",
        subject_type="complaint_committee",
        subject_id=committee.id,
        now=now,
        actor=actor,
        data=data,
    )
    session.flush()


def create_committee(
    session: Session, *, name: str, description: str, now: datetime, actor: User
) -> Committee:
    """Create a committee or taskforce named ``name`` (unique, whatever the letter case)."""
    _check_administrator(actor)
    name = " ".join(name.split())
    if not name:
        raise ComplaintError(_("Give the committee a name."))
    if len(name) > MAX_NAME_LENGTH:
        raise ComplaintError(
            _(
                "The name may have at most %(limit)s characters.",
                limit=format_number(MAX_NAME_LENGTH),
            )
        )
    taken = session.scalar(select(Committee.id).where(func.lower(Committee.name) == name.lower()))
    if taken is not None:
        raise ComplaintError(_("There is already a committee named “%(name)s”.", name=name))
    committee = Committee(name=name, description=description.strip())
    session.add(committee)
    session.flush()
    _log(session, "created", committee, now=now, actor=actor, name=name)
    return committee


def add_member(
    session: Session, committee: Committee, user: User, *, now: datetime, actor: User
) -> CommitteeMember:
    """Seat ``user`` (an enabled committee member) on ``committee``."""
    _check_administrator(actor)
    if not user.is_active:
        raise ComplaintError(_("The account of %(email)s is disabled.", email=user.email))
    if not user.has_role(Role.COMMITTEE_MEMBER):
        raise ComplaintError(
            _(
                "%(name)s is not a committee member; give the account that role first.",
                name=user.name,
            )
        )
    if session.get(CommitteeMember, (committee.id, user.id)) is not None:
        raise ComplaintError(
            _(
                "%(name)s already sits on the %(committee)s.",
                name=user.name,
                committee=committee.name,
            )
        )
    member = CommitteeMember(committee_id=committee.id, user_id=user.id)
    session.add(member)
    session.flush()
    session.expire(committee, ["members"])
    _log(session, "member_added", committee, now=now, actor=actor, user_id=user.id)
    return member


def remove_member(
    session: Session, committee: Committee, user: User, *, now: datetime, actor: User
) -> None:
    """Take ``user`` off ``committee``: they no longer read or handle its complaints."""
    _check_administrator(actor)
    member = session.get(CommitteeMember, (committee.id, user.id))
    if member is None:
        raise ComplaintError(
            _(
                "%(name)s does not sit on the %(committee)s.",
                name=user.name,
                committee=committee.name,
            )
        )
    session.delete(member)
    session.flush()
    session.expire(committee, ["members"])
    _log(session, "member_removed", committee, now=now, actor=actor, user_id=user.id)


def route_subject(
    session: Session, subject: Subject, committee: Committee, *, now: datetime, actor: User
) -> SubjectRoute:
    """Send complaints of ``subject`` that reach the third level to ``committee`` from now on."""
    _check_administrator(actor)
    route = session.get(SubjectRoute, subject.value)
    previous = route.committee_id if route is not None else None
    if previous == committee.id:
        raise ComplaintError(
            _(
                "%(subject)s already goes to the %(committee)s.",
                subject=subject.label,
                committee=committee.name,
            )
        )
    if route is None:
        route = SubjectRoute(subject=subject.value, committee_id=committee.id)
        session.add(route)
    else:
        route.committee_id = committee.id
    session.flush()
    session.expire(route, ["committee"])
    _log(
        session,
        "route_changed",
        committee,
        now=now,
        actor=actor,
        subject=subject.value,
        previous_committee_id=previous,
    )
    return route
