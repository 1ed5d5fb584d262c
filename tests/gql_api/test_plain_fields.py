"""Plain fields read straight from their attribute, and objects whose selection
is all plain fields, answer exactly as through graphql-core's own way, errors
included."""

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


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Owner(Named):
    since: int


@strawberry.type
class Item:
    name: str
    note: str | None
    colour: Colour
    at: datetime.datetime
    count: int
    tags: list[str]
    owner: Owner | None
    keeper: Named | None

    @strawberry.field
    def shouted(self) -> str:
        return self.name.upper()


class Exploding:
    """Looks like an Item, but reading its name fails."""

    note = colour = at = count = owner = keeper = None
    tags = ()

    @property
    def name(self):
        raise Broken("no name")


@strawberry.type
class Box:
    """A resolver's result whose fields are all plain: completed in one walk."""
    label: str
    items: list[Item | None]


AT = datetime.datetime(2026, 11, 24, tzinfo=datetime.UTC)


def _item(name, count=1, owner=None, tags=("x",)):
    return Item(name=name, note=None, colour=Colour.RED, at=AT, count=count, tags=list(tags), owner=owner,
                keeper=owner)


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return [_item("a", count=3),
                _item(None),  # null where the type forbids it
                _item("c", count=2**40),  # not an Int
                Exploding()]

    @strawberry.field
    def box(self) -> Box:
        return Box(label="b", items=[_item("a", owner=Owner(name="o", since=2020), tags=("x", "y")),
                                     _item("b", owner=Owner(name=None, since=2021)),  # a null deeper down
                                     _item("c", tags=(None,))])  # a null in a list of non-null


def _both(query):
    plain = strawberry.Schema(query=Query, types=[Owner],
                              execution_context_class=PlainFieldExecution).execute_sync(query)
    classic = strawberry.Schema(query=Query, types=[Owner],
                                execution_context_class=StrawberryGraphQLCoreExecutionContext).execute_sync(query)
    assert plain.data == classic.data
    assert [(e.message, e.path) for e in plain.errors or []] == [(e.message, e.path) for e in classic.errors or []]
    return plain


def test_plain_fields_answer_like_graphql_core_errors_included():
    plain = _both("{ items { name note colour at count shouted } }")
    assert plain.data["items"][0] == {"name": "a", "note": None, "colour": "RED", "at": "2026-11-24T00:00:00+00:00",
                                      "count": 3, "shouted": "A"}
    assert plain.data["items"][1:] == [None, None, None]
    assert [e.path for e in plain.errors] == [["items", 1, "name"], ["items", 2, "count"], ["items", 3, "name"]]


def test_plain_objects_and_lists_answer_like_graphql_core_errors_included():
    plain = _both("{ box { __typename label items { name tags owner { name since __typename } } } }")
    assert plain.data["box"]["__typename"] == "Box"
    assert plain.data["box"]["items"] == [
        {"name": "a", "tags": ["x", "y"], "owner": {"name": "o", "since": 2020, "__typename": "Owner"}},
        {"name": "b", "tags": ["x"], "owner": None},
        None]
    assert [e.path for e in plain.errors] == [["box", "items", 1, "owner", "name"], ["box", "items", 2, "tags", 0]]


def test_a_selection_with_a_resolver_or_an_interface_anywhere_is_left_to_graphql_core():
    plain = _both("{ box { items { shouted keeper { name ... on Owner { since } } } } }")
    assert plain.data["box"]["items"][0] == {"shouted": "A", "keeper": {"name": "o", "since": 2020}}
    plain = _both("{ box { label ... @include(if: false) { items { name } } } }")
    assert plain.data == {"box": {"label": "b"}}
