"""Protection against abusive queries and requests.

- tokens: graphql-core's parser limit;
- depth, aliases and cost, computed like GitHub's: every field selected counts
  once per object it may be asked for, and a list field's page size (`first`,
  default 20, a variable counts as the maximum 100) multiplies everything below
  it; each fragment measured once (OperationShape);
- request bodies over `MAX_BODY_BYTES` are refused before they are read whole;
- requests per API key are rate-limited (token bucket, per server process);
- outside development mode, only ADMIN keys may introspect the schema or get
  "Did you mean ...?" hints: others learn the schema from the published
  contract, not by probing.

Their errors are validation errors with a message meant for the client, so the
error mask (schema.py) lets them through.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

from graphql import (
    FieldNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 3000
MAX_COST = 50_000
MAX_PAGE = 100
DEFAULT_PAGE = 20
MAX_BODY_BYTES = 1 << 20
MAX_BUCKETS = 10_000  # rate-limit buckets kept before idle ones are dropped


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


_RULES = (OperationShape,)
_CLOSED_RULES = (NoSchemaIntrospectionCustomRule, *_RULES)


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
        yield
        if closed:
            for error in [*(context.pre_execution_errors or ()), *(getattr(context.result, "errors", None) or ())]:
                error.message = error.message.split(" Did you mean")[0]


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
    await _refuse(send, 413, "PAYLOAD_TOO_LARGE", "request body too large")


async def _refuse(send: Send, status: int, code: str, message: str,
                  headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class RateLimit:
    """ASGI middleware: a token bucket per API key (per process) on /graphql;
    over the limit a request gets 429 with Retry-After and code RATE_LIMITED.
    Keys are told apart by a hash of the Authorization header, so no database
    work is spent on a request that is refused."""

    def __init__(self, app: ASGIApp, per_second: float = 50.0, burst: int = 100):
        self.app = app
        self.per_second = per_second
        self.burst = burst
        self.buckets: dict[bytes, tuple[float, float]] = {}  # key hash -> (tokens, last refill)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/graphql":
            await self.app(scope, receive, send)
            return
        credential = dict(scope.get("headers", [])).get(b"authorization", b"")
        key = hashlib.sha256(credential).digest()
        now = time.monotonic()
        tokens, last = self.buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
        if tokens < 1.0:
            self.buckets[key] = (tokens, now)
            await _refuse(send, 429, "RATE_LIMITED", "too many requests for this API key",
                          [(b"retry-after", str(max(1, round((1.0 - tokens) / self.per_second))).encode())])
            return
        self.buckets[key] = (tokens - 1.0, now)
        if len(self.buckets) > MAX_BUCKETS:  # forget idle keys (their buckets are full again anyway)
            idle = now - self.burst / self.per_second
            self.buckets = {k: v for k, v in self.buckets.items() if v[1] > idle}
        await self.app(scope, receive, send)
