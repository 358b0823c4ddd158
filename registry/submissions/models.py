"""Used one-time form tokens."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from registry.database import Base


class FormSubmission(Base):
    """A one-time token a form was sent with: its primary key refuses the token a second time."""

    __tablename__ = "form_submissions"

    # The random part of the signed token (the signature proves the site issued it).
    token: Mapped[str] = mapped_column(String(43), primary_key=True)
    # The view it was sent to, for whoever reads the table.
    endpoint: Mapped[str] = mapped_column(String(100))
    submitted_at: Mapped[datetime] = mapped_column(index=True)
