"""Segment rules: a tree of AND / OR / NOT over conditions, validated, then
compiled to a SQLAlchemy boolean over `customers` joined with `customer_scores`.

A rule is plain JSON (it is stored as such):

    {"and": [rule, ...]}   {"or": [rule, ...]}   {"not": rule}
    {"condition": {"field": "clv", "op": "gte", "value": 5000000}}
    {"purchases": {"measure": "count", "op": "gte", "value": 2, "withinDays": 30, "category": "coffee"}}
    {"interactions": {"kind": "complaint", "op": "gte", "value": 1, "withinDays": 90}}
    {"campaign": {"event": "redeemed", "campaignId": 3, "withinDays": 60}}
    {"inSegment": 12}

Every value a user gives becomes a bind parameter; identifiers come only from
the catalogue below. A condition that cannot be evaluated (no scores yet, a
missing attribute) is false, and NOT is its complement, so NOT(rule) and rule
always split the workspace in two.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Float, Text, and_, cast, exists, false, func, literal, not_, or_, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.sql.elements import ColumnElement

from domain import vocab
from domain.errors import DomainError, ErrorCode
from domain.tables import campaign_events, customer_scores, customers, interactions, purchase_items, purchases
from domain.tables import segment_memberships
from domain.text import normalize_search
from scoring import RFM_SEGMENTS

MAX_DEPTH = 12
MAX_NODES = 200
MAX_LIST = 1000
MAX_DAYS = 36_500
_ATTRIBUTE_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class FieldType(StrEnum):
    NUMBER = "number"
    TEXT = "text"
    CHOICE = "choice"
    LIST = "list"
    BOOLEAN = "boolean"
    TIME = "time"
    ATTRIBUTE = "attribute"  # a key of the custom attributes: text, number or boolean


OPERATORS: dict[FieldType, tuple[str, ...]] = {
    FieldType.NUMBER: ("eq", "ne", "gt", "gte", "lt", "lte", "between", "is_null", "is_not_null"),
    FieldType.TEXT: ("eq", "ne", "in", "not_in", "contains", "starts_with", "is_null", "is_not_null"),
    FieldType.CHOICE: ("eq", "ne", "in", "not_in", "is_null", "is_not_null"),
    FieldType.LIST: ("contains", "contains_any", "contains_all", "is_empty", "is_not_empty"),
    FieldType.BOOLEAN: ("eq",),
    FieldType.TIME: ("before", "after", "between", "within_last_days", "not_within_last_days", "is_null",
                     "is_not_null"),
    FieldType.ATTRIBUTE: ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "is_null",
                          "is_not_null"),
}
_COMPARISONS = {"eq": "__eq__", "ne": "__ne__", "gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__"}
_NO_VALUE = {"is_null", "is_not_null", "is_empty", "is_not_empty"}


@dataclass(frozen=True)
class RuleField:
    name: str
    type: FieldType
    description: str
    column: Callable[[], ColumnElement]
    choices: tuple[str, ...] = ()


def _field(name, type_, description, column, choices=()) -> RuleField:
    return RuleField(name, type_, description, column, tuple(choices))


def _values(enum) -> tuple[str, ...]:
    return tuple(v.value for v in enum)


c, cs = customers.c, customer_scores.c
_PROFILE_TEXT = ("province", "city", "neighbourhood", "occupation", "marital_status", "education", "income_band",
                 "lifestyle", "company_name", "email")
FIELDS: dict[str, RuleField] = {f.name: f for f in [
    _field("kind", FieldType.CHOICE, "Individual or organisation.", lambda: c.kind, _values(vocab.CustomerKind)),
    _field("gender", FieldType.CHOICE, "Gender, when known.", lambda: c.gender, _values(vocab.Gender)),
    _field("temperament", FieldType.CHOICE, "Temperament set by staff.", lambda: c.temperament,
           _values(vocab.Temperament)),
    *(_field(name, FieldType.TEXT, f"Profile: {name.replace('_', ' ')}.", lambda name=name: c[name])
      for name in _PROFILE_TEXT),
    _field("age", FieldType.NUMBER, "Age in whole years, from the birth date.",
           lambda: func.date_part("year", func.age(c.birth_date))),
    _field("tags", FieldType.LIST, "Tags on the profile.", lambda: c.tags),
    _field("interests", FieldType.LIST, "Interests on the profile.", lambda: c.interests),
    _field("traits", FieldType.LIST, "Traits, staff-set or inferred.",
           lambda: func.array_cat(c.staff_traits, cs.inferred_traits, type_=ARRAY(Text)),  # no scores: staff's
           _values(vocab.Trait)),
    _field("staff_traits", FieldType.LIST, "Traits set by staff.", lambda: c.staff_traits, _values(vocab.Trait)),
    _field("inferred_traits", FieldType.LIST, "Traits inferred by scoring.", lambda: cs.inferred_traits,
           _values(vocab.Trait)),
    *(_field(name, FieldType.BOOLEAN, f"Consent: {name[8:]}.", lambda name=name: c[name])
      for name in ("consent_sms", "consent_email", "consent_push")),
    _field("created_at", FieldType.TIME, "When the profile was created.", lambda: c.created_at),
    _field("acquired_at", FieldType.TIME, "When the customer was acquired.", lambda: c.acquired_at),
    _field("first_purchase_at", FieldType.TIME, "First purchase.", lambda: cs.first_purchase_at),
    _field("last_purchase_at", FieldType.TIME, "Latest purchase.", lambda: cs.last_purchase_at),
    _field("lifecycle_stage", FieldType.CHOICE, "Lifecycle stage (the profile's until first scored).",
           lambda: func.coalesce(cs.lifecycle_stage, c.lifecycle_stage), _values(vocab.LifecycleStage)),
    _field("customer_type", FieldType.CHOICE, "Customer type (persona).", lambda: cs.customer_type,
           _values(vocab.CustomerType)),
    _field("rfm_segment", FieldType.CHOICE, "Named RFM segment.", lambda: cs.rfm_segment, tuple(RFM_SEGMENTS)),
    _field("cluster", FieldType.NUMBER, "k-means cluster number (buyers only).", lambda: cs.cluster),
    _field("churn_risk", FieldType.NUMBER, "1 - probability alive.", lambda: 1.0 - cs.probability_alive),
    *(_field(name, FieldType.NUMBER, description, lambda name=name: cs[name]) for name, description in [
        ("clv", "Customer lifetime value."), ("probability_alive", "BG/NBD probability alive."),
        ("expected_purchases_90d", "Expected purchases in the next 90 days."), ("loyalty", "Loyalty index 0-100."),
        ("cost_to_serve", "Projected cost to serve."), ("net_value", "CLV minus projected cost to serve."),
        ("value", "Spend so far plus CLV."), ("total_spend", "Spend net of refunds."),
        ("monetary", "Mean repeat purchase value."), ("purchase_count", "Number of purchases."),
        ("frequency", "Repeat purchases (days with a purchase, less one)."), ("rfm_r", "RFM recency score 1-5."),
        ("rfm_f", "RFM frequency score 1-5."), ("rfm_m", "RFM monetary score 1-5."),
        ("lookalike", "Similarity of a lead to the top customers, 0-1.")]),
]}

PURCHASE_MEASURES = ("count", "spend")
INTERACTION_MEASURES = ("count", "staff_minutes")
AGGREGATE_OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte")


def _bad(path: str, message: str) -> DomainError:
    return DomainError(ErrorCode.INVALID, path, message)


# --- validation ------------------------------------------------------------------------------

@dataclass
class _Budget:
    nodes: int = 0


def validate(rule: Any, path: str = "rule") -> dict:
    """The rule, checked and normalised (what is stored); DomainError naming the
    offending path otherwise."""
    return _node(rule, path, 1, _Budget())


def _node(rule: Any, path: str, depth: int, budget: _Budget) -> dict:
    budget.nodes += 1
    if budget.nodes > MAX_NODES:
        raise _bad(path, f"a rule has at most {MAX_NODES} parts")
    if depth > MAX_DEPTH:
        raise _bad(path, f"a rule nests at most {MAX_DEPTH} levels")
    if not isinstance(rule, dict) or len(rule) != 1:
        raise _bad(path, "give exactly one of and, or, not, condition, purchases, interactions, campaign, inSegment")
    (key, body), = rule.items()
    where = f"{path}.{key}"
    if key in ("and", "or"):
        if not isinstance(body, list) or not body:
            raise _bad(where, f"{key} takes a non-empty list of rules")
        return {key: [_node(part, f"{where}.{i}", depth + 1, budget) for i, part in enumerate(body)]}
    if key == "not":
        return {"not": _node(body, where, depth + 1, budget)}
    if key == "inSegment":
        if not isinstance(body, int) or isinstance(body, bool) or body <= 0:
            raise _bad(where, "a segment id")
        return {"inSegment": body}
    checks = {"condition": _condition, "purchases": _purchases, "interactions": _interactions,
              "campaign": _campaign}
    if key not in checks:
        raise _bad(path, f"unknown rule part {key!r}")
    if not isinstance(body, dict):
        raise _bad(where, "an object")
    return {key: checks[key](body, where)}


def _only(body: dict, path: str, allowed: set[str]) -> None:
    unknown = set(body) - allowed
    if unknown:
        raise _bad(f"{path}.{sorted(unknown)[0]}", f"unknown; expected one of {', '.join(sorted(allowed))}")


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(path, "a number")
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise _bad(path, "a text of 1 to 500 characters")
    return value.strip()


def _choice(value: Any, path: str, choices: tuple[str, ...]) -> str:
    value = _string(value, path).lower()
    if choices and value not in choices:
        raise _bad(path, f"{value!r} is not one of {', '.join(choices)}")
    return value


def _time(value: Any, path: str) -> str:
    try:
        moment = datetime.fromisoformat(_string(value, path))
    except ValueError:
        raise _bad(path, "an ISO 8601 date or time") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _days(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_DAYS:
        raise _bad(path, f"a whole number of days, 1 to {MAX_DAYS}")
    return value


def _list(value: Any, path: str, item: Callable[[Any, str], Any]) -> list:
    if not isinstance(value, list) or not 0 < len(value) <= MAX_LIST:
        raise _bad(path, f"a list of 1 to {MAX_LIST} values")
    return [item(v, f"{path}.{i}") for i, v in enumerate(value)]


def field_of(name: Any, path: str) -> RuleField:
    """The catalogue field, or an attribute field for "attributes.<key>"."""
    if isinstance(name, str) and name.startswith("attributes."):
        key = name.removeprefix("attributes.")
        if not _ATTRIBUTE_KEY.match(key):
            raise _bad(path, "an attribute key is 1 to 64 letters, digits, _ or -")
        return RuleField(name, FieldType.ATTRIBUTE, "Custom attribute.", lambda: c.attributes[key])
    if name not in FIELDS:
        raise DomainError(ErrorCode.UNKNOWN_FIELD, path, f"unknown field {name!r}; see segmentRuleFields")
    return FIELDS[name]


def _condition(body: dict, path: str) -> dict:
    _only(body, path, {"field", "op", "value"})
    field = field_of(body.get("field"), f"{path}.field")
    op = body.get("op")
    if op not in OPERATORS[field.type]:
        raise DomainError(ErrorCode.WRONG_OPERATOR, f"{path}.op", f"{op!r} does not apply to a {field.type} "
                          f"field; use one of {', '.join(OPERATORS[field.type])}")
    raw, where = body.get("value"), f"{path}.value"
    if op in _NO_VALUE:
        if raw is not None:
            raise _bad(where, f"{op} takes no value")
        return {"field": field.name, "op": op}
    return {"field": field.name, "op": op, "value": _value(field, op, raw, where)}


def _value(field: RuleField, op: str, raw: Any, path: str) -> Any:
    kind = field.type
    if kind == FieldType.NUMBER:
        if op == "between":
            low, high = _list(raw, path, _number) if isinstance(raw, list) and len(raw) == 2 else (None, None)
            if low is None or low > high:
                raise _bad(path, "between takes [low, high] with low <= high")
            return [low, high]
        return _number(raw, path)
    if kind in (FieldType.TEXT, FieldType.CHOICE):
        # Choices are lower-case words; free text compares exactly (contains and starts_with ignore case).
        one = (lambda v, p: _choice(v, p, field.choices)) if kind == FieldType.CHOICE else _string
        return _list(raw, path, one) if op in ("in", "not_in") else one(raw, path)
    if kind == FieldType.LIST:
        if op == "contains":
            return _choice(raw, path, field.choices) if field.choices else _string(raw, path)
        return _list(raw, path, lambda v, p: _choice(v, p, field.choices) if field.choices else _string(v, p))
    if kind == FieldType.BOOLEAN:
        if not isinstance(raw, bool):
            raise _bad(path, "true or false")
        return raw
    if kind == FieldType.TIME:
        if op == "between":
            bounds = _list(raw, path, _time) if isinstance(raw, list) and len(raw) == 2 else None
            if bounds is None or bounds[0] > bounds[1]:
                raise _bad(path, "between takes [from, to] with from <= to")
            return bounds
        return _days(raw, path) if op.endswith("within_last_days") else _time(raw, path)
    # attributes
    if op in ("in", "not_in"):
        return _list(raw, path, _string)
    if op in ("gt", "gte", "lt", "lte"):
        return _number(raw, path)
    if isinstance(raw, bool | int | float) and op != "contains":
        return raw if isinstance(raw, bool) else _number(raw, path)
    return _string(raw, path)


def _aggregate(body: dict, path: str, measures: tuple[str, ...]) -> dict:
    measure = body.get("measure", "count")
    if measure not in measures:
        raise _bad(f"{path}.measure", f"one of {', '.join(measures)}")
    op = body.get("op")
    if op not in AGGREGATE_OPERATORS:
        raise DomainError(ErrorCode.WRONG_OPERATOR, f"{path}.op", f"one of {', '.join(AGGREGATE_OPERATORS)}")
    clean = {"measure": measure, "op": op, "value": _number(body.get("value"), f"{path}.value")}
    if body.get("withinDays") is not None:
        clean["withinDays"] = _days(body["withinDays"], f"{path}.withinDays")
    return clean


def _purchases(body: dict, path: str) -> dict:
    _only(body, path, {"measure", "op", "value", "withinDays", "category", "product"})
    clean = _aggregate(body, path, PURCHASE_MEASURES)
    for key in ("category", "product"):
        if body.get(key) is not None:
            clean[key] = _string(body[key], f"{path}.{key}")
    return clean


def _interactions(body: dict, path: str) -> dict:
    _only(body, path, {"measure", "op", "value", "withinDays", "kind"})
    clean = _aggregate(body, path, INTERACTION_MEASURES)
    if body.get("kind") is not None:
        clean["kind"] = _choice(body["kind"], f"{path}.kind", _values(vocab.InteractionKind))
    return clean


def _campaign(body: dict, path: str) -> dict:
    _only(body, path, {"event", "campaignId", "withinDays"})
    clean = {"event": _choice(body.get("event"), f"{path}.event", _values(vocab.CampaignEventKind))}
    if body.get("campaignId") is not None:
        if not isinstance(body["campaignId"], int) or isinstance(body["campaignId"], bool):
            raise _bad(f"{path}.campaignId", "a campaign id")
        clean["campaignId"] = body["campaignId"]
    if body.get("withinDays") is not None:
        clean["withinDays"] = _days(body["withinDays"], f"{path}.withinDays")
    return clean


def segment_references(rule: dict) -> set[int]:
    """Ids of the segments the rule asks membership of."""
    (key, body), = rule.items()
    if key in ("and", "or"):
        return set().union(*(segment_references(part) for part in body))
    if key == "not":
        return segment_references(body)
    return {body} if key == "inSegment" else set()


def depends_on_time(rule: dict) -> bool:
    """Whether the rule's answer changes as time passes with no new data (windows
    like "in the last 30 days"), so a schedule must re-evaluate it."""
    (key, body), = rule.items()
    if key in ("and", "or"):
        return any(depends_on_time(part) for part in body)
    if key == "not":
        return depends_on_time(body)
    if key == "condition":
        return body["op"].endswith("within_last_days") or body["field"] == "age"
    return isinstance(body, dict) and "withinDays" in body


def fields_read(rule: dict) -> set[str]:
    """The profile and score fields the rule's conditions test."""
    (key, body), = rule.items()
    if key in ("and", "or"):
        return set().union(*(fields_read(part) for part in body))
    if key == "not":
        return fields_read(body)
    return {body["field"]} if key == "condition" else set()


def uses_campaign_events(rule: dict) -> bool:
    """Whether the rule reads campaign engagement (so recording some must
    re-evaluate it for the customers engaged)."""
    (key, body), = rule.items()
    if key in ("and", "or"):
        return any(uses_campaign_events(part) for part in body)
    if key == "not":
        return uses_campaign_events(body)
    return key == "campaign"


# --- compilation ------------------------------------------------------------------------------

def compile_rule(rule: dict) -> ColumnElement[bool]:
    """A validated rule as a never-NULL boolean over `customers` and `customer_scores`."""
    (key, body), = rule.items()
    if key == "and":
        return and_(*(compile_rule(part) for part in body))
    if key == "or":
        return or_(*(compile_rule(part) for part in body))
    if key == "not":
        return not_(compile_rule(body))
    if key == "inSegment":
        m = segment_memberships.c
        return exists().where(m.workspace_id == c.workspace_id, m.segment_id == body, m.customer_id == c.id,
                              m.left_at.is_(None))
    compiled = {"condition": _compile_condition, "purchases": _compile_purchases,
                "interactions": _compile_interactions, "campaign": _compile_campaign}[key](body)
    return func.coalesce(compiled, false())


def _since(days: int) -> ColumnElement:
    return func.now() - func.make_interval(0, 0, 0, literal(days))


def _compile_condition(body: dict) -> ColumnElement[bool]:
    field = field_of(body["field"], "field")
    column, op, value = field.column(), body["op"], body.get("value")
    if field.type == FieldType.ATTRIBUTE:
        return _compile_attribute(column, op, value)
    if op == "is_null":
        return column.is_(None)
    if op == "is_not_null":
        return column.is_not(None)
    if field.type == FieldType.TIME:
        return _compile_time(column, op, value)
    if field.type == FieldType.LIST:
        return {"contains": lambda: column.contains([value]), "contains_any": lambda: column.overlap(value),
                "contains_all": lambda: column.contains(value),
                "is_empty": lambda: func.cardinality(column) == 0,
                "is_not_empty": lambda: func.cardinality(column) > 0}[op]()
    if op in _COMPARISONS:
        return getattr(column, _COMPARISONS[op])(value)
    if op == "between":
        return column.between(*value)
    if op in ("in", "not_in"):
        return column.in_(value) if op == "in" else column.not_in(value)
    needle = normalize_search(value)
    folded = func.lower(column)
    return folded.contains(needle.lower(), autoescape=True) if op == "contains" \
        else folded.startswith(needle.lower(), autoescape=True)


def _compile_time(column, op: str, value) -> ColumnElement[bool]:
    if op == "within_last_days":
        return column >= _since(value)
    if op == "not_within_last_days":
        return column < _since(value)
    if op == "between":
        return column.between(datetime.fromisoformat(value[0]), datetime.fromisoformat(value[1]))
    moment = datetime.fromisoformat(value)
    return column < moment if op == "before" else column > moment


def _compile_attribute(node, op: str, value) -> ColumnElement[bool]:
    as_text = node.astext
    if op == "is_null":
        return node.is_(None)
    if op == "is_not_null":
        return node.is_not(None)
    if op in ("gt", "gte", "lt", "lte"):
        number = func.jsonb_typeof(node) == "number"
        return and_(number, getattr(cast(as_text, Float), _COMPARISONS[op])(value))
    if op in ("in", "not_in"):
        return as_text.in_(value) if op == "in" else as_text.not_in(value)
    if op == "contains":
        return func.lower(as_text).contains(value.lower(), autoescape=True)
    # eq / ne compare JSON values, so 3 and "3" differ as they do in the document
    matches = node == cast(literal(value, JSONB), JSONB)
    return matches if op == "eq" else and_(node.is_not(None), not_(matches))


def _compare(measure: ColumnElement, op: str, value: float) -> ColumnElement[bool]:
    return getattr(measure, _COMPARISONS[op])(value)


def _compile_purchases(body: dict) -> ColumnElement[bool]:
    p, item = purchases.c, purchase_items.c
    window = [p.workspace_id == c.workspace_id, p.customer_id == c.id]
    if "withinDays" in body:
        window.append(p.purchased_at >= _since(body["withinDays"]))
    if "category" in body or "product" in body:
        # Over the matching lines: an order counts if it has one; spend is theirs.
        lines = [item.workspace_id == p.workspace_id, item.purchase_id == p.id]
        if "category" in body:
            lines.append(item.category == body["category"])
        if "product" in body:
            lines.append(item.product == body["product"])
        joined = purchases.join(purchase_items, and_(*lines))
        measure = func.count(func.distinct(p.id)).filter(item.amount > 0) if body["measure"] == "count" \
            else func.coalesce(func.sum(item.amount), 0)
        source = select(measure).select_from(joined)
    else:
        measure = func.count().filter(p.total > 0) if body["measure"] == "count" \
            else func.coalesce(func.sum(p.total), 0)
        source = select(measure)
    return _compare(source.where(*window).scalar_subquery(), body["op"], body["value"])


def _compile_interactions(body: dict) -> ColumnElement[bool]:
    i = interactions.c
    where = [i.workspace_id == c.workspace_id, i.customer_id == c.id]
    if "withinDays" in body:
        where.append(i.occurred_at >= _since(body["withinDays"]))
    if "kind" in body:
        where.append(i.kind == body["kind"])
    measure = func.count() if body["measure"] == "count" else func.coalesce(func.sum(i.staff_minutes), 0)
    return _compare(select(measure).where(*where).scalar_subquery(), body["op"], body["value"])


def _compile_campaign(body: dict) -> ColumnElement[bool]:
    e = campaign_events.c
    where = [e.workspace_id == c.workspace_id, e.customer_id == c.id, e.kind == body["event"]]
    if "campaignId" in body:
        where.append(e.campaign_id == body["campaignId"])
    if "withinDays" in body:
        where.append(e.occurred_at >= _since(body["withinDays"]))
    return exists().where(*where)

