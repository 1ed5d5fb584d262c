"""Plain fields and plain selections completed without graphql-core's ceremony.

Most of a response is plain attributes: a note's body, a score, the edges of a
connection and the node of each edge. For each field, graphql-core builds a
resolve-info object and a path, looks for arguments, calls strawberry's
wrapper around `getattr`, checks the result for an awaitable and walks
`complete_value` down to the coercion; the 10 note edges of a customer profile
were a quarter of its request. Here a plain field is read with `getattr` and
coerced by its type, and an object whose selected fields are all plain is
completed in one recursive walk. Anything out of the ordinary (an attribute
raises, a null where the type forbids one, a value the type will not coerce, a
deferred fragment) drops the whole field to graphql-core's own way, which then
reports the error, with its path, as the specification asks.
"""

from __future__ import annotations

from typing import Any

from graphql import (GraphQLEnumType, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLOutputType,
                     GraphQLScalarType, GraphQLSchema, Undefined, get_named_type, get_nullable_type, is_leaf_type)
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from gql_api.acyclic_execution import AcyclicExecution

# (type name, field name) -> (attribute, the field's type)
_Plans = dict[tuple[str, str], tuple[str, GraphQLOutputType]]
_plans_of: dict[GraphQLSchema, _Plans] = {}  # a process has one schema (tests, a few more)
_LEAVES = (GraphQLScalarType, GraphQLEnumType)


class _NotPlain(Exception):
    """This value needs graphql-core's way."""


# What an object's selection reads: (response name, attribute, the field's
# type, the field's own selection); attribute None for __typename.
_Selection = list[tuple[str, str | None, GraphQLOutputType | None, Any]]


class PlainFieldExecution(AcyclicExecution):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # (object type, id of a field group) -> (the group, its selection or
        # None when some field in it, however deep, is not plain). The group is
        # kept so that its id is not reused, as graphql-core's own memo does.
        self._selections: dict[tuple, tuple[Any, _Selection | None]] = {}

    def build_per_event_executor(self, payload):
        executor = super().build_per_event_executor(payload)
        executor._selections = {}  # groups are made afresh for each event: the memo would only grow
        return executor

    def _plans(self) -> _Plans | None:
        # (strawberry passes a manager on every request; its middlewares are
        # the schema extensions that wrap each resolver: none here)
        if self.middleware_manager and self.middleware_manager.middlewares:
            return None
        plans = _plans_of.get(self.schema)
        if plans is None:
            plans = _plans_of.setdefault(self.schema, _plain_fields(self.schema))
        return plans

    def execute_field(self, parent_type, source, field_details_list, path, position_context):
        plans = self._plans()
        plan = plans and plans.get((parent_type.name, field_details_list[0].node.name.value))
        if plan is not None:
            attribute, field_type = plan
            named = get_named_type(field_type)
            if isinstance(named, _LEAVES) or (type(named) is GraphQLObjectType
                                              and self._selection(plans, named, field_details_list) is not None):
                try:
                    return self._complete(field_type, getattr(source, attribute), field_details_list)
                except Exception:  # noqa: BLE001 - the normal way below raises it again, with its path
                    pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def complete_object_value(self, return_type, field_details_list, info, path, result, position_context):
        """An object a resolver returned (a connection, a customer's scores)
        whose selected fields are all plain."""
        plans = self._plans()
        if plans is not None and self._selection(plans, return_type, field_details_list) is not None:
            try:
                return self._complete_object(return_type, result, field_details_list)
            except Exception:  # noqa: BLE001 - as above
                pass
        return super().complete_object_value(return_type, field_details_list, info, path, result,
                                              position_context)

    def _selection(self, plans: _Plans, object_type: GraphQLObjectType, field_details_list) -> _Selection | None:
        key = (object_type, id(field_details_list))
        known = self._selections.get(key)
        if known is None:
            known = self._selections[key] = (field_details_list,
                                             self._select(plans, object_type, field_details_list))
        return known[1]

    def _select(self, plans: _Plans, object_type: GraphQLObjectType, field_details_list) -> _Selection | None:
        grouped_field_set, new_defer_usages, forbidden = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages or forbidden:
            return None
        selection: _Selection = []
        for response_name, sub_fields in grouped_field_set.items():
            name = sub_fields[0].node.name.value
            if name == "__typename":
                selection.append((response_name, None, None, None))
                continue
            plan = plans.get((object_type.name, name))
            if plan is None:
                return None
            attribute, field_type = plan
            named = get_named_type(field_type)
            if type(named) is GraphQLObjectType:
                if self._selection(plans, named, sub_fields) is None:
                    return None
            elif not isinstance(named, _LEAVES):
                return None  # an interface or a union: its runtime type is graphql-core's business
            selection.append((response_name, attribute, field_type, sub_fields))
        return selection

    def _complete(self, field_type: GraphQLOutputType, value: Any, field_details_list) -> Any:
        if type(field_type) is GraphQLNonNull:
            if value is None:
                raise _NotPlain
            field_type = field_type.of_type
        elif value is None:
            return None
        if isinstance(field_type, _LEAVES):
            coerced = field_type.coerce_output_value(value)
            if coerced is None or coerced is Undefined:
                raise _NotPlain
            return coerced
        if type(field_type) is GraphQLList:
            if not isinstance(value, list | tuple):
                raise _NotPlain
            item_type = field_type.of_type
            return [self._complete(item_type, item, field_details_list) for item in value]
        return self._complete_object(field_type, value, field_details_list)

    def _complete_object(self, object_type: GraphQLObjectType, value: Any, field_details_list) -> dict[str, Any]:
        # strawberry's is_type_of (on types with interfaces) ignores its info
        if object_type.is_type_of is not None and not object_type.is_type_of(value, None):
            raise _NotPlain
        completed = {}
        for response_name, attribute, field_type, sub_fields in self._selections[
                (object_type, id(field_details_list))][1]:
            completed[response_name] = (object_type.name if attribute is None
                                        else self._complete(field_type, getattr(value, attribute), sub_fields))
        return completed


def _plain_fields(schema: GraphQLSchema) -> _Plans:
    """The schema's fields that strawberry resolves with a bare getattr: no
    resolver, no field extensions (permissions), no arguments. Lists too,
    unless the schema allows @stream, which graphql-core handles."""
    streams = any(directive.name == "stream" for directive in schema.directives)
    plans: _Plans = {}
    for type_name, named in schema.type_map.items():
        if not isinstance(named, GraphQLObjectType):
            continue
        for field_name, field in named.fields.items():
            definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if (isinstance(definition, StrawberryField) and definition.is_basic_field and not field.args
                    and getattr(field.resolve, "_is_default", False) and definition.default_resolver is getattr
                    and (is_leaf_type(get_nullable_type(field.type)) or not streams)):
                plans[(type_name, field_name)] = (definition.python_name, field.type)
    return plans
