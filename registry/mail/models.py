"""Queued e-mail. A row is written in the same transaction as the change it reports."""

from datetime import datetime
from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.database import Base


class MailStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a sender; reclaimed if it stays so too long
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt
    # Withdrawn before it was sent: the one-time link it carried was used or expired first.
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        """Return the status as the outbox page shows it ("Queued")."""
        return {
            MailStatus.QUEUED: _("Queued"),
            MailStatus.SENDING: _("Sending"),
            MailStatus.SENT: _("Sent"),
            MailStatus.FAILED: _("Failed"),
            MailStatus.WITHDRAWN: _("Withdrawn"),
        }[self]


class OutboxMessage(Base):
    __tablename__ = "mail_outbox"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'failed', 'withdrawn')", name="known_status"
        ),
        CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_iff_sent_at"),
        CheckConstraint("status <> 'sending' OR claimed_at IS NOT NULL", name="sending_has_claim"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=MailStatus.QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    attachments: Mapped[list["MailAttachment"]] = relationship(
        order_by="MailAttachment.id", lazy="selectin", cascade="all, delete-orphan"
    )


class MailAttachment(Base):
    """A file sent with a queued message (a receipt), kept as it was when the mail was written."""

    __tablename__ = "mail_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("mail_outbox.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
