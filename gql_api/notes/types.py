"""The Note type, its connection and inputs."""

from __future__ import annotations

import datetime

import strawberry

from gql_api.enums import NoteKind
from gql_api.ids import from_cursor, from_micros, to_cursor, to_micros
from gql_api.node import Node
from gql_api.pagination import Edge, PageInfo


@strawberry.type(description="A note staff wrote on a customer's profile.")
class Note(Node):
    author: str
    kind: NoteKind
    body: str
    pinned: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime


    @classmethod
    def from_row(cls, row) -> Note:
        return cls(pk=row.id, author=row.author, kind=NoteKind(row.kind), body=row.body, pinned=row.pinned,
                   created_at=row.created_at, updated_at=row.updated_at)


@strawberry.type
class NoteEdge(Edge):
    node: Note


@strawberry.type(description="A customer's notes, pinned first, then newest first.")
class NoteConnection:
    edges: list[NoteEdge]
    page_info: PageInfo




def note_cursor(row) -> str:
    """(pinned, created_at, id) of the row: where the next page starts."""
    return to_cursor(int(row.pinned), to_micros(row.created_at), row.id)


def note_position(cursor: str) -> tuple[bool, datetime.datetime, int]:
    pinned, micros, pk = from_cursor(cursor, 3)
    return pinned == "1", from_micros(int(micros)), int(pk)


@strawberry.input
class NoteCreateInput:
    customer_id: strawberry.ID
    body: str
    kind: NoteKind = NoteKind.NOTE
    pinned: bool = False
    author: str | None = strawberry.field(default=None, description="Default: the API key's name.")


@strawberry.input(description="Only the fields given change.")
class NoteUpdateInput:
    id: strawberry.ID
    body: str | None = None
    kind: NoteKind | None = None
    pinned: bool | None = None


@strawberry.input
class NoteDeleteInput:
    id: strawberry.ID
