"""The segment rule as GraphQL input, and its translation to and from the
domain's stored form. The API speaks camelCase field names, upper-case
operators and global segment ids; the store keeps snake_case, lower-case and
primary keys. `rule_to_api` gives back exactly what `SegmentRuleInput` accepts,
so a client can load a rule, edit it and send it again."""

from __future__ import annotations

import re
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from domain.errors import DomainError, ErrorCode, camel
from domain.segment_rules import AGGREGATE_OPERATORS, OPERATORS
from gql_api.enums import InteractionKind
from gql_api.errors import input_pk
from gql_api.ids import to_global_id

RuleOperator = strawberry.enum(
    Enum("RuleOperator", {op.upper(): op for op in dict.fromkeys(o for ops in OPERATORS.values() for o in ops)}),
    description="How a condition compares its field with its value (segmentRuleFields lists which apply).")
ComparisonOperator = strawberry.enum(Enum("ComparisonOperator", {op.upper(): op for op in AGGREGATE_OPERATORS}),
                                     description="How an aggregate compares with the value.")
PurchaseMeasure = strawberry.enum(Enum("PurchaseMeasure", {"COUNT": "count", "SPEND": "spend"}),
                                  description="Number of orders, or money spent (refunds netted).")
InteractionMeasure = strawberry.enum(Enum("InteractionMeasure", {"COUNT": "count", "STAFF_MINUTES": "staff_minutes"}),
                                     description="Number of interactions, or staff minutes spent on them.")
CampaignEvent = strawberry.enum(Enum("CampaignEvent", {k.upper(): k for k in (
    "sent", "delivered", "opened", "clicked", "redeemed", "unsubscribed")}), description="A campaign engagement.")


@strawberry.input(description="A profile or score condition. `field` is one of segmentRuleFields' names (camelCase) "
                              "or `attributes.<key>` for a custom attribute; `value` is a number, text, boolean, "
                              "ISO date, list, or [low, high] for BETWEEN, as the field and operator need.")
class RuleConditionInput:
    field: str
    op: RuleOperator
    value: JSON | None = None


@strawberry.input(description="Orders or spend, optionally within the last N days and for one category or product.")
class PurchaseRuleInput:
    op: ComparisonOperator
    value: float
    measure: PurchaseMeasure = PurchaseMeasure.COUNT
    within_days: int | None = None
    category: str | None = None
    product: str | None = None


@strawberry.input(description="Interactions (of one kind, or all), optionally within the last N days.")
class InteractionRuleInput:
    op: ComparisonOperator
    value: float
    kind: InteractionKind | None = None
    measure: InteractionMeasure = InteractionMeasure.COUNT
    within_days: int | None = None


@strawberry.input(description="Engaged with a campaign (any, or one), optionally within the last N days.")
class CampaignRuleInput:
    event: CampaignEvent
    campaign_id: strawberry.ID | None = None
    within_days: int | None = None


@strawberry.input(one_of=True, description="A rule tree: exactly one of these.")
class SegmentRuleInput:
    and_: list[SegmentRuleInput] | None = strawberry.field(name="and", default=strawberry.UNSET)
    or_: list[SegmentRuleInput] | None = strawberry.field(name="or", default=strawberry.UNSET)
    not_: SegmentRuleInput | None = strawberry.field(name="not", default=strawberry.UNSET)
    condition: RuleConditionInput | None = strawberry.UNSET
    purchases: PurchaseRuleInput | None = strawberry.UNSET
    interactions: InteractionRuleInput | None = strawberry.UNSET
    campaign: CampaignRuleInput | None = strawberry.UNSET
    in_segment: strawberry.ID | None = strawberry.field(default=strawberry.UNSET,
                                                        description="Member of that segment now.")


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()



def _field_name(name: str) -> str:
    return name if name.startswith("attributes.") else snake(name)


def rule_to_domain(rule: SegmentRuleInput, path: str = "rule") -> dict:
    """The domain's form (validation of values happens in the domain)."""
    if rule.and_:
        return {"and": [rule_to_domain(r, f"{path}.and.{i}") for i, r in enumerate(rule.and_)]}
    if rule.or_:
        return {"or": [rule_to_domain(r, f"{path}.or.{i}") for i, r in enumerate(rule.or_)]}
    if rule.not_:
        return {"not": rule_to_domain(rule.not_, f"{path}.not")}
    if rule.condition:
        body = {"field": _field_name(rule.condition.field), "op": rule.condition.op.value}
        if rule.condition.value is not None:
            body["value"] = rule.condition.value
        return {"condition": body}
    if rule.purchases:
        p = rule.purchases
        return {"purchases": _present(measure=p.measure.value, op=p.op.value, value=p.value,
                                      withinDays=p.within_days, category=p.category, product=p.product)}
    if rule.interactions:
        i = rule.interactions
        return {"interactions": _present(measure=i.measure.value, op=i.op.value, value=i.value,
                                         withinDays=i.within_days, kind=i.kind.value if i.kind else None)}
    if rule.campaign:
        c = rule.campaign
        return {"campaign": _present(event=c.event.value, withinDays=c.within_days,
                                     campaignId=input_pk(c.campaign_id, "Campaign", f"{path}.campaign.campaignId"))}
    if rule.in_segment:
        return {"inSegment": input_pk(rule.in_segment, "Segment", f"{path}.inSegment")}
    raise DomainError(ErrorCode.REQUIRED, path, "give one of and, or, not, condition, purchases, interactions, "
                                                "campaign, inSegment")


def _present(**values) -> dict:
    return {k: v for k, v in values.items() if v is not None}


_UPPER = {"op", "measure", "event", "kind"}


def rule_to_api(rule: dict) -> dict:
    """The stored rule in the shape SegmentRuleInput takes."""
    (key, body), = rule.items()
    if key in ("and", "or"):
        return {key: [rule_to_api(part) for part in body]}
    if key == "not":
        return {"not": rule_to_api(body)}
    if key == "inSegment":
        return {"inSegment": to_global_id("Segment", body)}
    shown = {}
    for name, value in body.items():
        if name in _UPPER:
            value = value.upper()
        elif name == "field":
            value = value if value.startswith("attributes.") else camel(value)
        elif name == "campaignId":
            value = to_global_id("Campaign", value)
        shown[name] = value
    return {key: shown}
