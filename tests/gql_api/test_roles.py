"""Each role's allowed and denied operations, over HTTP: a denied one is a
FORBIDDEN error with no data and nothing written; an allowed one may still
refuse its input (userErrors) but is never FORBIDDEN."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from domain.db import unit_of_work
from domain.importing import import_customers, read_csv
from domain.tables import customers, notes
from domain.vocab import Role
from domain.workspaces import create_key
from gql_api.ids import to_global_id
from tests.gql_api.conftest import graphql
from tests.helpers import new_workspace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
A, AN, AG, I, APP = Role.ADMIN, Role.ANALYST, Role.AGENT, Role.INTEGRATOR, Role.APP
READERS = {A, AN, AG, I}
NOWHERE = to_global_id("Segment", 10**12)  # a well-formed id of nothing: allowed calls get userErrors
NO_CAMPAIGN, NO_OFFER = to_global_id("Campaign", 10**12), to_global_id("Offer", 10**12)
NO_REDEMPTION = to_global_id("Redemption", 10**12)
CART = '{total: "1000", currency: "IRR"}'

# (operation, document, roles allowed). `$id` is one of the workspace's customers.
MATRIX = [
    ("viewer", "{ viewer { role } }", {A, AN, AG, I, APP}),
    ("customers", "{ customers(first: 1) { totalCount } }", READERS),
    ("customer", "query($id: ID!) { customer(id: $id) { id } }", READERS),
    ("node", "query($id: ID!) { node(id: $id) { id } }", READERS),
    # Notes are staff's working memory: integrator keys read them only with the notes grant (below).
    ("customer", "query($id: ID!) { customer(id: $id) { notes { edges { node { id } } } } }", {A, AN, AG}),
    ("analytics", "{ analytics { customers } }", READERS),
    ("scoringModels", "{ scoringModels { __typename } }", READERS),
    ("segments", "{ segments { key } }", READERS),
    ("segmentChanges", "{ segmentChanges(first: 1) { __typename } }", {A, AN, I}),
    ("customerChanges", "{ customerChanges(first: 1) { __typename } }", {A, AN, I}),
    ("webhookEndpoints", "{ webhookEndpoints { id } }", {A, I}),
    ("me", "{ me { id } }", {APP}),
    ("customerCreate", 'mutation { customerCreate(input: {firstName: "Matrix"}) { userErrors { code } } }', {A, AG}),
    ("customerUpdate", 'mutation($id: ID!) { customerUpdate(input: {id: $id, profile: {tags: ["vip"]}}) '
                       '{ userErrors { code } } }', {A, AG}),
    ("customerTraitsSet", 'mutation($id: ID!) { customerTraitsSet(input: {id: $id, temperament: WARM}) '
                          '{ userErrors { code } } }', {A, AG}),
    ("customerDelete", f'mutation {{ customerDelete(input: {{id: "{NOWHERE}"}}) {{ userErrors {{ code }} }} }}', {A}),
    ("customerErase", f'mutation {{ customerErase(input: {{id: "{NOWHERE}"}}) {{ userErrors {{ code }} }} }}', {A}),
    ("customerMerge", f'mutation {{ customerMerge(input: {{survivorId: "{NOWHERE}", mergedId: "{NOWHERE}"}}) '
                      f'{{ userErrors {{ code }} }} }}', {A}),
    ("purchaseRecord", 'mutation($id: ID!) { purchaseRecord(input: {customerId: $id, items: [{product: "Tea", '
                       'amount: "1000"}]}) { userErrors { code } } }', {A}),
    ("interactionRecord", "mutation($id: ID!) { interactionRecord(input: {customerId: $id, kind: ENQUIRY}) "
                          "{ userErrors { code } } }", {A, AG}),
    ("noteCreate", 'mutation($id: ID!) { noteCreate(input: {customerId: $id, body: "Called"}) '
                   '{ userErrors { code } } }', {A, AG}),
    ("noteUpdate", f'mutation {{ noteUpdate(input: {{id: "{NOWHERE}", body: "x"}}) {{ userErrors {{ code }} }} }}',
     {A, AG}),
    ("noteDelete", f'mutation {{ noteDelete(input: {{id: "{NOWHERE}"}}) {{ userErrors {{ code }} }} }}', {A, AG}),
    ("segmentCreate", 'mutation { segmentCreate(input: {name: "Matrix", kind: MANUAL}) { userErrors { code } } }',
     {A, AN}),
    ("segmentUpdate", f'mutation {{ segmentUpdate(input: {{id: "{NOWHERE}", name: "x"}}) '
                      f'{{ userErrors {{ code }} }} }}', {A, AN}),
    ("segmentDelete", f'mutation {{ segmentDelete(input: {{id: "{NOWHERE}"}}) {{ userErrors {{ code }} }} }}',
     {A, AN}),
    ("segmentMembersAdd", f'mutation($id: ID!) {{ segmentMembersAdd(input: {{segmentId: "{NOWHERE}", '
                          f'customerIds: [$id]}}) {{ userErrors {{ code }} }} }}', {A, AN}),
    ("webhookEndpointCreate", 'mutation { webhookEndpointCreate(input: {url: "https://hooks.example.com/tribe"}) '
                              '{ userErrors { code } } }', {A, I}),
    ("webhookEndpointDelete", f'mutation {{ webhookEndpointDelete(input: {{id: "{NOWHERE}"}}) '
                              f'{{ userErrors {{ code }} }} }}', {A, I}),
    ("customerTokenCreate", 'mutation($id: ID!) { customerTokenCreate(input: {customerId: $id}) '
                            '{ userErrors { code } } }', {A, I}),
    ("campaigns", "{ campaigns { totalCount } }", READERS),
    ("campaign", f'{{ campaign(id: "{NO_CAMPAIGN}") {{ id }} }}', READERS),
    ("customerTypePolicies", "{ customerTypePolicies { label } }", READERS),
    ("campaignSettings", "{ campaignSettings { timeZone } }", READERS),
    ("campaignCreate", 'mutation { campaignCreate(input: {name: "", channel: SMS}) { userErrors { code } } }',
     {A, AN}),
    ("campaignUpdate", f'mutation {{ campaignUpdate(input: {{id: "{NO_CAMPAIGN}", name: "x"}}) '
                       f'{{ userErrors {{ code }} }} }}', {A, AN}),
    *((f"campaign{move}", f'mutation {{ campaign{move}(input: {{id: "{NO_CAMPAIGN}"}}) {{ userErrors {{ code }} }} }}',
       {A, AN}) for move in ("Schedule", "Launch", "Pause", "Resume", "End", "Archive")),
    ("offerCreate", f'mutation {{ offerCreate(input: {{campaignId: "{NO_CAMPAIGN}", offer: {{kind: NOTICE}}}}) '
                    f'{{ userErrors {{ code }} }} }}', {A, AN}),
    ("offerUpdate", f'mutation {{ offerUpdate(input: {{id: "{NO_OFFER}", titleEn: "x"}}) {{ userErrors {{ code }} }} }}',
     {A, AN}),
    ("offerDelete", f'mutation {{ offerDelete(input: {{id: "{NO_OFFER}"}}) {{ userErrors {{ code }} }} }}', {A, AN}),
    ("customerTypePolicySet", 'mutation { customerTypePolicySet(input: {policies: [{}]}) { userErrors { code } } }',
     {A}),
    ("campaignSettingsUpdate", 'mutation { campaignSettingsUpdate(input: {timeZone: "Nowhere/Else"}) '
                               '{ userErrors { code } } }', {A}),
    ("offerValidate", f'{{ offerValidate(input: {{offerId: "{NO_OFFER}", cart: {CART}}}) {{ valid }} }}',
     {A, I, APP}),
    ("redemptionReserve", f'mutation {{ redemptionReserve(input: {{offerId: "{NO_OFFER}", cart: {CART}, '
                          f'idempotencyKey: "k"}}) {{ userErrors {{ code }} }} }}', {A, I, APP}),
    ("redemptionConfirm", f'mutation {{ redemptionConfirm(input: {{id: "{NO_REDEMPTION}"}}) '
                          f'{{ userErrors {{ code }} }} }}', {A, I}),
    ("redemptionRelease", f'mutation {{ redemptionRelease(input: {{id: "{NO_REDEMPTION}"}}) '
                          f'{{ userErrors {{ code }} }} }}', {A, I}),
    ("offerEventsRecord", f'mutation {{ offerEventsRecord(input: {{events: [{{eventId: "e", kind: VIEWED, '
                          f'offerId: "{NO_OFFER}"}}]}}) {{ userErrors {{ code }} }} }}', {A, I, APP}),
]


@pytest.fixture(scope="module")
async def keyed(engine):
    """A workspace of four customers, a key of each role, and one customer's id."""
    workspace = await new_workspace(engine, "roles")
    async with unit_of_work(engine) as conn:
        await import_customers(conn, workspace.id, read_csv(EXAMPLES / "customers.csv"))
        keys = {role: (await create_key(conn, workspace.id, role))[0] for role in Role}
        customer = await conn.scalar(select(func.min(customers.c.id)).where(customers.c.workspace_id == workspace.id))
    return workspace, keys, to_global_id("Customer", customer)


async def _counts(engine, workspace_id: int) -> tuple[int, int]:
    async with unit_of_work(engine) as conn:
        return (await conn.scalar(select(func.count()).select_from(customers)
                                  .where(customers.c.workspace_id == workspace_id)),
                await conn.scalar(select(func.count()).select_from(notes).where(notes.c.workspace_id == workspace_id)))


async def test_each_role_is_allowed_exactly_its_operations(http, engine, keyed):
    workspace, keys, customer_id = keyed
    before = await _counts(engine, workspace.id)
    wrong = []
    for operation, document, allowed in MATRIX:
        variables = {"id": customer_id} if "$id" in document else {}
        for role in Role:
            body = await graphql(http, document, keys[role], **variables)
            codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
            if role in allowed and "FORBIDDEN" in codes:
                wrong.append(f"{role.value} was refused {operation}")
            if role not in allowed and not ("FORBIDDEN" in codes and not (body.get("data") or {}).get(operation)):
                wrong.append(f"{role.value} was not refused {operation}: {body}")
    assert wrong == []
    # Only the two roles allowed customerCreate and noteCreate wrote anything.
    assert await _counts(engine, workspace.id) == (before[0] + 2, before[1] + 2)


async def test_without_a_key_every_operation_is_unauthenticated(http, keyed):
    _, _, customer_id = keyed
    for operation, document, _ in MATRIX:
        body = await graphql(http, document, None, **({"id": customer_id} if "$id" in document else {}))
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", (operation, body)


async def test_an_integrator_key_reads_notes_only_with_the_notes_grant(http, engine, keyed):
    workspace, keys, customer_id = keyed
    made = await graphql(http, 'mutation($id: ID!) { noteCreate(input: {customerId: $id, body: "Prefers calls"}) '
                               '{ note { id } } }', keys[Role.ADMIN], id=customer_id)
    note = made["data"]["noteCreate"]["note"]["id"]
    async with unit_of_work(engine) as conn:
        granted, _ = await create_key(conn, workspace.id, Role.INTEGRATOR, notes=True)
    read = "query($id: ID!) { customer(id: $id) { notes { edges { node { body } } } } }"
    assert "Prefers calls" in str(await graphql(http, read, granted, id=customer_id))
    for document, variables in ((read, {"id": customer_id}), ("query($n: ID!) { node(id: $n) { id } }", {"n": note})):
        refused = await graphql(http, document, keys[Role.INTEGRATOR], **variables)
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN" and "Prefers" not in str(refused)
    node = await graphql(http, "query($n: ID!) { node(id: $n) { id } }", granted, n=note)
    assert node["data"]["node"]["id"] == note

