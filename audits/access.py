"""Who may see what of an audit: one guard for every audit page.

A person's standing on an audit (``AuditViewer``) comes from facts: the subcommittee chair of
the program's type, an appraiser assigned to it, an appraiser of the type's pool (who sees the
audit's name and dates, and nothing confidential, until declaring no conflict and being
assigned), an administrator of the program's organisation, or registry staff (who see the
schedule and who is assigned, never the documents, notes or report). Anyone else gets 404, as
for a missing id.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import wraps
from typing import Any

from flask import abort
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import Session

from audits import queries
from audits.models import Audit
from registry.accounts.models import Role, User
from registry.accounts.permissions import role_required
from registry.extensions import db

# Staff of the registry who follow the audit schedule.
AUDIT_STAFF = (Role.SUPPORT, Role.EXECUTIVE_DIRECTOR, Role.ADMINISTRATOR)
# The roles that pass the role check of an audit page before the audit's own guard.
AUDIT_PAGE_ROLES = (Role.APPRAISER, Role.COMMITTEE_MEMBER, Role.ORGANISATION_ADMIN, *AUDIT_STAFF)


class Standing(StrEnum):
    CHAIR = "chair"
    APPRAISER = "appraiser"  # assigned to this audit
    POOL = "pool"  # in the type's pool, not assigned
    ORGANISATION = "organisation"
    STAFF = "staff"


# Those who may read the audit's confidential material: documents, notes and the report.
CONFIDENTIAL = frozenset({Standing.CHAIR, Standing.APPRAISER})


@dataclass(frozen=True)
class AuditViewer:
    user: User
    standings: frozenset[Standing]

    def is_(self, *standings: Standing) -> bool:
        return bool(self.standings.intersection(standings))

    @property
    def sees_confidential(self) -> bool:
        return self.is_(*CONFIDENTIAL)


def standings_on(session: Session, user: User, audit: Audit) -> frozenset[Standing]:
    """Return ``user``'s standings on ``audit``."""
    program_type = audit.program.program_type
    found = set()
    if queries.chairs_audit(session, user, audit):
        found.add(Standing.CHAIR)
    if user.has_role(Role.APPRAISER):
        if queries.is_assigned(session, user.id, audit.id):
            found.add(Standing.APPRAISER)
        elif program_type in queries.pool_types(session, user.id):
            found.add(Standing.POOL)
    if user.has_role(Role.ORGANISATION_ADMIN) and queries.is_organisation_admin(
        session, user.id, audit.program.organisation_id
    ):
        found.add(Standing.ORGANISATION)
    if user.has_role(*AUDIT_STAFF):
        found.add(Standing.STAFF)
    return frozenset(found)


def audit_page(*allowed: Standing) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Guard an audit route: load ``audit_id`` (or 404) and let in only ``allowed`` standings.

    The view receives ``audit`` and ``viewer`` in place of ``audit_id``; anyone without an
    allowed standing gets 404, so an audit's existence is not told to outsiders.
    """

    def decorator(view: Callable[..., ResponseReturnValue]) -> Callable[..., Any]:
        @wraps(view)
        def guarded(audit_id: int, **kwargs: Any) -> ResponseReturnValue:
            audit = db.session.get(Audit, audit_id)
            if audit is None:
                abort(404)
            viewer = AuditViewer(current_user, standings_on(db.session, current_user, audit))
            if not viewer.is_(*allowed):
                abort(404)
            return view(audit=audit, viewer=viewer, **kwargs)

        return role_required(*AUDIT_PAGE_ROLES)(guarded)

    return decorator
