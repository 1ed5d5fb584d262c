"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Every table of the v1 data model (see domain/tables.py), and pg_trgm for the
fuzzy customer search index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table('workspaces',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('slug', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('default_region', sa.Text(), server_default='IR', nullable=False),
    sa.Column('currency', sa.Text(), server_default='IRR', nullable=False),
    sa.Column('app_token_secret', sa.LargeBinary(), nullable=False),
    sa.Column('settings', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workspaces')),
    sa.UniqueConstraint('slug', name=op.f('uq_workspaces_slug'))
    )
    op.create_table('api_keys',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('workspace_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('prefix', sa.Text(), nullable=False),
    sa.Column('key_hash', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'analyst', 'agent', 'integrator', 'app')", name=op.f('ck_api_keys_role')),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_api_keys_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    op.create_table('customers',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('workspace_id', sa.BigInteger(), nullable=False),
    sa.Column('external_id', sa.Text(), nullable=True),
    sa.Column('kind', sa.Text(), server_default='individual', nullable=False),
    sa.Column('first_name', sa.Text(), nullable=True),
    sa.Column('last_name', sa.Text(), nullable=True),
    sa.Column('company_name', sa.Text(), nullable=True),
    sa.Column('contact_person', sa.Text(), nullable=True),
    sa.Column('registration_number', sa.Text(), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('phone_e164', sa.Text(), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('gender', sa.Text(), nullable=True),
    sa.Column('occupation', sa.Text(), nullable=True),
    sa.Column('marital_status', sa.Text(), nullable=True),
    sa.Column('education', sa.Text(), nullable=True),
    sa.Column('income_band', sa.Text(), nullable=True),
    sa.Column('province', sa.Text(), nullable=True),
    sa.Column('city', sa.Text(), nullable=True),
    sa.Column('neighbourhood', sa.Text(), nullable=True),
    sa.Column('interests', postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False),
    sa.Column('lifestyle', sa.Text(), nullable=True),
    sa.Column('temperament', sa.Text(), nullable=True),
    sa.Column('staff_traits', postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False),
    sa.Column('tags', postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False),
    sa.Column('lifecycle_stage', sa.Text(), server_default='lead', nullable=False),
    sa.Column('consent_sms', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('consent_email', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('consent_push', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('attributes', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('search_text', sa.Text(), server_default='', nullable=False),
    sa.Column('acquired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("gender IN ('female', 'male', 'other')", name=op.f('ck_customers_gender')),
    sa.CheckConstraint("kind IN ('individual', 'organisation')", name=op.f('ck_customers_kind')),
    sa.CheckConstraint("lifecycle_stage IN ('lead', 'prospect', 'new', 'active', 'loyal', 'at_risk', 'inactive', 'lost')", name=op.f('ck_customers_lifecycle_stage')),
    sa.CheckConstraint("staff_traits <@ ARRAY['fault_finder', 'hesitant', 'bargainer']::text[]", name=op.f('ck_customers_staff_traits')),
    sa.CheckConstraint("temperament IN ('warm', 'serious')", name=op.f('ck_customers_temperament')),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_customers_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('workspace_id', 'external_id', name=op.f('uq_customers_workspace_id_external_id')),
    sa.UniqueConstraint('workspace_id', 'id', name=op.f('uq_customers_workspace_id_id'))
    )
    op.create_index('ix_customers_search_text_trgm', 'customers', ['search_text'], unique=False, postgresql_using='gin', postgresql_ops={'search_text': 'gin_trgm_ops'})
    op.create_index('ix_customers_tags', 'customers', ['tags'], unique=False, postgresql_using='gin')
    op.create_index('ix_customers_workspace_id_created_at', 'customers', ['workspace_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_customers_workspace_id_email', 'customers', ['workspace_id', sa.literal_column('lower(email)')], unique=False)
    op.create_index('ix_customers_workspace_id_lifecycle_stage', 'customers', ['workspace_id', 'lifecycle_stage'], unique=False)
    op.create_index('ix_customers_workspace_id_phone_e164', 'customers', ['workspace_id', 'phone_e164'], unique=False)
    op.create_index('ix_customers_workspace_id_province_city', 'customers', ['workspace_id', 'province', 'city'], unique=False)
    op.create_table('event_counters',
    sa.Column('workspace_id', sa.BigInteger(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_event_counters_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('workspace_id', name=op.f('pk_event_counters'))
    )
    op.create_table('events',
    sa.Column('workspace_id', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=True),
    sa.Column('segment_id', sa.BigInteger(), nullable=True),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_events_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('workspace_id', 'seq', name=op.f('pk_events'))
    )
    op.create_table('model_fits',
    sa.Column('workspace_id', sa.BigInteger(), nullable=False),
    sa.Column('model', sa.Text(), nullable=False),
    sa.Column('params', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('diagnostics', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('fitted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_model_fits_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('workspace_id', 'model', name=op.f('pk_model_fits'))
    )
    op.create_table('segments',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('workspace_id', sa.BigInteger(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('rule', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('profile', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('rule', 'cluster', 'manual', 'builtin')", name=op.f('ck_segments_kind')),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_segments_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segments')),
    sa.UniqueConstraint('workspace_id', 'id', name=op.f('uq_segments_workspace_id_id')),
    sa.UniqueConstraint('workspace_id', 'key', name=op.f('uq_segments_workspace_id_key'))
    )
    op.create_table('campaigns',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('workspace_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('segment_id', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.Text(), server_default='draft', nullable=False),
    sa.Column('channel', sa.Text(), nullable=True),
    sa.Column('offer', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'scheduled', 'running', 'paused', 'finished')", name=op.f('ck_campaigns_status')),
    sa.ForeignKeyConstraint(['workspace_id', 'segment_id'], ['segments.workspace_id', 'segments.id'], name=op.f('fk_campaigns_workspace_id_segment_id_segments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('workspace_id', 'id', name=op.f('uq_campaigns_workspace_id_id'))
    )
    op.create_table('customer_scores',
    sa.Column('workspace_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('purchase_count', sa.Integer(), nullable=False),
    sa.Column('frequency', sa.Integer(), nullable=False),
    sa.Column('recency', sa.DOUBLE_PRECISION(), nullable=False),
    sa.Column('tenure', sa.DOUBLE_PRECISION(), nullable=False),
    sa.Column('monetary', sa.DOUBLE_PRECISION(), nullable=False),
    sa.Column('total_spend', sa.DOUBLE_PRECISION(), nullable=False),
    sa.Column('first_purchase_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_purchase_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rfm_r', sa.SmallInteger(), nullable=True),
    sa.Column('rfm_f', sa.SmallInteger(), nullable=True),
    sa.Column('rfm_m', sa.SmallInteger(), nullable=True),
    sa.Column('rfm_segment', sa.Text(), nullable=True),
    sa.Column('probability_alive', sa.DOUBLE_PRECISION(), nullable=True),
    sa.Column('expected_purchases_90d', sa.DOUBLE_PRECISION(), nullable=True),
    sa.Column('clv', sa.DOUBLE_PRECISION(), nullable=True),
    sa.Column('loyalty', sa.DOUBLE_PRECISION(), nullable=True),
    sa.Column('loyalty_factors', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('cost_to_serve', sa.DOUBLE_PRECISION(), nullable=True),
    sa.Column('net_value', sa.DOUBLE_PRECISION(), nullable=True),
    sa.Column('customer_type', sa.Text(), nullable=True),
    sa.Column('lifecycle_stage', sa.Text(), nullable=True),
    sa.Column('inferred_traits', postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False),
    sa.Column('cluster', sa.SmallInteger(), nullable=True),
    sa.Column('lookalike', sa.DOUBLE_PRECISION(), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("customer_type IN ('tribe', 'vampire', 'churner', 'snow_leopard', 'standard')", name=op.f('ck_customer_scores_customer_type')),
    sa.CheckConstraint("lifecycle_stage IN ('lead', 'prospect', 'new', 'active', 'loyal', 'at_risk', 'inactive', 'lost')", name=op.f('ck_customer_scores_lifecycle_stage')),
    sa.ForeignKeyConstraint(['workspace_id', 'customer_id'], ['customers.workspace_id', 'customers.id'], name=op.f('fk_customer_scores_workspace_id_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_customer_scores'))
    )
    op.create_index('ix_customer_scores_workspace_id_clv', 'customer_scores', ['workspace_id', 'clv'], unique=False)
    op.create_index('ix_customer_scores_workspace_id_customer_type', 'customer_scores', ['workspace_id', 'customer_type'], unique=False)
    op.create_table('interactions',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('workspace_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_minutes', sa.Numeric(precision=10, scale=2), server_default='0', nullable=False),
    sa.Column('score', sa.SmallInteger(), nullable=True),
    sa.Column('referred_customer_id', sa.BigInteger(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('external_id', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(kind = 'survey') = (score IS NOT NULL)", name=op.f('ck_interactions_survey_has_score')),
    sa.CheckConstraint("kind IN ('support_request', 'complaint', 'discount_request', 'return', 'referral', 'survey', 'enquiry')", name=op.f('ck_interactions_kind')),
    sa.CheckConstraint('score IS NULL OR score BETWEEN 0 AND 10', name=op.f('ck_interactions_score_0_to_10')),
    sa.CheckConstraint('staff_minutes >= 0', name=op.f('ck_interactions_staff_minutes_not_negative')),
    sa.ForeignKeyConstraint(['workspace_id', 'customer_id'], ['customers.workspace_id', 'customers.id'], name=op.f('fk_interactions_workspace_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id', 'referred_customer_id'], ['customers.workspace_id', 'customers.id'], name=op.f('fk_interactions_workspace_id_referred_customer_id_customers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interactions')),
    sa.UniqueConstraint('workspace_id', 'external_id', name=op.f('uq_interactions_workspace_id_external_id'))
    )
    op.create_index('ix_interactions_customer', 'interactions', ['workspace_id', 'customer_id', 'occurred_at', 'id'], unique=False)
    op.create_index('ix_interactions_workspace_id_kind_occurred_at', 'interactions', ['workspace_id', 'kind', 'occurred_at'], unique=False)
    op.create_table('notes',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('workspace_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('author', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), server_default='note', nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('pinned', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('note', 'call', 'meeting', 'email', 'complaint', 'task')", name=op.f('ck_notes_kind')),
    sa.ForeignKeyConstraint(['workspace_id', 'customer_id'], ['customers.workspace_id', 'customers.id'], name=op.f('fk_notes_workspace_id_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notes'))
    )
    op.create_index('ix_notes_customer', 'notes', ['workspace_id', 'customer_id', 'created_at', 'id'], unique=False)
    op.create_table('purchases',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('workspace_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('external_id', sa.Text(), nullable=True),
    sa.Column('purchased_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('total', sa.Numeric(precision=20, scale=2), nullable=False),
    sa.Column('discount', sa.Numeric(precision=20, scale=2), server_default='0', nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('channel', sa.Text(), server_default='store', nullable=False),
    sa.Column('refund_of_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("channel IN ('store', 'online', 'phone', 'app', 'b2b')", name=op.f('ck_purchases_channel')),
    sa.CheckConstraint('discount >= 0', name=op.f('ck_purchases_discount_not_negative')),
    sa.CheckConstraint('refund_of_id IS NULL OR total <= 0', name=op.f('ck_purchases_refund_is_negative')),
    sa.ForeignKeyConstraint(['workspace_id', 'customer_id'], ['customers.workspace_id', 'customers.id'], name=op.f('fk_purchases_workspace_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id', 'refund_of_id'], ['purchases.workspace_id', 'purchases.id'], name=op.f('fk_purchases_workspace_id_refund_of_id_purchases'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchases')),
    sa.UniqueConstraint('workspace_id', 'external_id', name=op.f('uq_purchases_workspace_id_external_id')),
    sa.UniqueConstraint('workspace_id', 'id', name=op.f('uq_purchases_workspace_id_id'))
    )
    op.create_index('ix_purchases_customer', 'purchases', ['workspace_id', 'customer_id', 'purchased_at', 'id'], unique=False)
    op.create_index('ix_purchases_workspace_id_purchased_at', 'purchases', ['workspace_id', 'purchased_at'], unique=False)
    op.create_table('segment_memberships',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('workspace_id', sa.BigInteger(), nullable=False),
    sa.Column('segment_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('left_at IS NULL OR left_at >= entered_at', name=op.f('ck_segment_memberships_left_after_entered')),
    sa.ForeignKeyConstraint(['workspace_id', 'customer_id'], ['customers.workspace_id', 'customers.id'], name=op.f('fk_segment_memberships_workspace_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id', 'segment_id'], ['segments.workspace_id', 'segments.id'], name=op.f('fk_segment_memberships_workspace_id_segment_id_segments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segment_memberships'))
    )
    op.create_index('ix_segment_memberships_customer', 'segment_memberships', ['workspace_id', 'customer_id'], unique=False)
    op.create_index('uq_segment_memberships_open', 'segment_memberships', ['segment_id', 'customer_id'], unique=True, postgresql_where=sa.text('left_at IS NULL'))
    op.create_table('campaign_events',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('workspace_id', sa.BigInteger(), nullable=False),
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('sent', 'delivered', 'opened', 'clicked', 'redeemed', 'unsubscribed')", name=op.f('ck_campaign_events_kind')),
    sa.ForeignKeyConstraint(['workspace_id', 'campaign_id'], ['campaigns.workspace_id', 'campaigns.id'], name=op.f('fk_campaign_events_workspace_id_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id', 'customer_id'], ['customers.workspace_id', 'customers.id'], name=op.f('fk_campaign_events_workspace_id_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_events'))
    )
    op.create_index('ix_campaign_events_customer', 'campaign_events', ['workspace_id', 'customer_id', 'occurred_at'], unique=False)
    op.create_table('purchase_items',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('workspace_id', sa.BigInteger(), nullable=False),
    sa.Column('purchase_id', sa.BigInteger(), nullable=False),
    sa.Column('product', sa.Text(), nullable=False),
    sa.Column('category', sa.Text(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id', 'purchase_id'], ['purchases.workspace_id', 'purchases.id'], name=op.f('fk_purchase_items_workspace_id_purchase_id_purchases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_items'))
    )
    op.create_index('ix_purchase_items_category', 'purchase_items', ['workspace_id', 'category'], unique=False)
    op.create_index('ix_purchase_items_purchase', 'purchase_items', ['workspace_id', 'purchase_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_purchase_items_purchase', table_name='purchase_items')
    op.drop_index('ix_purchase_items_category', table_name='purchase_items')
    op.drop_table('purchase_items')
    op.drop_index('ix_campaign_events_customer', table_name='campaign_events')
    op.drop_table('campaign_events')
    op.drop_index('uq_segment_memberships_open', table_name='segment_memberships', postgresql_where=sa.text('left_at IS NULL'))
    op.drop_index('ix_segment_memberships_customer', table_name='segment_memberships')
    op.drop_table('segment_memberships')
    op.drop_index('ix_purchases_workspace_id_purchased_at', table_name='purchases')
    op.drop_index('ix_purchases_customer', table_name='purchases')
    op.drop_table('purchases')
    op.drop_index('ix_notes_customer', table_name='notes')
    op.drop_table('notes')
    op.drop_index('ix_interactions_workspace_id_kind_occurred_at', table_name='interactions')
    op.drop_index('ix_interactions_customer', table_name='interactions')
    op.drop_table('interactions')
    op.drop_index('ix_customer_scores_workspace_id_customer_type', table_name='customer_scores')
    op.drop_index('ix_customer_scores_workspace_id_clv', table_name='customer_scores')
    op.drop_table('customer_scores')
    op.drop_table('campaigns')
    op.drop_table('segments')
    op.drop_table('model_fits')
    op.drop_table('events')
    op.drop_table('event_counters')
    op.drop_index('ix_customers_workspace_id_province_city', table_name='customers')
    op.drop_index('ix_customers_workspace_id_phone_e164', table_name='customers')
    op.drop_index('ix_customers_workspace_id_lifecycle_stage', table_name='customers')
    op.drop_index('ix_customers_workspace_id_email', table_name='customers')
    op.drop_index('ix_customers_workspace_id_created_at', table_name='customers')
    op.drop_index('ix_customers_tags', table_name='customers', postgresql_using='gin')
    op.drop_index('ix_customers_search_text_trgm', table_name='customers', postgresql_using='gin', postgresql_ops={'search_text': 'gin_trgm_ops'})
    op.drop_table('customers')
    op.drop_table('api_keys')
    op.drop_table('workspaces')
