"""Webhooks end to end: a real receiver over HTTP that fails, then recovers;
signatures verify; every event arrives in order; failures back off, are
logged, and disable the endpoint after too many; enabling resumes."""

from __future__ import annotations

import asyncio
import json

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sqlalchemy import select

from domain import webhooks
from domain.db import unit_of_work
from domain.tables import webhook_deliveries
from domain.webhook_targets import ALLOW_PRIVATE
from tests.gql_api.conftest import _free_port, graphql, move_city_segment

CREATE = """
mutation Create($input: WebhookEndpointCreateInput!) {
  webhookEndpointCreate(input: $input) { endpoint { id enabled } secret userErrors { field code message } }
}"""
RECORD = "mutation($input: InteractionRecordInput!) { interactionRecord(input: $input) { userErrors { code } } }"
ENDPOINTS = """
{ webhookEndpoints { id enabled disabledReason consecutiveFailures deliveredUpTo
    recentDeliveries(first: 100) { eventId attempt succeeded statusCode } } }"""
ENABLE = "mutation($id: ID!) { webhookEndpointEnable(input: {id: $id}) { endpoint { enabled } userErrors { code } } }"
SEGMENT = """
mutation Create($input: SegmentCreateInput!) { segmentCreate(input: $input) { segment { id } } }"""
FEED = """
query Feed($after: String, $ids: [ID!]) {
  segmentChanges(after: $after, first: 1000, segmentIds: $ids) { edges { node { eventId } } }
}"""


class Receiver:
    """An HTTP endpoint answering 500 to the first `failures` requests."""

    def __init__(self, failures: int):
        self.failures = failures
        self.calls: list[tuple[dict, bytes]] = []
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request):
        self.calls.append((dict(request.headers), await request.body()))
        return PlainTextResponse("no", status_code=500) if len(self.calls) <= self.failures else PlainTextResponse("ok")

    def delivered(self) -> list[str]:
        return [json.loads(body)["id"] for headers, body in self.calls[self.failures:]]


@pytest.fixture
async def receiver():
    made = []

    async def start(failures: int) -> tuple[Receiver, str]:
        found = Receiver(failures)
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(found.app, host="127.0.0.1", port=port, log_level="warning"))
        made.append((server, asyncio.create_task(server.serve())))
        while not server.started:
            await asyncio.sleep(0.02)
        return found, f"http://127.0.0.1:{port}/hook"

    yield start
    for server, task in made:
        server.should_exit = True
        await task


async def _wait_for(check, seconds: float = 30.0):
    for _ in range(int(seconds / 0.1)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def _segment_and_feed_start(http, key):
    made = await graphql(http, SEGMENT, key, input={"name": "Hooked", "key": f"hooked-{_free_port()}",
                                                    "rule": {"condition": {"field": "city", "op": "EQ", "value": "x"}}})
    return made["data"]["segmentCreate"]["segment"]["id"]


async def test_deliveries_are_signed_retried_and_complete(http, shop, receiver, monkeypatch):
    monkeypatch.setattr(webhooks, "FIRST_RETRY_SECONDS", 0.1)
    key = shop["admin"]
    hook, url = await receiver(failures=3)
    segment = await _segment_and_feed_start(http, key)
    made = (await graphql(http, CREATE, key, input={"url": url, "eventKinds": ["segment.entered", "segment.left"],
                                                    "segmentIds": [segment]}))["data"]["webhookEndpointCreate"]
    assert made["userErrors"] == [] and made["secret"].startswith("whsec_")
    await move_city_segment(http, key, segment, "تهران")
    await move_city_segment(http, key, segment, "شیراز")
    expected = [e["node"]["eventId"] for e in (await graphql(http, FEED, key, ids=[segment]))
                ["data"]["segmentChanges"]["edges"]]
    assert len(expected) > 10

    async def all_in():
        return len(set(hook.delivered())) >= len(expected)
    await _wait_for(all_in)
    # at least once, in order: drop repeats by id and the sequence is the feed's
    assert list(dict.fromkeys(hook.delivered())) == expected
    for headers, body in hook.calls:
        assert webhooks.verify_signature(made["secret"], headers["tribe-signature"], body)
        assert not webhooks.verify_signature("whsec_wrong", headers["tribe-signature"], body)
        assert headers["tribe-event-id"] == json.loads(body)["id"]
    tampered = hook.calls[-1][1].replace(b'"seq"', b'"seq "')
    assert not webhooks.verify_signature(made["secret"], hook.calls[-1][0]["tribe-signature"], tampered)
    endpoint = next(e for e in (await graphql(http, ENDPOINTS, key))["data"]["webhookEndpoints"]
                    if e["id"] == made["endpoint"]["id"])
    assert endpoint["enabled"] and endpoint["consecutiveFailures"] == 0 and endpoint["deliveredUpTo"] == expected[-1]
    first = [d for d in endpoint["recentDeliveries"] if d["eventId"] == expected[0]]
    assert sorted((d["attempt"], d["succeeded"], d["statusCode"]) for d in first) == \
        [(1, False, 500), (2, False, 500), (3, False, 500), (4, True, 200)]


async def test_an_endpoint_that_keeps_failing_is_disabled_and_resumes_when_enabled(http, shop, receiver,
                                                                                  monkeypatch):
    monkeypatch.setattr(webhooks, "FIRST_RETRY_SECONDS", 0.05)
    monkeypatch.setattr(webhooks, "MAX_FAILURES", 3)
    key = shop["admin"]
    hook, url = await receiver(failures=3)  # three failures: exactly enough to be disabled
    segment = await _segment_and_feed_start(http, key)
    made = (await graphql(http, CREATE, key, input={"url": url, "segmentIds": [segment]}))["data"]
    endpoint_id = made["webhookEndpointCreate"]["endpoint"]["id"]
    await move_city_segment(http, key, segment, "مشهد")

    async def disabled():
        found = next(e for e in (await graphql(http, ENDPOINTS, key))["data"]["webhookEndpoints"]
                     if e["id"] == endpoint_id)
        return not found["enabled"] and "3 failed deliveries" in found["disabledReason"]
    await _wait_for(disabled)
    assert len(hook.calls) == 3
    assert (await graphql(http, ENABLE, key, id=endpoint_id))["data"]["webhookEndpointEnable"]["endpoint"] == \
        {"enabled": True}
    expected = [e["node"]["eventId"] for e in (await graphql(http, FEED, key, ids=[segment]))
                ["data"]["segmentChanges"]["edges"]]

    async def resumed():
        return list(dict.fromkeys(hook.delivered())) == expected
    await _wait_for(resumed)


async def test_bad_endpoints_are_refused(http, shop):
    refused = await graphql(http, CREATE, shop["admin"], input={"url": "ftp://example.com/x"})
    assert refused["data"]["webhookEndpointCreate"]["userErrors"][0]["field"] == ["url"]
    refused = await graphql(http, CREATE, shop["admin"], input={"url": "https://example.com/x",
                                                                "eventKinds": ["segment.moved"]})
    assert refused["data"]["webhookEndpointCreate"]["userErrors"][0]["field"] == ["eventKinds", "0"]
    agent = await graphql(http, CREATE, shop["agent"], input={"url": "https://example.com/x"})
    assert agent["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.1.2.3/hook",
                                 "http://192.168.0.10/hook", "http://169.254.169.254/latest/meta-data/",
                                 "http://[::1]/hook", "http://[::ffff:127.0.0.1]/hook", "http://0.0.0.0/hook",
                                 "http://100.64.0.1/hook", "http://[fd00::1]/hook"])
async def test_internal_addresses_are_refused_as_webhook_targets(http, shop, monkeypatch, url):
    monkeypatch.delenv(ALLOW_PRIVATE)
    refused = await graphql(http, CREATE, shop["admin"], input={"url": url})
    errors = refused["data"]["webhookEndpointCreate"]["userErrors"]
    assert errors and errors[0]["field"] == ["url"] and "not webhook targets" in errors[0]["message"], refused


async def test_a_delivery_to_a_name_that_now_resolves_inside_is_not_made(http, engine, shop, receiver, monkeypatch):
    """Checked again at delivery, after resolving the name: registered while
    allowed (or while the name pointed outside), an internal target gets
    nothing, and the attempt says why."""
    hook, url = await receiver(failures=0)
    key = shop["admin"]
    made = (await graphql(http, CREATE, key, input={"url": url.replace("127.0.0.1", "localhost")}))["data"]
    endpoint = made["webhookEndpointCreate"]["endpoint"]["id"]
    monkeypatch.delenv(ALLOW_PRIVATE)
    await graphql(http, RECORD, key, input={"customerId": shop["buyer"], "kind": "ENQUIRY"})
    deliveries = "{ webhookEndpoints { id recentDeliveries(first: 5) { succeeded statusCode } disabledReason } }"

    async def attempted() -> bool:
        found = (await graphql(http, deliveries, key))["data"]["webhookEndpoints"]
        return any(e["id"] == endpoint and e["recentDeliveries"] for e in found)
    await _wait_for(attempted)
    assert hook.calls == []
    async with unit_of_work(engine) as conn:
        error = await conn.scalar(select(webhook_deliveries.c.error).order_by(webhook_deliveries.c.id.desc()).limit(1))
    assert error.startswith("not delivered: localhost is") and "not webhook targets" in error

