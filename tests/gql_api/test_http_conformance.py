"""GraphQL over HTTP conformance, judged by the npm graphql-http package's
server audits against the live server, and the status codes behind them."""

from __future__ import annotations

import asyncio
import json

from tests.gql_api.conftest import NODE, needs_node, npm_clients

GRAPHQL_RESPONSE = "application/graphql-response+json"


@needs_node
async def test_every_graphql_http_server_audit_passes(api_url, admin):
    _, key = admin
    process = await asyncio.create_subprocess_exec(
        NODE, str(npm_clients() / "audit.mjs"), f"{api_url}/graphql", key,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    results = [json.loads(line) for line in out.decode().splitlines()]
    assert sum(r["name"].startswith("MUST") for r in results) >= 10  # the audits did run (13 in 1.23)
    # Every MUST, and the SHOULDs too (application/graphql-response+json).
    assert [r for r in results if r["status"] != "ok"] == []


async def test_a_request_error_is_a_400_without_data_for_the_new_media_type(http, admin):
    _, key = admin
    headers = {"Authorization": f"Bearer {key}"}
    for body in ({"query": "{ viewer { role "},  # does not parse
                 {"query": "{ viewer { nope } }"},  # does not validate
                 {"query": "query($n: Int!) { customers(first: $n) { totalCount } }", "variables": {"n": "x"}}):
        legacy = await http.post("/graphql", json=body, headers=headers)
        assert legacy.status_code == 200 and legacy.headers["content-type"].startswith("application/json")
        assert "data" not in legacy.json() and legacy.json()["errors"]  # raised before execution: no data entry
        strict = await http.post("/graphql", json=body, headers={**headers, "Accept": GRAPHQL_RESPONSE})
        assert strict.status_code == 400 and strict.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        assert "data" not in strict.json() and strict.json()["errors"]
    # A field error is not a request error: 200, with data.
    partial = await http.post("/graphql", json={"query": '{ customer(id: "nope") { id } }'},
                              headers={**headers, "Accept": GRAPHQL_RESPONSE})
    assert partial.status_code == 200 and "data" in partial.json() and partial.json()["errors"]
