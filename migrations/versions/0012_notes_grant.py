"""notes grant on API keys

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

Notes are staff's working memory about a customer: INTEGRATOR keys read them
only when created with the grant (`tribe keys create --role integrator --notes`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("notes", sa.Boolean(), server_default="false", nullable=False))


def downgrade() -> None:
    op.drop_column("api_keys", "notes")
