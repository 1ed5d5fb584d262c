"""Abusive queries and requests get clear errors with codes, never a stack trace."""

import pytest

from domain.db import unit_of_work
from domain.vocab import Role
from domain.workspaces import create_key
from tests.gql_api.conftest import graphql


async def test_a_costly_query_is_refused_with_its_cost(http, admin):
    _, key = admin
    query = "{ customers(first: 100) { edges { node { notes(first: 100) { edges { node { body author kind pinned } } } } } } }"
    body = await graphql(http, query, key)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY" and error["extensions"]["cost"] > 50_000
    cheap = await graphql(http, query.replace("first: 100) { edges { node { body", "first: 3) { edges { node { body"),
                          key)
    assert "errors" not in cheap


async def test_cost_counts_fragments_and_variables(http, admin):
    _, key = admin
    query = """
    query Q($n: Int) { customers(first: $n) { ...Page } }
    fragment Page on CustomerConnection { edges { node { notes(first: 100) { edges { node { body author kind } } } } } }
    """
    body = await graphql(http, query, key, n=1)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


async def test_too_deep_too_many_aliases_too_many_tokens(http, admin):
    _, key = admin
    deep = "{ " + "customers { edges { node { notes { edges { node { id } } } } } }" + " }"
    deep_ok = await graphql(http, deep, key)
    assert "errors" not in deep_ok  # depth 7: fine
    aliases = "{ " + " ".join(f"a{i}: viewer {{ role }}" for i in range(31)) + " }"
    body = await graphql(http, aliases, key)
    assert "aliases" in body["errors"][0]["message"].lower()
    tokens = "{ viewer { " + " ".join(["role"] * 3001) + " } }"
    body = await graphql(http, tokens, key)
    assert "token" in body["errors"][0]["message"].lower()


async def test_fragment_loops_do_not_hang(http, admin):
    _, key = admin
    query = "{ customers { ...A } } fragment A on CustomerConnection { totalCount ...B } " \
            "fragment B on CustomerConnection { totalCount ...A }"
    body = await graphql(http, query, key)
    assert body["errors"]  # the standard rules report the cycle


async def test_a_huge_body_is_refused_before_it_is_read(http, admin):
    _, key = admin
    response = await http.post("/graphql", content=b'{"query": "' + b"x" * (2 << 20) + b'"}',
                               headers={"Authorization": f"Bearer {key}", "content-type": "application/json"})
    assert response.status_code == 413 and response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_mutations_are_refused_over_get(http, admin):
    _, key = admin
    response = await http.get("/graphql", params={"query": "mutation { noteDelete(input: {id: \"x\"}) { note { id } } }"},
                              headers={"Authorization": f"Bearer {key}"})
    assert response.status_code in (400, 405)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_simple_cross_site_bodies_are_refused(http, admin, content_type):
    _, key = admin
    response = await http.post("/graphql", content=b'{"query": "{ viewer { role } }"}',
                               headers={"Authorization": f"Bearer {key}", "content-type": content_type})
    assert response.status_code in (400, 415)


async def test_too_deep_is_refused_with_the_limiters_own_message(http, admin):
    _, key = admin
    # No real path in today's schema is that deep; the limit guards what comes later.
    deep = "{ customers { edges { node " + "{ a " * 12 + "{ id }" + " }" * 12 + " } } }"
    body = await graphql(http, deep, key)
    assert any("exceeds maximum operation depth" in e["message"] for e in body["errors"])


async def test_each_key_is_rate_limited_on_its_own(engine, admin):
    import httpx

    from gql_api.app import create_app

    _, key = admin
    app = create_app(engine, rate_per_second=1.0, rate_burst=3)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        statuses = [(await client.post("/graphql", json={"query": "{ viewer { role } }"},
                                       headers={"Authorization": f"Bearer {key}"})).status_code for _ in range(5)]
        other = await client.post("/graphql", json={"query": "{ viewer { role } }"},
                                  headers={"Authorization": "Bearer someone-else"})
        refused = await client.post("/graphql", json={"query": "{ viewer { role } }"},
                                    headers={"Authorization": f"Bearer {key}"})
    assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]
    assert other.status_code == 200  # another key has its own bucket
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED" and refused.headers["retry-after"]


async def test_a_second_authorization_header_neither_bypasses_the_limit_nor_authenticates(engine, admin):
    """The limiter once counted the last Authorization header and
    authentication read the first: a new random second header made every
    request a new bucket (300 requests, none throttled)."""
    import httpx

    from gql_api.app import create_app

    _, key = admin
    app = create_app(engine, rate_per_second=1.0, rate_burst=3)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        answers = [await client.post("/graphql", json={"query": "{ viewer { role } }"},
                                     headers=[("Authorization", f"Bearer {key}"), ("Authorization", f"Bearer x{i}")])
                   for i in range(20)]
        throttled = [(await client.post("/graphql", json={"query": "{ viewer { role } }"},
                                        headers={"Authorization": f"Bearer {key}"})).status_code for _ in range(5)]
    assert {a.status_code for a in answers} == {400}
    assert answers[0].json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert throttled[:3] == [200, 200, 200] and throttled[3:] == [429, 429]
    assert (await client_429_type(app, key)) == "application/graphql-response+json; charset=utf-8"


async def client_429_type(app, key: str) -> str:
    """The media type of a 429 for a client that accepts only the GraphQL response type."""
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for _ in range(10):
            answer = await client.post("/graphql", json={"query": "{ viewer { role } }"},
                                       headers={"Authorization": f"Bearer {key}",
                                                "Accept": "application/graphql-response+json"})
            if answer.status_code == 429:
                return answer.headers["content-type"]
    return "never throttled"


async def test_only_admin_keys_introspect_and_get_suggestions_outside_development(http, engine, admin):
    workspace, admin_key = admin
    async with unit_of_work(engine) as conn:
        analyst_key, _ = await create_key(conn, workspace.id, Role.ANALYST)
    introspection = "{ __schema { queryType { name } } }"
    typo = "{ customers { edges { node { displayNam } } } }"
    assert (await graphql(http, introspection, admin_key))["data"]["__schema"]["queryType"]["name"] == "Query"
    assert "Did you mean 'displayName'?" in (await graphql(http, typo, admin_key))["errors"][0]["message"]
    refused = await graphql(http, introspection, analyst_key)
    assert "data" not in refused
    assert "introspection" in refused["errors"][0]["message"].lower()
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    hidden = (await graphql(http, typo, analyst_key))["errors"][0]["message"]
    assert hidden == "Cannot query field 'displayNam' on type 'Customer'."
    assert (await graphql(http, "{ viewer { __typename role } }", analyst_key))["data"]["viewer"]["role"] == "ANALYST"
    # The same texts again: each caller still gets its own verdict (gql_api/document_cache.py).
    assert (await graphql(http, introspection, admin_key))["data"]["__schema"]["queryType"]["name"] == "Query"
    assert "Did you mean 'displayName'?" in (await graphql(http, typo, admin_key))["errors"][0]["message"]
    assert (await graphql(http, introspection, analyst_key))["errors"]


def _doubling_fragments(levels: int, leaf: str = "__typename") -> str:
    """{ ...F0 } with each fragment spreading the next one twice: 2^levels leaves once expanded."""
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    return f"{{ ...F0 }} {chain} fragment F{levels} on Query {{ {leaf} }}"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("leaf", "code"), [("__typename", "QUERY_TOO_COSTLY"),
                                           ("a: viewer { role }", None)])
async def test_fragments_spread_twice_per_level_are_measured_once_each(http, admin, leaf, code):
    """Each fragment's cost, depth and aliases are worked out once: walking the
    expanded document doubled the time per level (20 levels took 14 s and held
    the worker; 60 would never end). The expanded size is refused."""
    _, key = admin
    body = await graphql(http, _doubling_fragments(60, leaf), key)
    assert body["errors"]
    if code:
        assert body["errors"][0]["extensions"]["code"] == code
    else:
        assert any("aliases found" in e["message"] for e in body["errors"])
    healthy = await http.get("/healthz")
    assert healthy.status_code == 200


async def test_depth_counts_through_fragments_as_before(http, admin):
    _, key = admin
    fragment = "fragment Deep on Customer { notes { edges { node { id } } } }"
    ok = await graphql(http, "{ customers { edges { node { ...Deep } } } } " + fragment, key)
    assert "errors" not in ok, ok
    nested = "{ customers { edges { node " + "{ a " * 10 + "{ ...Deep }" + " }" * 10 + " } } } " + fragment
    body = await graphql(http, nested, key)
    assert any("exceeds maximum operation depth of 12" in e["message"] for e in body["errors"])


async def test_operations_over_a_websocket_count_against_the_keys_rate_limit(api_url, admin):
    """300 operations on one socket used to run in 0.6 s, none limited."""
    import json

    import websockets

    _, key = admin
    url = api_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        outcomes: dict[str, str] = {}
        for batch in range(6):  # strawberry takes 100 operations in flight on a socket
            for i in range(batch * 50, batch * 50 + 50):
                await socket.send(json.dumps({"id": str(i), "type": "subscribe",
                                              "payload": {"query": "query { viewer { role } }"}}))
            while len(outcomes) < batch * 50 + 50:
                message = json.loads(await socket.recv())
                if message["type"] == "next":
                    outcomes[message["id"]] = "ok"
                elif message["type"] == "error":
                    outcomes[message["id"]] = message["payload"][0].get("extensions", {}).get("code", str(message))
    refused = [i for i, code in outcomes.items() if code == "RATE_LIMITED"]
    assert len(refused) >= 100 and set(outcomes.values()) <= {"ok", "RATE_LIMITED"}, outcomes
