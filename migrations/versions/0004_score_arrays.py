"""score factors and evidence as arrays

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

Loyalty factors and evidence become double precision[] (named by position, see
scoring.loyalty.FACTORS and domain.score_model.EVIDENCE): building two JSONB
objects per row was most of the cost of writing a million customers' scores.
Existing values are dropped (scores are derived data; the next `tribe score`
fills them); the downgrade likewise leaves them empty.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column in ("loyalty_factors", "evidence"):
        op.execute(f"ALTER TABLE customer_scores ALTER COLUMN {column} TYPE double precision[] USING NULL")


def downgrade() -> None:
    for column in ("loyalty_factors", "evidence"):
        op.execute(f"ALTER TABLE customer_scores ALTER COLUMN {column} TYPE jsonb USING NULL")
