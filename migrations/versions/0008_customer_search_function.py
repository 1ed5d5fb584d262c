"""customer search through the trigram index under row-level security

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23

Under row-level security PostgreSQL may not use an index for a condition
whose operator is not LEAKPROOF, and pg_trgm's are not (marking them so needs a
superuser): a search as the API role read every customer of the table and
computed its similarity, 100 ms over 20,000 customers. `customer_search(workspace,
needle)` runs as the schema owner, so the trigram index serves it, and returns
matches only when the workspace asked for is the one the transaction is
confined to (the setting the row-level security policies read); the API joins
them to `customers` by id, under row-level security as before. `ROWS 100`:
a search matches a few customers, so the planner joins them by primary key
rather than reading the whole table to hash it.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(r"""
        CREATE FUNCTION customer_search(workspace bigint, needle text) RETURNS TABLE (customer_id bigint, score real)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
        ROWS 100 AS $$
            SELECT c.id, word_similarity(needle, c.search_text)
            FROM customers c
            WHERE c.workspace_id = workspace
              AND workspace = nullif(current_setting('tribe.workspace_id', true), '')::bigint
              AND c.deleted_at IS NULL
              AND (c.search_text %> needle
                   OR c.search_text LIKE '%' || replace(replace(replace(needle, '\', '\\'), '%', '\%'), '_', '\_')
                                         || '%')
        $$""")
    op.execute("REVOKE ALL ON FUNCTION customer_search(bigint, text) FROM PUBLIC")
    op.execute("GRANT EXECUTE ON FUNCTION customer_search(bigint, text) TO tribe_api")


def downgrade() -> None:
    op.execute("DROP FUNCTION customer_search(bigint, text)")
