"""customerMerge: the survivor takes over the merged record's history, fills
its empty fields from it, and is rescored; bad input changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select, update

from domain.db import unit_of_work
from domain.events import EventKind
from domain.tables import customer_scores, customers, events, interactions, notes, purchases, segment_memberships
from gql_api.ids import from_global_id, to_global_id
from tests.gql_api.conftest import graphql

MERGE = ("mutation($survivor: ID!, $merged: ID!) { customerMerge(input: {survivorId: $survivor, mergedId: $merged}) "
         "{ customer { id email tags externalId } userErrors { field code } } }")
SEGMENT = ('mutation { segmentCreate(input: {name: "Merge VIPs", kind: MANUAL}) { segment { id } '
           'userErrors { code } } }')
ADD = ("mutation($segment: ID!, $ids: [ID!]!) { segmentMembersAdd(input: {segmentId: $segment, customerIds: $ids}) "
       "{ userErrors { code } } }")


async def _history(conn, workspace_id: int, pk: int) -> dict:
    counts = {}
    for table in (purchases, notes, interactions):
        counts[table.name] = await conn.scalar(select(func.count()).select_from(table).where(
            table.c.workspace_id == workspace_id, table.c.customer_id == pk))
    return counts


async def _two_buyers(conn, workspace_id: int) -> tuple[int, int]:
    buyers = await conn.scalars(select(purchases.c.customer_id).where(purchases.c.workspace_id == workspace_id)
                                .group_by(purchases.c.customer_id).order_by(purchases.c.customer_id).limit(2))
    return tuple(buyers)


async def test_the_survivor_takes_over_history_fields_and_segments(http, engine, shop):
    workspace_id, key = shop["workspace"].id, shop["admin"]
    async with unit_of_work(engine) as conn:
        survivor, merged = await _two_buyers(conn, workspace_id)
        await conn.execute(update(customers).where(customers.c.id == survivor).values(
            email=None, external_id=None, tags=["vip"]))
        await conn.execute(update(customers).where(customers.c.id == merged).values(
            email="second.record@example.com", external_id="DUP-1", tags=["b2b", "vip"]))
        await conn.execute(notes.insert().values(workspace_id=workspace_id, customer_id=merged, body="On the duplicate",
                                                 author="test", kind="note"))
        before = {pk: await _history(conn, workspace_id, pk) for pk in (survivor, merged)}
    segment = (await graphql(http, SEGMENT, key))["data"]["segmentCreate"]["segment"]["id"]
    await graphql(http, ADD, key, segment=segment, ids=[to_global_id("Customer", merged)])

    body = await graphql(http, MERGE, key, survivor=to_global_id("Customer", survivor),
                         merged=to_global_id("Customer", merged))
    payload = body["data"]["customerMerge"]
    assert payload["userErrors"] == []
    assert payload["customer"] == {"id": to_global_id("Customer", survivor), "email": "second.record@example.com",
                                   "tags": ["b2b", "vip"], "externalId": "DUP-1"}
    async with unit_of_work(engine) as conn:
        after = await _history(conn, workspace_id, survivor)
        assert after == {t: before[survivor][t] + before[merged][t] for t in after}
        assert await _history(conn, workspace_id, merged) == {t: 0 for t in after}
        scored = await conn.scalar(select(customer_scores.c.purchase_count).where(
            customer_scores.c.workspace_id == workspace_id, customer_scores.c.customer_id == survivor))
        assert scored == after["purchases"]  # rescored over both records' purchases
        assert await conn.scalar(select(func.count()).select_from(customer_scores).where(
            customer_scores.c.workspace_id == workspace_id, customer_scores.c.customer_id == merged)) == 0
        open_stays = {r.customer_id for r in await conn.execute(select(segment_memberships.c.customer_id).where(
            segment_memberships.c.segment_id == from_global_id(segment, "Segment"),
            segment_memberships.c.left_at.is_(None)))}
        assert open_stays == {survivor}
        assert await conn.scalar(select(func.count()).select_from(segment_memberships).where(
            segment_memberships.c.customer_id == merged, segment_memberships.c.left_at.is_(None))) == 0
        announced = (await conn.execute(select(events.c.payload).where(
            events.c.workspace_id == workspace_id, events.c.kind == EventKind.CUSTOMER_MERGED.value,
            events.c.customer_id == merged))).scalar_one()
        assert announced["mergedInto"] == survivor
    gone = await graphql(http, "query($id: ID!) { customer(id: $id) { id } }", key,
                         id=to_global_id("Customer", merged))
    assert gone["data"]["customer"] is None


async def test_bad_merges_are_refused_and_change_nothing(http, engine, shop):
    workspace_id, key = shop["workspace"].id, shop["admin"]
    async with unit_of_work(engine) as conn:
        first = await conn.scalar(select(func.max(customers.c.id)).where(customers.c.workspace_id == workspace_id,
                                                                         customers.c.deleted_at.is_(None)))
        history = await _history(conn, workspace_id, first)
    live = to_global_id("Customer", first)
    for survivor, merged, error in [(live, live, {"field": ["mergedId"], "code": "INVALID"}),
                                    (to_global_id("Customer", 10**12), live, {"field": ["survivorId"],
                                                                              "code": "NOT_FOUND"}),
                                    (live, "garbage", {"field": ["mergedId"], "code": "INVALID"})]:
        payload = (await graphql(http, MERGE, key, survivor=survivor, merged=merged))["data"]["customerMerge"]
        assert payload["customer"] is None and payload["userErrors"] == [error], (survivor, merged)
    async with unit_of_work(engine) as conn:
        assert await _history(conn, workspace_id, first) == history
        assert await conn.scalar(select(customers.c.deleted_at).where(customers.c.id == first)) is None
