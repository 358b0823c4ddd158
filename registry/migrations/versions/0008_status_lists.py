"""Bitstring Status Lists for the certifications' credentials, with every existing
certification given a random index and its bits set from its recorded status.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 10:05:00
"""

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in registry.credentials (kept here so the migration never changes with the code).
LIST_SIZE = 131_072
LIST_CAPACITY = LIST_SIZE * 3 // 4
REVOKED = {"struck", "revoked"}
SUSPENDED = {"lapsed", "suspended", "applicant"}
BATCH = 10_000


def upgrade() -> None:
    op.create_table(
        "status_lists",
        sa.Column("list_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("bits", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "purpose IN ('revocation', 'suspension')", name=op.f("ck_status_lists_known_purpose")
        ),
        sa.PrimaryKeyConstraint("list_id", "purpose", name=op.f("pk_status_lists")),
    )
    op.create_table(
        "status_entries",
        sa.Column("certification_id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status_index >= 0 AND status_index < 131072", name=op.f("ck_status_entries_in_list")
        ),
        sa.ForeignKeyConstraint(
            ["certification_id"],
            ["certifications.id"],
            name=op.f("fk_status_entries_certification_id_certifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("certification_id", name=op.f("pk_status_entries")),
        sa.UniqueConstraint("list_id", "status_index", name=op.f("uq_status_entries_list_id")),
    )
    _fill()


def _fill() -> None:
    """Give every certification a random free index and set its bits."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT id, recorded_status FROM certifications ORDER BY id")
    ).all()
    lists: list[dict[str, bytearray]] = []
    used: set[int] = set()
    entries = []
    for certification_id, status in rows:
        if not lists or len(used) >= LIST_CAPACITY:
            lists.append({p: bytearray(LIST_SIZE // 8) for p in ("revocation", "suspension")})
            used = set()
        index = secrets.randbelow(LIST_SIZE)
        while index in used:
            index = secrets.randbelow(LIST_SIZE)
        used.add(index)
        list_id = len(lists) - 1
        entries.append({"c": certification_id, "l": list_id, "i": index})
        purpose = (
            "revocation" if status in REVOKED else "suspension" if status in SUSPENDED else None
        )
        if purpose:
            lists[list_id][purpose][index // 8] |= 0x80 >> (index % 8)
    insert_entry = sa.text(
        "INSERT INTO status_entries (certification_id, list_id, status_index) VALUES (:c, :l, :i)"
    )
    for start in range(0, len(entries), BATCH):
        connection.execute(insert_entry, entries[start : start + BATCH])
    now = datetime.now(UTC)
    status_lists = sa.table(
        "status_lists",
        sa.column("list_id"),
        sa.column("purpose"),
        sa.column("bits", sa.LargeBinary()),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    rows_out = [
        {"list_id": list_id, "purpose": purpose, "bits": bytes(bits), "updated_at": now}
        for list_id, purposes in enumerate(lists)
        for purpose, bits in purposes.items()
    ]
    if rows_out:
        op.bulk_insert(status_lists, rows_out)


def downgrade() -> None:
    op.drop_table("status_entries")
    op.drop_table("status_lists")
