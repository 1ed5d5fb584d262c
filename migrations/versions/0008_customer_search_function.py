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
rather than reading the whole table to hash it. The search itself is planned
at each call (dynamic SQL), with the needle known.

The customers' GIN indexes also get a pending list of 128 kB instead of 4 MB:
the planner prices reading the list, and after a bulk load of 20,000
customers (224 pending pages) it took the trigram index for too dear and read
the whole table, 100 ms instead of 5.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

GIN_INDEXES = ["ix_customers_search_text_trgm", "ix_customers_tags"]


def upgrade() -> None:
    op.execute(r"""
        CREATE FUNCTION customer_search(workspace bigint, needle text) RETURNS TABLE (customer_id bigint, score real)
        LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
        ROWS 100 AS $$
        BEGIN
            IF workspace IS DISTINCT FROM nullif(current_setting('tribe.workspace_id', true), '')::bigint THEN
                RETURN;
            END IF;
            -- Planned at each call with the needle's value: a generic plan cannot
            -- tell a selective trigram condition from a broad one, and chose to
            -- read the whole workspace.
            RETURN QUERY EXECUTE
                'SELECT c.id, word_similarity($2, c.search_text) FROM customers c
                 WHERE c.workspace_id = $1 AND c.deleted_at IS NULL
                   AND (c.search_text %> $2 OR c.search_text LIKE $3)'
                USING workspace, needle,
                      '%' || replace(replace(replace(needle, '\', '\\'), '%', '\%'), '_', '\_') || '%';
        END
        $$""")
    for index in GIN_INDEXES:
        op.execute(f"ALTER INDEX {index} SET (gin_pending_list_limit = 128)")
    op.execute("REVOKE ALL ON FUNCTION customer_search(bigint, text) FROM PUBLIC")
    op.execute("GRANT EXECUTE ON FUNCTION customer_search(bigint, text) TO tribe_api")


def downgrade() -> None:
    op.execute("DROP FUNCTION customer_search(bigint, text)")
    for index in GIN_INDEXES:
        op.execute(f"ALTER INDEX {index} RESET (gin_pending_list_limit)")
