"""Relay connection pieces shared by every list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry


@strawberry.type(description="Relay page information.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge:
    """The cursor part of every edge type: made from the row only when a
    client asks for it (most read a page through pageInfo.endCursor alone)."""
    row: strawberry.Private[Any]
    cursor_of: strawberry.Private[Callable[[Any], str]]

    @strawberry.field
    def cursor(self) -> str:
        return self.cursor_of(self.row)
