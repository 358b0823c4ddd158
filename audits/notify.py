"""The event-log helper shared by the audit services (mail: registry.mail.services)."""

from datetime import datetime

from sqlalchemy.orm import Session

from audits.models import Audit
from registry.accounts.models import User
from registry.events.services import record_event


def log_audit(
    session: Session,
    action: str,
    audit: Audit,
    *,
    now: datetime,
    actor: User | None,
    reason: str | None = None,
    **data: object,
) -> None:
    """Log ``action`` on the audit in the event log (kept free of confidential content)."""
    record_event(
        session,
        action=action,
        subject_type="audit",
        subject_id=audit.id,
        now=now,
        actor=actor,
        reason=reason,
        data={"program_id": audit.program_id, **data},
    )
