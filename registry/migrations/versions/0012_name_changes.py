"""Name changes: a certified mediator's new name waits for the registry's approval.

- ``name_changes``: each change of a mediator's name, asked for by the mediator (requested,
  then approved or refused by staff with a reason) or set by staff (approved at once). The
  approved rows are the history shown on Verify ("formerly ..."). At most one is open.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 11:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status = 'requested'"


def upgrade() -> None:
    op.create_table(
        "name_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("old_name", sa.String(length=200), nullable=False),
        sa.Column("requested_name", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "status IN ('requested', 'approved', 'refused')",
            name=op.f("ck_name_changes_known_status"),
        ),
        sa.CheckConstraint(
            "(status = 'requested') = (decided_at IS NULL)",
            name=op.f("ck_name_changes_decided_unless_requested"),
        ),
        sa.CheckConstraint(
            "status != 'refused' OR length(reason) > 0",
            name=op.f("ck_name_changes_refusal_has_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["mediator_id"],
            ["mediators.id"],
            name=op.f("fk_name_changes_mediator_id_mediators"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_name_changes_requested_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_name_changes_decided_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_name_changes")),
    )
    with op.batch_alter_table("name_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_name_changes_mediator_id"), ["mediator_id"], unique=False
        )
        batch_op.create_index(
            "uq_name_changes_one_open",
            ["mediator_id"],
            unique=True,
            sqlite_where=sa.text(OPEN),
            postgresql_where=sa.text(OPEN),
        )


def downgrade() -> None:
    with op.batch_alter_table("name_changes", schema=None) as batch_op:
        batch_op.drop_index("uq_name_changes_one_open")
        batch_op.drop_index(batch_op.f("ix_name_changes_mediator_id"))
    op.drop_table("name_changes")
