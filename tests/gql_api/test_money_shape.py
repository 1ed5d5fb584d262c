"""One money representation across the schema (the Decimal scalar: a string
with two decimals), enum spellings in analytics keys, and cluster segments
named as their keys: where purchase totals were "1300000.00" and scores
8578312.955879113, analytics said `loyal` where enums say LOYAL, and the
segment cluster:0 was called "Cluster 1"."""

from __future__ import annotations

import re

from tests.gql_api.conftest import graphql

MONEY = re.compile(r"-?\d+\.\d{2}")
PROFILE = """query($id: ID!) { customer(id: $id) {
  scores { clv value costToServe netValue totalSpend averageRepeatOrder }
  purchases(first: 3) { edges { node { total discount } } } } }"""


async def test_every_amount_of_money_is_a_decimal_with_two_decimals(http, shop):
    found = (await graphql(http, PROFILE, shop["admin"], id=shop["buyer"]))["data"]["customer"]
    amounts = [*found["scores"].values(), *(v for e in found["purchases"]["edges"] for v in e["node"].values())]
    assert amounts and all(isinstance(a, str) and MONEY.fullmatch(a) for a in amounts), amounts
    segments = (await graphql(http, "{ segments(kinds: [BUILTIN]) { id } }", shop["admin"]))["data"]["segments"]
    value = await graphql(http, "query($id: ID!) { segmentValue(id: $id) { totalClv totalSpend averageClv } }",
                          shop["admin"], id=segments[0]["id"])
    assert all(v is None or MONEY.fullmatch(v) for v in value["data"]["segmentValue"].values()), value


async def test_analytics_keys_are_spelled_as_the_enums_and_clusters_as_their_keys(http, shop):
    analytics = (await graphql(http, "{ analytics { byLifecycleStage byCustomerType } }", shop["admin"]))["data"]
    assert all(k.isupper() for k in [*analytics["analytics"]["byLifecycleStage"],
                                     *analytics["analytics"]["byCustomerType"]]), analytics
    clusters = (await graphql(http, "{ segments(kinds: [CLUSTER]) { key name } }", shop["admin"]))["data"]["segments"]
    assert clusters and all(c["name"] == f"Cluster {c['key'].split(':')[1]}" for c in clusters), clusters
