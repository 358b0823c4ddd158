"""The organisation dashboard at scale: an index to find each mediator's latest grant.

- ``ix_certifications_latest`` (mediator_id, granted_on, id): the dashboard reads the latest
  grant as of a day of every linked mediator (10,000 for a large organisation) on each view;
  with it each lookup is one index search instead of a sort of the mediator's grants.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 12:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_certifications_latest",
        "certifications",
        ["mediator_id", "granted_on", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_certifications_latest", table_name="certifications")
