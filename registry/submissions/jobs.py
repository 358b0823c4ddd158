"""Daily housekeeping of one-time form tokens."""

from datetime import date, datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from registry.submissions.models import FormSubmission
from registry.submissions.services import token_lifetime


def purge_submissions(session: Session, as_of: date, now: datetime) -> dict[str, int]:
    """Delete used tokens older than a token may be: their signature refuses them anyway."""
    cutoff = now - token_lifetime()
    result = session.execute(delete(FormSubmission).where(FormSubmission.submitted_at < cutoff))
    return {"purged": result.rowcount}
