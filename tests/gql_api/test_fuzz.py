"""Documents made up from schema.graphql by hypothesis-graphql, valid and
invalid ones, sent over HTTP with an ADMIN and an AGENT key to a server in a
process of its own: whatever they ask, the answer is never a 5xx, never
"Internal error." and never names the server's insides (a traceback, a
module, the database driver). Bounded: a fixed number of documents a key."""

from __future__ import annotations

import re
from datetime import UTC
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

from domain.db import unit_of_work
from domain.demo import build_demo
from domain.vocab import Role
from domain.workspaces import create_key
from tests.gql_api.conftest import run_app
from tests.helpers import new_workspace

SCHEMA = (Path(__file__).resolve().parents[2] / "schema.graphql").read_text()
EXAMPLES = 60  # documents per key and mode (about 25 s in all)
INSIDES = re.compile(r"Traceback|File \"|sqlalchemy|asyncpg|psycopg|strawberry\.|gql_api\.|domain\.|"
                     r"site-packages|\bline \d+, in\b", re.IGNORECASE)
SCALARS = {
    "Decimal": st.decimals(min_value=Decimal("-1e20"), max_value=Decimal("1e20"), places=2,
                           allow_nan=False).map(lambda d: nodes.String(str(d))),
    "DateTime": st.datetimes(timezones=st.just(UTC)).map(lambda d: nodes.String(d.isoformat())),
    "Date": st.dates().map(lambda d: nodes.String(d.isoformat())),
    "JSON": st.one_of(st.text(max_size=20).map(nodes.String), st.integers(-10**6, 10**6).map(nodes.Int)),
}


@pytest.fixture(scope="module")
async def served(database_url, engine):
    workspace = await new_workspace(engine, "fuzz")
    async with unit_of_work(engine) as conn:
        await build_demo(conn, workspace.id, 50, seed=4)
        keys = {role: (await create_key(conn, workspace.id, role))[0] for role in (Role.ADMIN, Role.AGENT)}
    with run_app(database_url) as url:
        yield url, keys


def _check(url: str, key: str, document: str) -> None:
    response = httpx.post(f"{url}/graphql", json={"query": document}, headers={"Authorization": f"Bearer {key}"},
                          timeout=30)
    assert response.status_code < 500, (document, response.text)
    assert "Internal error" not in response.text, (document, response.text)
    assert not INSIDES.search(response.text), (document, response.text)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("mode", [Mode.POSITIVE, Mode.NEGATIVE])
@pytest.mark.parametrize("role", [Role.ADMIN, Role.AGENT])
def test_no_made_up_document_gets_a_5xx_an_internal_error_or_the_servers_insides(served, role, mode):
    url, keys = served

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(document=from_schema(SCHEMA, custom_scalars=SCALARS, mode=mode))
    def fuzz(document: str) -> None:
        _check(url, keys[role], document)

    fuzz()
