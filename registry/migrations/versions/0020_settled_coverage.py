"""What each certification's settled invoices cover, kept by the database beside the invoices.

A status is computed from the last day the settled invoices cover (``status_rows``). Reading
every invoice of every certification for that made the organisation dashboard cost most of a
second at 10,000 mediators. Three columns of ``certifications`` now hold, over the
certification's own settled invoices (it is the payer of those):

- ``settled_through``: the latest ``period_end``;
- ``last_settled_on``: the latest ``settled_on``;
- ``last_restored_on``: the latest ``settled_on`` after its period began (a late settlement).

Triggers on ``invoices`` keep them in the same statement as the change to an invoice
(insert, settlement or its undoing, delete), whoever writes it: services, the daily job, the
CSV import, ``db copy`` or a bulk load. They never disagree with the invoices, and
``status_rows`` reads them for any day on or after ``last_settled_on`` (for an earlier day it
still reads the invoices settled by then).

SQLite: row triggers (an insert raises the three maxima; an update or delete recomputes the
certification). PostgreSQL: statement triggers with transition tables, so a bulk insert of
millions of invoices recomputes each certification once.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("settled_through", "last_settled_on", "last_restored_on")

# The three values over a certification's invoices, as SQL over ``invoices`` rows ``i``.
THROUGH = "max(i.period_end) FILTER (WHERE i.settled_on IS NOT NULL)"
SETTLED = "max(i.settled_on)"
RESTORED = "max(i.settled_on) FILTER (WHERE i.settled_on > i.period_start)"


def _recompute_sqlite(which: str) -> str:
    """An UPDATE recomputing the three columns of the certifications ``which`` selects."""
    of = "FROM invoices WHERE invoices.certification_id = certifications.id"
    return f"""
        UPDATE certifications SET
          settled_through = (SELECT max(period_end) {of} AND settled_on IS NOT NULL),
          last_settled_on = (SELECT max(settled_on) {of}),
          last_restored_on = (SELECT max(settled_on) {of} AND settled_on > period_start)
        WHERE {which};
    """  # noqa: S608 (constant SQL)


SQLITE_TRIGGERS = (
    # An insert only raises the maxima (the common case, and bulk loads): no aggregate.
    """
    CREATE TRIGGER tr_invoices_coverage_insert AFTER INSERT ON invoices
    WHEN NEW.settled_on IS NOT NULL
    BEGIN
      UPDATE certifications SET
        settled_through = CASE WHEN settled_through >= NEW.period_end
          THEN settled_through ELSE NEW.period_end END,
        last_settled_on = CASE WHEN last_settled_on >= NEW.settled_on
          THEN last_settled_on ELSE NEW.settled_on END,
        last_restored_on = CASE
          WHEN NEW.settled_on <= NEW.period_start OR last_restored_on >= NEW.settled_on
          THEN last_restored_on ELSE NEW.settled_on END
      WHERE id = NEW.certification_id;
    END
    """,
    f"""
    CREATE TRIGGER tr_invoices_coverage_update
    AFTER UPDATE OF certification_id, period_start, period_end, settled_on ON invoices
    BEGIN
      {_recompute_sqlite("id IN (OLD.certification_id, NEW.certification_id)")}
    END
    """,
    f"""
    CREATE TRIGGER tr_invoices_coverage_delete AFTER DELETE ON invoices
    BEGIN
      {_recompute_sqlite("id = OLD.certification_id")}
    END
    """,
)


def _recompute_postgresql(changed: str) -> str:
    """An UPDATE recomputing the certifications named in the transition table(s) ``changed``."""
    return f"""
        UPDATE certifications AS c
        SET settled_through = s.through, last_settled_on = s.settled,
            last_restored_on = s.restored
        FROM (
          SELECT a.id, {THROUGH} AS through, {SETTLED} AS settled, {RESTORED} AS restored
          FROM (SELECT DISTINCT certification_id AS id FROM ({changed}) AS changed) AS a
          LEFT JOIN invoices AS i ON i.certification_id = a.id
          GROUP BY a.id
        ) AS s
        WHERE c.id = s.id
          AND (c.settled_through, c.last_settled_on, c.last_restored_on)
              IS DISTINCT FROM (s.through, s.settled, s.restored);
    """  # noqa: S608 (constant SQL)


_INSERTED = "SELECT certification_id FROM new_invoices"
_REMOVED = "SELECT certification_id FROM old_invoices"

POSTGRESQL_FUNCTION = f"""
CREATE FUNCTION invoices_coverage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_recompute_postgresql(_INSERTED)}
  ELSIF TG_OP = 'UPDATE' THEN
    {_recompute_postgresql(f"{_REMOVED} UNION ALL {_INSERTED}")}
  ELSE
    {_recompute_postgresql(_REMOVED)}
  END IF;
  RETURN NULL;
END
$$
"""

POSTGRESQL_TRIGGERS = (
    POSTGRESQL_FUNCTION,
    "CREATE TRIGGER tr_invoices_coverage_insert AFTER INSERT ON invoices "
    "REFERENCING NEW TABLE AS new_invoices FOR EACH STATEMENT EXECUTE FUNCTION invoices_coverage()",
    "CREATE TRIGGER tr_invoices_coverage_update AFTER UPDATE ON invoices "
    "REFERENCING OLD TABLE AS old_invoices NEW TABLE AS new_invoices "
    "FOR EACH STATEMENT EXECUTE FUNCTION invoices_coverage()",
    "CREATE TRIGGER tr_invoices_coverage_delete AFTER DELETE ON invoices "
    "REFERENCING OLD TABLE AS old_invoices FOR EACH STATEMENT EXECUTE FUNCTION invoices_coverage()",
)

BACKFILL = f"""
UPDATE certifications SET
  settled_through = s.through, last_settled_on = s.settled, last_restored_on = s.restored
FROM (
  SELECT i.certification_id AS id, {THROUGH} AS through, {SETTLED} AS settled,
         {RESTORED} AS restored
  FROM invoices AS i
  WHERE i.settled_on IS NOT NULL
  GROUP BY i.certification_id
) AS s
WHERE certifications.id = s.id
"""  # noqa: S608 (constant SQL)


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("certifications", sa.Column(name, sa.Date(), nullable=True))
    # SQLite 3.30+ reads FILTER and UPDATE ... FROM (3.33+) as PostgreSQL does.
    op.execute(BACKFILL)
    triggers = (
        POSTGRESQL_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    )
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for kind in ("insert", "update", "delete"):
        on = " ON invoices" if postgresql else ""
        op.execute(f"DROP TRIGGER tr_invoices_coverage_{kind}{on}")
    if postgresql:
        op.execute("DROP FUNCTION invoices_coverage()")
    with op.batch_alter_table("certifications") as batch:
        for name in COLUMNS:
            batch.drop_column(name)
