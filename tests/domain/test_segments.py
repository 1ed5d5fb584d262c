"""Segments on a real PostgreSQL: every operator of every field type against a
plain-Python expectation, rule validation errors, membership with history and
events, incremental and full recomputation agreeing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert, select, update

from domain import segment_membership, segments
from domain.customers import delete_customer, update_customer
from domain.db import unit_of_work
from domain.errors import DomainError, ErrorCode
from domain.events import EventKind, events_after, last_seq
from domain.recording import InteractionInput, ItemInput, PurchaseInput, record_interaction, record_purchase
from domain.tables import customer_scores, customers, segment_memberships
from domain.vocab import InteractionKind, SegmentKind
from tests.helpers import new_workspace

NOW = datetime.now(UTC)

# name: (profile, scores or None); scores: clv, probability_alive, customer_type, lifecycle_stage, rfm_segment
PEOPLE = {
    "ava": ({"city": "Tehran", "gender": "female", "tags": ["vip", "coffee"], "consent_sms": True,
             "attributes": {"tier": "gold", "visits": 12}, "birth_date": datetime(1990, 5, 1).date()},
            (9_000_000.0, 0.9, "tribe", "loyal", "champions")),
    "ben": ({"city": "Shiraz", "gender": "male", "tags": ["coffee"], "staff_traits": ["bargainer"],
             "attributes": {"tier": "silver", "visits": "3"}},
            (1_000_000.0, 0.2, "churner", "at_risk", "at_risk")),
    "cyrus": ({"city": "tehran", "kind": "organisation", "company_name": "Cyrus Trading Co"},
              (4_000_000.0, 0.5, "vampire", "active", "need_attention")),
    "dara": ({"city": None, "lifecycle_stage": "lead"}, None),
}


async def _person(conn, workspace_id, name, profile, scores):
    cid = await conn.scalar(insert(customers).values(workspace_id=workspace_id, first_name=name, external_id=name,
                                                     **profile).returning(customers.c.id))
    if scores:
        clv, alive, kind, stage, rfm = scores
        await conn.execute(insert(customer_scores).values(
            workspace_id=workspace_id, customer_id=cid, purchase_count=3, frequency=2, recency=10.0, tenure=40.0,
            monetary=100.0, total_spend=clv / 10, clv=clv, probability_alive=alive, customer_type=kind,
            lifecycle_stage=stage, rfm_segment=rfm, inferred_traits=["fault_finder"] if name == "cyrus" else [],
            last_purchase_at=NOW - timedelta(days=10 if name == "ava" else 200)))
    return cid


@pytest.fixture(scope="module")
async def shop(engine):
    ws = await new_workspace(engine, "seg")
    async with unit_of_work(engine) as conn:
        ids = {name: await _person(conn, ws.id, name, *spec) for name, spec in PEOPLE.items()}
        await conn.execute(update(customers).where(customers.c.id == ids["dara"])
                           .values(created_at=NOW - timedelta(days=400)))
    return ws.id, ids


def _cond(field, op, value=None):
    body = {"field": field, "op": op}
    if value is not None:
        body["value"] = value
    return {"condition": body}


CASES = [
    # number
    (_cond("clv", "gte", 4_000_000), {"ava", "cyrus"}),
    (_cond("clv", "eq", 1_000_000), {"ben"}),
    (_cond("clv", "ne", 1_000_000), {"ava", "cyrus"}),
    (_cond("clv", "gt", 4_000_000), {"ava"}),
    (_cond("clv", "lt", 4_000_000), {"ben"}),
    (_cond("clv", "lte", 4_000_000), {"ben", "cyrus"}),
    (_cond("clv", "between", [500_000, 5_000_000]), {"ben", "cyrus"}),
    (_cond("clv", "is_null"), {"dara"}),
    (_cond("clv", "is_not_null"), {"ava", "ben", "cyrus"}),
    (_cond("churn_risk", "gte", 0.5), {"ben", "cyrus"}),
    (_cond("age", "gte", 18), {"ava"}),
    # choice
    (_cond("customer_type", "eq", "TRIBE"), {"ava"}),
    (_cond("customer_type", "ne", "tribe"), {"ben", "cyrus"}),
    (_cond("lifecycle_stage", "in", ["lead", "at_risk"]), {"ben", "dara"}),
    (_cond("rfm_segment", "not_in", ["champions"]), {"ben", "cyrus"}),
    (_cond("gender", "is_null"), {"cyrus", "dara"}),
    (_cond("kind", "eq", "organisation"), {"cyrus"}),
    # text
    (_cond("city", "eq", "Tehran"), {"ava"}),
    (_cond("city", "in", ["Tehran", "Shiraz"]), {"ava", "ben"}),
    (_cond("city", "not_in", ["Shiraz"]), {"ava", "cyrus"}),
    (_cond("city", "contains", "EHR"), {"ava", "cyrus"}),
    (_cond("city", "starts_with", "sh"), {"ben"}),
    (_cond("company_name", "contains", "100%"), set()),  # wildcards are literal
    (_cond("city", "is_not_null"), {"ava", "ben", "cyrus"}),
    # list
    (_cond("tags", "contains", "vip"), {"ava"}),
    (_cond("tags", "contains_any", ["vip", "coffee"]), {"ava", "ben"}),
    (_cond("tags", "contains_all", ["vip", "coffee"]), {"ava"}),
    (_cond("tags", "is_empty"), {"cyrus", "dara"}),
    (_cond("tags", "is_not_empty"), {"ava", "ben"}),
    (_cond("traits", "contains_any", ["bargainer", "fault_finder"]), {"ben", "cyrus"}),
    # boolean
    (_cond("consent_sms", "eq", True), {"ava"}),
    (_cond("consent_sms", "eq", False), {"ben", "cyrus", "dara"}),
    # time
    (_cond("last_purchase_at", "within_last_days", 30), {"ava"}),
    (_cond("last_purchase_at", "not_within_last_days", 30), {"ben", "cyrus"}),
    (_cond("created_at", "before", (NOW - timedelta(days=100)).isoformat()), {"dara"}),
    (_cond("created_at", "after", (NOW - timedelta(days=100)).isoformat()), {"ava", "ben", "cyrus"}),
    (_cond("created_at", "between", [(NOW - timedelta(days=500)).isoformat(),
                                     (NOW - timedelta(days=300)).isoformat()]), {"dara"}),
    (_cond("first_purchase_at", "is_null"), {"ava", "ben", "cyrus", "dara"}),
    # custom attributes
    (_cond("attributes.tier", "eq", "gold"), {"ava"}),
    (_cond("attributes.tier", "ne", "gold"), {"ben"}),
    (_cond("attributes.tier", "in", ["gold", "silver"]), {"ava", "ben"}),
    (_cond("attributes.tier", "not_in", ["gold"]), {"ben"}),
    (_cond("attributes.tier", "contains", "OLD"), {"ava"}),
    (_cond("attributes.visits", "gte", 10), {"ava"}),  # "3" is text, not a number
    (_cond("attributes.visits", "lt", 10), set()),
    (_cond("attributes.visits", "eq", 12), {"ava"}),
    (_cond("attributes.visits", "eq", "3"), {"ben"}),
    (_cond("attributes.tier", "is_null"), {"cyrus", "dara"}),
    (_cond("attributes.tier", "is_not_null"), {"ava", "ben"}),
    # trees
    ({"and": [_cond("city", "contains", "tehran"), _cond("clv", "gte", 5_000_000)]}, {"ava"}),
    ({"or": [_cond("customer_type", "eq", "vampire"), _cond("tags", "contains", "vip")]}, {"ava", "cyrus"}),
    ({"not": _cond("clv", "gte", 4_000_000)}, {"ben", "dara"}),  # no scores counts as not matching
    ({"not": {"not": _cond("gender", "eq", "male")}}, {"ben"}),
]


@pytest.mark.parametrize(("rule", "expected"), CASES, ids=[str(i) for i in range(len(CASES))])
async def test_each_operator_selects_what_it_says(engine, shop, rule, expected):
    workspace_id, ids = shop
    async with unit_of_work(engine) as conn:
        found = await segments.preview(conn, workspace_id, rule, sample=50)
    names = {name for name, cid in ids.items() if cid in found.sample_ids}
    assert names == expected
    assert found.size == len(expected) and found.workspace_size == len(ids)


async def test_a_rule_and_its_negation_split_the_workspace(engine, shop):
    workspace_id, ids = shop
    async with unit_of_work(engine) as conn:
        for rule, _ in CASES:
            yes = await segments.preview(conn, workspace_id, rule)
            no = await segments.preview(conn, workspace_id, {"not": rule})
            assert yes.size + no.size == len(ids), rule


@pytest.mark.parametrize(("rule", "code", "field"), [
    (_cond("shoe_size", "eq", 42), ErrorCode.UNKNOWN_FIELD, "rule.condition.field"),
    (_cond("clv", "contains", "x"), ErrorCode.WRONG_OPERATOR, "rule.condition.op"),
    (_cond("tags", "gte", 3), ErrorCode.WRONG_OPERATOR, "rule.condition.op"),
    (_cond("clv", "gte", "lots"), ErrorCode.INVALID, "rule.condition.value"),
    (_cond("clv", "between", [5, 1]), ErrorCode.INVALID, "rule.condition.value"),
    (_cond("customer_type", "eq", "whale"), ErrorCode.INVALID, "rule.condition.value"),
    (_cond("created_at", "before", "yesterday"), ErrorCode.INVALID, "rule.condition.value"),
    (_cond("clv", "is_null", 3), ErrorCode.INVALID, "rule.condition.value"),
    ({"and": []}, ErrorCode.INVALID, "rule.and"),
    ({"and": [_cond("clv", "gte", 1), {"xor": []}]}, ErrorCode.INVALID, "rule.and.1"),
    ({"purchases": {"op": "gte", "value": 1, "withinDays": 0}}, ErrorCode.INVALID, "rule.purchases.withinDays"),
    ({"purchases": {"op": "like", "value": 1}}, ErrorCode.WRONG_OPERATOR, "rule.purchases.op"),
    ({"interactions": {"kind": "hug", "op": "gte", "value": 1}}, ErrorCode.INVALID, "rule.interactions.kind"),
    (_cond("attributes.bad key", "eq", 1), ErrorCode.INVALID, "rule.condition.field"),
    ({"inSegment": 999_999_999}, ErrorCode.NOT_FOUND, "rule"),
])
async def test_bad_rules_are_refused_with_a_code_and_a_path(engine, shop, rule, code, field):
    workspace_id, _ = shop
    with pytest.raises(DomainError) as refused:
        async with unit_of_work(engine) as conn:
            await segments.create_segment(conn, workspace_id, "bad", SegmentKind.RULE, rule)
    assert (refused.value.code, refused.value.field) == (code, field)


async def test_too_deep_a_rule_is_refused(engine, shop):
    rule = _cond("clv", "gte", 1)
    for _ in range(20):
        rule = {"not": rule}
    with pytest.raises(DomainError, match="nests at most"):
        async with unit_of_work(engine) as conn:
            await segments.preview(conn, shop[0], rule)


async def test_cycles_between_segments_are_refused(engine, shop):
    workspace_id, _ = shop
    async with unit_of_work(engine) as conn:
        a = await segments.create_segment(conn, workspace_id, "A", SegmentKind.RULE, _cond("clv", "gte", 1))
        b = await segments.create_segment(conn, workspace_id, "B", SegmentKind.RULE, {"inSegment": a.id})
        c = await segments.create_segment(conn, workspace_id, "C", SegmentKind.RULE, {"inSegment": b.id})
    with pytest.raises(DomainError) as refused:
        async with unit_of_work(engine) as conn:
            await segments.update_segment(conn, workspace_id, a.id, rule={"not": {"inSegment": c.id}})
    assert refused.value.code == ErrorCode.CYCLE
    with pytest.raises(DomainError) as refused:
        async with unit_of_work(engine) as conn:
            await segments.update_segment(conn, workspace_id, a.id, rule={"inSegment": a.id})
    assert refused.value.code == ErrorCode.CYCLE
    with pytest.raises(DomainError) as refused:
        async with unit_of_work(engine) as conn:
            await segments.delete_segment(conn, workspace_id, b.id)
    assert refused.value.code == ErrorCode.CONFLICT


async def _members(conn, segment_id) -> set[int]:
    m = segment_memberships.c
    return set(await conn.scalars(select(m.customer_id).where(m.segment_id == segment_id, m.left_at.is_(None))))


async def test_memberships_follow_changes_with_history_and_ordered_events(engine):
    ws = await new_workspace(engine, "flow")
    async with unit_of_work(engine) as conn:
        ids = {name: await _person(conn, ws.id, name, *spec) for name, spec in PEOPLE.items()}
        start = await last_seq(conn, ws.id)
        tehran = await segments.create_segment(conn, ws.id, "Tehran", SegmentKind.RULE,
                                               _cond("city", "contains", "tehran"))
        # built on the first: Tehran customers worth a lot
        rich = await segments.create_segment(conn, ws.id, "Rich Tehran", SegmentKind.RULE,
                                             {"and": [{"inSegment": tehran.id}, _cond("clv", "gte", 5_000_000)]})
        assert await _members(conn, tehran.id) == {ids["ava"], ids["cyrus"]}
        assert await _members(conn, rich.id) == {ids["ava"]}
    async with unit_of_work(engine) as conn:
        await update_customer(conn, ws.id, ids["ben"], {"city": "Tehran"}, "IR")
        await update_customer(conn, ws.id, ids["ava"], {"city": "Isfahan"}, "IR")
        assert await _members(conn, tehran.id) == {ids["ben"], ids["cyrus"]}
        assert await _members(conn, rich.id) == set()
        seen = await events_after(conn, ws.id, start)
    assert [e.seq for e in seen] == list(range(start + 1, start + 1 + len(seen)))
    # (the built-in segments move too, the first time these customers are evaluated)
    mine = [(e.kind, e.segment_id, e.customer_id) for e in seen if e.segment_id in (None, tehran.id, rich.id)]
    assert mine[-5:] == [
        (EventKind.CUSTOMER_UPDATED, None, ids["ben"]), (EventKind.SEGMENT_ENTERED, tehran.id, ids["ben"]),
        (EventKind.CUSTOMER_UPDATED, None, ids["ava"]), (EventKind.SEGMENT_LEFT, tehran.id, ids["ava"]),
        (EventKind.SEGMENT_LEFT, rich.id, ids["ava"])]
    assert seen[-1].payload["reason"] == "customer updated"
    async with unit_of_work(engine) as conn:
        m = segment_memberships.c
        stays = list(await conn.execute(select(m.entered_at, m.left_at).where(m.segment_id == tehran.id,
                                                                            m.customer_id == ids["ava"])))
        assert len(stays) == 1 and stays[0].left_at is not None
        await delete_customer(conn, ws.id, ids["cyrus"])
        assert await _members(conn, tehran.id) == {ids["ben"]}


async def test_purchases_and_interactions_move_customers_in_the_same_transaction(engine):
    ws = await new_workspace(engine, "buy")
    async with unit_of_work(engine) as conn:
        cid = await _person(conn, ws.id, "eve", {}, None)
        regular = await segments.create_segment(conn, ws.id, "Two orders this month", SegmentKind.RULE,
                                                {"purchases": {"measure": "count", "op": "gte", "value": 2,
                                                               "withinDays": 30}})
        coffee = await segments.create_segment(conn, ws.id, "Coffee spenders", SegmentKind.RULE,
                                               {"purchases": {"measure": "spend", "op": "gte", "value": 100,
                                                              "category": "coffee"}})
        unhappy = await segments.create_segment(conn, ws.id, "Complained lately", SegmentKind.RULE,
                                                {"interactions": {"kind": "complaint", "op": "gte", "value": 1,
                                                                  "withinDays": 90}})
        for amount, category in ((Decimal(80), "coffee"), (Decimal(50), "tea"), (Decimal(30), "coffee")):
            await record_purchase(conn, ws.id, PurchaseInput(cid, [ItemInput("x", amount, category=category)]),
                                  "IRR")
        old = datetime.now(UTC) - timedelta(days=200)
        await record_interaction(conn, ws.id, InteractionInput(cid, InteractionKind.COMPLAINT, occurred_at=old))
        assert await _members(conn, regular.id) == {cid}
        assert await _members(conn, coffee.id) == {cid}
        assert await _members(conn, unhappy.id) == set()
        await record_interaction(conn, ws.id, InteractionInput(cid, InteractionKind.COMPLAINT))
        assert await _members(conn, unhappy.id) == {cid}


async def test_full_and_incremental_recomputation_agree(engine):
    ws = await new_workspace(engine, "agree")
    rules = [_cond("city", "contains", "tehran"), _cond("clv", "gte", 2_000_000),
             {"or": [_cond("tags", "contains", "vip"), _cond("customer_type", "eq", "churner")]}]
    async with unit_of_work(engine) as conn:
        ids = {name: await _person(conn, ws.id, name, *spec) for name, spec in PEOPLE.items()}
        made = [await segments.create_segment(conn, ws.id, f"S{i}", SegmentKind.RULE, r) for i, r in enumerate(rules)]
        await segment_membership.sync(conn, ws.id, "baseline")  # the built-in segments too
        # incremental changes, each followed by its own sync
        await update_customer(conn, ws.id, ids["dara"], {"city": "Tehran", "tags": ["vip"]}, "IR")
        await update_customer(conn, ws.id, ids["ava"], {"tags": []}, "IR")
        incremental = {s.id: await _members(conn, s.id) for s in made}
        # a full pass over everyone finds nothing to change
        assert await segment_membership.sync(conn, ws.id, "check") == 0
        # and from scratch (memberships wiped) it builds the same sets
        await conn.execute(segment_memberships.delete().where(segment_memberships.c.workspace_id == ws.id))
        await segment_membership.sync(conn, ws.id, "rebuild")
        assert {s.id: await _members(conn, s.id) for s in made} == incremental
    assert incremental[made[0].id] == {ids["ava"], ids["cyrus"], ids["dara"]}


async def test_manual_segments_and_deleting_a_segment(engine, shop):
    workspace_id, ids = shop
    async with unit_of_work(engine) as conn:
        vips = await segments.create_segment(conn, workspace_id, "Hand-picked", SegmentKind.MANUAL)
        await segments.change_manual_members(conn, workspace_id, vips.id, [ids["ava"], ids["ben"]], True)
        await segments.change_manual_members(conn, workspace_id, vips.id, [ids["ben"]], False)
        assert await _members(conn, vips.id) == {ids["ava"]}
        value = await segments.segment_value(conn, workspace_id, vips.id)
        assert value.size == 1 and value.total_clv == 9_000_000
        with pytest.raises(DomainError) as refused:
            await segments.change_manual_members(conn, workspace_id, vips.id, [10**12], True)
        assert refused.value.code == ErrorCode.NOT_FOUND
    async with unit_of_work(engine) as conn:
        await segments.delete_segment(conn, workspace_id, vips.id)
        assert await _members(conn, vips.id) == set()
        assert vips.id not in await segments.segments_by_id(conn, workspace_id, [vips.id])


async def test_builtin_segments_exist_and_cannot_be_edited(engine, shop):
    workspace_id, ids = shop
    async with unit_of_work(engine) as conn:
        found = {s.key: s for s in await segments.list_segments(conn, workspace_id, ["builtin"])}
        assert {"rfm:champions", "type:tribe", "stage:lead"} <= found.keys() and len(found) == 24
        with pytest.raises(DomainError) as refused:
            await segments.update_segment(conn, workspace_id, found["type:tribe"].id, rule=_cond("clv", "gte", 0))
        assert refused.value.code == ErrorCode.READ_ONLY
        await segment_membership.sync(conn, workspace_id, "test")
        assert await _members(conn, found["type:tribe"].id) == {ids["ava"]}
        assert await _members(conn, found["stage:lead"].id) == {ids["dara"]}


async def test_overlap_and_migration_between_dates(engine, shop):
    workspace_id, ids = shop
    async with unit_of_work(engine) as conn:
        found = {s.key: s.id for s in await segments.list_segments(conn, workspace_id, ["builtin"])}
        await segment_membership.sync(conn, workspace_id, "test")
        loyal, vampires = found["stage:loyal"], found["type:vampire"]
        tehran = await segments.create_segment(conn, workspace_id, "Tehranis", SegmentKind.RULE,
                                               _cond("city", "contains", "tehran"))
        assert await segments.overlap(conn, workspace_id, tehran.id, vampires) == (2, 1, 1)
        before = await conn.scalar(select(segment_memberships.c.entered_at).where(
            segment_memberships.c.segment_id == loyal, segment_memberships.c.customer_id == ids["ava"]))
    async with unit_of_work(engine) as conn:
        await conn.execute(update(customer_scores).where(customer_scores.c.customer_id == ids["ava"])
                           .values(lifecycle_stage="active"))
        await segment_membership.sync(conn, workspace_id, "test")
    async with unit_of_work(engine) as conn:
        active = found["stage:active"]
        moved = await segments.migration(conn, workspace_id, [loyal, active], before,
                                         datetime.now(UTC) + timedelta(seconds=1))
        assert (loyal, active, 1) in moved and (active, active, 1) in moved
        sizes = await segments.size_history(conn, workspace_id, loyal, [before,
                                                                          datetime.now(UTC)])
        assert sizes == [1, 0]
