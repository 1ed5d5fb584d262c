"""Protection against abusive queries and requests.

- tokens: graphql-core's parser limit;
- depth, aliases and cost, computed like GitHub's: every field selected counts
  once per object it may be asked for, and a list field's page size (`first`,
  default 20, a variable counts as the maximum 100) multiplies everything below
  it; each fragment measured once (OperationShape);
- text that PostgreSQL cannot store (NUL, unpaired surrogates) is refused
  before execution, in literals and variables alike;
- outside development mode, only ADMIN keys may introspect the schema or get
  "Did you mean ...?" hints: others learn the schema from the published
  contract, not by probing.

Their errors are validation errors with a message meant for the client, so the
error mask (schema.py) lets them through.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLSyntaxError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValidationRule,
    VariableNode,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 3000
MAX_COST = 50_000
MAX_PAGE = 100
DEFAULT_PAGE = 20


@dataclass(frozen=True)
class _Shape:
    """What a selection set weighs: its cost per object it is asked for, its
    depth (field levels with selections below them) and its aliases."""
    cost: int = 0
    depth: int = 0
    aliases: int = 0


class OperationShape(ValidationRule):
    """The depth, alias and cost limits, in one walk of the document in which
    each fragment is measured once however often it is spread. A fragment
    spread twice in each of 20 fragments expands to a million fields: walked
    expanded (as strawberry's depth and alias limiters and our cost rule did),
    validation doubled with every level (14 s at 20 levels, under 1.5 KB).
    Measured by fragment, it takes as long as the text is long, and the
    expanded size shows in the cost, which refuses it.

    Cost is computed like GitHub's: every field counts once per object it may
    be asked for, and a list field's page size (`first`, a variable counting
    as the maximum) multiplies everything below it; a selection set's cost
    scales with what multiplies it, so a fragment's is kept per object. Depth
    and aliases as strawberry's limiters count them (with their messages):
    fragments add no depth, introspection fields none below them, and aliases
    are counted in the expanded document, over all its operations."""

    def __init__(self, context) -> None:
        super().__init__(context)
        self.fragments: dict[str, _Shape | None] = {}  # None while being measured: a cycle spreads back
        self.aliases = 0

    def enter_operation_definition(self, node: OperationDefinitionNode, *_args) -> None:
        shape = self._measure(node.selection_set)
        name = node.name.value if node.name else ""
        if shape.depth > MAX_DEPTH:
            self.report_error(GraphQLError(f"'{name}' exceeds maximum operation depth of {MAX_DEPTH}", node))
        if shape.cost > MAX_COST:
            self.report_error(GraphQLError(
                f"query cost {shape.cost:,} exceeds the limit of {MAX_COST:,}: ask for smaller pages or fewer "
                "nested lists", node, extensions={"code": "QUERY_TOO_COSTLY", "cost": shape.cost, "limit": MAX_COST}))
        self.aliases += shape.aliases

    def leave_document(self, *_args) -> None:
        if self.aliases > MAX_ALIASES:
            self.report_error(GraphQLError(f"{self.aliases} aliases found. Allowed: {MAX_ALIASES}"))

    def _measure(self, selections: SelectionSetNode | None) -> _Shape:
        cost = depth = aliases = 0
        for selection in selections.selections if selections else ():
            if isinstance(selection, FieldNode):
                below = self._measure(selection.selection_set)
                cost += 1 + _page(selection) * below.cost
                aliases += below.aliases + (selection.alias is not None)
                if selection.selection_set and not selection.name.value.startswith("__"):
                    depth = max(depth, 1 + below.depth)
                continue
            inner = self._measure(selection.selection_set) if isinstance(selection, InlineFragmentNode) \
                else self._fragment(selection.name.value)
            cost, depth, aliases = cost + inner.cost, max(depth, inner.depth), aliases + inner.aliases
        return _Shape(cost, depth, aliases)

    def _fragment(self, name: str) -> _Shape:
        if name in self.fragments:
            return self.fragments[name] or _Shape()  # a cycle: the standard rules report it
        fragment = self.context.get_fragment(name)
        if fragment is None:  # an unknown fragment is reported by the standard rules
            return _Shape()
        self.fragments[name] = None
        self.fragments[name] = shape = self._measure(fragment.selection_set)
        return shape


# Lists whose size is not given by a `first` argument: their default or largest page.
_LIST_SIZES = {"customers": DEFAULT_PAGE, "notes": 10, "items": 50}


def _page(field: FieldNode) -> int:
    """How many objects a field may return: its `first` (or `ids`) for lists, else 1."""
    for argument in field.arguments or ():
        if argument.name.value == "first":
            if isinstance(argument.value, IntValueNode):
                return max(int(argument.value.value), 1)
            if isinstance(argument.value, VariableNode):
                return MAX_PAGE
        if argument.name.value == "ids":
            return MAX_PAGE
    return _LIST_SIZES.get(field.name.value, 1)


# PostgreSQL's text holds neither NUL nor half a UTF-16 pair (JSON and GraphQL
# escapes can spell both); refused here, they cannot reach a query or a write.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_UNSTORABLE_TEXT = "text may not contain NUL characters (\\u0000) or unpaired surrogates (\\ud800-\\udfff)"


class StorableText(ValidationRule):
    """Every string literal of the document can be stored."""

    def enter_string_value(self, node: StringValueNode, *_args) -> None:
        if _UNSTORABLE.search(node.value):
            self.report_error(GraphQLError(_UNSTORABLE_TEXT, node, extensions={"code": "BAD_USER_INPUT"}))


def unstorable_text_at(value: object) -> str | None:
    """The path of the first string (or key) in `value` that cannot be stored,
    or None; walked without recursion, so nesting cannot exhaust the stack."""
    pending = [("", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return path
        elif isinstance(item, dict):
            for key, inner in item.items():
                inner_path = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and _UNSTORABLE.search(key):
                    return inner_path
                pending.append((inner_path, inner))
        elif isinstance(item, list):
            pending.extend((f"{path}.{i}", inner) for i, inner in enumerate(item))
    return None


def _refusal(name: str, message: str, extensions: dict) -> type[ValidationRule]:
    """A rule that refuses the operation with one error, made for one request
    for what is not in the cached document (its variables, its key's rate);
    `name` tells what it refuses, as the validation cache tells rules apart by
    name."""
    def enter_document(rule: ValidationRule, *_args) -> None:
        rule.report_error(GraphQLError(message, extensions=extensions))
    return type(name, (ValidationRule,), {"enter_document": enter_document})


_RULES = (OperationShape, StorableText)


class IntrospectionRefused(NoSchemaIntrospectionCustomRule):
    """graphql-core's rule, its refusal with a code: outside development mode
    only ADMIN keys introspect (the others read schema.graphql)."""

    def report_error(self, error: GraphQLError) -> None:
        super().report_error(GraphQLError(f"{error.message} Only ADMIN keys introspect; the schema is published as "
                                          "schema.graphql.", error.nodes, extensions={"code": "FORBIDDEN"}))


_CLOSED_RULES = (IntrospectionRefused, *_RULES)


def _websocket_wait(context) -> int | None:
    """For an operation over a WebSocket (HTTP requests are counted before they
    reach GraphQL): None if its key may go on, else the seconds to wait."""
    limiter = getattr(context, "rate_limiter", None)
    if limiter is None or not isinstance(getattr(context, "request", None), WebSocket):
        return None
    return limiter.take((context.credential or "").encode())


# graphql-core's words for a value that is not of its type: the input's fault, like a bad field's.
_TYPE_ERRORS = ("Variable '$", "Expected value of type", "Expected type", "Enum ")


def _pre_execution_code(error: GraphQLError) -> str:
    """A code for an error GraphQL raised before anything ran: a value not of
    its type is BAD_USER_INPUT; any other fault of the document,
    GRAPHQL_VALIDATION_FAILED."""
    return "BAD_USER_INPUT" if error.message.startswith(_TYPE_ERRORS) else "GRAPHQL_VALIDATION_FAILED"


class QueryLimits(SchemaExtension):
    """The token, depth, alias and cost limits on every operation. Unless the
    context's `schema_open`, introspection is refused too (a validation
    error) and suggestions are cut from error messages. One extension where
    strawberry's MaxTokensLimiter and AddValidationRules took two more: every
    extension's hooks are entered and left for every operation."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = MAX_TOKENS
        closed = not getattr(context.context, "schema_open", True)
        context.validation_rules = (*context.validation_rules, *(_CLOSED_RULES if closed else _RULES))
        if (unstorable := unstorable_text_at(context.variables)) is not None:
            context.validation_rules = (*context.validation_rules, _refusal(
                f"UnstorableVariable({unstorable})", f"variable ${unstorable}: {_UNSTORABLE_TEXT}",
                {"code": "BAD_USER_INPUT"}))
        if (wait := _websocket_wait(context.context)) is not None:
            context.validation_rules = (*context.validation_rules, _refusal(
                f"RateLimited({wait})", f"too many requests for this API key: wait {wait} s",
                {"code": "RATE_LIMITED", "retryAfter": wait}))
        try:
            yield
        except GraphQLSyntaxError as error:  # the document cache parses, and its parse errors come through here
            error.extensions = error.extensions or {"code": "GRAPHQL_PARSE_FAILED"}
            raise
        for error in context.pre_execution_errors or ():
            if not error.extensions and error.path is None:
                error.extensions = {"code": _pre_execution_code(error)}
        if closed:
            for error in [*(context.pre_execution_errors or ()), *(getattr(context.result, "errors", None) or ())]:
                error.message = error.message.split(" Did you mean")[0]
