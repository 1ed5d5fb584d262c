"""score value and evidence

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

The scoring pipeline stores each customer's value (spend net of refunds plus
CLV) and the evidence behind inferred traits and types.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customer_scores", sa.Column("value", sa.DOUBLE_PRECISION(), nullable=True))
    op.add_column("customer_scores", sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=True))


def downgrade() -> None:
    op.drop_column("customer_scores", "evidence")
    op.drop_column("customer_scores", "value")
