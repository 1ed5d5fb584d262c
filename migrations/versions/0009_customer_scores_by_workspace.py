"""customer scores partitioned by workspace

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24

A full rescoring now builds a workspace's scores in a new table and swaps it
in (domain/score_partitions.py), which needs `customer_scores` partitioned by
workspace: one partition per workspace, named customer_scores_w<id>, created
with the workspace. The primary key becomes (workspace_id, customer_id), since
a partitioned table's keys include the partition key, and the foreign key to
customers goes: attaching a partition would check it against customers for a
million rows (0.9 s) at each swap, and scores are derived rows that each full
run rebuilds from the live customers (a merge, the one hard delete of a
customer, deletes their scores).
Row-level security and the API role's privileges are set on the partitioned
table, through which the API reaches every partition; the partitions grant
the API role nothing.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CURRENT_WORKSPACE = "nullif(current_setting('tribe.workspace_id', true), '')::bigint"
INDEXES = "CREATE INDEX ix_customer_scores_workspace_id_{0} ON customer_scores (workspace_id, {0})"


def _replace_table(partitioned: bool) -> None:
    """Copy customer_scores into a new table of the other shape, and give the
    new one the old one's name, keys, indexes, security and grants."""
    layout = " PARTITION BY LIST (workspace_id)" if partitioned else ""
    op.execute("CREATE TABLE customer_scores_next (LIKE customer_scores INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
               + layout)
    if partitioned:
        for (workspace_id,) in op.get_bind().execute(text("SELECT id FROM workspaces ORDER BY id")):
            op.execute(f"CREATE TABLE customer_scores_w{workspace_id} PARTITION OF customer_scores_next "
                       f"FOR VALUES IN ({workspace_id})")
    op.execute("INSERT INTO customer_scores_next SELECT * FROM customer_scores")
    op.execute("DROP TABLE customer_scores CASCADE")
    op.execute("ALTER TABLE customer_scores_next RENAME TO customer_scores")
    key = "workspace_id, customer_id" if partitioned else "customer_id"
    op.execute(f"ALTER TABLE customer_scores ADD CONSTRAINT pk_customer_scores PRIMARY KEY ({key})")
    if not partitioned:
        op.execute("ALTER TABLE customer_scores ADD CONSTRAINT fk_customer_scores_workspace_id_customer_id_customers "
                   "FOREIGN KEY (workspace_id, customer_id) REFERENCES customers (workspace_id, id) ON DELETE CASCADE")
    op.execute(INDEXES.format("clv"))
    op.execute(INDEXES.format("customer_type"))
    op.execute("ALTER TABLE customer_scores ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE customer_scores FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY workspace_isolation ON customer_scores TO tribe_api "
               f"USING (workspace_id = {CURRENT_WORKSPACE}) WITH CHECK (workspace_id = {CURRENT_WORKSPACE})")
    op.execute("CREATE POLICY schema_owner ON customer_scores TO CURRENT_USER USING (true) WITH CHECK (true)")
    op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON customer_scores TO tribe_api")


def upgrade() -> None:
    _replace_table(partitioned=True)


def downgrade() -> None:
    _replace_table(partitioned=False)
