"""The event log table. Rows are only ever inserted: database triggers refuse UPDATE and
DELETE (see the first migration), and the ORM refuses to flush a change to one."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.accounts.models import User
from registry.database import Base


class EventLogError(RuntimeError):
    """An attempt to change or remove an event log entry."""


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    # Empty for the system itself (scheduled jobs, the payment provider).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # Dotted, past tense: "account.registered", "mail.sent", "role.granted".
    action: Mapped[str] = mapped_column(String(80), index=True)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    actor: Mapped[User | None] = relationship(lazy="joined")


@event.listens_for(Event, "before_update")
@event.listens_for(Event, "before_delete")
def _refuse_change(_mapper: Any, _connection: Any, target: Event) -> None:
    raise EventLogError(f"event {target.id} is part of the append-only log")
