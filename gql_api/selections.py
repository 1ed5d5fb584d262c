"""What a query selects under the field being resolved: lets a resolver load
in one statement what DataLoaders would otherwise fetch in several."""

from __future__ import annotations

from graphql import FieldNode, FragmentSpreadNode, GraphQLResolveInfo, SelectionSetNode
from strawberry.types import Info


def selects(info: Info, name: str) -> bool:
    """Whether the field being resolved selects the field `name` of its type,
    directly or through a fragment. Read from graphql-core's syntax tree:
    strawberry's `selected_fields` converts the whole selection below, with
    arguments and directives, which cost 6% of a customer by id."""
    raw: GraphQLResolveInfo = info._raw_info
    return any(_selects(node.selection_set, name, raw) for node in raw.field_nodes)


def _selects(selection_set: SelectionSetNode | None, name: str, raw: GraphQLResolveInfo) -> bool:
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            found = selection.name.value == name
        elif isinstance(selection, FragmentSpreadNode):
            fragment = raw.fragments.get(selection.name.value)
            found = fragment is not None and _selects(fragment.selection_set, name, raw)
        else:  # an inline fragment
            found = _selects(selection.selection_set, name, raw)
        if found:
            return True
    return False
