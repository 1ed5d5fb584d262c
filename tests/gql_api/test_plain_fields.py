"""Plain fields read straight from their attribute answer exactly as through
graphql-core's own way, errors included."""

import datetime
import enum

import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gql_api.plain_fields import PlainFieldExecution


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"


class Broken(Exception):
    pass


@strawberry.type
class Item:
    name: str
    note: str | None
    colour: Colour
    at: datetime.datetime
    count: int

    @strawberry.field
    def shouted(self) -> str:
        return self.name.upper()


class Exploding:
    """Looks like an Item, but reading its name fails."""

    note = colour = at = count = None

    @property
    def name(self):
        raise Broken("no name")


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        at = datetime.datetime(2026, 11, 24, tzinfo=datetime.UTC)
        return [Item(name="a", note=None, colour=Colour.RED, at=at, count=3),
                Item(name=None, note="x", colour=Colour.RED, at=at, count=1),  # null where the type forbids it
                Item(name="c", note=None, colour=Colour.RED, at=at, count=2**40),  # not an Int
                Exploding()]


QUERY = "{ items { name note colour at count shouted } }"


def test_plain_fields_answer_like_graphql_core_errors_included():
    plain = strawberry.Schema(query=Query, execution_context_class=PlainFieldExecution).execute_sync(QUERY)
    classic = strawberry.Schema(query=Query,
                                execution_context_class=StrawberryGraphQLCoreExecutionContext).execute_sync(QUERY)
    assert plain.data == classic.data
    assert plain.data["items"][0] == {"name": "a", "note": None, "colour": "RED", "at": "2026-11-24T00:00:00+00:00",
                                      "count": 3, "shouted": "A"}
    assert plain.data["items"][1:] == [None, None, None]
    assert [(e.message, e.path) for e in plain.errors] == [(e.message, e.path) for e in classic.errors]
    assert [e.path for e in plain.errors] == [["items", 1, "name"], ["items", 2, "count"], ["items", 3, "name"]]
