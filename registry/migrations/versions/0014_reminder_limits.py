"""Organisation reminders: the limits enforced by the database, not only by a count.

- ``organisation_reminders.sent_on``: the registry's calendar day of ``sent_at``, and
  ``day_number``: the organisation's n-th reminder that day. Unique per organisation, mediator
  and day (``uq_organisation_reminders_one_a_day``) and per organisation, day and number
  (``uq_organisation_reminders_numbered_per_day``), so two requests at once can neither remind
  one mediator twice nor both take the last place of the daily limit.

Existing rows get their day in REGISTRY_TIMEZONE (as the application reads it) and their
numbers in the order they were sent.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 13:50:00.000000
"""

import os
from collections import Counter
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

reminders = sa.table(
    "organisation_reminders",
    sa.column("id", sa.Integer),
    sa.column("organisation_id", sa.Integer),
    sa.column("sent_at", sa.DateTime(timezone=True)),
    sa.column("sent_on", sa.Date),
    sa.column("day_number", sa.Integer),
)


def _backfill() -> None:
    zone = ZoneInfo(os.environ.get("REGISTRY_TIMEZONE", "Europe/Amsterdam"))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(reminders.c.id, reminders.c.organisation_id, reminders.c.sent_at).order_by(
            reminders.c.sent_at, reminders.c.id
        )
    ).all()
    numbers: Counter[tuple[int, object]] = Counter()
    for id_, organisation_id, sent_at in rows:
        if sent_at.tzinfo is None:  # SQLite gives back the stored UTC instant without a zone
            sent_at = sent_at.replace(tzinfo=ZoneInfo("UTC"))
        day = sent_at.astimezone(zone).date()
        numbers[(organisation_id, day)] += 1
        connection.execute(
            sa.update(reminders)
            .where(reminders.c.id == id_)
            .values(sent_on=day, day_number=numbers[(organisation_id, day)])
        )


def upgrade() -> None:
    with op.batch_alter_table("organisation_reminders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("day_number", sa.Integer(), nullable=True))
    _backfill()
    with op.batch_alter_table("organisation_reminders", schema=None) as batch_op:
        batch_op.alter_column("sent_on", existing_type=sa.Date(), nullable=False)
        batch_op.alter_column("day_number", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_organisation_reminders_one_a_day"),
            ["organisation_id", "mediator_id", "sent_on"],
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_organisation_reminders_numbered_per_day"),
            ["organisation_id", "sent_on", "day_number"],
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_organisation_reminders_day_number_positive"), "day_number >= 1"
        )


def downgrade() -> None:
    with op.batch_alter_table("organisation_reminders", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("ck_organisation_reminders_day_number_positive"), type_="check"
        )
        batch_op.drop_constraint(
            batch_op.f("uq_organisation_reminders_numbered_per_day"), type_="unique"
        )
        batch_op.drop_constraint(batch_op.f("uq_organisation_reminders_one_a_day"), type_="unique")
        batch_op.drop_column("day_number")
        batch_op.drop_column("sent_on")
