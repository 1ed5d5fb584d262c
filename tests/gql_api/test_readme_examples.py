"""Every GraphQL example of the README, run as written against a scored demo
store whose first customer and segments are those the examples name
(Customer:1, Segment:1, ...): each one validates against the schema, and
each query and mutation returns data, no errors and something to see (the
campaign walkthrough has a test of its own: test_readme_walkthrough.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import OperationType, parse, print_ast, validate

from domain.db import unit_of_work
from domain.demo import build_demo
from domain.scoring_pipeline import rescore_workspace
from domain.vocab import Role
from domain.workspaces import create_key
from gql_api.ids import to_global_id
from gql_api.schema import schema
from tests.helpers import new_workspace

README = Path(__file__).parents[2] / "README.md"
WALKTHROUGH = "## Campaigns and offers"
VARIABLES = {"id": to_global_id("Customer", 1), "cursor": None, "after": None}


def _operations() -> list[tuple[int, str, OperationType, str]]:
    """(block, name, type, document) of every operation outside the walkthrough."""
    text = README.read_text(encoding="utf-8")
    start = text.index(WALKTHROUGH)
    outside = text[:start] + text[text.index("\n## ", start + 1):]
    found = []
    for block, source in enumerate(re.findall(r"```graphql\n(.*?)```", outside, re.S)):
        document = parse(source)
        assert validate(schema._schema, document) == [], source
        for definition in document.definitions:
            name = definition.name.value if definition.name else f"block {block}"
            found.append((block, name, definition.operation, print_ast(definition)))
    return found


def _something(value: object) -> bool:
    """Not empty: a value or a non-empty list, and wherever it counts or lists
    what it found (`size`, `totalCount`, `edges`), found something."""
    if value is None or value == []:
        return False
    if not isinstance(value, dict):
        return True
    for key, inner in value.items():
        if key in ("size", "totalCount") and not inner > 0 or key == "edges" and not inner:
            return False
        if isinstance(inner, dict) and not _something(inner):
            return False
    return True


@pytest.fixture(scope="module")
async def demo(engine):
    """The demo store first in its database: its ids are those of `make run`'s store."""
    workspace = await new_workspace(engine, "demo")
    async with unit_of_work(engine) as conn:
        await build_demo(conn, workspace.id, 2000, seed=7)
        keys = {role: (await create_key(conn, workspace.id, role))[0] for role in (Role.ADMIN, Role.APP)}
    await rescore_workspace(engine, workspace.id)
    return keys


async def test_every_readme_example_returns_something_on_the_demo_store(http, demo):
    operations = _operations()
    assert len(operations) >= 12
    token = None
    for block, name, kind, document in operations:
        if kind is OperationType.SUBSCRIPTION:
            continue  # validated above; subscriptions have tests of their own
        app = "me {" in document
        headers = {"Authorization": f"Bearer {demo[Role.APP] if app else demo[Role.ADMIN]}"}
        if app:
            headers["X-Customer-Token"] = token
        wanted = {v.variable.name.value for v in parse(document).definitions[0].variable_definitions or ()}
        body = (await http.post("/graphql", json={"query": document, "variables": {
            k: VARIABLES[k] for k in wanted}}, headers=headers)).json()
        assert "errors" not in body, (block, name, body)
        for field, value in body["data"].items():
            assert _something(value), (block, name, field, value)
            if field == "customerTokenCreate":
                token = value["token"]
