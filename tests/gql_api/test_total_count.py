"""totalCount is counted only when asked for, and a first page of search
results counts its matches on the way (one search, not two)."""

from __future__ import annotations

from tests.gql_api.conftest import graphql, statements_reading

SEARCH = """query($after: String) { customers(search: "مریم", first: 7, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }"""


async def test_customers_are_counted_only_when_asked_for(http, shop):
    with statements_reading("") as seen:
        body = await graphql(http, "{ customers(first: 5) { edges { node { id } } } }", shop["agent"])
    assert len(body["data"]["customers"]["edges"]) == 5
    assert not any("count(" in s.lower() for s in seen)
    with statements_reading("") as seen:
        body = await graphql(http, "{ customers(first: 5) { totalCount } }", shop["agent"])
    assert body["data"]["customers"]["totalCount"] == 400
    assert sum("count(" in s.lower() for s in seen) == 1


async def test_a_first_page_of_search_results_counts_all_matches_in_one_search(http, shop):
    with statements_reading("") as seen:
        first = (await graphql(http, SEARCH, shop["agent"]))["data"]["customers"]
    assert sum("customer_search" in s for s in seen) == 1
    found, page = [e["node"]["id"] for e in first["edges"]], first
    while page["pageInfo"]["hasNextPage"]:
        page = (await graphql(http, SEARCH, shop["agent"], after=page["pageInfo"]["endCursor"]))["data"]["customers"]
        assert page["totalCount"] == first["totalCount"]  # later pages count separately, and agree
        found += [e["node"]["id"] for e in page["edges"]]
    assert first["totalCount"] == len(found) == len(set(found)) > 7
