"""The campaign vocabularies as GraphQL enums."""

from __future__ import annotations

from enum import Enum

import strawberry

from domain import vocab
from domain.campaigns.audience import REASONS
from gql_api.enums import _mirror

CampaignStatus = _mirror(vocab.CampaignStatus, "DRAFT -> SCHEDULED -> RUNNING <-> PAUSED -> ENDED -> ARCHIVED.")
CampaignObjective = _mirror(vocab.CampaignObjective, "What the campaign is for.")
CampaignChannel = _mirror(vocab.CampaignChannel, "How the business's provider reaches the customer. IN_APP needs "
                                                 "no consent; SMS, EMAIL and PUSH need the customer's.")
BudgetKind = _mirror(vocab.BudgetKind, "COUNT: redemptions; AMOUNT: discount and cashback given, in the offers' "
                                       "currency.")
Arm = _mirror(vocab.Arm, "TREATMENT gets the campaign; HOLDOUT is left alone, to measure against.")
OfferKind = _mirror(vocab.OfferKind, "What an offer gives. PERCENT_OFF, AMOUNT_OFF, CASHBACK and FREE_SHIPPING "
                                     "are discounts (what customer-type policies can exclude); NOTICE is an "
                                     "announcement with nothing to redeem.")
LimitPeriod = _mirror(vocab.LimitPeriod, "The period of a per-customer limit, in the campaign's time zone (weeks "
                                         "start on Monday).")
CodeMode = _mirror(vocab.CodeMode, "AUTO: no code, the offer applies by id to targeted customers; SHARED: one code "
                                   "for all; UNIQUE: a generated code for each treated customer.")
RedemptionStatus = _mirror(vocab.RedemptionStatus, "RESERVED by a checkout (until its TTL), CONFIRMED with the "
                                                   "purchase, RELEASED (cancel, refund) or EXPIRED.")
CampaignEventKind = _mirror(vocab.CampaignEventKind, "Engagement with a campaign's message or offer.")
AudienceReason = strawberry.enum(Enum("AudienceReason", {r.upper(): r for r in REASONS}),
                                 description="Why a candidate was left out of a campaign's audience, in the order "
                                             "the checks run.")
CustomerOfferStatus = strawberry.enum(Enum("CustomerOfferStatus", {s: s for s in ("AVAILABLE", "RESERVED",
                                                                                  "USED_UP")}),
                                      description="AVAILABLE to use; RESERVED by a checkout in progress; USED_UP: "
                                                  "no uses left this period.")
Verdict = strawberry.enum(Enum("CampaignVerdict", {s: s for s in ("POSITIVE", "NEGATIVE", "INCONCLUSIVE",
                                                                   "INSUFFICIENT_DATA")}),
                          description="POSITIVE / NEGATIVE: the 95% interval of the conversion uplift lies above / "
                                      "below zero; INCONCLUSIVE: it spans zero; INSUFFICIENT_DATA: fewer than 30 "
                                      "customers in an arm or 10 conversions in all, so no claim is made.")
