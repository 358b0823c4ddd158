"""Standards: the audit criteria and rules become the first published versions of standards.

- ``standards``, ``standard_versions``, ``standard_rules``: versioned, published rules.
- Version 1 of each standard holds exactly the criteria and rules audits used before (the
  constants of ``audits/criteria.py`` as they stood), keeping every code, so old reports
  still resolve: CMTP, QAP, MAQAP, ICQAP and ODRQAP criteria, the general rules (GEN) and the
  appraisers' code of conduct (COC). They are in force from the earliest day the registry's
  data knows (a program's recognition or an audit), or today.
- ``audit_standard_versions``: the versions an audit is judged against; every audit already
  opened is judged against version 1 of its type's standards and the general rules.
- The tables of standard setting and 360 feedback (``standard_proposals``,
  ``taskforce_members``, ``standard_consultations``, ``standard_consultation_comments``,
  ``standard_comment_answers``, ``standard_founding_proposals``, ``open_feedback``).
- ``audit_findings.rule_id`` and ``audit_deviations.rule_id``: the cited rule of that version.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 18:40:00.000000
"""

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ASSESSMENT = "QAP MAQAP ICQAP ODRQAP"

# code, title, kind, applies_to, purpose, rules: the registry's rules as they stood.
FIRST_VERSIONS = (
    (
        "CMTP",
        "Competent Mediator Training Program criteria",
        "criteria",
        "CMTP",
        "What a training program must show to be recognised and to stay recognised.",
        (
            "Published learning outcomes cover the registry's competency criteria",
            "At least 40 hours of training, half of it skills practice and role play",
            "Trainers are experienced mediators with recorded qualifications",
            "Each trainee's performance is assessed and the result is recorded",
            "Ethics, the code of conduct and confidentiality are taught",
            "Intercultural awareness and diversity are part of the program",
            "Completion is reported to the registry accurately and on time",
        ),
    ),
    (
        "QAP",
        "Qualifying Assessment Program criteria",
        "criteria",
        ASSESSMENT,
        "What an assessment program must show to qualify mediators for certification.",
        (
            "Assessment criteria and the process are published to candidates",
            "Candidates show the required mediation experience, with evidence",
            "Assessors are independent of the candidates they assess",
            "Assessment covers written evidence and an observed performance",
            "Candidates can appeal, and complaints about assessors are handled",
            "Assessment files are kept for audit for at least five years",
            "Results are reported to the registry accurately and on time",
        ),
    ),
    (
        "MAQAP",
        "Mediation Advocacy specialisation criteria",
        "criteria",
        "MAQAP",
        "What a Mediation Advocacy QAP assesses beyond the QAP criteria.",
        ("Advocacy competencies are assessed in a mediation",),
    ),
    (
        "ICQAP",
        "Intercultural specialisation criteria",
        "criteria",
        "ICQAP",
        "What an Intercultural QAP assesses beyond the QAP criteria.",
        ("Intercultural competency is assessed with evidence",),
    ),
    (
        "ODRQAP",
        "Online Dispute Resolution specialisation criteria",
        "criteria",
        "ODRQAP",
        "What an Online Dispute Resolution QAP assesses beyond the QAP criteria.",
        ("Online mediation practice and tools are assessed",),
    ),
    (
        "GEN",
        "General rules for recognised programs",
        "rules",
        f"CMTP {ASSESSMENT}",
        "The rules every recognised program follows, whatever its type.",
        (
            "The organisation cooperates with audits and answers requests on time",
            "Public information about the program and its recognition is accurate",
            "Records about mediators are kept confidential and secure",
        ),
    ),
    (
        "COC",
        "Code of conduct for appraisers",
        "guidance",
        "",
        "How appraisers behave when they appraise a program for the registry.",
        (
            "Has no relationship or activity that prevents an impartial appraisal, and declares"
            " any before the appraisal starts",
            "Avoids any conflict of interest throughout the appraisal",
            "Offers the applicant no expertise, time or side activities during the appraisal",
            "Accepts no gifts, cash or services from the organisation whose program is appraised",
            "Makes only objective findings, on clear evidence and the registry's rules, never on"
            " assumptions",
        ),
    ),
)


def upgrade() -> None:
    op.create_table(
        "standards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("applies_to", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('criteria', 'rules', 'guidance')", name=op.f("ck_standards_known_kind")
        ),
        sa.CheckConstraint("code <> ''", name=op.f("ck_standards_has_code")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standards")),
        sa.UniqueConstraint("code", name=op.f("uq_standards_code")),
    )
    op.create_table(
        "standard_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("standard_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("change_summary", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("draft_revision", sa.Integer(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('drafting', 'consultation', 'revising', 'proposed', 'published')",
            name=op.f("ck_standard_versions_known_status"),
        ),
        sa.CheckConstraint("number > 0", name=op.f("ck_standard_versions_positive_number")),
        sa.CheckConstraint(
            "(status = 'published') = (published_on IS NOT NULL)"
            " AND (status = 'published') = (published_at IS NOT NULL)",
            name=op.f("ck_standard_versions_published_has_date"),
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["users.id"],
            name=op.f("fk_standard_versions_approved_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["standard_id"],
            ["standards.id"],
            name=op.f("fk_standard_versions_standard_id_standards"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standard_versions")),
        sa.UniqueConstraint("standard_id", "number", name="uq_standard_versions_number"),
    )
    op.create_index(
        "uq_standard_versions_unpublished",
        "standard_versions",
        ["standard_id"],
        unique=True,
        sqlite_where=sa.text("status <> 'published'"),
        postgresql_where=sa.text("status <> 'published'"),
    )
    op.create_table(
        "standard_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "code <> '' AND body <> ''", name=op.f("ck_standard_rules_has_code_and_body")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["standard_versions.id"],
            name=op.f("fk_standard_rules_version_id_standard_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standard_rules")),
        sa.UniqueConstraint("version_id", "code", name="uq_standard_rules_code"),
    )
    op.create_index(
        op.f("ix_standard_rules_version_id"), "standard_rules", ["version_id"], unique=False
    )
    op.create_table(
        "audit_standard_versions",
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audits.id"],
            name=op.f("fk_audit_standard_versions_audit_id_audits"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["standard_versions.id"],
            name=op.f("fk_audit_standard_versions_version_id_standard_versions"),
        ),
        sa.PrimaryKeyConstraint("audit_id", "version_id", name=op.f("pk_audit_standard_versions")),
    )
    op.create_index(
        op.f("ix_audit_standard_versions_version_id"),
        "audit_standard_versions",
        ["version_id"],
        unique=False,
    )
    _create_standard_setting()
    versions_by_type = _publish_first_versions()
    _link_opened_audits(versions_by_type)
    for table in ("audit_findings", "audit_deviations"):
        _cite_rules(table)
    _create_program_recognition()


def _create_standard_setting() -> None:
    """Proposals, taskforces, consultations, comments, answers, founding proposals, 360
    feedback: empty until people use them."""
    op.create_table(
        "standard_founding_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("standard_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(decision = 'pending') = (decided_at IS NULL) AND (decision = 'pending') = (decision_reason IS NULL)",
            name=op.f("ck_standard_founding_proposals_decided_with_reason"),
        ),
        sa.CheckConstraint(
            "decision IN ('pending', 'accepted', 'declined')",
            name=op.f("ck_standard_founding_proposals_known_decision"),
        ),
        sa.CheckConstraint(
            "kind IN ('specialisation', 'program_type')",
            name=op.f("ck_standard_founding_proposals_known_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_standard_founding_proposals_decided_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"],
            ["users.id"],
            name=op.f("fk_standard_founding_proposals_proposed_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["standard_id"],
            ["standards.id"],
            name=op.f("fk_standard_founding_proposals_standard_id_standards"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standard_founding_proposals")),
    )
    with op.batch_alter_table("standard_founding_proposals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_standard_founding_proposals_standard_id"), ["standard_id"], unique=False
        )

    op.create_table(
        "standard_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("standard_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(decision = 'accepted') = (standard_id IS NOT NULL)",
            name=op.f("ck_standard_proposals_accepted"),
        ),
        sa.CheckConstraint(
            "(decision = 'pending') = (decided_at IS NULL) AND (decision = 'pending') = (decision_reason IS NULL)",
            name=op.f("ck_standard_proposals_decided_with_reason"),
        ),
        sa.CheckConstraint(
            "decision IN ('pending', 'accepted', 'declined')",
            name=op.f("ck_standard_proposals_known_decision"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_standard_proposals_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"],
            ["users.id"],
            name=op.f("fk_standard_proposals_proposed_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["standard_id"],
            ["standards.id"],
            name=op.f("fk_standard_proposals_standard_id_standards"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standard_proposals")),
        sa.UniqueConstraint("standard_id", name=op.f("uq_standard_proposals_standard_id")),
    )
    with op.batch_alter_table("standard_proposals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_standard_proposals_proposed_by_id"), ["proposed_by_id"], unique=False
        )

    op.create_table(
        "taskforce_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("standard_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("is_chair", sa.Boolean(), nullable=False),
        sa.Column("term_starts_on", sa.Date(), nullable=False),
        sa.Column("term_ends_on", sa.Date(), nullable=False),
        sa.Column("appointed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("appointed_by_id", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "term_ends_on >= term_starts_on", name=op.f("ck_taskforce_members_term_in_order")
        ),
        sa.ForeignKeyConstraint(
            ["appointed_by_id"],
            ["users.id"],
            name=op.f("fk_taskforce_members_appointed_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["standard_id"],
            ["standards.id"],
            name=op.f("fk_taskforce_members_standard_id_standards"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_taskforce_members_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_taskforce_members")),
    )
    with op.batch_alter_table("taskforce_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_taskforce_members_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            "uq_taskforce_members_chair",
            ["standard_id"],
            unique=True,
            sqlite_where=sa.text("is_chair AND ended_at IS NULL"),
            postgresql_where=sa.text("is_chair AND ended_at IS NULL"),
        )
        batch_op.create_index(
            "uq_taskforce_members_current",
            ["standard_id", "user_id"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )

    op.create_table(
        "open_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("standard_id", sa.Integer(), nullable=True),
        sa.Column("program_id", sa.Integer(), nullable=True),
        sa.Column("initiative", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_anonymous", sa.Boolean(), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=True),
        sa.Column("sender_name", sa.String(length=200), nullable=True),
        sa.Column("sender_email", sa.String(length=254), nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("acknowledgement", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "(subject = 'standard') = (standard_id IS NOT NULL) AND (subject = 'program') = (program_id IS NOT NULL) AND (subject = 'initiative') = (initiative IS NOT NULL)",
            name=op.f("ck_open_feedback_one_subject"),
        ),
        sa.CheckConstraint("body <> ''", name=op.f("ck_open_feedback_has_body")),
        sa.CheckConstraint(
            "subject IN ('standard', 'program', 'initiative')",
            name=op.f("ck_open_feedback_known_subject"),
        ),
        sa.CheckConstraint(
            "(acknowledged_at IS NULL) = (acknowledged_by_id IS NULL)",
            name=op.f("ck_open_feedback_ack_has_author"),
        ),
        sa.CheckConstraint(
            "NOT is_anonymous OR (sender_id IS NULL AND sender_name IS NULL AND sender_email IS NULL)",
            name=op.f("ck_open_feedback_anonymous_keeps_no_identity"),
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"],
            ["users.id"],
            name=op.f("fk_open_feedback_acknowledged_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_open_feedback_program_id_programs")
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["users.id"], name=op.f("fk_open_feedback_sender_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["standard_id"], ["standards.id"], name=op.f("fk_open_feedback_standard_id_standards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_feedback")),
    )
    with op.batch_alter_table("open_feedback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_open_feedback_program_id"), ["program_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_open_feedback_standard_id"), ["standard_id"], unique=False
        )

    op.create_table(
        "standard_consultations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column(
            "rules",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("draft_revision", sa.Integer(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "closes_on >= opened_on", name=op.f("ck_standard_consultations_closes_after_opening")
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_id"],
            ["users.id"],
            name=op.f("fk_standard_consultations_opened_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["standard_versions.id"],
            name=op.f("fk_standard_consultations_version_id_standard_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standard_consultations")),
        sa.UniqueConstraint("version_id", "round", name="uq_standard_consultations_round"),
    )
    with op.batch_alter_table("standard_consultations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_standard_consultations_version_id"), ["version_id"], unique=False
        )

    op.create_table(
        "standard_comment_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_by_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("body <> ''", name=op.f("ck_standard_comment_answers_has_body")),
        sa.CheckConstraint(
            "verdict IN ('accepted', 'partly', 'not_accepted')",
            name=op.f("ck_standard_comment_answers_known_verdict"),
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["users.id"],
            name=op.f("fk_standard_comment_answers_answered_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["standard_consultations.id"],
            name=op.f("fk_standard_comment_answers_consultation_id_standard_consultations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standard_comment_answers")),
    )
    with op.batch_alter_table("standard_comment_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_standard_comment_answers_consultation_id"),
            ["consultation_id"],
            unique=False,
        )

    op.create_table(
        "standard_consultation_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("rule_code", sa.String(length=16), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_anonymous", sa.Boolean(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=True),
        sa.Column("author_email", sa.String(length=254), nullable=True),
        sa.Column("confirmation_hash", sa.String(length=64), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_by_id", sa.Integer(), nullable=True),
        sa.Column("hidden_reason", sa.Text(), nullable=True),
        sa.Column("answer_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("body <> ''", name=op.f("ck_standard_consultation_comments_has_body")),
        sa.CheckConstraint(
            "(hidden_at IS NULL) = (hidden_reason IS NULL)",
            name=op.f("ck_standard_consultation_comments_hidden_with_reason"),
        ),
        sa.CheckConstraint(
            "NOT is_anonymous OR (author_id IS NULL AND author_name IS NULL AND author_email IS NULL)",
            name=op.f("ck_standard_consultation_comments_anonymous_keeps_no_identity"),
        ),
        sa.CheckConstraint(
            "is_anonymous OR author_id IS NOT NULL OR (author_name IS NOT NULL AND author_email IS NOT NULL)",
            name=op.f("ck_standard_consultation_comments_named_has_identity"),
        ),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["standard_comment_answers.id"],
            name=op.f("fk_standard_consultation_comments_answer_id_standard_comment_answers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_standard_consultation_comments_author_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["standard_consultations.id"],
            name=op.f("fk_standard_consultation_comments_consultation_id_standard_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["hidden_by_id"],
            ["users.id"],
            name=op.f("fk_standard_consultation_comments_hidden_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standard_consultation_comments")),
        sa.UniqueConstraint(
            "confirmation_hash", name=op.f("uq_standard_consultation_comments_confirmation_hash")
        ),
    )
    with op.batch_alter_table("standard_consultation_comments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_standard_consultation_comments_answer_id"), ["answer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_standard_consultation_comments_author_id"), ["author_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_standard_consultation_comments_consultation_id"),
            ["consultation_id"],
            unique=False,
        )


def _publish_first_versions() -> dict[str, list[int]]:
    """Insert version 1 of every standard; return each program type's version ids."""
    bind = op.get_bind()
    now = datetime.now(UTC)
    if bind.dialect.name == "sqlite":  # as registry.database.UTCDateTime keeps it
        now = now.replace(tzinfo=None)
    earliest = [
        bind.execute(sa.text("SELECT min(recognised_on) FROM programs")).scalar(),
        bind.execute(sa.text("SELECT min(opened_on) FROM audits")).scalar(),
    ]
    days = [_as_date(day) for day in earliest if day is not None]
    in_force = min([*days, now.date()])
    versions_by_type: dict[str, list[int]] = {}
    for code, title, kind, applies_to, purpose, rules in FIRST_VERSIONS:
        standard_id = bind.execute(
            sa.text(
                "INSERT INTO standards (code, title, purpose, scope, kind, applies_to, created_at)"
                " VALUES (:code, :title, :purpose, '', :kind, :applies_to, :now) RETURNING id"
            ),
            dict(
                code=code, title=title, purpose=purpose, kind=kind, applies_to=applies_to, now=now
            ),
        ).scalar_one()
        version_id = bind.execute(
            sa.text(
                "INSERT INTO standard_versions (standard_id, number, status, change_summary,"
                " created_at, draft_revision, published_on, published_at)"
                " VALUES (:standard_id, 1, 'published', :summary, :now, 1, :day, :now)"
                " RETURNING id"
            ),
            dict(
                standard_id=standard_id,
                summary="The rules the registry applied when its standards were first published.",
                now=now,
                day=in_force,
            ),
        ).scalar_one()
        for position, body in enumerate(rules, start=1):
            bind.execute(
                sa.text(
                    "INSERT INTO standard_rules (version_id, code, position, body)"
                    " VALUES (:version_id, :code, :position, :body)"
                ),
                dict(
                    version_id=version_id, code=f"{code}-{position}", position=position, body=body
                ),
            )
        for program_type in applies_to.split():
            versions_by_type.setdefault(program_type, []).append(version_id)
    return versions_by_type


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _link_opened_audits(versions_by_type: dict[str, list[int]]) -> None:
    bind = op.get_bind()
    audits = bind.execute(
        sa.text(
            "SELECT audits.id, programs.program_type FROM audits"
            " JOIN programs ON programs.id = audits.program_id"
            " WHERE audits.opened_on IS NOT NULL"
        )
    ).all()
    for audit_id, program_type in audits:
        for version_id in versions_by_type[program_type]:
            bind.execute(
                sa.text(
                    "INSERT INTO audit_standard_versions (audit_id, version_id)"
                    " VALUES (:audit_id, :version_id)"
                ),
                dict(audit_id=audit_id, version_id=version_id),
            )


def _cite_rules(table: str) -> None:
    """Add ``rule_id`` to findings or deviations: the version 1 rule with the same code."""
    code_column = "criterion" if table == "audit_findings" else "rule"
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column("rule_id", sa.Integer(), nullable=True))
    # The table and column are this module's constants, not input.
    statement = (
        f"UPDATE {table} SET rule_id = (SELECT standard_rules.id FROM standard_rules"  # noqa: S608
        f" WHERE standard_rules.code = {table}.{code_column})"
    )
    op.execute(statement)
    with op.batch_alter_table(table) as batch:
        batch.alter_column("rule_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            op.f(f"fk_{table}_rule_id_standard_rules"), "standard_rules", ["rule_id"], ["id"]
        )
        batch.create_index(op.f(f"ix_{table}_rule_id"), ["rule_id"], unique=False)


def downgrade() -> None:
    _drop_program_recognition()
    with op.batch_alter_table("standard_consultation_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standard_consultation_comments_consultation_id"))
        batch_op.drop_index(batch_op.f("ix_standard_consultation_comments_author_id"))
        batch_op.drop_index(batch_op.f("ix_standard_consultation_comments_answer_id"))

    op.drop_table("standard_consultation_comments")
    with op.batch_alter_table("standard_comment_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standard_comment_answers_consultation_id"))

    op.drop_table("standard_comment_answers")
    with op.batch_alter_table("standard_consultations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standard_consultations_version_id"))

    op.drop_table("standard_consultations")
    with op.batch_alter_table("open_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_open_feedback_standard_id"))
        batch_op.drop_index(batch_op.f("ix_open_feedback_program_id"))

    op.drop_table("open_feedback")
    with op.batch_alter_table("taskforce_members", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_taskforce_members_current",
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )
        batch_op.drop_index(
            "uq_taskforce_members_chair",
            sqlite_where=sa.text("is_chair AND ended_at IS NULL"),
            postgresql_where=sa.text("is_chair AND ended_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_taskforce_members_user_id"))

    op.drop_table("taskforce_members")
    with op.batch_alter_table("standard_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standard_proposals_proposed_by_id"))

    op.drop_table("standard_proposals")
    with op.batch_alter_table("standard_founding_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standard_founding_proposals_standard_id"))

    op.drop_table("standard_founding_proposals")
    for table in ("audit_deviations", "audit_findings"):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(op.f(f"ix_{table}_rule_id"))
            batch.drop_constraint(op.f(f"fk_{table}_rule_id_standard_rules"), type_="foreignkey")
            batch.drop_column("rule_id")
    op.drop_index(
        op.f("ix_audit_standard_versions_version_id"), table_name="audit_standard_versions"
    )
    op.drop_table("audit_standard_versions")
    op.drop_index(op.f("ix_standard_rules_version_id"), table_name="standard_rules")
    op.drop_table("standard_rules")
    op.drop_index("uq_standard_versions_unpublished", table_name="standard_versions")
    op.drop_table("standard_versions")
    op.drop_table("standards")


def _create_program_recognition() -> None:
    """Programs applied for (no recognition date yet), recognition audits, applications.

    On SQLite neither ``programs`` nor ``audits`` is rebuilt (a rebuild drops a table that
    other tables reference, which the foreign keys refuse inside the migration's transaction):
    the kind is added as a column with its check, and the NOT NULL of ``recognised_on`` is
    removed in the stored schema, as SQLite's documentation describes for removing a NOT NULL.
    """
    op.execute(
        "ALTER TABLE audits ADD COLUMN kind VARCHAR(16) DEFAULT 'cycle' NOT NULL"
        " CONSTRAINT ck_audits_known_kind CHECK (kind IN ('cycle', 'recognition'))"
    )
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_recognised_on("recognised_on DATE NOT NULL", "recognised_on DATE")
    else:
        op.alter_column("programs", "recognised_on", existing_type=sa.Date(), nullable=True)
    op.create_table(
        "program_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("resubmission_of_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=32), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=True),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "decision IS NULL OR decision IN ('recognise', 'recognise_with_conditions', 'decline')",
            name=op.f("ck_program_applications_known_decision"),
        ),
        sa.CheckConstraint(
            "(decision IS NULL) = (decided_at IS NULL)"
            " AND (decision IS NULL) = (decided_by_id IS NULL)"
            " AND (decision IS NULL) = (reasons IS NULL)",
            name=op.f("ck_program_applications_decision_has_reasons"),
        ),
        sa.CheckConstraint(
            "(decision = 'recognise_with_conditions') = (conditions <> '')",
            name=op.f("ck_program_applications_conditions_with_decision"),
        ),
        sa.ForeignKeyConstraint(
            ["audit_id"], ["audits.id"], name=op.f("fk_program_applications_audit_id_audits")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_program_applications_decided_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_program_applications_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_program_applications_program_id_programs"),
        ),
        sa.ForeignKeyConstraint(
            ["resubmission_of_id"],
            ["program_applications.id"],
            name=op.f("fk_program_applications_resubmission_of_id_program_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["users.id"],
            name=op.f("fk_program_applications_submitted_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_applications")),
        sa.UniqueConstraint("audit_id", name=op.f("uq_program_applications_audit_id")),
        sa.UniqueConstraint("program_id", name=op.f("uq_program_applications_program_id")),
        sa.UniqueConstraint(
            "resubmission_of_id", name=op.f("uq_program_applications_resubmission_of_id")
        ),
    )
    op.create_index(
        op.f("ix_program_applications_organisation_id"),
        "program_applications",
        ["organisation_id"],
        unique=False,
    )


def _drop_program_recognition() -> None:
    op.drop_index(
        op.f("ix_program_applications_organisation_id"), table_name="program_applications"
    )
    op.drop_table("program_applications")
    # Programs applied for have no place in the schema before: they go with their audits.
    op.execute(
        "DELETE FROM audit_standard_versions WHERE audit_id IN"
        " (SELECT id FROM audits WHERE kind = 'recognition')"
    )
    op.execute("DELETE FROM audits WHERE kind = 'recognition'")
    op.execute(
        "DELETE FROM program_locations WHERE program_id IN"
        " (SELECT id FROM programs WHERE recognised_on IS NULL)"
    )
    op.execute("DELETE FROM programs WHERE recognised_on IS NULL")
    op.execute("ALTER TABLE audits DROP COLUMN kind")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_recognised_on("recognised_on DATE", "recognised_on DATE NOT NULL")
    else:
        op.alter_column("programs", "recognised_on", existing_type=sa.Date(), nullable=False)


def _sqlite_recognised_on(before: str, after: str) -> None:
    """Change the stored definition of ``programs.recognised_on`` (its NOT NULL) in place.

    The rows are unchanged, so the table need not be rebuilt: SQLite's "ALTER TABLE" page,
    "making other kinds of table schema changes", describes this for removing NOT NULL.
    """
    bind = op.get_bind()
    sql = bind.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'programs'")
    ).scalar_one()
    changed = re.sub(rf"\b{before}(?=\s*[,)])", after, sql, count=1)
    assert changed != sql, f"programs.recognised_on is not '{before}' in {sql}"
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar_one()
    bind.execute(sa.text("PRAGMA writable_schema = ON"))
    bind.execute(
        sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'programs'"),
        {"sql": changed},
    )
    bind.execute(sa.text(f"PRAGMA schema_version = {version + 1}"))
    bind.execute(sa.text("PRAGMA writable_schema = OFF"))
