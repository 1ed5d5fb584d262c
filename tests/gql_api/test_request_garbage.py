"""A request's objects are freed by reference counting when it is done: none
are left in reference cycles for the garbage collector, whose collections
pause the worker with every request in flight."""

import gc
import json

import pytest

from gql_api.app import create_app

PROFILE = """query($id: ID!) { customer(id: $id) { displayName scores { clv loyalty { index } rfm { segment } }
  notes(first: 10) { edges { node { body } } } purchases(first: 5) { edges { node { total items { product } } } }
  segments { name } } }"""
NOTE = """mutation($id: ID!) { noteCreate(input: {customerId: $id, body: "Called"})
  { note { id } userErrors { code } } }"""
PURCHASE = """mutation($id: ID!) { purchaseRecord(input: {customerId: $id, items: [{product: "Tea", amount: "120000"}]})
  { purchase { id } userErrors { code } } }"""


@pytest.fixture(scope="module")
async def app(engine):
    app = create_app(engine, segment_refresh_minutes=None, webhooks=False)
    async with app.router.lifespan_context(app):
        yield app


async def _post(app, key: str, query: str, customer: str) -> dict:
    """The request straight through the ASGI app: no HTTP client or server in
    this process to leave cycles of their own."""
    body = json.dumps({"query": query, "variables": {"id": customer}}).encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/graphql", "raw_path": b"/graphql", "query_string": b"", "root_path": "",
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
             "headers": [(b"host", b"tribe"), (b"content-type", b"application/json"),
                         (b"authorization", f"Bearer {key}".encode())]}
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent = []

    async def receive():
        return messages.pop()

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return json.loads(sent[-1]["body"])


async def _cyclic_garbage_after(app, key: str, query: str, customer: str, times: int) -> list[str]:
    await _post(app, key, query, customer)  # caches filled and statements prepared beforehand
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(times):
            body = await _post(app, key, query, customer)
            payload = next(iter(body["data"].values()))
            assert "errors" not in body and not payload.get("userErrors"), body
        gc.collect()
        return [type(o).__qualname__ for o in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


@pytest.mark.parametrize("query", [PROFILE, NOTE, PURCHASE], ids=["profile", "noteCreate", "purchaseRecord"])
async def test_a_request_leaves_no_cyclic_garbage(app, shop, query):
    assert await _cyclic_garbage_after(app, shop["admin"], query, shop["buyer"], 5) == []
