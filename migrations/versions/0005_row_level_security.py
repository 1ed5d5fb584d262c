"""row-level security

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

The second wall between workspaces. The API runs its transactions as the role
`tribe_api` (SET LOCAL ROLE), which sees only the rows of the workspace named in
the transaction setting `tribe.workspace_id`; row-level security is forced, so
nothing but an explicit policy lets rows through. The schema owner (the user
running this migration, and the `tribe` CLI) keeps a policy of its own for
work that spans workspaces (authentication, scheduled rescoring). Creating the
role needs CREATEROLE (or a superuser) once per PostgreSQL server.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Every table whose rows carry workspace_id (domain/tables.py), as of this revision.
TENANT_TABLES = ["api_keys", "customers", "event_counters", "events", "idempotency_keys", "model_fits", "segments",
                 "campaigns", "customer_scores", "interactions", "notes", "purchases", "segment_memberships",
                 "campaign_events", "purchase_items"]
CURRENT_WORKSPACE = "nullif(current_setting('tribe.workspace_id', true), '')::bigint"


def _isolate(table: str, column: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY workspace_isolation ON {table} TO tribe_api "
               f"USING ({column} = {CURRENT_WORKSPACE}) WITH CHECK ({column} = {CURRENT_WORKSPACE})")
    op.execute(f"CREATE POLICY schema_owner ON {table} TO CURRENT_USER USING (true) WITH CHECK (true)")


def upgrade() -> None:
    op.execute("DO $$ BEGIN CREATE ROLE tribe_api NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    op.execute("DO $$ BEGIN IF NOT pg_has_role(current_user, 'tribe_api', 'MEMBER') THEN "
               "EXECUTE format('GRANT tribe_api TO %I', current_user); END IF; END $$")
    op.execute("GRANT USAGE ON SCHEMA public TO tribe_api")
    op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO tribe_api")
    op.execute("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO tribe_api")
    for table in TENANT_TABLES:
        _isolate(table, "workspace_id")
    _isolate("workspaces", "id")


def downgrade() -> None:
    for table in [*TENANT_TABLES, "workspaces"]:
        op.execute(f"DROP POLICY workspace_isolation ON {table}")
        op.execute(f"DROP POLICY schema_owner ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM tribe_api")
    op.execute("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM tribe_api")
    op.execute("REVOKE USAGE ON SCHEMA public FROM tribe_api")
