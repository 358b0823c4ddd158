"""Languages: the language people read the registry's pages and e-mails in.

- ``users.locale``: a signed-in person's preferred language (None: as their browser asks).
- ``complaints.locale``: the language of the page the complaint was filed on; later e-mails
  to the complainant are written in it.
- ``feedback_invitations.locale``: the language the invitation was written in, so the
  reminder matches it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 15:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("users", "complaints", "feedback_invitations")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("locale", sa.String(length=8), nullable=True))


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("locale")
