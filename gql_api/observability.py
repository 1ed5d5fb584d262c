"""Request ids, one structured log line per request, and Prometheus metrics.

Metrics are per process (each uvicorn worker serves its own /metrics, as the
Prometheus client libraries do without a shared store): GraphQL operations by
name with their latency and errors, HTTP responses by status, and the
database pools in use.

/metrics shows every workspace's traffic, so it is not for API keys: it
answers a request bearing the metrics token (TRIBE_METRICS_TOKEN), or anyone
in development mode, and 404 otherwise. Labels hold only what the server
knows: its own routes (`other` for any other path) and the names of the
operations requests ran (each a GraphQL name; past MAX_OPERATIONS of them,
`other`), so a client can neither forge a line nor grow the series forever.
"""

from __future__ import annotations

import hmac
import itertools
import json
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

log = logging.getLogger("tribe.requests")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
ROUTES = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})
MAX_OPERATIONS = 200  # operation names with series of their own

# Request ids made up here: this process's random half and a counter. A
# uuid4 for each request asked the kernel for random bytes every time.
_PROCESS_ID = uuid.uuid4().hex[:16]
_request_numbers = itertools.count()


def new_request_id() -> str:
    return f"{_PROCESS_ID}{next(_request_numbers):016x}"


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.operations: dict[str, int] = defaultdict(int)
        self.errors: dict[str, int] = defaultdict(int)
        self.latency_buckets: dict[str, list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        self.latency_sum: dict[str, float] = defaultdict(float)

    def observe_operation(self, name: str, seconds: float, failed: bool) -> None:
        if name not in self.operations and len(self.operations) >= MAX_OPERATIONS:
            name = "other"
        self.operations[name] += 1
        self.latency_sum[name] += seconds
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.latency_buckets[name][i] += 1
        if failed:
            self.errors[name] += 1

    def render(self, pools: dict[str, tuple[int, int]]) -> str:
        """`pools`: (connections in use, pool size) by metric prefix."""
        lines = ["# TYPE tribe_http_responses_total counter"]
        lines += [f'tribe_http_responses_total{{path="{p}",status="{s}"}} {n}' for (p, s), n in self.requests.items()]
        lines.append("# TYPE tribe_graphql_operations_total counter")
        lines += [f'tribe_graphql_operations_total{{operation="{o}"}} {n}' for o, n in self.operations.items()]
        lines.append("# TYPE tribe_graphql_errors_total counter")
        lines += [f'tribe_graphql_errors_total{{operation="{o}"}} {n}' for o, n in self.errors.items()]
        lines.append("# TYPE tribe_graphql_duration_seconds histogram")
        for name, counts in self.latency_buckets.items():
            lines += [f'tribe_graphql_duration_seconds_bucket{{operation="{name}",le="{b}"}} {c}'
                      for b, c in zip(BUCKETS, counts)]
            lines.append(f'tribe_graphql_duration_seconds_bucket{{operation="{name}",le="+Inf"}} '
                         f'{self.operations[name]}')
            lines.append(f'tribe_graphql_duration_seconds_sum{{operation="{name}"}} {self.latency_sum[name]:.6f}')
            lines.append(f'tribe_graphql_duration_seconds_count{{operation="{name}"}} {self.operations[name]}')
        for prefix, (in_use, size) in pools.items():
            lines += [f"# TYPE {prefix}_connections_in_use gauge", f"{prefix}_connections_in_use {in_use}",
                      f"# TYPE {prefix}_size gauge", f"{prefix}_size {size}"]
        return "\n".join(lines) + "\n"


METRICS = Metrics()


def _operation_name(context) -> str:
    """The name of the operation the document holds and the request ran: the
    request's `operationName` alone may be any text, until it names one."""
    wanted = context.operation_name
    document = context.graphql_document
    if not wanted or document is None:
        return "anonymous" if document is not None else "unparsed"
    named = any(getattr(d, "name", None) is not None and d.name.value == wanted for d in document.definitions)
    return wanted if named else "unknown"


class OperationMetrics(SchemaExtension):
    """Times each GraphQL operation and counts the ones that returned errors."""

    def on_operation(self):
        started = time.perf_counter()
        yield
        context = self.execution_context
        name = _operation_name(context)
        failed = bool(context.result and context.result.errors) or bool(getattr(context, "pre_execution_errors", None))
        METRICS.observe_operation(name, time.perf_counter() - started, failed)


class RequestLog:
    """ASGI middleware: a request id (the client's X-Request-ID or a new one),
    echoed in the response, and one JSON log line per HTTP request."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        request_id = headers.get(b"x-request-id", b"").decode()[:100] or new_request_id()
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            METRICS.requests[(scope["path"] if scope["path"] in ROUTES else "other", status)] += 1
            log.info(json.dumps({"request_id": request_id, "method": scope["method"], "path": scope["path"],
                                 "status": status, "ms": round((time.perf_counter() - started) * 1e3, 2)}))


def metrics_endpoint(pools: Callable[[], dict[str, tuple[int, int]]], token: str | None, dev: bool):
    """/metrics for the bearer of `token` (anyone in development mode); 404 to everyone else."""
    expected = f"Bearer {token}".encode() if token else None

    async def metrics(request: Request) -> Response:
        given = request.headers.get("authorization", "").encode()
        if not dev and (expected is None or not hmac.compare_digest(given, expected)):
            return PlainTextResponse("Not Found", status_code=404)
        return PlainTextResponse(METRICS.render(pools()), media_type="text/plain; version=0.0.4")
    return metrics
