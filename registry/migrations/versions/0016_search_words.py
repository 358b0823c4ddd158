"""The search index at a million listings: the words of names and filters as columns.

- ``ix_specialisation_grants_code_expiry``: the grants of one specialisation that expired
  lately, which a specialisation search takes off its count (SQLite read every grant of the
  code through ``ix_specialisation_grants_code`` to find them).

PostgreSQL only (SQLite's FTS5 table already indexes both):

- ``listings.name_words`` and ``listings.facet_words``: the folded name's words and the filter
  values (``facets``) as ``tsvector`` columns PostgreSQL computes and stores, so a scan that
  tests rows one by one reads them instead of parsing the text of every row again;
- ``ix_listings_words``: one GIN index over both, which answers a name prefix, a filter, or
  both together; it replaces the expression index ``ix_listings_search_name`` of migration
  0003, whose matches PostgreSQL rechecked by parsing each row's name again;
- ``ix_listings_words_order``: the name order's index carrying the words too, so a page
  walked in name order tests the rows it skips in the index alone (an index-only scan) and
  reads from the table only the rows of the page;
- a larger statistics target on ``name_words``, so the planner's estimates of name prefixes
  come from the 10,000 most common words rather than 100.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 12:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_specialisation_grants_code_expiry", "specialisation_grants", ["code", "valid_until"]
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE listings "
        "ADD COLUMN name_words tsvector "
        "GENERATED ALWAYS AS (to_tsvector('simple', search_name)) STORED, "
        "ADD COLUMN facet_words tsvector "
        "GENERATED ALWAYS AS (to_tsvector('simple', facets)) STORED"
    )
    op.execute("ALTER TABLE listings ALTER COLUMN name_words SET STATISTICS 1000")
    op.execute("DROP INDEX ix_listings_search_name")
    op.execute("CREATE INDEX ix_listings_words ON listings USING gin (name_words, facet_words)")
    op.execute(
        "CREATE INDEX ix_listings_words_order ON listings (search_name, public_id, listed_until) "
        "INCLUDE (mediator_id, name_words, facet_words)"
    )
    op.execute("ANALYZE listings")


def downgrade() -> None:
    op.drop_index("ix_specialisation_grants_code_expiry", "specialisation_grants")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_listings_words_order")
    op.execute("DROP INDEX ix_listings_words")
    op.execute("ALTER TABLE listings DROP COLUMN name_words, DROP COLUMN facet_words")
    op.execute(
        "CREATE INDEX ix_listings_search_name ON listings "
        "USING gin (to_tsvector('simple', search_name))"
    )
