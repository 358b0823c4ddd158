"""The daily sweep that closes expired feedback links and deletes their addresses."""

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from registry.clock import registry_zone
from registry.events.services import record_event
from registry.feedback.models import FeedbackInvitation
from registry.feedback.services import REDACTION_REASON
from registry.mail.models import MailStatus, OutboxMessage
from registry.mail.services import REDACTED_ADDRESS, redact_message


def end_of_day(day: date) -> datetime:
    """Return the instant (aware UTC) at which ``day`` ends in the registry's time zone."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=registry_zone()).astimezone(UTC)


def expire_feedback_links(session: Session, as_of: date, now: datetime) -> dict[str, Any]:
    """Close every open link that expires by the end of ``as_of``; redact the e-mails."""
    expired = session.execute(
        update(FeedbackInvitation)
        .where(
            FeedbackInvitation.closed_at.is_(None),
            FeedbackInvitation.expires_at < end_of_day(as_of),
        )
        .values(closed_at=now, email=None)
        .returning(FeedbackInvitation.request_id)
        .execution_options(synchronize_session=False)
    ).scalars()
    per_request = Counter(expired)
    for request_id, count in sorted(per_request.items()):
        record_event(
            session,
            action="feedback.links_expired",
            subject_type="feedback_request",
            subject_id=request_id,
            now=now,
            data={"expired": count, "as_of": as_of.isoformat()},
        )
    return {"expired": per_request.total(), "messages_redacted": _redact_closed(session)}


def _redact_closed(session: Session) -> int:
    """Redact the e-mails of closed links that still hold an address.

    These are the links just closed, and any whose e-mail was being sent when it closed.
    """
    pending = session.scalars(
        select(OutboxMessage.id)
        .join(FeedbackInvitation, FeedbackInvitation.message_id == OutboxMessage.id)
        .where(
            FeedbackInvitation.closed_at.is_not(None),
            OutboxMessage.to_address != REDACTED_ADDRESS,
            OutboxMessage.status != MailStatus.SENDING,
        )
        .order_by(OutboxMessage.id)
    ).all()
    return sum(
        redact_message(session, message_id, reason=REDACTION_REASON) for message_id in pending
    )
