"""Fields that only read an attribute, resolved without graphql-core's ceremony.

Most fields of a response are plain attributes of scalar or enum type: a
note's body, a score. For each, graphql-core builds a resolve-info object,
looks for arguments, calls strawberry's wrapper around `getattr`, checks the
result for an awaitable and walks `complete_value` down to the coercion. Here
such a field is read with `getattr` and coerced by its type directly. Anything
out of the ordinary (the attribute raises, a null where the type forbids one,
a value the type will not coerce) takes graphql-core's own way, which then
reports the error the specification asks for.
"""

from __future__ import annotations

from graphql import (GraphQLLeafType, GraphQLObjectType, GraphQLSchema, Undefined, get_nullable_type, is_leaf_type,
                     is_non_null_type)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

# (type name, field name) -> (attribute, leaf type, whether null is allowed)
_Plans = dict[tuple[str, str], tuple[str, GraphQLLeafType, bool]]
_plans_of: dict[GraphQLSchema, _Plans] = {}  # a process has one schema (tests, a few more)


class PlainFieldExecution(StrawberryGraphQLCoreExecutionContext):
    def execute_field(self, parent_type, source, field_details_list, path, position_context):
        plans = _plans_of.get(self.schema)
        if plans is None:
            plans = _plans_of.setdefault(self.schema, _plain_fields(self.schema))
        plan = plans.get((parent_type.name, field_details_list[0].node.name.value))
        # (strawberry passes a manager on every request; its middlewares are
        # the schema extensions that wrap each resolver: none here)
        if plan is not None and not (self.middleware_manager and self.middleware_manager.middlewares):
            attribute, leaf, nullable = plan
            try:
                value = getattr(source, attribute)
                if value is None:
                    if nullable:
                        return None
                else:
                    coerced = leaf.coerce_output_value(value)
                    if coerced is not None and coerced is not Undefined:
                        return coerced
            except Exception:  # noqa: BLE001 - the normal way below raises it again, with its path
                pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)


def _plain_fields(schema: GraphQLSchema) -> _Plans:
    """The schema's fields that strawberry resolves with a bare getattr: no
    resolver, no field extensions (permissions), no arguments, a leaf type."""
    plans: _Plans = {}
    for type_name, named in schema.type_map.items():
        if not isinstance(named, GraphQLObjectType):
            continue
        for field_name, field in named.fields.items():
            definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            leaf = get_nullable_type(field.type)
            if (isinstance(definition, StrawberryField) and definition.is_basic_field and not field.args
                    and getattr(field.resolve, "_is_default", False) and is_leaf_type(leaf)
                    and definition.default_resolver is getattr):
                plans[(type_name, field_name)] = (definition.python_name, leaf, not is_non_null_type(field.type))
    return plans
