"""Specialisations become granted credentials; one person may hold both certifications.

- ``specialisation_grants``: grants by staff on a recorded basis; ``specialisation_bases``:
  which program types are a basis for which specialisation (seeded: ICQAP for Intercultural,
  ODRQAP for Online Dispute Resolution).
- The self-declared ``mediator_specialisations`` rows become declared practice areas (their
  names are appended to ``mediators.practice_areas``); nothing unverified becomes a grant. The
  subject areas that were offered as specialisations (commercial, family, ...) are areas of
  practice, not credentials, and leave the specialisation list.
- ``certifications.covered_by_id``: a grant made while the person holds the other type is
  covered by that one's listing contribution.
- ``listings.certifications``: every listed certification of the person; the listings lose
  the facet words of self-declared specialisations.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 09:24:32.120627
"""

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUBJECT_AREAS = (
    ("commercial", "Commercial"),
    ("construction", "Construction"),
    ("employment", "Employment and workplace"),
    ("environmental", "Environmental"),
    ("family", "Family"),
    ("intellectual_property", "Intellectual property"),
)
BASES = [("ICQAP", "intercultural"), ("ODRQAP", "online_dispute_resolution")]
PRACTICE_AREAS_LENGTH = 500
BATCH = 10_000


def upgrade() -> None:
    op.create_table(
        "specialisation_bases",
        sa.Column("program_type", sa.String(length=8), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.CheckConstraint(
            "program_type IN ('CMTP', 'QAP', 'MAQAP', 'ICQAP', 'ODRQAP')",
            name=op.f("ck_specialisation_bases_known_program_type"),
        ),
        sa.ForeignKeyConstraint(
            ["code"],
            ["specialisations.code"],
            name=op.f("fk_specialisation_bases_code_specialisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("program_type", "code", name=op.f("pk_specialisation_bases")),
    )
    op.create_table(
        "specialisation_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("program_id", sa.Integer(), nullable=True),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_on", sa.Date(), nullable=True),
        sa.Column("withdrawal_reason", sa.Text(), nullable=True),
        sa.Column("withdrawn_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(withdrawn_on IS NULL) = (withdrawal_reason IS NULL)",
            name=op.f("ck_specialisation_grants_withdrawal_has_reason"),
        ),
        sa.CheckConstraint(
            "program_id IS NOT NULL OR length(basis) > 0",
            name=op.f("ck_specialisation_grants_has_basis"),
        ),
        sa.CheckConstraint(
            "valid_until IS NULL OR valid_until >= granted_on",
            name=op.f("ck_specialisation_grants_expiry_late"),
        ),
        sa.CheckConstraint(
            "withdrawn_on IS NULL OR withdrawn_on >= granted_on",
            name=op.f("ck_specialisation_grants_withdrawn_after_grant"),
        ),
        sa.ForeignKeyConstraint(
            ["code"],
            ["specialisations.code"],
            name=op.f("fk_specialisation_grants_code_specialisations"),
        ),
        sa.ForeignKeyConstraint(
            ["granted_by_id"],
            ["users.id"],
            name=op.f("fk_specialisation_grants_granted_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["mediator_id"],
            ["mediators.id"],
            name=op.f("fk_specialisation_grants_mediator_id_mediators"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_specialisation_grants_program_id_programs"),
        ),
        sa.ForeignKeyConstraint(
            ["withdrawn_by_id"],
            ["users.id"],
            name=op.f("fk_specialisation_grants_withdrawn_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_specialisation_grants")),
    )
    op.create_index(
        "ix_specialisation_grants_code", "specialisation_grants", ["code", "mediator_id"]
    )
    op.create_index(
        op.f("ix_specialisation_grants_mediator_id"), "specialisation_grants", ["mediator_id"]
    )
    op.create_index(
        op.f("ix_specialisation_grants_valid_until"), "specialisation_grants", ["valid_until"]
    )
    _declared_specialisations_to_practice_areas()
    op.drop_index(op.f("ix_mediator_specialisations_code"), table_name="mediator_specialisations")
    op.drop_table("mediator_specialisations")
    specialisations = sa.table("specialisations", sa.column("code"), sa.column("name"))
    op.execute(
        specialisations.delete().where(
            specialisations.c.code.in_([code for code, _name in SUBJECT_AREAS])
        )
    )
    op.bulk_insert(
        sa.table("specialisation_bases", sa.column("program_type"), sa.column("code")),
        [{"program_type": kind, "code": code} for kind, code in BASES],
    )
    _add_covered_by()
    # Also a plain ADD COLUMN: rebuilding listings would drop SQLite's FTS5 triggers.
    op.add_column(
        "listings",
        sa.Column("certifications", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )
    _rewrite_listings()


def _add_covered_by() -> None:
    """Add ``certifications.covered_by_id`` with its foreign key.

    SQLite takes the key inline in a plain ADD COLUMN; Alembic would rebuild the table for it,
    which the invoices' foreign keys to certifications do not allow.
    """
    name = op.f("fk_certifications_covered_by_id_certifications")
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"ALTER TABLE certifications ADD COLUMN covered_by_id INTEGER "
            f"CONSTRAINT {name} REFERENCES certifications (id)"
        )
        return
    op.add_column("certifications", sa.Column("covered_by_id", sa.Integer(), nullable=True))
    op.create_foreign_key(name, "certifications", "certifications", ["covered_by_id"], ["id"])


def _declared_specialisations_to_practice_areas() -> None:
    """Append each mediator's declared specialisations to their practice areas."""
    connection = op.get_bind()
    declared: dict[int, list[str]] = defaultdict(list)
    for mediator_id, name in connection.execute(
        sa.text(
            "SELECT ms.mediator_id, s.name FROM mediator_specialisations ms "
            "JOIN specialisations s ON s.code = ms.code ORDER BY ms.mediator_id, s.name"
        )
    ):
        declared[mediator_id].append(name)
    updates = []
    for start in range(0, len(declared), BATCH):
        ids = list(declared)[start : start + BATCH]
        rows = connection.execute(
            sa.text("SELECT id, practice_areas FROM mediators WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": ids},
        )
        for mediator_id, areas in rows:
            updates.append({"id": mediator_id, "areas": _merged(areas, declared[mediator_id])})
    if updates:
        connection.execute(
            sa.text("UPDATE mediators SET practice_areas = :areas WHERE id = :id"), updates
        )


def _merged(areas: str, names: list[str]) -> str:
    """Return ``areas`` with the names it does not mention yet, within the column's length."""
    merged = areas.strip()
    for name in names:
        if name.casefold() in merged.casefold():
            continue
        candidate = f"{merged}, {name}" if merged else name
        if len(candidate) <= PRACTICE_AREAS_LENGTH:
            merged = candidate
    return merged


def _rewrite_listings() -> None:
    """Fill ``certifications`` and drop the facet words of self-declared specialisations."""
    connection = op.get_bind()
    last = -1
    while rows := connection.execute(
        sa.text(
            "SELECT mediator_id, facets, certification_type, certificate_number FROM listings "
            "WHERE mediator_id > :last ORDER BY mediator_id LIMIT :batch"
        ),
        {"last": last, "batch": BATCH},
    ).all():
        connection.execute(
            sa.text(
                "UPDATE listings SET facets = :facets, certifications = :certifications "
                "WHERE mediator_id = :id"
            ).bindparams(sa.bindparam("certifications", type_=sa.JSON())),
            [
                {
                    "id": row.mediator_id,
                    "facets": " "
                    + " ".join(word for word in row.facets.split() if not word.startswith("s"))
                    + " ",
                    "certifications": [
                        {
                            "type": row.certification_type,
                            "certificate_number": row.certificate_number,
                        }
                    ],
                }
                for row in rows
            ],
        )
        last = rows[-1].mediator_id


def downgrade() -> None:
    op.drop_column("listings", "certifications")
    with op.batch_alter_table("certifications", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_certifications_covered_by_id_certifications"), type_="foreignkey"
        )
        batch_op.drop_column("covered_by_id")
    op.bulk_insert(
        sa.table("specialisations", sa.column("code"), sa.column("name")),
        [{"code": code, "name": name} for code, name in SUBJECT_AREAS],
    )
    op.create_table(
        "mediator_specialisations",
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["code"],
            ["specialisations.code"],
            name=op.f("fk_mediator_specialisations_code_specialisations"),
        ),
        sa.ForeignKeyConstraint(
            ["mediator_id"],
            ["mediators.id"],
            name=op.f("fk_mediator_specialisations_mediator_id_mediators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mediator_id", "code", name=op.f("pk_mediator_specialisations")),
    )
    op.create_index(
        op.f("ix_mediator_specialisations_code"),
        "mediator_specialisations",
        ["code", "mediator_id"],
    )
    # Grants do not go back to being declarations: the practice areas keep what they say.
    op.drop_table("specialisation_grants")
    op.drop_table("specialisation_bases")
