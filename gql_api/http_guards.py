"""Guards at the HTTP edge, before GraphQL: request bodies over
`MAX_BODY_BYTES` are refused before they are read whole; requests per API key
are rate-limited (token bucket, per server process); a request with several
Authorization headers is refused. Each refusal, like the view's own (a body
that is not UTF-8 or JSON), is a GraphQL error with a code, in the media type
the client accepts."""

from __future__ import annotations

import hashlib
import json
import time

from starlette.types import ASGIApp, Receive, Scope, Send

MAX_BODY_BYTES = 1 << 20
MAX_BUCKETS = 10_000  # rate-limit buckets kept before idle ones are dropped
GRAPHQL_RESPONSE = "application/graphql-response+json"
CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE",
         415: "UNSUPPORTED_MEDIA_TYPE", 429: "RATE_LIMITED", 503: "SERVICE_UNAVAILABLE"}


def media_type(accept: str) -> str:
    """GraphQL over HTTP: a client that accepts application/graphql-response+json gets it."""
    return GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in accept else "application/json"


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()


def _header(scope: Scope, name: bytes) -> list[bytes]:
    return [value for key, value in scope.get("headers", []) if key == name]


async def _refuse(scope: Scope, send: Send, status: int, code: str, message: str,
                  headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = error_body(code, message)
    accepted = media_type(b",".join(_header(scope, b"accept")).decode("latin-1"))
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", f"{accepted}; charset=utf-8".encode()),
                            (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


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
            await _too_large(scope, send)
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
            await _too_large(scope, send)


class _BodyTooLarge(Exception):
    pass


async def _too_large(scope: Scope, send: Send) -> None:
    await _refuse(scope, send, 413, "PAYLOAD_TOO_LARGE", "request body too large")


class RateLimiter:
    """A token bucket per API key (per process): `per_second` requests a
    second in bursts of `burst`. Keys are told apart by a hash of their
    Authorization header, so no database work is spent on a refused request;
    HTTP requests and WebSocket operations draw on the same buckets."""

    def __init__(self, per_second: float = 50.0, burst: int = 100):
        self.per_second = per_second
        self.burst = burst
        self.buckets: dict[bytes, tuple[float, float]] = {}  # key hash -> (tokens, last refill)

    def take(self, credential: bytes) -> int | None:
        """None when the key may go on; else the seconds it should wait."""
        key = hashlib.sha256(credential).digest()
        now = time.monotonic()
        tokens, last = self.buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
        if tokens < 1.0:
            self.buckets[key] = (tokens, now)
            return max(1, round((1.0 - tokens) / self.per_second))
        self.buckets[key] = (tokens - 1.0, now)
        if len(self.buckets) > MAX_BUCKETS:  # forget idle keys (their buckets are full again anyway)
            idle = now - self.burst / self.per_second
            self.buckets = {k: v for k, v in self.buckets.items() if v[1] > idle}
        return None


class RateLimit:
    """ASGI middleware: the rate limit on /graphql over HTTP; over the limit a
    request gets 429 with Retry-After and code RATE_LIMITED."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter):
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/graphql":
            await self.app(scope, receive, send)
            return
        # Starlette's request.headers reads the first of repeated headers, a dict of them the last: a second
        # Authorization header made the limiter count one key while another authenticated. Only one is taken.
        credentials = _header(scope, b"authorization")
        if len(credentials) > 1:
            await _refuse(scope, send, 400, "BAD_REQUEST", "send one Authorization header, not several")
            return
        wait = self.limiter.take(credentials[0] if credentials else b"")
        if wait is not None:
            await _refuse(scope, send, 429, "RATE_LIMITED", "too many requests for this API key",
                          [(b"retry-after", str(wait).encode())])
            return
        await self.app(scope, receive, send)
