"""schema.graphql is the public contract: it must be what the code serves."""

from pathlib import Path

from gql_api.schema import schema

CONTRACT = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_committed_schema_matches_the_code():
    assert CONTRACT.read_text().strip() == schema.as_str().strip(), (
        "schema.graphql is out of date: run `make schema`, review the diff, and write down any breaking change")
