"""E-mail and event-log helpers shared by the audit services."""

from collections.abc import Iterable
from datetime import datetime

from flask import render_template
from sqlalchemy.orm import Session

from audits.models import Audit
from registry.accounts.models import User
from registry.events.services import record_event
from registry.mail.services import queue_mail


def send_mail(
    session: Session, template: str, *, to: Iterable[str], now: datetime, **context: object
) -> int:
    """Queue ``mail/<template>`` (first line "Subject: ...") to each address; return how many.

    Each recipient gets their own message, so no one learns who else was told.
    """
    text = render_template(f"mail/{template}", **context)
    subject, _, body = text.partition("\n\n")
    subject = subject.removeprefix("Subject: ").strip()
    sent = 0
    for address in dict.fromkeys(to):
        queue_mail(session, to=address, subject=subject, body=body, now=now)
        sent += 1
    return sent


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
