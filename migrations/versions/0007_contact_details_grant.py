"""contact details grant on API keys

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

INTEGRATOR keys see customers' email and phone masked unless their key was
created with the grant (`tribe keys create --role integrator --contact-details`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("contact_details", sa.Boolean(), server_default="false", nullable=False))


def downgrade() -> None:
    op.drop_column("api_keys", "contact_details")
