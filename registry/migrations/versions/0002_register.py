"""register: organisations, mediators, certifications, contributions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 18:26:49.539285
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The specialisations a certification can carry (staff can add more later).
SPECIALISATIONS = [
    ("commercial", "Commercial"),
    ("construction", "Construction"),
    ("employment", "Employment and workplace"),
    ("environmental", "Environmental"),
    ("family", "Family"),
    ("intellectual_property", "Intellectual property"),
    ("intercultural", "Intercultural"),
    ("investor_state", "Investor-State"),
    ("online_dispute_resolution", "Online Dispute Resolution"),
]


def upgrade() -> None:
    op.create_table(
        "country_tiers",
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("tier", sa.String(length=10), nullable=False),
        sa.CheckConstraint(
            "tier IN ('full', 'reduced_25', 'reduced_50')", name=op.f("ck_country_tiers_known_tier")
        ),
        sa.PrimaryKeyConstraint("country", name=op.f("pk_country_tiers")),
    )
    op.create_table(
        "fee_rates",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_minor >= 0", name=op.f("ck_fee_rates_amount_not_negative")),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_fee_rates_currency_code")),
        sa.CheckConstraint("year BETWEEN 2000 AND 2200", name=op.f("ck_fee_rates_plausible_year")),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_fee_rates")),
    )
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("head_office_country", sa.String(length=2), nullable=False),
        sa.Column("account_type", sa.String(length=4), nullable=False),
        sa.Column("website", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "account_type IN ('qap1', 'qap2', 'qap3')",
            name=op.f("ck_organisations_known_account_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("name", name=op.f("uq_organisations_name")),
    )
    op.create_table(
        "specialisations",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_specialisations")),
        sa.UniqueConstraint("name", name=op.f("uq_specialisations_name")),
    )
    op.create_table(
        "mediators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("search_name", sa.String(length=400), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("biography", sa.Text(), nullable=False),
        sa.Column("contact", sa.String(length=500), nullable=False),
        sa.Column("practice_areas", sa.String(length=500), nullable=False),
        sa.Column("feedback_digest_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(country) = 2", name=op.f("ck_mediators_country_code")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_mediators_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mediators")),
        sa.UniqueConstraint("email", name=op.f("uq_mediators_email")),
        sa.UniqueConstraint("public_id", name=op.f("uq_mediators_public_id")),
        sa.UniqueConstraint("user_id", name=op.f("uq_mediators_user_id")),
    )
    with op.batch_alter_table("mediators", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mediators_country"), ["country"], unique=False)
        batch_op.create_index("ix_mediators_search_name", ["search_name"], unique=False)

    op.create_table(
        "programs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("program_type", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("recognised_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "program_type IN ('CMTP', 'QAP', 'MAQAP', 'ICQAP', 'ODRQAP')",
            name=op.f("ck_programs_known_program_type"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_programs_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programs")),
    )
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_programs_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mediator_id"], ["mediators.id"], name=op.f("fk_assessments_mediator_id_mediators")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_assessments_program_id_programs")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_assessments_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
        sa.UniqueConstraint(
            "mediator_id", "program_id", "assessed_on", name=op.f("uq_assessments_mediator_id")
        ),
    )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessments_mediator_id"), ["mediator_id"], unique=False
        )

    op.create_table(
        "certifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("certificate_number", sa.String(length=32), nullable=False),
        sa.Column("certification_type", sa.String(length=10), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        sa.Column("suspended_on", sa.Date(), nullable=True),
        sa.Column("suspension_reason", sa.Text(), nullable=True),
        sa.Column("suspension_lifted_on", sa.Date(), nullable=True),
        sa.Column("revoked_on", sa.Date(), nullable=True),
        sa.Column("revocation_reason", sa.Text(), nullable=True),
        sa.Column("recorded_status", sa.String(length=10), nullable=False),
        sa.Column("recorded_since", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "certification_type IN ('mediator', 'advocate')",
            name=op.f("ck_certifications_known_type"),
        ),
        sa.CheckConstraint(
            "recorded_status IN ('applicant', 'certified', 'lapsed', 'struck', 'suspended', 'revoked')",
            name=op.f("ck_certifications_known_status"),
        ),
        sa.CheckConstraint(
            "(revoked_on IS NULL) = (revocation_reason IS NULL)",
            name=op.f("ck_certifications_revocation_has_reason"),
        ),
        sa.CheckConstraint(
            "(suspended_on IS NULL) = (suspension_reason IS NULL)",
            name=op.f("ck_certifications_suspension_has_reason"),
        ),
        sa.CheckConstraint(
            "revoked_on IS NULL OR revoked_on >= granted_on",
            name=op.f("ck_certifications_revoked_late"),
        ),
        sa.CheckConstraint(
            "suspended_on IS NULL OR suspended_on >= granted_on",
            name=op.f("ck_certifications_suspended_late"),
        ),
        sa.CheckConstraint(
            "suspension_lifted_on IS NULL OR (suspended_on IS NOT NULL AND suspension_lifted_on >= suspended_on)",
            name=op.f("ck_certifications_lifted_after_suspended"),
        ),
        sa.ForeignKeyConstraint(
            ["granted_by_id"], ["users.id"], name=op.f("fk_certifications_granted_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["mediator_id"], ["mediators.id"], name=op.f("fk_certifications_mediator_id_mediators")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certifications")),
        sa.UniqueConstraint(
            "certificate_number", name=op.f("uq_certifications_certificate_number")
        ),
    )
    with op.batch_alter_table("certifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certifications_mediator_id"), ["mediator_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_certifications_recorded_status"), ["recorded_status"], unique=False
        )

    op.create_table(
        "mediator_languages",
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["mediator_id"],
            ["mediators.id"],
            name=op.f("fk_mediator_languages_mediator_id_mediators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mediator_id", "code", name=op.f("pk_mediator_languages")),
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
    op.create_table(
        "qualifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mediator_id"], ["mediators.id"], name=op.f("fk_qualifications_mediator_id_mediators")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_qualifications_program_id_programs")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_qualifications_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qualifications")),
        sa.UniqueConstraint(
            "mediator_id", "program_id", name=op.f("uq_qualifications_mediator_id")
        ),
    )
    with op.batch_alter_table("qualifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_qualifications_mediator_id"), ["mediator_id"], unique=False
        )

    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certification_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("tier", sa.String(length=10), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "tier IN ('full', 'reduced_25', 'reduced_50')", name=op.f("ck_invoices_known_tier")
        ),
        sa.CheckConstraint("amount_minor >= 0", name=op.f("ck_invoices_amount_not_negative")),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_invoices_currency_code")),
        sa.CheckConstraint("period_end >= period_start", name=op.f("ck_invoices_period_in_order")),
        sa.ForeignKeyConstraint(
            ["certification_id"],
            ["certifications.id"],
            name=op.f("fk_invoices_certification_id_certifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint(
            "certification_id", "period_start", name=op.f("uq_invoices_certification_id")
        ),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invoices_coverage",
            ["certification_id", "settled_on", "period_end", "period_start"],
            unique=False,
        )

    op.create_table(
        "lifecycle_reminders",
        sa.Column("certification_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("coverage_key", sa.Date(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('period_ending', 'lapsed', 'strike_warning')",
            name=op.f("ck_lifecycle_reminders_known_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["certification_id"],
            ["certifications.id"],
            name=op.f("fk_lifecycle_reminders_certification_id_certifications"),
        ),
        sa.PrimaryKeyConstraint(
            "certification_id", "kind", "coverage_key", name=op.f("pk_lifecycle_reminders")
        ),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("provider_reference", sa.String(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(source = 'provider') = (provider_reference IS NOT NULL)",
            name=op.f("ck_payments_provider_has_reference"),
        ),
        sa.CheckConstraint(
            "source IN ('staff', 'provider')", name=op.f("ck_payments_known_source")
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_payments_amount_positive")),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_payments_currency_code")),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_payments_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_payments_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("provider_reference", name=op.f("uq_payments_provider_reference")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_invoice_id"), ["invoice_id"], unique=False)

    op.create_table(
        "waivers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "(status = 'requested') = (decided_on IS NULL)",
            name=op.f("ck_waivers_decided_unless_requested"),
        ),
        sa.CheckConstraint(
            "status IN ('requested', 'granted', 'refused')", name=op.f("ck_waivers_known_status")
        ),
        sa.CheckConstraint("percent BETWEEN 1 AND 100", name=op.f("ck_waivers_percent_in_range")),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_waivers_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_waivers_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_waivers_requested_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waivers")),
    )
    with op.batch_alter_table("waivers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_waivers_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(
            "uq_waivers_granted_invoice",
            ["invoice_id"],
            unique=True,
            sqlite_where=sa.text("status = 'granted'"),
            postgresql_where=sa.text("status = 'granted'"),
        )

    op.bulk_insert(
        sa.table("specialisations", sa.column("code"), sa.column("name")),
        [{"code": code, "name": name} for code, name in SPECIALISATIONS],
    )


def downgrade() -> None:
    with op.batch_alter_table("waivers", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_waivers_granted_invoice",
            sqlite_where=sa.text("status = 'granted'"),
            postgresql_where=sa.text("status = 'granted'"),
        )
        batch_op.drop_index(batch_op.f("ix_waivers_invoice_id"))

    op.drop_table("waivers")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_invoice_id"))

    op.drop_table("payments")
    op.drop_table("lifecycle_reminders")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_coverage")

    op.drop_table("invoices")
    with op.batch_alter_table("qualifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qualifications_mediator_id"))

    op.drop_table("qualifications")
    op.drop_table("mediator_specialisations")
    op.drop_table("mediator_languages")
    with op.batch_alter_table("certifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certifications_recorded_status"))
        batch_op.drop_index(batch_op.f("ix_certifications_mediator_id"))

    op.drop_table("certifications")
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessments_mediator_id"))

    op.drop_table("assessments")
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_programs_organisation_id"))

    op.drop_table("programs")
    with op.batch_alter_table("mediators", schema=None) as batch_op:
        batch_op.drop_index("ix_mediators_search_name")
        batch_op.drop_index(batch_op.f("ix_mediators_country"))

    op.drop_table("mediators")
    op.drop_table("specialisations")
    op.drop_table("organisations")
    op.drop_table("fee_rates")
    op.drop_table("country_tiers")
