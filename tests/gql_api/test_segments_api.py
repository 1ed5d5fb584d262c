"""Segments over HTTP: create, preview, edit, delete, manual members, filters
and analytics, with typed errors, role checks and the change feed."""

from __future__ import annotations

import pytest

from tests.gql_api.conftest import graphql

SEGMENT_CREATE = """
mutation Create($input: SegmentCreateInput!) {
  segmentCreate(input: $input) {
    segment { id key name kind rule size }
    userErrors { field code message }
  }
}"""
SEGMENT_UPDATE = """
mutation Update($input: SegmentUpdateInput!) {
  segmentUpdate(input: $input) { segment { id rule size } userErrors { field code message } }
}"""
SEGMENT_DELETE = """
mutation Delete($input: SegmentDeleteInput!) {
  segmentDelete(input: $input) { segment { id } userErrors { field code message } }
}"""
MEMBERS_ADD = """
mutation Add($input: SegmentMembersInput!) {
  segmentMembersAdd(input: $input) { segment { id size } userErrors { field code message } }
}"""
PREVIEW = """
query Preview($rule: SegmentRuleInput!) {
  previewSegment(rule: $rule, sample: 3) { size workspaceSize share totalClv sample { id } }
}"""
MEMBERS = """
query Members($segment: ID!) {
  customers(first: 100, filter: {segments: [$segment]}) { totalCount edges { node { id segments { id key } } } }
}"""
CHANGES = """
query Changes($after: String, $ids: [ID!]) {
  segmentChanges(after: $after, first: 1000, segmentIds: $ids) {
    edges { cursor node { eventId change segmentId customerId reason } }
    pageInfo { hasNextPage endCursor }
  }
}"""

HIGH_VALUE = {"condition": {"field": "clv", "op": "GTE", "value": 0}}
BUYERS = {"and": [{"purchases": {"op": "GTE", "value": 1}},
                  {"not": {"condition": {"field": "lifecycleStage", "op": "IN", "value": ["LEAD", "prospect"]}}}]}


async def test_a_rule_segment_is_previewed_saved_and_its_members_listed(http, shop):
    key = shop["admin"]
    preview = (await graphql(http, PREVIEW, key, rule=BUYERS))["data"]["previewSegment"]
    assert 0 < preview["size"] < preview["workspaceSize"] == 400
    assert len(preview["sample"]) == 3 and preview["share"] == pytest.approx(preview["size"] / 400)

    made = (await graphql(http, SEGMENT_CREATE, key, input={"name": "Buyers", "rule": BUYERS}))["data"]
    segment = made["segmentCreate"]["segment"]
    assert made["segmentCreate"]["userErrors"] == []
    assert segment["kind"] == "RULE" and segment["key"] == "buyers" and segment["size"] == preview["size"]
    # the stored rule reads back in the input's shape, normalised
    assert segment["rule"]["and"][1]["not"]["condition"] == {"field": "lifecycleStage", "op": "IN",
                                                             "value": ["lead", "prospect"]}
    again = (await graphql(http, PREVIEW, key, rule=segment["rule"]))["data"]["previewSegment"]
    assert again["size"] == preview["size"]

    members = (await graphql(http, MEMBERS, key, segment=segment["id"]))["data"]["customers"]
    assert members["totalCount"] == preview["size"]
    assert all(segment["id"] in {s["id"] for s in e["node"]["segments"]} for e in members["edges"])
    # built-in segments show on customers too
    keys = {s["key"] for e in members["edges"] for s in e["node"]["segments"]}
    assert any(k.startswith("rfm:") for k in keys) and any(k.startswith("stage:") for k in keys)


async def test_rule_errors_are_typed_and_name_the_path(http, shop):
    key = shop["admin"]
    cases = [
        ({"condition": {"field": "shoeSize", "op": "EQ", "value": 1}}, "UNKNOWN_FIELD",
         ["rule", "condition", "field"]),
        ({"and": [HIGH_VALUE, {"condition": {"field": "tags", "op": "GTE", "value": 1}}]}, "WRONG_OPERATOR",
         ["rule", "and", "1", "condition", "op"]),
        ({"condition": {"field": "clv", "op": "BETWEEN", "value": [3, 1]}}, "INVALID",
         ["rule", "condition", "value"]),
        ({"inSegment": "not-an-id"}, "INVALID", ["rule", "inSegment"]),
    ]
    for rule, code, field in cases:
        result = (await graphql(http, SEGMENT_CREATE, key, input={"name": "Bad", "rule": rule}))["data"]
        assert result["segmentCreate"]["segment"] is None
        assert [(e["code"], e["field"]) for e in result["segmentCreate"]["userErrors"]] == [(code, field)]
    two = (await graphql(http, SEGMENT_CREATE, key, input={"name": "Two", "rule": {
        "condition": {"field": "clv", "op": "GTE", "value": 1}, "not": HIGH_VALUE}}))
    assert two["errors"][0]["message"].startswith("OneOf Input Object")
    bad_preview = await graphql(http, PREVIEW, key, rule={"condition": {"field": "clv", "op": "CONTAINS",
                                                                        "value": "x"}})
    assert bad_preview["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "rule.condition.op" in bad_preview["errors"][0]["message"]


async def test_cycles_read_only_segments_and_references_are_refused(http, shop):
    key = shop["admin"]
    base = (await graphql(http, SEGMENT_CREATE, key, input={"name": "Base", "rule": HIGH_VALUE}))["data"]
    base_id = base["segmentCreate"]["segment"]["id"]
    top = (await graphql(http, SEGMENT_CREATE, key, input={"name": "Top", "rule": {"inSegment": base_id}}))["data"]
    top_id = top["segmentCreate"]["segment"]["id"]
    cycle = (await graphql(http, SEGMENT_UPDATE, key, input={"id": base_id, "rule": {"inSegment": top_id}}))["data"]
    assert cycle["segmentUpdate"]["userErrors"][0]["code"] == "CYCLE"
    used = (await graphql(http, SEGMENT_DELETE, key, input={"id": base_id}))["data"]
    assert used["segmentDelete"]["userErrors"][0]["code"] == "CONFLICT"
    builtins = (await graphql(http, "{ segments(kinds: [BUILTIN]) { id key } }", key))["data"]["segments"]
    assert len(builtins) == 24
    tribe = next(s["id"] for s in builtins if s["key"] == "type:tribe")
    locked = (await graphql(http, SEGMENT_UPDATE, key, input={"id": tribe, "rule": HIGH_VALUE}))["data"]
    assert locked["segmentUpdate"]["userErrors"][0]["code"] == "READ_ONLY"
    gone = (await graphql(http, SEGMENT_DELETE, key, input={"id": top_id}))["data"]["segmentDelete"]
    assert gone["userErrors"] == []
    assert (await graphql(http, "query($id: ID!) { segment(id: $id) { id } }", key, id=top_id))["data"] == \
        {"segment": None}


async def test_manual_segments_overlap_and_the_change_feed(http, shop):
    key = shop["admin"]
    start = (await graphql(http, CHANGES, key))["data"]["segmentChanges"]["pageInfo"]["endCursor"]
    picked = (await graphql(http, SEGMENT_CREATE, key, input={"name": "Picked", "kind": "MANUAL"}))["data"]
    picked_id = picked["segmentCreate"]["segment"]["id"]
    added = (await graphql(http, MEMBERS_ADD, key, input={"segmentId": picked_id, "customerIds": [shop["buyer"]]}))
    assert added["data"]["segmentMembersAdd"]["segment"]["size"] == 1
    feed = (await graphql(http, CHANGES, key, after=start, ids=[picked_id]))["data"]["segmentChanges"]
    assert [(e["node"]["change"], e["node"]["customerId"], e["node"]["reason"]) for e in feed["edges"]] == \
        [("ENTERED", shop["buyer"], "added by hand")]
    tribe = next(s["id"] for s in (await graphql(http, "{ segments(kinds: [BUILTIN]) { id key } }", key))
                 ["data"]["segments"] if s["key"] == "stage:lead")
    overlap = (await graphql(http, "query($a: ID!, $b: ID!) { segmentOverlap(first: $a, second: $b) "
                                   "{ firstSize secondSize both jaccard } }", key, a=picked_id, b=tribe))
    assert overlap["data"]["segmentOverlap"]["firstSize"] == 1
    wrong = await graphql(http, CHANGES, key, after="bm90LWEtY3Vyc29y")
    assert wrong["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_roles_agents_read_segments_but_cannot_edit_them(http, shop):
    agent = shop["agent"]
    listed = await graphql(http, "{ segments { id } }", agent)
    assert len(listed["data"]["segments"]) >= 24
    refused = await graphql(http, SEGMENT_CREATE, agent, input={"name": "Mine", "rule": HIGH_VALUE})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    feed = await graphql(http, CHANGES, agent)
    assert feed["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_rule_fields_catalogue_lists_operators(http, shop):
    fields = (await graphql(http, "{ segmentRuleFields { name type operators choices } }", shop["admin"]))
    by_name = {f["name"]: f for f in fields["data"]["segmentRuleFields"]}
    assert by_name["clv"]["type"] == "NUMBER" and "BETWEEN" in by_name["clv"]["operators"]
    assert by_name["customerType"]["choices"] == ["tribe", "vampire", "churner", "snow_leopard", "standard"]
    assert "WITHIN_LAST_DAYS" in by_name["lastPurchaseAt"]["operators"]
