"""Protection against abusive queries and requests.

- depth, aliases and tokens: strawberry's limiters;
- cost, computed like GitHub's: every field selected counts once per object it
  may be asked for, and a list field's page size (`first`, default 20, a
  variable counts as the maximum 100) multiplies everything below it;
- request bodies over `MAX_BODY_BYTES` are refused before they are read whole.

Their errors are validation errors with a message meant for the client, so the
error mask (schema.py) lets them through.
"""

from __future__ import annotations

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
)
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.extensions import AddValidationRules, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 3000
MAX_COST = 50_000
MAX_PAGE = 100
DEFAULT_PAGE = 20
MAX_BODY_BYTES = 1 << 20


class QueryCost(ValidationRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_args) -> None:
        cost = self._cost(node.selection_set, 1, set())
        if cost > MAX_COST:
            self.report_error(GraphQLError(
                f"query cost {cost:,} exceeds the limit of {MAX_COST:,}: ask for smaller pages or fewer nested lists",
                node, extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "limit": MAX_COST}))

    def _cost(self, selections: SelectionSetNode | None, multiplier: int, seen: set[str]) -> int:
        if selections is None:
            return 0
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += multiplier
                total += self._cost(selection.selection_set, multiplier * _page(selection), seen)
            elif isinstance(selection, InlineFragmentNode):
                total += self._cost(selection.selection_set, multiplier, seen)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                fragment = self.context.get_fragment(selection.name.value)
                if fragment is not None:  # an unknown fragment is reported by the standard rules
                    total += self._cost(fragment.selection_set, multiplier, seen | {selection.name.value})
        return total


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


EXTENSIONS = [
    lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
    lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
    lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    lambda: AddValidationRules([QueryCost]),
]


class BodySizeLimit:
    """ASGI middleware: 413 for a request body over `limit` bytes, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(send)
            return
        received = 0

        async def guarded() -> dict:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise _BodyTooLarge
            return message

        try:
            await self.app(scope, guarded, send)
        except _BodyTooLarge:
            await _too_large(send)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    body = b'{"errors": [{"message": "request body too large", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]}'
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
