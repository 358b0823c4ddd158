"""Daily housekeeping of accounts."""

from datetime import date, datetime, time

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from registry.accounts.models import PasswordResetToken, SignIn
from registry.accounts.throttle import purge_throttles
from registry.clock import registry_zone
from registry.events.services import record_event


def purge_reset_tokens(session: Session, as_of: date, now: datetime) -> dict[str, int]:
    """Delete password reset links used or expired before the start of ``as_of``."""
    cutoff = datetime.combine(as_of, time.min, tzinfo=registry_zone())
    result = session.execute(
        delete(PasswordResetToken).where(
            or_(PasswordResetToken.expires_at < cutoff, PasswordResetToken.used_at < cutoff)
        )
    )
    if result.rowcount:
        record_event(
            session,
            action="account.reset_links_purged",
            subject_type="table",
            subject_id="password_reset_tokens",
            now=now,
            data={"count": result.rowcount, "before": cutoff.isoformat()},
        )
    return {"purged": result.rowcount}


def purge_sign_ins(session: Session, as_of: date, now: datetime) -> dict[str, int]:
    """Delete sign-ins that expired before the start of ``as_of`` (they sign nobody in), and
    the failed sign-in counts of addresses quiet for a day."""
    cutoff = datetime.combine(as_of, time.min, tzinfo=registry_zone())
    throttles = purge_throttles(session, now)
    result = session.execute(delete(SignIn).where(SignIn.expires_at < cutoff))
    if result.rowcount:
        record_event(
            session,
            action="account.sign_ins_purged",
            subject_type="table",
            subject_id="sign_ins",
            now=now,
            data={"count": result.rowcount, "before": cutoff.isoformat()},
        )
    return {"purged": result.rowcount, "throttles_purged": throttles}
