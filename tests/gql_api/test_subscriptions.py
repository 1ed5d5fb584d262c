"""Subscriptions over graphql-transport-ws: a cut and resumed subscription
misses nothing and repeats nothing, two server processes both deliver, auth
and Origin checks, a slow subscriber is cut off with a clear close code, and
real third-party clients (Python gql, npm graphql-ws) speak the protocol."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
import websockets
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

from domain.db import unit_of_work
from domain.vocab import Role
from domain.workspaces import create_key
from gql_api import hub
from gql_api.shared_execution import SharedEventExecution
from tests.gql_api.conftest import NODE, graphql, move_city_segment, needs_node, npm_clients, run_app
from tests.helpers import new_workspace

SUBSCRIBE = """
subscription Changes($after: String, $ids: [ID!]) {
  segmentMembershipChanged(after: $after, segmentIds: $ids) { cursor eventId change segmentId customerId reason }
}"""
CUSTOMERS = "subscription { customerChanged { cursor change customerId details } }"
CREATE = """
mutation Create($input: SegmentCreateInput!) {
  segmentCreate(input: $input) { segment { id size } userErrors { code message } }
}"""
FEED = """
query Feed($after: String) {
  segmentChanges(after: $after, first: 1000) { edges { node { eventId } } pageInfo { hasNextPage endCursor } }
}"""


def _ws_url(api_url: str) -> str:
    return api_url.replace("http://", "ws://") + "/graphql"


class Session:
    """A bare graphql-transport-ws client: every frame visible to the test."""

    def __init__(self, socket):
        self.socket = socket

    @classmethod
    async def open(cls, api_url: str, key: str | None, origin: str | None = None) -> Session:
        socket = await websockets.connect(_ws_url(api_url), subprotocols=["graphql-transport-ws"],
                                          origin=origin)
        session = cls(socket)
        await session.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"} if key else {}})
        return session

    async def send(self, message: dict) -> None:
        await self.socket.send(json.dumps(message))

    async def receive(self, timeout: float = 10.0) -> dict:
        return json.loads(await asyncio.wait_for(self.socket.recv(), timeout))

    async def subscribe(self, query: str, op: str = "1", **variables) -> None:
        assert (await self.receive())["type"] == "connection_ack"
        await self.send({"id": op, "type": "subscribe", "payload": {"query": query, "variables": variables}})

    async def events(self, count: int, timeout: float = 15.0) -> list[dict]:
        found = []
        while len(found) < count:
            message = await self.receive(timeout)
            assert message["type"] == "next", message
            found.append(next(iter(message["payload"]["data"].values())))
        return found

    async def close(self) -> None:
        await self.socket.close()


@pytest.fixture(scope="module")
async def city(engine, http, shop):
    """A rule segment to move customers in and out of (by their city)."""
    made = await graphql(http, CREATE, shop["admin"], input={
        "name": "Kish", "rule": {"condition": {"field": "city", "op": "EQ", "value": "Kish"}}})
    return made["data"]["segmentCreate"]["segment"]["id"]


async def _feed(http, key, after):
    """Every segment change after `after` (polling segmentChanges to the end), and the last cursor."""
    ids = []
    while True:
        found = (await graphql(http, FEED, key, after=after))["data"]["segmentChanges"]
        ids += [e["node"]["eventId"] for e in found["edges"]]
        after = found["pageInfo"]["endCursor"]
        if not found["pageInfo"]["hasNextPage"]:
            return ids, after


async def test_a_cut_subscription_resumes_with_every_event_in_order(api_url, http, shop, city):
    key = shop["admin"]
    _, start = await _feed(http, key, None)
    first = await Session.open(api_url, key)
    await first.subscribe(SUBSCRIBE, ids=[city])
    await asyncio.sleep(0.3)  # registered with the hub
    await move_city_segment(http, key, city, "تهران")
    got = await first.events(3)
    await first.close()  # cut off after three events
    # while away: Tehran's people leave and Shiraz's enter, then Mashhad's
    await move_city_segment(http, key, city, "شیراز")
    await move_city_segment(http, key, city, "مشهد")
    second = await Session.open(api_url, key)
    await second.subscribe(SUBSCRIBE, after=got[-1]["cursor"], ids=[city])
    expected, _ = await _feed(http, key, start)
    missed = len(expected) - 3
    got += await second.events(missed)
    # ... then live ones follow the replay
    await move_city_segment(http, key, city, "تبریز")
    expected, _ = await _feed(http, key, start)
    got += await second.events(len(expected) - len(got))
    await second.close()
    assert [e["eventId"] for e in got] == expected  # no gaps, no duplicates, in order
    assert {e["change"] for e in got} == {"ENTERED", "LEFT"} and {e["reason"] for e in got} == {"rule edited"}
    assert len(expected) > 20


async def test_two_server_processes_both_deliver(database_url, http, shop, city):
    """Two real uvicorn processes over the same database; a change made
    through the first reaches subscribers of both."""
    key = shop["admin"]
    with run_app(database_url) as one, run_app(database_url) as two:
        sessions = [await Session.open(url, key) for url in (one, two)]
        for session in sessions:
            await session.subscribe(SUBSCRIBE, ids=[city])
        await asyncio.sleep(0.5)
        _, start = await _feed(http, key, None)
        await move_city_segment(http, key, city, "کرج")
        expected, _ = await _feed(http, key, start)
        for session in sessions:
            assert [e["eventId"] for e in await session.events(len(expected))] == expected
            await session.close()


async def test_without_a_key_or_from_a_foreign_origin_the_socket_is_closed(api_url, shop):
    anonymous = await Session.open(api_url, None)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await anonymous.receive()
    assert closed.value.rcvd.code == 4403
    with pytest.raises(websockets.InvalidStatus) as refused:
        await Session.open(api_url, shop["admin"], origin="https://evil.example")
    assert refused.value.response.status_code == 403


async def test_roles_and_workspaces_limit_what_a_subscriber_gets(engine, api_url, http, shop, city):
    agent = await Session.open(api_url, shop["agent"])
    await agent.subscribe(SUBSCRIBE)
    refused = await agent.receive()
    assert refused["type"] == "error" and refused["payload"][0]["extensions"]["code"] == "FORBIDDEN"
    await agent.close()
    # a key of another workspace, even naming this workspace's segment, hears nothing of it
    other = await new_workspace(engine)
    async with unit_of_work(engine) as conn:
        stranger_key, _ = await create_key(conn, other.id, Role.INTEGRATOR)
    stranger = await Session.open(api_url, stranger_key)
    await stranger.subscribe(SUBSCRIBE, ids=[city], after="ZXZlbnQ6MA")  # from the very first event
    await asyncio.sleep(0.3)
    await move_city_segment(http, shop["admin"], city, "قم")
    with pytest.raises(TimeoutError):
        await stranger.receive(timeout=1.5)
    await stranger.close()


ALIASED = """
subscription Changes($ids: [ID!]) { segmentMembershipChanged(segmentIds: $ids) { id: eventId what: change } }"""


async def test_subscribers_asking_the_same_share_an_execution_and_the_others_get_their_own(
        engine, api_url, http, shop, city, monkeypatch):
    executions = []
    execute = SharedEventExecution.execute_operation
    monkeypatch.setattr(SharedEventExecution, "execute_operation", lambda self, serially=None: executions.append(
        self.operation.operation.value) or execute(self, serially))
    async with unit_of_work(engine) as conn:
        integrator, _ = await create_key(conn, shop["workspace"].id, Role.INTEGRATOR)
    same = [await Session.open(api_url, shop["admin"]) for _ in range(3)]
    aliased = await Session.open(api_url, shop["admin"])
    other_role = await Session.open(api_url, integrator)
    for session in [*same, other_role]:
        await session.subscribe(SUBSCRIBE, ids=[city])
    await aliased.subscribe(ALIASED, ids=[city])
    await asyncio.sleep(0.3)
    _, start = await _feed(http, shop["admin"], None)
    await move_city_segment(http, shop["admin"], city, "یزد")
    expected, _ = await _feed(http, shop["admin"], start)
    got = [await session.events(len(expected)) for session in [*same, other_role]]
    assert [e["eventId"] for e in got[0]] == expected and got[0] == got[1] == got[2] == got[3]
    assert await aliased.events(len(expected)) == [{"id": e["eventId"], "what": e["change"]} for e in got[0]]
    # once for the three alike, once for the other document, once for the other role
    assert executions.count("subscription") == 3 * len(expected)
    for session in [*same, aliased, other_role]:
        await session.close()


async def test_customer_changes_arrive_too(api_url, http, shop):
    session = await Session.open(api_url, shop["admin"])
    await session.subscribe(CUSTOMERS)
    await asyncio.sleep(0.3)
    made = await graphql(http, "mutation { customerCreate(input: {firstName: \"Sara\"}) { customer { id } } }",
                         shop["admin"])
    event = (await session.events(1))[0]
    assert event["change"] == "CREATED" and event["customerId"] == made["data"]["customerCreate"]["customer"]["id"]
    await session.close()


async def test_a_slow_subscriber_is_cut_off_with_a_close_code(api_url, http, shop, city, monkeypatch):
    monkeypatch.setattr(hub, "BUFFER", 5)
    session = await Session.open(api_url, shop["admin"])
    await session.subscribe(SUBSCRIBE, ids=[city])
    await asyncio.sleep(0.3)
    await move_city_segment(http, shop["admin"], city, "رشت")  # dozens of events land in one read
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await session.receive()
    assert closed.value.rcvd.code == 4008 and "last cursor" in closed.value.rcvd.reason


async def test_the_python_gql_client_subscribes_and_resumes(api_url, http, shop, city):
    transport = WebsocketsTransport(url=_ws_url(api_url), init_payload={"Authorization": f"Bearer {shop['admin']}"},
                                    subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
    _, start = await _feed(http, shop["admin"], None)
    await move_city_segment(http, shop["admin"], city, "اهواز")
    expected, _ = await _feed(http, shop["admin"], start)
    got = []
    async with Client(transport=transport) as client:
        request = GraphQLRequest(SUBSCRIBE, variable_values={"after": start, "ids": [city]})
        async for result in client.subscribe(request):
            got.append(result["segmentMembershipChanged"]["eventId"])
            if len(got) == len(expected):
                break
    assert got == expected


@needs_node
async def test_the_npm_graphql_ws_client_subscribes_and_resumes(api_url, http, shop, city):
    _, start = await _feed(http, shop["admin"], None)
    await move_city_segment(http, shop["admin"], city, "یزد")
    expected, _ = await _feed(http, shop["admin"], start)
    process = await asyncio.create_subprocess_exec(
        NODE, str(npm_clients() / "subscribe.mjs"), _ws_url(api_url), shop["admin"], SUBSCRIBE,
        json.dumps({"after": start, "ids": [city]}), str(len(expected)),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**os.environ})
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    got = [json.loads(line)["segmentMembershipChanged"]["eventId"] for line in out.decode().splitlines()]
    assert got == expected



async def test_over_a_websocket_only_admin_keys_get_hints_or_introspect(api_url, engine, shop):
    async with unit_of_work(engine) as conn:
        analyst, _ = await create_key(conn, shop["workspace"].id, Role.ANALYST)
    typo = "subscription { customerChanged(after: null) { cursr } }"
    for key, hinted in ((analyst, False), (shop["admin"], True)):
        session = await Session.open(api_url, key)
        await session.subscribe(typo)
        refused = await session.receive()
        assert refused["type"] == "error", refused
        assert ("Did you mean" in json.dumps(refused)) is hinted, refused
        await session.send({"id": "2", "type": "subscribe",
                            "payload": {"query": "query { __schema { types { name } } }"}})
        introspected = await session.receive()
        assert (introspected["type"] == "next" and "errors" not in introspected["payload"]) is hinted, introspected
        await session.close()
