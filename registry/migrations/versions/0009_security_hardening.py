"""Security hardening: sign-ins, sign-in throttle, complaint tracking, one-time forms, holds.

- ``sign_ins``: one row per signed-in browser; its cookies carry the row's id and a secret
  (only a hash is kept). Signing out deletes the row. ``users.session_token``, the one token
  every browser of an account shared, goes: existing sessions end and people sign in again.
- ``sign_in_throttles``: failed sign-ins in a row per address (or trusted browser) and until
  when the next attempt must wait.
- ``complaint_tracking``: a browser following a complaint keeps only a random token; the
  complaint it opens, and until when, are kept here.
- ``form_submissions``: the one-time tokens forms behind a role were sent with.
- ``held_payments``: provider payments for a settled invoice or for more than it owes, kept
  out of the books until staff book them or mark them returned.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 10:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "expires_at > created_at", name=op.f("ck_sign_ins_expires_after_created")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sign_ins_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_ins")),
    )
    with op.batch_alter_table("sign_ins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_ins_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_sign_ins_user_id"), ["user_id"], unique=False)
    op.create_table(
        "sign_in_throttles",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_throttles")),
    )
    with op.batch_alter_table("sign_in_throttles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sign_in_throttles_last_failure_at"), ["last_failure_at"], unique=False
        )
    op.create_table(
        "complaint_tracking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "expires_at > opened_at", name=op.f("ck_complaint_tracking_expires_after_opened")
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_tracking_complaint_id_complaints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_tracking")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_complaint_tracking_token_hash")),
    )
    with op.batch_alter_table("complaint_tracking", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_tracking_complaint_id"), ["complaint_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_complaint_tracking_expires_at"), ["expires_at"], unique=False
        )
    op.create_table(
        "form_submissions",
        sa.Column("token", sa.String(length=43), nullable=False),
        sa.Column("endpoint", sa.String(length=100), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_form_submissions")),
    )
    with op.batch_alter_table("form_submissions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_form_submissions_submitted_at"), ["submitted_at"], unique=False
        )
    op.create_table(
        "held_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("provider_reference", sa.String(length=100), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_held_payments_amount_positive")),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_held_payments_currency_code")),
        sa.CheckConstraint(
            "status IN ('held', 'booked', 'returned')", name=op.f("ck_held_payments_known_status")
        ),
        sa.CheckConstraint(
            "(status = 'held') = (decided_at IS NULL)",
            name=op.f("ck_held_payments_decided_unless_held"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_held_payments_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_held_payments_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_payments")),
        sa.UniqueConstraint("provider_reference", name=op.f("uq_held_payments_provider_reference")),
    )
    with op.batch_alter_table("held_payments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_held_payments_invoice_id"), ["invoice_id"], unique=False
        )
    # Both databases drop a column in place (rebuilding users on SQLite would cascade deletes).
    op.execute("ALTER TABLE users DROP COLUMN session_token")


def downgrade() -> None:
    op.add_column(
        "users",
        sa.Column("session_token", sa.String(length=64), nullable=False, server_default=""),
    )
    with op.batch_alter_table("held_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_held_payments_invoice_id"))
    op.drop_table("held_payments")
    with op.batch_alter_table("form_submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_submissions_submitted_at"))
    op.drop_table("form_submissions")
    with op.batch_alter_table("complaint_tracking", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_tracking_expires_at"))
        batch_op.drop_index(batch_op.f("ix_complaint_tracking_complaint_id"))
    op.drop_table("complaint_tracking")
    with op.batch_alter_table("sign_in_throttles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_throttles_last_failure_at"))
    op.drop_table("sign_in_throttles")
    with op.batch_alter_table("sign_ins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_ins_user_id"))
        batch_op.drop_index(batch_op.f("ix_sign_ins_expires_at"))
    op.drop_table("sign_ins")
