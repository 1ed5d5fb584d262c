"""What a query selects under the field being resolved: lets a resolver load
in one statement what DataLoaders would otherwise fetch in several."""

from __future__ import annotations

from strawberry.types import Info
from strawberry.types.nodes import SelectedField, Selection


def selects(info: Info, name: str) -> bool:
    """Whether the field being resolved selects the field `name` of its type,
    directly or through a fragment."""
    return any(_selects(field.selections, name) for field in info.selected_fields)


def _selects(selections: list[Selection], name: str) -> bool:
    return any(s.name == name if isinstance(s, SelectedField) else _selects(s.selections, name)  # a fragment
               for s in selections)
