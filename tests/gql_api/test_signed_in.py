"""The mobile app's view: an APP key plus a customer token sees that customer's
own profile and purchases, and nothing else."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.customer_tokens import rotate_secret, secret_text, sign, workspace_secret
from domain.db import unit_of_work
from domain.importing import import_customers, read_csv
from domain.tables import customers
from domain.vocab import Role
from domain.workspaces import create_key
from gql_api.ids import to_global_id
from tests.helpers import new_workspace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TOKEN = ("mutation($id: ID!, $minutes: Int! = 15) { customerTokenCreate(input: {customerId: $id, "
         "expiresInMinutes: $minutes}) { token expiresAt userErrors { field code } } }")
ME = "{ me { id firstName email purchases(first: 5) { edges { node { total } } } } }"
PURCHASE = ('mutation($id: ID!, $amount: Decimal!) { purchaseRecord(input: {customerId: $id, items: '
            '[{product: "Tea", amount: $amount}]}) { userErrors { code } } }')


async def _workspace(engine):
    workspace = await new_workspace(engine, "app")
    async with unit_of_work(engine) as conn:
        await import_customers(conn, workspace.id, read_csv(EXAMPLES / "customers.csv"))
        keys = {role: (await create_key(conn, workspace.id, role))[0] for role in (Role.ADMIN, Role.INTEGRATOR,
                                                                                  Role.APP)}
        ids = [to_global_id("Customer", pk) for pk in await conn.scalars(
            select(customers.c.id).where(customers.c.workspace_id == workspace.id).order_by(customers.c.id))]
    return workspace, keys, ids


@pytest.fixture(scope="module")
async def app_world(engine):
    return await _workspace(engine), await _workspace(engine)


async def _post(http, query, key, token=None, **variables):
    headers = {"Authorization": f"Bearer {key}", **({"X-Customer-Token": token} if token else {})}
    return (await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)).json()


async def test_the_app_sees_its_signed_in_customer_and_their_purchases_only(http, app_world):
    (_, keys, ids), _ = app_world
    for customer, amount in ((ids[0], "1000"), (ids[1], "2000"), (ids[1], "3000")):
        assert (await _post(http, PURCHASE, keys[Role.ADMIN], id=customer, amount=amount))["data"]["purchaseRecord"][
            "userErrors"] == []
    created = (await _post(http, TOKEN, keys[Role.INTEGRATOR], id=ids[1]))["data"]["customerTokenCreate"]
    assert created["userErrors"] == [] and created["token"].count(".") == 2
    me = (await _post(http, ME, keys[Role.APP], created["token"]))["data"]["me"]
    assert me["id"] == ids[1] and me["firstName"] == "Arash" and me["email"] == "arash@example.com"
    assert sorted(e["node"]["total"] for e in me["purchases"]["edges"]) == ["2000.00", "3000.00"]


async def test_staff_knowledge_is_not_in_the_apps_schema(http, app_world):
    (_, keys, ids), _ = app_world
    token = (await _post(http, TOKEN, keys[Role.ADMIN], id=ids[0]))["data"]["customerTokenCreate"]["token"]
    for field in ("scores { clv }", "notes { edges { node { body } } }", "segments { key }"):
        body = await _post(http, "{ me { %s } }" % field, keys[Role.APP], token)
        assert "Cannot query field" in body["errors"][0]["message"]


def _tampered(token: str) -> str:
    header, claims, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(claims + "=="))
    payload["sub"] = to_global_id("Customer", 1)
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _unsigned(token: str) -> str:
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    return f"{header}.{token.split('.')[1]}."


async def test_a_missing_forged_foreign_or_expired_token_names_nobody(http, engine, app_world):
    (workspace, keys, ids), (other, other_keys, _) = app_world
    token = (await _post(http, TOKEN, keys[Role.ADMIN], id=ids[0]))["data"]["customerTokenCreate"]["token"]
    async with unit_of_work(engine) as conn:
        expired = sign(await workspace_secret(conn, workspace.id), workspace.id, ids[0],
                       datetime.now(UTC) - timedelta(hours=1), timedelta(minutes=15))
        other_secret = await workspace_secret(conn, other.id)
    claims_other_workspace = sign(other_secret, workspace.id, ids[0], datetime.now(UTC), timedelta(minutes=5))
    cases = {"missing": (keys[Role.APP], None), "tampered": (keys[Role.APP], _tampered(token)),
             "alg none": (keys[Role.APP], _unsigned(token)), "garbage": (keys[Role.APP], "a.b.c"),
             "expired": (keys[Role.APP], expired), "another workspace's app": (other_keys[Role.APP], token),
             "signed with another workspace's secret": (keys[Role.APP], claims_other_workspace)}
    for case, (key, presented) in cases.items():
        body = await _post(http, ME, key, presented)
        assert body["data"] == {"me": None} or body["data"] is None, case
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", (case, body)


async def test_token_requests_with_bad_input_get_user_errors(http, app_world):
    (_, keys, ids), (_, _, other_ids) = app_world
    for variables, error in [({"id": ids[0], "minutes": 0}, ["expiresInMinutes", "INVALID"]),
                             ({"id": ids[0], "minutes": 1441}, ["expiresInMinutes", "INVALID"]),
                             ({"id": other_ids[0]}, ["customerId", "NOT_FOUND"]),
                             ({"id": "not-an-id"}, ["customerId", "INVALID"])]:
        payload = (await _post(http, TOKEN, keys[Role.ADMIN], **variables))["data"]["customerTokenCreate"]
        assert payload["token"] is None
        assert [payload["userErrors"][0]["field"][0], payload["userErrors"][0]["code"]] == error, variables


async def test_a_deleted_customer_is_signed_out(http, app_world):
    (_, keys, ids), _ = app_world
    token = (await _post(http, TOKEN, keys[Role.ADMIN], id=ids[3]))["data"]["customerTokenCreate"]["token"]
    deleted = await _post(http, 'mutation($id: ID!) { customerDelete(input: {id: $id}) { userErrors { code } } }',
                          keys[Role.ADMIN], id=ids[3])
    assert deleted["data"]["customerDelete"]["userErrors"] == []
    assert await _post(http, ME, keys[Role.APP], token) == {"data": {"me": None}}


async def test_a_backend_signs_tokens_itself_and_rotation_ends_the_old_ones(http, engine, app_world):
    (workspace, keys, ids), _ = app_world
    issued = (await _post(http, TOKEN, keys[Role.ADMIN], id=ids[0]))["data"]["customerTokenCreate"]["token"]
    async with unit_of_work(engine) as conn:
        secret = base64.urlsafe_b64decode(secret_text(await rotate_secret(conn, workspace.id)) + "==")
    assert (await _post(http, ME, keys[Role.APP], issued))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    own = sign(secret, workspace.id, ids[0], datetime.now(UTC), timedelta(minutes=5))  # as a backend would
    assert (await _post(http, ME, keys[Role.APP], own))["data"]["me"]["id"] == ids[0]
