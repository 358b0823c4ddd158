"""A queued message withdrawn before sending (its one-time link used or expired) is
'withdrawn', not 'failed': nothing went wrong. Earlier such messages are relabelled.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 11:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "status IN ('queued', 'sending', 'sent', 'failed')"
NEW = "status IN ('queued', 'sending', 'sent', 'failed', 'withdrawn')"
# The note redact_message wrote on a queued message it withdrew.
WITHDRAWN_NOTE = "Withdrawn before sending%"


def _set_known_status(condition: str) -> None:
    # No foreign key points at the outbox, so SQLite's table rebuild is safe here.
    with op.batch_alter_table("mail_outbox") as batch_op:
        batch_op.drop_constraint(op.f("ck_mail_outbox_known_status"), type_="check")
        batch_op.create_check_constraint("known_status", condition)


def upgrade() -> None:
    _set_known_status(NEW)
    op.execute(
        sa.text(
            "UPDATE mail_outbox SET status = 'withdrawn' "
            "WHERE status = 'failed' AND last_error LIKE :note"
        ).bindparams(note=WITHDRAWN_NOTE)
    )


def downgrade() -> None:
    op.execute("UPDATE mail_outbox SET status = 'failed' WHERE status = 'withdrawn'")
    _set_known_status(OLD)
