"""campaigns and offers

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

Campaigns grow from a placeholder (a name, one segment, an offer as JSON) into
what domain/campaigns needs: include and exclude segments, a holdout share, an
attribution window, a goal, a budget, a frequency cap and customer-type
policies; offers with their terms, per-customer codes, assignments to a
treatment or holdout arm, per-customer usage counters and redemptions.
Campaign events gain the offer, the reporter's event id (a repeat is dropped)
and a VIEWED kind. The new tables are under the same row-level security as
every other tenant table (see 0005). Workspaces get a time zone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

NEW_TABLES = ["campaign_assignments", "offers", "offer_codes", "offer_usage", "redemptions"]
CURRENT_WORKSPACE = "nullif(current_setting('tribe.workspace_id', true), '')::bigint"
# (table, constraint, new condition, old condition or None)
CHECKS = [
    ("campaigns", "status", "status IN ('draft', 'scheduled', 'running', 'paused', 'ended', 'archived')",
     "status IN ('draft', 'scheduled', 'running', 'paused', 'finished')"),
    ("campaigns", "objective", "objective IN ('retention', 'win_back', 'upsell', 'cross_sell', 'loyalty', "
                               "'acquisition', 'announcement')", None),
    ("campaigns", "channel", "channel IN ('sms', 'email', 'push', 'in_app')", None),
    ("campaigns", "budget_kind", "budget_kind IN ('count', 'amount')", None),
    ("campaigns", "holdout_share", "holdout_bp BETWEEN 0 AND 5000", None),
    ("campaigns", "attribution_window", "attribution_days BETWEEN 1 AND 365", None),
    ("campaigns", "budget_not_overrun", "budget_used >= 0 AND (budget_limit IS NULL OR budget_used <= budget_limit)",
     None),
    ("campaign_events", "kind", "kind IN ('sent', 'delivered', 'opened', 'viewed', 'clicked', 'redeemed', "
                                "'unsubscribed')",
     "kind IN ('sent', 'delivered', 'opened', 'clicked', 'redeemed', 'unsubscribed')"),
]


def _replace_checks(new: bool) -> None:
    for table, name, condition, old in CHECKS:
        if new and old is not None or not new:
            op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
        if new:
            op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, condition)
        elif old is not None:
            op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, old)


def upgrade() -> None:
    op.create_table('campaign_assignments',
    sa.Column('workspace_id', sa.BigInteger(), nullable=False),
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('arm', sa.Text(), nullable=False),
    sa.Column('bucket', sa.SmallInteger(), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('joined', sa.Boolean(), server_default='false', nullable=False),
    sa.CheckConstraint("arm IN ('treatment', 'holdout')", name=op.f('ck_campaign_assignments_arm')),
    sa.PrimaryKeyConstraint('campaign_id', 'customer_id', name=op.f('pk_campaign_assignments'))
    )
    op.create_index('ix_campaign_assignments_customer', 'campaign_assignments', ['workspace_id', 'customer_id', 'assigned_at'], unique=False)
    op.create_table('offers',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('workspace_id', sa.BigInteger(), nullable=False),
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('value', sa.Numeric(precision=20, scale=2), nullable=True),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('min_spend', sa.Numeric(precision=20, scale=2), nullable=True),
    sa.Column('max_discount', sa.Numeric(precision=20, scale=2), nullable=True),
    sa.Column('categories', postgresql.ARRAY(sa.Text()), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('per_customer_limit', sa.Integer(), nullable=True),
    sa.Column('per_customer_period', sa.Text(), server_default='total', nullable=False),
    sa.Column('total_limit', sa.Integer(), nullable=True),
    sa.Column('total_used', sa.Integer(), server_default='0', nullable=False),
    sa.Column('stackable', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('code_mode', sa.Text(), server_default='auto', nullable=False),
    sa.Column('shared_code', sa.Text(), nullable=True),
    sa.Column('title_fa', sa.Text(), nullable=True),
    sa.Column('title_en', sa.Text(), nullable=True),
    sa.Column('terms_fa', sa.Text(), nullable=True),
    sa.Column('terms_en', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("code_mode IN ('auto', 'shared', 'unique')", name=op.f('ck_offers_code_mode')),
    sa.CheckConstraint("kind IN ('percent_off', 'amount_off', 'cashback', 'points_multiplier', 'free_shipping', 'notice')", name=op.f('ck_offers_kind')),
    sa.CheckConstraint("per_customer_period IN ('day', 'week', 'month', 'total')", name=op.f('ck_offers_per_customer_period')),
    sa.CheckConstraint('total_used >= 0 AND (total_limit IS NULL OR total_used <= total_limit)', name=op.f('ck_offers_total_not_overrun')),
    sa.ForeignKeyConstraint(['workspace_id', 'campaign_id'], ['campaigns.workspace_id', 'campaigns.id'], name=op.f('fk_offers_workspace_id_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offers')),
    sa.UniqueConstraint('workspace_id', 'id', name=op.f('uq_offers_workspace_id_id'))
    )
    op.create_index('ix_offers_campaign', 'offers', ['workspace_id', 'campaign_id'], unique=False)
    op.create_index('uq_offers_shared_code', 'offers', ['workspace_id', sa.literal_column('upper(shared_code)')], unique=True, postgresql_where=sa.text('shared_code IS NOT NULL AND deleted_at IS NULL'))
    op.create_table('offer_codes',
    sa.Column('workspace_id', sa.BigInteger(), nullable=False),
    sa.Column('offer_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('offer_id', 'customer_id', name=op.f('pk_offer_codes'))
    )
    op.create_index('uq_offer_codes_code', 'offer_codes', ['workspace_id', 'code'], unique=True)
    op.create_table('offer_usage',
    sa.Column('workspace_id', sa.BigInteger(), nullable=False),
    sa.Column('offer_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.CheckConstraint('used >= 0', name=op.f('ck_offer_usage_used_not_negative')),
    sa.ForeignKeyConstraint(['workspace_id', 'offer_id'], ['offers.workspace_id', 'offers.id'], name=op.f('fk_offer_usage_workspace_id_offer_id_offers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('offer_id', 'customer_id', 'period_start', name=op.f('pk_offer_usage'))
    )
    op.create_table('redemptions',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('workspace_id', sa.BigInteger(), nullable=False),
    sa.Column('offer_id', sa.BigInteger(), nullable=False),
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('idempotency_key', sa.Text(), nullable=False),
    sa.Column('request_hash', sa.Text(), nullable=False),
    sa.Column('order_id', sa.Text(), nullable=True),
    sa.Column('code', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), server_default='reserved', nullable=False),
    sa.Column('discount', sa.Numeric(precision=20, scale=2), nullable=False),
    sa.Column('cashback', sa.Numeric(precision=20, scale=2), server_default='0', nullable=False),
    sa.Column('budget_charge', sa.Numeric(precision=20, scale=2), nullable=False),
    sa.Column('usage_period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cart_total', sa.Numeric(precision=20, scale=2), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('purchase_id', sa.BigInteger(), nullable=True),
    sa.Column('reserved_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('release_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('reserved', 'confirmed', 'released', 'expired')", name=op.f('ck_redemptions_status')),
    sa.ForeignKeyConstraint(['workspace_id', 'customer_id'], ['customers.workspace_id', 'customers.id'], name=op.f('fk_redemptions_workspace_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id', 'offer_id'], ['offers.workspace_id', 'offers.id'], name=op.f('fk_redemptions_workspace_id_offer_id_offers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id', 'purchase_id'], ['purchases.workspace_id', 'purchases.id'], name=op.f('fk_redemptions_workspace_id_purchase_id_purchases'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions')),
    sa.UniqueConstraint('workspace_id', 'id', name=op.f('uq_redemptions_workspace_id_id')),
    sa.UniqueConstraint('workspace_id', 'idempotency_key', name=op.f('uq_redemptions_workspace_id_idempotency_key'))
    )
    op.create_index('ix_redemptions_campaign', 'redemptions', ['workspace_id', 'campaign_id', 'status'], unique=False)
    op.create_index('ix_redemptions_offer_customer', 'redemptions', ['workspace_id', 'offer_id', 'customer_id'], unique=False)
    op.create_index('ix_redemptions_reserved', 'redemptions', ['expires_at'], unique=False, postgresql_where=sa.text("status = 'reserved'"))
    op.add_column('campaign_events', sa.Column('offer_id', sa.BigInteger(), nullable=True))
    op.add_column('campaign_events', sa.Column('event_id', sa.Text(), nullable=True))
    op.add_column('campaign_events', sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False))
    op.create_index('ix_campaign_events_campaign', 'campaign_events', ['workspace_id', 'campaign_id', 'kind'], unique=False)
    op.create_unique_constraint(op.f('uq_campaign_events_workspace_id_event_id'), 'campaign_events', ['workspace_id', 'event_id'])
    op.add_column('campaigns', sa.Column('objective', sa.Text(), server_default='retention', nullable=False))
    op.add_column('campaigns', sa.Column('time_zone', sa.Text(), server_default='Asia/Tehran', nullable=False))
    op.alter_column('campaigns', 'time_zone', server_default=None)
    op.add_column('campaigns', sa.Column('include_segment_ids', postgresql.ARRAY(sa.BigInteger()), server_default='{}', nullable=False))
    op.add_column('campaigns', sa.Column('exclude_segment_ids', postgresql.ARRAY(sa.BigInteger()), server_default='{}', nullable=False))
    op.add_column('campaigns', sa.Column('holdout_bp', sa.Integer(), server_default='1000', nullable=False))
    op.add_column('campaigns', sa.Column('attribution_days', sa.Integer(), server_default='14', nullable=False))
    op.add_column('campaigns', sa.Column('goal_categories', postgresql.ARRAY(sa.Text()), nullable=True))
    op.add_column('campaigns', sa.Column('budget_kind', sa.Text(), nullable=True))
    op.add_column('campaigns', sa.Column('budget_limit', sa.Numeric(precision=20, scale=2), nullable=True))
    op.add_column('campaigns', sa.Column('budget_used', sa.Numeric(precision=20, scale=2), server_default='0', nullable=False))
    op.add_column('campaigns', sa.Column('frequency_cap', sa.Integer(), nullable=True))
    op.add_column('campaigns', sa.Column('frequency_cap_days', sa.Integer(), nullable=True))
    op.add_column('campaigns', sa.Column('policies', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('campaigns', sa.Column('holdout_salt', sa.Text(), nullable=True))
    op.add_column('campaigns', sa.Column('audience_report', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('campaigns', sa.Column('followed_seq', sa.BigInteger(), server_default='0', nullable=False))
    op.add_column('campaigns', sa.Column('launched_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('campaigns', sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True))
    # The placeholder campaigns had no API: a row made by hand gets the defaults.
    op.execute("UPDATE campaigns SET channel = 'sms' WHERE channel IS NULL")
    op.execute("UPDATE campaigns SET status = 'ended' WHERE status = 'finished'")
    op.alter_column('campaigns', 'channel', existing_type=sa.TEXT(), nullable=False)
    op.create_index('ix_campaigns_workspace_id_status', 'campaigns', ['workspace_id', 'status'], unique=False)
    op.drop_constraint(op.f('fk_campaigns_workspace_id_segment_id_segments'), 'campaigns', type_='foreignkey')
    op.create_foreign_key(op.f('fk_campaigns_workspace_id_workspaces'), 'campaigns', 'workspaces', ['workspace_id'], ['id'], ondelete='CASCADE')
    op.drop_column('campaigns', 'offer')
    op.drop_column('campaigns', 'segment_id')
    op.add_column('workspaces', sa.Column('time_zone', sa.Text(), server_default='Asia/Tehran', nullable=False))
    _replace_checks(new=True)
    for table in NEW_TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO tribe_api")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY workspace_isolation ON {table} TO tribe_api "
                   f"USING (workspace_id = {CURRENT_WORKSPACE}) WITH CHECK (workspace_id = {CURRENT_WORKSPACE})")
        op.execute(f"CREATE POLICY schema_owner ON {table} TO CURRENT_USER USING (true) WITH CHECK (true)")
    op.execute("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO tribe_api")


def downgrade() -> None:
    _replace_checks(new=False)
    op.execute("UPDATE campaigns SET status = 'finished' WHERE status IN ('ended', 'archived')")
    op.execute("DELETE FROM campaign_events WHERE kind = 'viewed'")
    op.drop_column('workspaces', 'time_zone')
    op.add_column('campaigns', sa.Column('segment_id', sa.BIGINT(), autoincrement=False, nullable=True))
    op.add_column('campaigns', sa.Column('offer', postgresql.JSONB(astext_type=sa.Text()), autoincrement=False, nullable=True))
    op.drop_constraint(op.f('fk_campaigns_workspace_id_workspaces'), 'campaigns', type_='foreignkey')
    op.create_foreign_key(op.f('fk_campaigns_workspace_id_segment_id_segments'), 'campaigns', 'segments', ['workspace_id', 'segment_id'], ['workspace_id', 'id'], ondelete='SET NULL')
    op.drop_index('ix_campaigns_workspace_id_status', table_name='campaigns')
    op.alter_column('campaigns', 'channel',
               existing_type=sa.TEXT(),
               nullable=True)
    op.drop_column('campaigns', 'ended_at')
    op.drop_column('campaigns', 'launched_at')
    op.drop_column('campaigns', 'followed_seq')
    op.drop_column('campaigns', 'audience_report')
    op.drop_column('campaigns', 'holdout_salt')
    op.drop_column('campaigns', 'policies')
    op.drop_column('campaigns', 'frequency_cap_days')
    op.drop_column('campaigns', 'frequency_cap')
    op.drop_column('campaigns', 'budget_used')
    op.drop_column('campaigns', 'budget_limit')
    op.drop_column('campaigns', 'budget_kind')
    op.drop_column('campaigns', 'goal_categories')
    op.drop_column('campaigns', 'attribution_days')
    op.drop_column('campaigns', 'holdout_bp')
    op.drop_column('campaigns', 'exclude_segment_ids')
    op.drop_column('campaigns', 'include_segment_ids')
    op.drop_column('campaigns', 'time_zone')
    op.drop_column('campaigns', 'objective')
    op.drop_constraint(op.f('uq_campaign_events_workspace_id_event_id'), 'campaign_events', type_='unique')
    op.drop_index('ix_campaign_events_campaign', table_name='campaign_events')
    op.drop_column('campaign_events', 'recorded_at')
    op.drop_column('campaign_events', 'event_id')
    op.drop_column('campaign_events', 'offer_id')
    op.drop_index('ix_redemptions_reserved', table_name='redemptions', postgresql_where=sa.text("status = 'reserved'"))
    op.drop_index('ix_redemptions_offer_customer', table_name='redemptions')
    op.drop_index('ix_redemptions_campaign', table_name='redemptions')
    op.drop_table('redemptions')
    op.drop_table('offer_usage')
    op.drop_index('uq_offer_codes_code', table_name='offer_codes')
    op.drop_table('offer_codes')
    op.drop_index('uq_offers_shared_code', table_name='offers', postgresql_where=sa.text('shared_code IS NOT NULL AND deleted_at IS NULL'))
    op.drop_index('ix_offers_campaign', table_name='offers')
    op.drop_table('offers')
    op.drop_index('ix_campaign_assignments_customer', table_name='campaign_assignments')
    op.drop_table('campaign_assignments')
