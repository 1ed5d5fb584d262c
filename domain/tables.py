"""Table metadata: the one description of the schema, from which Alembic's
revisions are generated and against which repositories write their SQL.

Every business table carries `workspace_id`. References between business rows
are composite `(workspace_id, id)` foreign keys, so a row can never point at a
row of another workspace, whatever the code above does.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    and_,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, DOUBLE_PRECISION, JSONB

from domain import vocab

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Money is exact; rials make twelve-digit totals ordinary.
Money = Numeric(20, 2)
NOW = text("now()")


def _one_of(column: str, values: type[StrEnum], name: str | None = None) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name or column)


def _all_of(column: str, values: type[StrEnum]) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} <@ ARRAY[{allowed}]::text[]", name=column)


def _id() -> Column:
    return Column("id", BigInteger, Identity(), primary_key=True)


def _workspace() -> Column:
    return Column("workspace_id", BigInteger, nullable=False)


def _in_workspace(table: str, *columns: str, ondelete: str = "CASCADE") -> ForeignKeyConstraint:
    """A reference that stays inside the row's workspace."""
    return ForeignKeyConstraint(
        ["workspace_id", *columns], [f"{table}.workspace_id", f"{table}.id"], ondelete=ondelete
    )


def _timestamps() -> list[Column]:
    return [
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=NOW),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    ]


workspaces = Table(
    "workspaces",
    metadata,
    _id(),
    Column("slug", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("default_region", Text, nullable=False, server_default="IR"),
    Column("currency", Text, nullable=False, server_default="IRR"),
    # Campaigns' default time zone (their dates, per-day offer limits).
    Column("time_zone", Text, nullable=False, server_default="Asia/Tehran"),
    # Signs the short-lived tokens that identify a mobile app's signed-in customer.
    Column("app_token_secret", LargeBinary, nullable=False),
    Column("settings", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    *_timestamps(),
)

api_keys = Table(
    "api_keys",
    metadata,
    _id(),
    _workspace(),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    # The first characters of the key, shown in listings so a key can be recognised.
    Column("prefix", Text, nullable=False),
    Column("key_hash", LargeBinary, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    # INTEGRATOR keys see email and phone only with this grant (the other roles by their role).
    Column("contact_details", Boolean, nullable=False, server_default="false"),
    # INTEGRATOR keys read staff's notes only with this grant (the other staff roles by their role).
    Column("notes", Boolean, nullable=False, server_default="false"),
    ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
    _one_of("role", vocab.Role),
)

customers = Table(
    "customers",
    metadata,
    _id(),
    _workspace(),
    Column("external_id", Text),
    Column("kind", Text, nullable=False, server_default=vocab.CustomerKind.INDIVIDUAL.value),
    Column("first_name", Text),
    Column("last_name", Text),
    Column("company_name", Text),
    Column("contact_person", Text),
    Column("registration_number", Text),
    Column("email", Text),
    Column("phone", Text),  # as typed
    Column("phone_e164", Text),
    Column("birth_date", Date),
    Column("gender", Text),
    Column("occupation", Text),
    Column("marital_status", Text),
    Column("education", Text),
    Column("income_band", Text),
    Column("province", Text),
    Column("city", Text),
    Column("neighbourhood", Text),
    Column("interests", ARRAY(Text), nullable=False, server_default="{}"),
    Column("lifestyle", Text),
    Column("temperament", Text),
    Column("staff_traits", ARRAY(Text), nullable=False, server_default="{}"),
    Column("tags", ARRAY(Text), nullable=False, server_default="{}"),
    # Set by staff or by the scoring pipeline; a lead has no purchases yet.
    Column("lifecycle_stage", Text, nullable=False, server_default=vocab.LifecycleStage.LEAD.value),
    Column("consent_sms", Boolean, nullable=False, server_default="false"),
    Column("consent_email", Boolean, nullable=False, server_default="false"),
    Column("consent_push", Boolean, nullable=False, server_default="false"),
    Column("attributes", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    # normalize_search() of names, company, email and phone: what search matches.
    Column("search_text", Text, nullable=False, server_default=""),
    Column("acquired_at", DateTime(timezone=True)),
    *_timestamps(),
    Column("deleted_at", DateTime(timezone=True)),
    Column("erased_at", DateTime(timezone=True)),
    ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
    UniqueConstraint("workspace_id", "id"),
    UniqueConstraint("workspace_id", "external_id"),
    _one_of("kind", vocab.CustomerKind),
    _one_of("gender", vocab.Gender),
    _one_of("temperament", vocab.Temperament),
    _one_of("lifecycle_stage", vocab.LifecycleStage),
    _all_of("staff_traits", vocab.Trait),
    Index("ix_customers_workspace_id_created_at", "workspace_id", "created_at", "id"),
    Index("ix_customers_workspace_id_lifecycle_stage", "workspace_id", "lifecycle_stage"),
    Index("ix_customers_workspace_id_province_city", "workspace_id", "province", "city"),
    Index("ix_customers_workspace_id_phone_e164", "workspace_id", "phone_e164"),
    Index("ix_customers_workspace_id_email", "workspace_id", text("lower(email)")),
    # The live customers: counts and pages of them read the index alone.
    Index("ix_customers_live", "workspace_id", "id", postgresql_where=text("deleted_at IS NULL")),
    # GIN indexes keep new entries in a pending list until it reaches this many
    # kB; the planner prices reading that list, and with the default 4 MB after
    # a bulk load it took the index for too dear and read the whole table.
    Index("ix_customers_search_text_trgm", "search_text", postgresql_using="gin",
          postgresql_ops={"search_text": "gin_trgm_ops"}, postgresql_with={"gin_pending_list_limit": 128}),
    Index("ix_customers_tags", "tags", postgresql_using="gin", postgresql_with={"gin_pending_list_limit": 128}),
)

notes = Table(
    "notes",
    metadata,
    _id(),
    _workspace(),
    Column("customer_id", BigInteger, nullable=False),
    Column("author", Text, nullable=False),
    Column("kind", Text, nullable=False, server_default=vocab.NoteKind.NOTE.value),
    Column("body", Text, nullable=False),
    Column("pinned", Boolean, nullable=False, server_default="false"),
    *_timestamps(),
    Column("deleted_at", DateTime(timezone=True)),
    _in_workspace("customers", "customer_id"),
    _one_of("kind", vocab.NoteKind),
    Index("ix_notes_customer", "workspace_id", "customer_id", "created_at", "id"),
)

purchases = Table(
    "purchases",
    metadata,
    _id(),
    _workspace(),
    Column("customer_id", BigInteger, nullable=False),
    Column("external_id", Text),
    Column("purchased_at", DateTime(timezone=True), nullable=False),
    # A refund is a purchase with a negative total, linked to what it refunds.
    Column("total", Money, nullable=False),
    Column("discount", Money, nullable=False, server_default="0"),
    Column("currency", Text, nullable=False),
    Column("channel", Text, nullable=False, server_default=vocab.SalesChannel.STORE.value),
    Column("refund_of_id", BigInteger),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    _in_workspace("customers", "customer_id"),
    _in_workspace("purchases", "refund_of_id", ondelete="SET NULL"),
    UniqueConstraint("workspace_id", "id"),
    UniqueConstraint("workspace_id", "external_id"),
    _one_of("channel", vocab.SalesChannel),
    CheckConstraint("discount >= 0", name="discount_not_negative"),
    CheckConstraint("refund_of_id IS NULL OR total <= 0", name="refund_is_negative"),
    Index("ix_purchases_customer", "workspace_id", "customer_id", "purchased_at", "id"),
    Index("ix_purchases_workspace_id_purchased_at", "workspace_id", "purchased_at"),
)

purchase_items = Table(
    "purchase_items",
    metadata,
    _id(),
    _workspace(),
    Column("purchase_id", BigInteger, nullable=False),
    Column("product", Text, nullable=False),
    Column("category", Text),
    Column("quantity", Numeric(14, 3), nullable=False),
    Column("amount", Money, nullable=False),
    _in_workspace("purchases", "purchase_id"),
    Index("ix_purchase_items_purchase", "workspace_id", "purchase_id"),
    Index("ix_purchase_items_category", "workspace_id", "category"),
)

interactions = Table(
    "interactions",
    metadata,
    _id(),
    _workspace(),
    Column("customer_id", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("staff_minutes", Numeric(10, 2), nullable=False, server_default="0"),
    # A survey answer (0-10, as in NPS).
    Column("score", SmallInteger),
    # For a referral: the customer this one brought in.
    Column("referred_customer_id", BigInteger),
    Column("summary", Text),
    Column("external_id", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    _in_workspace("customers", "customer_id"),
    _in_workspace("customers", "referred_customer_id", ondelete="SET NULL"),
    UniqueConstraint("workspace_id", "external_id"),
    _one_of("kind", vocab.InteractionKind),
    CheckConstraint("staff_minutes >= 0", name="staff_minutes_not_negative"),
    CheckConstraint("score IS NULL OR score BETWEEN 0 AND 10", name="score_0_to_10"),
    CheckConstraint("(kind = 'survey') = (score IS NOT NULL)", name="survey_has_score"),
    Index("ix_interactions_customer", "workspace_id", "customer_id", "occurred_at", "id"),
    Index("ix_interactions_workspace_id_kind_occurred_at", "workspace_id", "kind", "occurred_at"),
)

# One row per customer, written row by row by incremental rescoring and
# replaced wholesale by a full rescoring: partitioned by workspace, so that a
# full run builds the workspace's partition afresh and swaps it in
# (domain.score_partitions). No foreign key to customers: scores are derived
# rows that every full run rebuilds from the live customers, and checking a
# million of them at each swap cost a second; the one hard delete of a customer
# (a merge) removes its scores itself.
customer_scores = Table(
    "customer_scores",
    metadata,
    Column("workspace_id", BigInteger, primary_key=True),
    Column("customer_id", BigInteger, primary_key=True),
    Column("purchase_count", Integer, nullable=False),
    Column("frequency", Integer, nullable=False),
    Column("recency", DOUBLE_PRECISION, nullable=False),
    Column("tenure", DOUBLE_PRECISION, nullable=False),  # T, in the fit's time unit
    Column("monetary", DOUBLE_PRECISION, nullable=False),
    Column("total_spend", DOUBLE_PRECISION, nullable=False),
    Column("first_purchase_at", DateTime(timezone=True)),
    Column("last_purchase_at", DateTime(timezone=True)),
    Column("rfm_r", SmallInteger),
    Column("rfm_f", SmallInteger),
    Column("rfm_m", SmallInteger),
    Column("rfm_segment", Text),
    Column("probability_alive", DOUBLE_PRECISION),
    Column("expected_purchases_90d", DOUBLE_PRECISION),
    Column("clv", DOUBLE_PRECISION),
    Column("loyalty", DOUBLE_PRECISION),
    # Points of each loyalty factor, in the order of scoring.loyalty.FACTORS.
    Column("loyalty_factors", ARRAY(DOUBLE_PRECISION)),
    Column("cost_to_serve", DOUBLE_PRECISION),
    Column("net_value", DOUBLE_PRECISION),
    Column("customer_type", Text),
    Column("lifecycle_stage", Text),
    Column("inferred_traits", ARRAY(Text), nullable=False, server_default="{}"),
    Column("cluster", SmallInteger),
    Column("lookalike", DOUBLE_PRECISION),
    # What the customer has brought (spend net of refunds) plus their CLV: ranks personas.
    Column("value", DOUBLE_PRECISION),
    # The numbers behind inferred traits and types, in the order of
    # domain.score_model.EVIDENCE (NaN where there is none, e.g. no survey).
    Column("evidence", ARRAY(DOUBLE_PRECISION)),
    Column("computed_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    _one_of("customer_type", vocab.CustomerType),
    _one_of("lifecycle_stage", vocab.LifecycleStage),
    Index("ix_customer_scores_workspace_id_clv", "workspace_id", "clv"),
    Index("ix_customer_scores_workspace_id_customer_type", "workspace_id", "customer_type"),
    postgresql_partition_by="LIST (workspace_id)",
)

# A customer's scores, to join on. The workspace is part of it: so the planner
# reads the workspace's partition alone (by its key), where a join on the id
# alone scanned every workspace's partition for a caller that row-level
# security does not confine (the schema owner's jobs).
SCORES_OF_CUSTOMER = and_(customer_scores.c.workspace_id == customers.c.workspace_id,
                          customer_scores.c.customer_id == customers.c.id)

# Fitted model parameters and diagnostics, one row per workspace and model.
model_fits = Table(
    "model_fits",
    metadata,
    _workspace(),
    Column("model", Text, nullable=False),
    Column("params", JSONB, nullable=False),
    Column("diagnostics", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("fitted_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
    PrimaryKeyConstraint("workspace_id", "model"),
)

segments = Table(
    "segments",
    metadata,
    _id(),
    _workspace(),
    Column("key", Text, nullable=False),  # stable handle: "rfm:champions", "type:tribe", or user-chosen
    Column("name", Text, nullable=False),
    Column("description", Text),
    Column("kind", Text, nullable=False),
    Column("rule", JSONB),
    Column("profile", JSONB),  # a cluster's persona
    *_timestamps(),
    Column("deleted_at", DateTime(timezone=True)),
    ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
    UniqueConstraint("workspace_id", "id"),
    UniqueConstraint("workspace_id", "key"),
    _one_of("kind", vocab.SegmentKind),
)

# Membership with history: a row per stay; the open stay has left_at NULL.
segment_memberships = Table(
    "segment_memberships",
    metadata,
    _id(),
    _workspace(),
    Column("segment_id", BigInteger, nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("entered_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    Column("left_at", DateTime(timezone=True)),
    _in_workspace("segments", "segment_id"),
    _in_workspace("customers", "customer_id"),
    CheckConstraint("left_at IS NULL OR left_at >= entered_at", name="left_after_entered"),
    Index("uq_segment_memberships_open", "segment_id", "customer_id", unique=True,
          postgresql_where=text("left_at IS NULL")),
    Index("ix_segment_memberships_customer", "workspace_id", "customer_id"),
)

# A campaign aims offers at segments and measures, against a holdout group,
# whether it helped (domain/campaigns). Segment lists are arrays: segments are
# never deleted (only hidden), and the lists are checked when they are written.
campaigns = Table(
    "campaigns",
    metadata,
    _id(),
    _workspace(),
    Column("name", Text, nullable=False),
    Column("objective", Text, nullable=False, server_default=vocab.CampaignObjective.RETENTION.value),
    Column("channel", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=vocab.CampaignStatus.DRAFT.value),
    Column("starts_at", DateTime(timezone=True)),
    Column("ends_at", DateTime(timezone=True)),
    Column("time_zone", Text, nullable=False),
    Column("include_segment_ids", ARRAY(BigInteger), nullable=False, server_default="{}"),
    Column("exclude_segment_ids", ARRAY(BigInteger), nullable=False, server_default="{}"),
    Column("holdout_bp", Integer, nullable=False, server_default="1000"),  # basis points: 1000 = 10%
    Column("attribution_days", Integer, nullable=False, server_default="14"),
    Column("goal_categories", ARRAY(Text)),  # NULL: any purchase converts
    Column("budget_kind", Text),  # NULL: no budget
    Column("budget_limit", Money),
    Column("budget_used", Money, nullable=False, server_default="0"),
    # At most `frequency_cap` contacts (treated in any campaign) per customer in `frequency_cap_days`.
    Column("frequency_cap", Integer),
    Column("frequency_cap_days", Integer),
    Column("policies", JSONB),  # NULL: the workspace's customer-type policies
    Column("holdout_salt", Text),  # frozen at launch
    Column("audience_report", JSONB),  # what the launch found, reason by reason
    Column("followed_seq", BigInteger, nullable=False, server_default="0"),  # outbox read up to, for joiners
    Column("launched_at", DateTime(timezone=True)),
    Column("ended_at", DateTime(timezone=True)),
    *_timestamps(),
    ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
    UniqueConstraint("workspace_id", "id"),
    _one_of("status", vocab.CampaignStatus),
    _one_of("objective", vocab.CampaignObjective),
    _one_of("channel", vocab.CampaignChannel),
    _one_of("budget_kind", vocab.BudgetKind),
    CheckConstraint("holdout_bp BETWEEN 0 AND 5000", name="holdout_share"),
    CheckConstraint("attribution_days BETWEEN 1 AND 365", name="attribution_window"),
    # The last wall against overspending: whatever the code above does, the budget holds.
    CheckConstraint("budget_used >= 0 AND (budget_limit IS NULL OR budget_used <= budget_limit)",
                    name="budget_not_overrun"),
    Index("ix_campaigns_workspace_id_status", "workspace_id", "status"),
)

offers = Table(
    "offers",
    metadata,
    _id(),
    _workspace(),
    Column("campaign_id", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    # Percent for PERCENT_OFF and CASHBACK, an amount for AMOUNT_OFF, a factor for POINTS_MULTIPLIER.
    Column("value", Numeric(20, 2)),
    Column("currency", Text, nullable=False),
    Column("min_spend", Money),
    Column("max_discount", Money),
    Column("categories", ARRAY(Text)),  # NULL: the whole cart
    Column("valid_from", DateTime(timezone=True)),
    Column("valid_to", DateTime(timezone=True)),
    Column("per_customer_limit", Integer),
    Column("per_customer_period", Text, nullable=False, server_default=vocab.LimitPeriod.TOTAL.value),
    Column("total_limit", Integer),
    Column("total_used", Integer, nullable=False, server_default="0"),
    Column("stackable", Boolean, nullable=False, server_default="false"),
    Column("code_mode", Text, nullable=False, server_default=vocab.CodeMode.AUTO.value),
    Column("shared_code", Text),
    Column("title_fa", Text),
    Column("title_en", Text),
    Column("terms_fa", Text),
    Column("terms_en", Text),
    *_timestamps(),
    Column("deleted_at", DateTime(timezone=True)),
    _in_workspace("campaigns", "campaign_id"),
    UniqueConstraint("workspace_id", "id"),
    _one_of("kind", vocab.OfferKind),
    _one_of("per_customer_period", vocab.LimitPeriod),
    _one_of("code_mode", vocab.CodeMode),
    CheckConstraint("total_used >= 0 AND (total_limit IS NULL OR total_used <= total_limit)",
                    name="total_not_overrun"),
    Index("ix_offers_campaign", "workspace_id", "campaign_id"),
    Index("uq_offers_shared_code", "workspace_id", text("upper(shared_code)"), unique=True,
          postgresql_where=text("shared_code IS NOT NULL AND deleted_at IS NULL")),
)

# UNIQUE-code offers: each treated customer's own code, made at assignment.
# Like the assignments below, written a row per treated customer by a launch,
# with no foreign key to check per row: the launch writes them for the offers
# and campaign it has locked, and offers and campaigns are never deleted
# (removed offers keep their row, marked deleted_at; campaigns are archived).
offer_codes = Table(
    "offer_codes",
    metadata,
    _workspace(),
    Column("offer_id", BigInteger, nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("code", Text, nullable=False),
    PrimaryKeyConstraint("offer_id", "customer_id"),
    Index("uq_offer_codes_code", "workspace_id", "code", unique=True),
)

# Who a campaign targeted, and in which arm: one row per customer, frozen once
# written. No foreign keys: a launch writes a row per customer of the audience
# (a million at a time), and the per-row checks of the keys to customers and
# campaigns cost more than the rest of the insert (the campaign's key and the
# offers' took 3.5 s of a 20 s launch of 400,000 assignments and codes). The
# launch writes them for the campaign it has locked; a merge keeps the
# survivor's arms and deletes the duplicate's (domain/customer_merge.py).
campaign_assignments = Table(
    "campaign_assignments",
    metadata,
    _workspace(),
    Column("campaign_id", BigInteger, nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("arm", Text, nullable=False),
    Column("bucket", SmallInteger, nullable=False),  # 0-9999, from the hash of salt and customer id
    Column("assigned_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    Column("opens_at", DateTime(timezone=True)),  # early access: the offers open for them this early
    Column("joined", Boolean, nullable=False, server_default="false"),  # entered a segment after the launch
    PrimaryKeyConstraint("campaign_id", "customer_id"),
    _one_of("arm", vocab.Arm),
    Index("ix_campaign_assignments_customer", "workspace_id", "customer_id", "assigned_at"),
)

# How often each customer used an offer in a period (its per-customer limit):
# taken and given back by single conditional statements, so concurrent
# checkouts cannot both take the last use.
offer_usage = Table(
    "offer_usage",
    metadata,
    _workspace(),
    Column("offer_id", BigInteger, nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("period_start", DateTime(timezone=True), nullable=False),
    Column("used", Integer, nullable=False),
    PrimaryKeyConstraint("offer_id", "customer_id", "period_start"),
    _in_workspace("offers", "offer_id"),
    CheckConstraint("used >= 0", name="used_not_negative"),
)

redemptions = Table(
    "redemptions",
    metadata,
    _id(),
    _workspace(),
    Column("offer_id", BigInteger, nullable=False),
    Column("campaign_id", BigInteger, nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("idempotency_key", Text, nullable=False),  # normally the order id
    Column("request_hash", Text, nullable=False),  # the same key with another request is refused
    Column("order_id", Text),
    Column("code", Text),
    Column("status", Text, nullable=False, server_default=vocab.RedemptionStatus.RESERVED.value),
    Column("discount", Money, nullable=False),
    Column("cashback", Money, nullable=False, server_default="0"),
    Column("budget_charge", Money, nullable=False),  # what it took from the campaign's budget
    Column("usage_period_start", DateTime(timezone=True), nullable=False),
    Column("cart_total", Money, nullable=False),
    Column("currency", Text, nullable=False),
    Column("purchase_id", BigInteger),
    Column("reserved_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("confirmed_at", DateTime(timezone=True)),
    Column("released_at", DateTime(timezone=True)),
    Column("release_reason", Text),
    _in_workspace("offers", "offer_id"),
    _in_workspace("customers", "customer_id"),
    _in_workspace("purchases", "purchase_id", ondelete="SET NULL"),
    UniqueConstraint("workspace_id", "id"),
    UniqueConstraint("workspace_id", "idempotency_key"),
    _one_of("status", vocab.RedemptionStatus),
    Index("ix_redemptions_offer_customer", "workspace_id", "offer_id", "customer_id"),
    Index("ix_redemptions_campaign", "workspace_id", "campaign_id", "status"),
    Index("ix_redemptions_reserved", "expires_at", postgresql_where=text("status = 'reserved'")),
)

# Engagement with a campaign: reported by apps and delivery providers (by
# their own event id, so a repeat is dropped) or written by Tribe (redeemed).
# Segment rules' `campaign` conditions read it.
campaign_events = Table(
    "campaign_events",
    metadata,
    _id(),
    _workspace(),
    Column("campaign_id", BigInteger, nullable=False),
    Column("offer_id", BigInteger),
    Column("customer_id", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("event_id", Text),
    Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    _in_workspace("campaigns", "campaign_id"),
    _in_workspace("customers", "customer_id"),
    _one_of("kind", vocab.CampaignEventKind),
    UniqueConstraint("workspace_id", "event_id"),
    Index("ix_campaign_events_customer", "workspace_id", "customer_id", "occurred_at"),
    Index("ix_campaign_events_campaign", "workspace_id", "campaign_id", "kind"),
)

# The transactional outbox: written in the same transaction as the change it
# announces; `seq` orders a workspace's events and is the subscribers' cursor.
events = Table(
    "events",
    metadata,
    _workspace(),
    Column("seq", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("customer_id", BigInteger),
    Column("segment_id", BigInteger),
    Column("payload", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
    PrimaryKeyConstraint("workspace_id", "seq"),
)

# Where integrators want events pushed. Deliveries follow the outbox in order
# from `last_seq`; a failing endpoint waits until `next_attempt_at` (exponential
# backoff) and is disabled after too many failures in a row.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    _id(),
    _workspace(),
    Column("url", Text, nullable=False),
    # The HMAC-SHA256 key of the signatures; shown once, when the endpoint is made.
    Column("secret", Text, nullable=False),
    Column("event_kinds", ARRAY(Text), nullable=False, server_default="{}"),  # empty: every kind
    Column("segment_ids", ARRAY(BigInteger)),  # NULL: segment events of every segment
    Column("description", Text),
    Column("enabled", Boolean, nullable=False, server_default="true"),
    Column("last_seq", BigInteger, nullable=False, server_default="0"),
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("disabled_reason", Text),
    *_timestamps(),
    Column("deleted_at", DateTime(timezone=True)),
    ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
    UniqueConstraint("workspace_id", "id"),
)

# One row per attempt to deliver an event to an endpoint.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    _id(),
    _workspace(),
    Column("endpoint_id", BigInteger, nullable=False),
    Column("event_seq", BigInteger, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("latency_ms", DOUBLE_PRECISION),
    Column("attempted_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    _in_workspace("webhook_endpoints", "endpoint_id"),
    Index("ix_webhook_deliveries_endpoint", "workspace_id", "endpoint_id", "attempted_at"),
)

# Retried writes: the first call with a key stores its result here; a retry
# with the same key returns that result and writes nothing.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    _workspace(),
    Column("key", Text, nullable=False),
    Column("operation", Text, nullable=False),
    Column("result_id", BigInteger),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
    PrimaryKeyConstraint("workspace_id", "key"),
)

# Where each workspace's next outbox `seq` comes from: taking it locks the row, so
# events of one workspace commit in `seq` order and a reader never skips one.
event_counters = Table(
    "event_counters",
    metadata,
    Column("workspace_id", BigInteger, primary_key=True),
    Column("last_seq", BigInteger, nullable=False, server_default="0"),
    ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
)
