"""The Relay Node interface: every object with an opaque global id."""

from __future__ import annotations

import strawberry

from gql_api.ids import to_global_id


@strawberry.interface(description="An object with an opaque global id (Relay).")
class Node:
    pk: strawberry.Private[int]

    @strawberry.field(description="Opaque global id; `node(id:)` fetches the object again.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id(type(self).__name__, self.pk))
