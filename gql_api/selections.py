"""What a query selects under the field being resolved: lets a resolver load
in one statement what DataLoaders would otherwise fetch in several."""

from __future__ import annotations

from graphql import (FieldNode, FragmentSpreadNode, GraphQLResolveInfo, IntValueNode, NullValueNode,
                     SelectionSetNode, VariableNode, get_named_type)
from strawberry.types import Info


def selects(info: Info, *path: str) -> bool:
    """Whether the field being resolved selects the field `path[0]` of its
    type (and under it `path[1]`, and so on), directly or through fragments."""
    raw: GraphQLResolveInfo = info._raw_info
    nodes = raw.field_nodes
    for name in path:
        found: list[FieldNode] = []
        for node in nodes:
            _collect(node.selection_set, name, raw, found)
        nodes = found
    return bool(nodes)


def first_page_size(info: Info, name: str) -> int | None:
    """The `first` of the one selection of the list field `name` (a connection
    with `first` and `after`) when it asks for a first page; else None."""
    found = _selections(info, name)
    if len(found) != 1:
        return None
    raw: GraphQLResolveInfo = info._raw_info
    arguments = {a.name.value: a.value for a in found[0].arguments or ()}  # None without arguments
    if _value(arguments.get("after"), raw) is not None:
        return None
    first = arguments.get("first")
    if first is None:
        return get_named_type(raw.return_type).fields[name].args["first"].default_value
    first = _value(first, raw)
    return first if isinstance(first, int) else None


def _selections(info: Info, name: str) -> list[FieldNode]:
    """Read from graphql-core's syntax tree: strawberry's `selected_fields`
    converts the whole selection below, with arguments and directives, which
    cost 6% of a customer by id."""
    raw: GraphQLResolveInfo = info._raw_info
    found: list[FieldNode] = []
    for node in raw.field_nodes:
        _collect(node.selection_set, name, raw, found)
    return found


def _collect(selection_set: SelectionSetNode | None, name: str, raw: GraphQLResolveInfo, found: list) -> None:
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            if selection.name.value == name:
                found.append(selection)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = raw.fragments.get(selection.name.value)
            if fragment is not None:
                _collect(fragment.selection_set, name, raw, found)
        else:  # an inline fragment
            _collect(selection.selection_set, name, raw, found)


_OTHER = object()  # an argument value `_value` does not read


def _value(node, raw: GraphQLResolveInfo):
    """An argument's value when it is a literal int, a null or a variable."""
    if isinstance(node, VariableNode):
        return raw.variable_values.get(node.name.value)
    if isinstance(node, IntValueNode):
        return int(node.value)
    if node is None or isinstance(node, NullValueNode):
        return None
    return _OTHER
