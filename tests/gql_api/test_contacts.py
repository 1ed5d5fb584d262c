"""Contact details: visible to staff roles, masked for INTEGRATOR keys unless granted."""

from __future__ import annotations

import pytest

from domain.db import unit_of_work
from domain.errors import DomainError
from domain.vocab import Role
from domain.workspaces import create_key
from gql_api.customers.contacts import mask_email, mask_phone
from tests.gql_api.conftest import graphql
from tests.helpers import new_workspace

CREATE = ('mutation($input: CustomerInput!) { customerCreate(input: $input) { customer { id } '
          'userErrors { code } } }')
READ = "query($id: ID!) { customer(id: $id) { email phone phoneE164 displayName } }"


@pytest.fixture(scope="module")
async def keys(engine):
    workspace = await new_workspace(engine, "contacts")
    async with unit_of_work(engine) as conn:
        made = {name: (await create_key(conn, workspace.id, role, contact_details=granted))[0]
                for name, role, granted in [("agent", Role.AGENT, False), ("analyst", Role.ANALYST, False),
                                            ("integrator", Role.INTEGRATOR, False),
                                            ("granted", Role.INTEGRATOR, True)]}
    return made


def test_masks_keep_only_what_recognises_a_contact():
    assert mask_email("maryam.karimi@example.com") == "m***@example.com"
    assert mask_phone("+989123456789") == "+**********89"
    assert mask_phone("۰۹۱۲ ۳۴۵ ۶۷۸۹") == "**** *** **۸۹"  # Persian digits are digits too


async def test_integrators_see_contact_details_masked_unless_granted(http, keys):
    created = await graphql(http, CREATE, keys["agent"],
                            input={"email": "sara@example.com", "phone": "09121234567"})
    customer_id = created["data"]["customerCreate"]["customer"]["id"]
    seen = {name: (await graphql(http, READ, key, id=customer_id))["data"]["customer"] for name, key in keys.items()}
    plain = {"email": "sara@example.com", "phone": "09121234567", "phoneE164": "+989121234567",
             "displayName": "sara@example.com"}  # no name: the email stands in
    assert seen["agent"] == seen["analyst"] == seen["granted"] == plain
    assert seen["integrator"] == {"email": "s***@example.com", "phone": "*********67", "phoneE164": "+**********67",
                                  "displayName": "s***@example.com"}


async def test_only_integrator_keys_take_the_grant(engine):
    workspace = await new_workspace(engine, "grant")
    async with unit_of_work(engine) as conn:
        with pytest.raises(DomainError, match="only integrator keys"):
            await create_key(conn, workspace.id, Role.AGENT, contact_details=True)


async def test_integrators_without_the_grant_cannot_search_by_email_or_phone(http, keys):
    created = await graphql(http, CREATE, keys["agent"], input={"firstName": "Probe", "email": "probe@example.com",
                                                                "phone": "09127654321"})
    customer_id = created["data"]["customerCreate"]["customer"]["id"]
    search = "query($q: String!) { customers(search: $q) { edges { node { id } } } }"
    for needle in ("probe@example.com", "0912 765 4321"):
        refused = await graphql(http, search, keys["integrator"], q=needle)
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", needle
        found = await graphql(http, search, keys["granted"], q=needle)
        assert [e["node"]["id"] for e in found["data"]["customers"]["edges"]][:1] == [customer_id], needle
    by_name = await graphql(http, search, keys["integrator"], q="Probe")
    assert customer_id in [e["node"]["id"] for e in by_name["data"]["customers"]["edges"]]


ORACLE_EMAIL = "zhila.oracle@mailbox.example"
PREVIEW = "query($rule: SegmentRuleInput!) { previewSegment(rule: $rule, sample: 5) { size sample { id } } }"
SEARCH = "query($q: String!) { customers(search: $q) { totalCount edges { node { id } } } }"


async def test_what_a_key_may_not_read_it_may_not_query_by_on_any_route(http, keys):
    """The email oracle: a preview of `email STARTS_WITH "z"` (then "zh", "zhi",
    ...) or a fuzzy search of the address's parts told an integrator, whose
    emails are masked, whom an address belongs to, a letter at a time."""
    created = await graphql(http, CREATE, keys["agent"], input={"firstName": "Nobody", "email": ORACLE_EMAIL})
    customer_id = created["data"]["customerCreate"]["customer"]["id"]
    for op, value in (("STARTS_WITH", "zhila"), ("EQ", ORACLE_EMAIL), ("CONTAINS", "oracle")):
        rule = {"condition": {"field": "email", "op": op, "value": value}}
        for nested in (rule, {"not": {"and": [rule]}}):
            refused = await graphql(http, PREVIEW, keys["integrator"], rule=nested)
            assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN" and refused["data"] is None, nested
        allowed = await graphql(http, PREVIEW, keys["granted"], rule=rule)
        assert allowed["data"]["previewSegment"]["size"] >= 1, allowed
    for fragment in ("zhila.oracle", "mailbox", "zhila oracle mailbox"):
        hidden = await graphql(http, SEARCH, keys["integrator"], q=fragment)
        assert "errors" not in hidden and customer_id not in str(hidden), (fragment, hidden)
        assert hidden["data"]["customers"]["totalCount"] == 0, fragment
        seen = await graphql(http, SEARCH, keys["granted"], q=fragment)
        assert customer_id in str(seen), fragment
    fields = await graphql(http, "{ segmentRuleFields { name } }", keys["integrator"])
    assert "email" not in {f["name"] for f in fields["data"]["segmentRuleFields"]}
    assert customer_id in str(await graphql(http, SEARCH, keys["integrator"], q="Nobody"))  # names still are
