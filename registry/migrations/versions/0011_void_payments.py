"""Void payments: a payment booked by mistake is voided with a reason and counts no more.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 11:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("voided_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("void_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_payments_voided_by_id_users"), "users", ["voided_by_id"], ["id"]
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_payments_voided_with_reason"),
            "(voided_at IS NULL) = (void_reason IS NULL)",
        )


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_payments_voided_with_reason"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_payments_voided_by_id_users"), type_="foreignkey")
        batch_op.drop_column("void_reason")
        batch_op.drop_column("voided_by_id")
        batch_op.drop_column("voided_at")
