"""Online payment through Stripe: refunds, handled events, Stripe ids, mail attachments.

- ``payments.stripe_checkout_session``; the source ``stripe`` carries the PaymentIntent id in
  ``provider_reference`` (unique: one payment per PaymentIntent).
- ``held_payments.source`` and ``stripe_checkout_session``: which webhook reported it.
- ``refunds``: refunds of Stripe payments, counted once Stripe confirms them.
- ``stripe_events``: every Stripe event acted on, once per event id.
- ``mail_attachments``: files sent with queued mail (receipts).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
    )
    op.create_table(
        "mail_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["mail_outbox.id"],
            name=op.f("fk_mail_attachments_message_id_mail_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_attachments")),
    )
    op.create_index(
        op.f("ix_mail_attachments_message_id"), "mail_attachments", ["message_id"], unique=False
    )
    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("stripe_refund_id", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refunded_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "(status = 'refunded') = (refunded_on IS NOT NULL)",
            name=op.f("ck_refunds_refunded_iff_dated"),
        ),
        sa.CheckConstraint(
            "status IN ('requested', 'refunded', 'failed')", name=op.f("ck_refunds_known_status")
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_refunds_amount_positive")),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_refunds_currency_code")),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_refunds_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_refunds_requested_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("stripe_refund_id", name=op.f("uq_refunds_stripe_refund_id")),
    )
    op.create_index(op.f("ix_refunds_payment_id"), "refunds", ["payment_id"], unique=False)
    with op.batch_alter_table("held_payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=10), nullable=False, server_default="provider")
        )
        batch_op.add_column(
            sa.Column("stripe_checkout_session", sa.String(length=100), nullable=True)
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_held_payments_known_source"), "source IN ('provider', 'stripe')"
        )
    with op.batch_alter_table("held_payments", schema=None) as batch_op:
        batch_op.alter_column("source", server_default=None)
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stripe_checkout_session", sa.String(length=100), nullable=True)
        )
        batch_op.drop_constraint(batch_op.f("ck_payments_provider_has_reference"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_payments_provider_has_reference"),
            "(source IN ('provider', 'stripe')) = (provider_reference IS NOT NULL)",
        )
        batch_op.drop_constraint(batch_op.f("ck_payments_known_source"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_payments_known_source"), "source IN ('staff', 'provider', 'stripe')"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_payments_stripe_session_if_stripe"),
            "source = 'stripe' OR stripe_checkout_session IS NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_payments_stripe_session_if_stripe"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_payments_known_source"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_payments_known_source"), "source IN ('staff', 'provider')"
        )
        batch_op.drop_constraint(batch_op.f("ck_payments_provider_has_reference"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_payments_provider_has_reference"),
            "(source = 'provider') = (provider_reference IS NOT NULL)",
        )
        batch_op.drop_column("stripe_checkout_session")
    with op.batch_alter_table("held_payments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_held_payments_known_source"), type_="check")
        batch_op.drop_column("stripe_checkout_session")
        batch_op.drop_column("source")
    op.drop_index(op.f("ix_refunds_payment_id"), table_name="refunds")
    op.drop_table("refunds")
    op.drop_index(op.f("ix_mail_attachments_message_id"), table_name="mail_attachments")
    op.drop_table("mail_attachments")
    op.drop_table("stripe_events")
