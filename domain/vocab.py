"""The closed vocabularies of the domain. Stored as text with CHECK constraints
(not PostgreSQL enums) so a later migration can add a value without a table rewrite."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    ANALYST = "analyst"
    AGENT = "agent"
    INTEGRATOR = "integrator"
    APP = "app"


class CustomerKind(StrEnum):
    INDIVIDUAL = "individual"
    ORGANISATION = "organisation"


class Temperament(StrEnum):
    WARM = "warm"
    SERIOUS = "serious"


class Trait(StrEnum):
    FAULT_FINDER = "fault_finder"
    HESITANT = "hesitant"
    BARGAINER = "bargainer"


class LifecycleStage(StrEnum):
    LEAD = "lead"
    PROSPECT = "prospect"
    NEW = "new"
    ACTIVE = "active"
    LOYAL = "loyal"
    AT_RISK = "at_risk"
    INACTIVE = "inactive"
    LOST = "lost"


class CustomerType(StrEnum):
    TRIBE = "tribe"
    VAMPIRE = "vampire"
    CHURNER = "churner"
    SNOW_LEOPARD = "snow_leopard"
    STANDARD = "standard"


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class NoteKind(StrEnum):
    NOTE = "note"
    CALL = "call"
    MEETING = "meeting"
    EMAIL = "email"
    COMPLAINT = "complaint"
    TASK = "task"


class InteractionKind(StrEnum):
    SUPPORT_REQUEST = "support_request"
    COMPLAINT = "complaint"
    DISCOUNT_REQUEST = "discount_request"
    RETURN = "return"
    REFERRAL = "referral"
    SURVEY = "survey"
    ENQUIRY = "enquiry"


class SalesChannel(StrEnum):
    STORE = "store"
    ONLINE = "online"
    PHONE = "phone"
    APP = "app"
    B2B = "b2b"


class SegmentKind(StrEnum):
    RULE = "rule"
    CLUSTER = "cluster"
    MANUAL = "manual"
    BUILTIN = "builtin"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    ENDED = "ended"
    ARCHIVED = "archived"


class CampaignObjective(StrEnum):
    RETENTION = "retention"
    WIN_BACK = "win_back"
    UPSELL = "upsell"
    CROSS_SELL = "cross_sell"
    LOYALTY = "loyalty"
    ACQUISITION = "acquisition"
    ANNOUNCEMENT = "announcement"


class CampaignChannel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"
    IN_APP = "in_app"


class BudgetKind(StrEnum):
    COUNT = "count"  # redemptions
    AMOUNT = "amount"  # discount granted, in the offer's currency


class Arm(StrEnum):
    TREATMENT = "treatment"
    HOLDOUT = "holdout"


class OfferKind(StrEnum):
    PERCENT_OFF = "percent_off"
    AMOUNT_OFF = "amount_off"
    CASHBACK = "cashback"
    POINTS_MULTIPLIER = "points_multiplier"
    FREE_SHIPPING = "free_shipping"
    NOTICE = "notice"


# The kinds that give money away: what "no discount offers" policies mean.
DISCOUNT_KINDS = frozenset({OfferKind.PERCENT_OFF, OfferKind.AMOUNT_OFF, OfferKind.CASHBACK, OfferKind.FREE_SHIPPING})


class LimitPeriod(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    TOTAL = "total"


class CodeMode(StrEnum):
    AUTO = "auto"  # no code: applies to the targeted customer by offer id
    SHARED = "shared"  # one code for everyone targeted
    UNIQUE = "unique"  # a code of their own for each targeted customer


class RedemptionStatus(StrEnum):
    RESERVED = "reserved"
    CONFIRMED = "confirmed"
    RELEASED = "released"
    EXPIRED = "expired"


class CampaignEventKind(StrEnum):
    SENT = "sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    VIEWED = "viewed"
    CLICKED = "clicked"
    REDEEMED = "redeemed"
    UNSUBSCRIBED = "unsubscribed"
