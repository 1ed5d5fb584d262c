"""The Starlette application: /graphql, /healthz, /readyz, /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
from datetime import timedelta
from pathlib import Path

import orjson
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from strawberry import UNSET
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from cross_web import HTTPException  # what strawberry 0.341 raises for a request it refuses

from domain.db import is_unavailable, make_engine, make_read_engine
from domain.migrate import SchemaOutOfDate, require_latest
from domain.scoring_pipeline import warm_up as warm_up_scoring
from gql_api.context import Context
from gql_api.hub import Hub
from gql_api.known_keys import KnownKeys
from gql_api.http_guards import (CODES, GRAPHQL_RESPONSE, BodySizeLimit, RateLimit, RateLimiter, error_body,
                                 media_type)
from gql_api.observability import RequestLog, metrics_endpoint
from gql_api.recent import Recent
from gql_api.scheduler import campaign_tick, refit_all, refresh_time_windows, run_every
from gql_api.schema import UNAVAILABLE, schema
from gql_api.webhook_dispatcher import run_dispatcher


GRAPHIQL = Path(__file__).parent / "graphiql"
GRAPHIQL_PAGE = (GRAPHIQL / "index.html").read_text(encoding="utf-8")

# Encoded subscription payloads, by the identity of the result data they encode
# (the data object is kept alive with its encoding, so its id is not reused).
encoded_payloads = Recent()


def to_json(data: object) -> str:
    """orjson, five to ten times faster than json.dumps on a response; text
    (not bytes) because WebSocket messages must go as text frames. Integers
    beyond 64 bits, which a customer's custom attributes may hold, go through
    json.dumps. (Requests are read by json.loads: orjson reads such integers as
    floats, losing digits.)"""
    try:
        return orjson.dumps(data).decode()
    except TypeError:
        return json.dumps(data, separators=(",", ":"))


class TribeGraphQL(GraphQL):
    def __init__(self, engine: AsyncEngine | None, rate_limiter: RateLimiter, dev: bool = False, **kwargs):
        super().__init__(schema, **kwargs)
        self.engine = engine
        self.read_engine: AsyncEngine | None = None
        self.dev = dev
        self.hub: Hub | None = None
        self.known_keys = KnownKeys()
        self.rate_limiter = rate_limiter  # the HTTP middleware's: a key's WebSocket operations count with its requests

    @property
    def graphql_ide_html(self) -> str:
        """GraphiQL from files of our own (gql_api/graphiql/), not a CDN: the
        page works without internet, and a Headers tab takes the API key."""
        return GRAPHIQL_PAGE

    async def run(self, request, context=UNSET, root_value=UNSET):
        """strawberry's refusals before execution (a body that is not JSON, a
        method or media type it does not take) as GraphQL errors with a code,
        where strawberry answers them in plain text."""
        try:
            return await super().run(request, context, root_value)
        except HTTPException as exc:
            if not isinstance(request, Request):
                raise
            return Response(error_body(CODES.get(exc.status_code, f"HTTP_{exc.status_code}"), exc.reason),
                            exc.status_code, media_type=media_type(request.headers.get("accept", "")))

    def decode_json(self, data: str | bytes) -> object:
        """A request body: UTF-8 (a stray byte made json.loads raise what
        strawberry turns into a 500), nested no deeper than Python's stack."""
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError:
                raise HTTPException(400, "the request body is not valid UTF-8") from None
        try:
            return json.loads(data)
        except RecursionError:
            raise HTTPException(400, "the request body's JSON nests too deep") from None

    def encode_json(self, data: object) -> str:
        """A subscription message whose payload is a result shared by several
        subscribers (gql_api/shared_execution.py) has that payload encoded once."""
        payload = data.get("payload") if isinstance(data, dict) and data.get("type") == "next" else None
        if not isinstance(payload, dict) or payload.keys() != {"data"}:
            return to_json(data)
        key = id(payload["data"])
        shared = encoded_payloads.get(key)
        if shared is None or shared[0] is not payload["data"]:  # the id alone may be a reused one
            shared = encoded_payloads.remember(key, (payload["data"], to_json(payload)))
        return f'{{"id":{json.dumps(data["id"])},"type":"next","payload":{shared[1]}}}'

    async def get_context(self, request, response) -> Context:
        if isinstance(request, Request) and GRAPHQL_RESPONSE in request.headers.get("accept", ""):
            request.state.graphql_response = response
        header = request.headers.get("authorization")
        api_key = await self._authenticate(header)
        return Context(engine=self.engine, api_key=api_key, hub=self.hub, request=request, dev=self.dev,
                       customer_token=request.headers.get("x-customer-token"), read_engine=self.read_engine,
                       key_sent=bool(header), credential=header, rate_limiter=self.rate_limiter)

    async def _authenticate(self, header: str | None):
        """The key's record; a database that cannot be reached (a restart) is a 503 the client may retry."""
        try:
            return await self.known_keys.authenticate(self.engine, header)
        except Exception as exc:
            if is_unavailable(exc):
                raise HTTPException(503, UNAVAILABLE) from exc
            raise

    async def process_result(self, request, result):
        """A request that could not be executed at all (it does not parse or
        validate, or its variables are wrong: errors without a path and no
        data) has no `data` entry, as the GraphQL spec has it for errors raised
        before execution; a client that accepts
        application/graphql-response+json gets it as a 400 (GraphQL over HTTP)."""
        processed = await super().process_result(request, result)
        not_executed = result.data is None and result.errors and all(e.path is None for e in result.errors)
        if not_executed:
            processed.pop("data", None)
        sub_response = getattr(request.state, "graphql_response", None) if isinstance(request, Request) else None
        if sub_response is not None:
            sub_response.media_type = GRAPHQL_RESPONSE
            if not_executed:
                sub_response.status_code = 400
        return processed

    def create_response(self, response_data, sub_response):
        response = super().create_response(response_data, sub_response)
        if sub_response.media_type == GRAPHQL_RESPONSE:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
        return response

    async def on_ws_connect(self, context: Context):
        """The API key comes with the upgrade request or in connection_init's
        payload as `Authorization: Bearer ...`; an APP key's customer token as
        the X-Customer-Token header or `customerToken`."""
        params = context.connection_params or {}
        header = params.get("Authorization") or params.get("authorization")
        if context.api_key is None and isinstance(header, str):
            context.api_key = await self._authenticate(header)
            context.key_sent, context.credential = True, header
        if isinstance(params.get("customerToken"), str):
            context.customer_token = params["customerToken"]
        if context.api_key is None:
            raise ConnectionRejectionError({"reason": "this API key is not valid or was revoked" if context.key_sent
                                            else "an API key is required: send Authorization: Bearer <key> in "
                                                 "connection_init's payload"})


def tune_garbage_collection() -> None:
    """What start-up made (modules, the schema, NumPy and Numba: 180,000
    objects) lives as long as the process. Frozen out of the collector's sight,
    a full collection took 3-5 ms instead of 66-90 ms, a pause every few
    hundred requests. A collection starts when 5,000 more objects have been
    made than freed (700 by default): the common requests leave nothing in
    reference cycles (tests/gql_api/test_request_garbage.py), so that happens
    once or twice in 10 s at 240 requests/s, where cyclic leftovers had made
    it 85 times, each pausing the worker 2-7 ms."""
    gc.freeze()
    gc.set_threshold(5_000, 10, 10)


def _cors(origins: list[str]) -> list[Middleware]:
    """Cross-origin requests from browser apps on `origins`: the API's methods
    and headers, no cookies (keys and tokens travel in headers). Preflights
    are answered here, before the rate limit counts them."""
    if not origins:
        return []
    return [Middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
                       allow_headers=["Authorization", "Content-Type", "Accept", "X-Customer-Token", "X-Request-ID"],
                       expose_headers=["X-Request-ID", "Retry-After"], max_age=600)]


def create_app(engine: AsyncEngine | None = None, dev: bool = False, refit_hours: float | None = None,
               rate_per_second: float = 50.0, rate_burst: int = 100, allowed_origins: list[str] | None = None,
               segment_refresh_minutes: float | None = 60.0, webhooks: bool = True,
               warm_up: bool = False, campaign_tick_seconds: float | None = 30.0,
               metrics_token: str | None = None, cors_origins: list[str] | None = None) -> Starlette:
    """The app; without an engine it connects to the configured database at
    start-up. With `refit_hours`, every workspace is refitted that often. Each
    API key may send `rate_per_second` requests a second (bursts of `rate_burst`).
    Browser pages may open WebSockets only from `allowed_origins` ("*": any;
    development mode allows any). Segments with time windows are re-evaluated
    every `segment_refresh_minutes`, and campaigns' dates, joiners and expired
    reservations seen to every `campaign_tick_seconds`. With `webhooks`, this
    process also delivers webhooks. With `warm_up`, the scoring kernels are loaded before the app
    serves (domain.scoring_pipeline.warm_up). /metrics answers requests bearing
    `metrics_token` (any request in development mode). Browser apps on
    `cors_origins` may call the API (CORS; "*": any origin; development mode:
    any, unless given)."""
    state: dict[str, AsyncEngine] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app):
        state["engine"] = engine or make_engine()
        await require_latest(state["engine"])
        graphql.engine = state["engine"]
        graphql.read_engine = make_read_engine(state["engine"].url)
        graphql.hub = Hub(state["engine"])
        await graphql.hub.start()
        jobs = [(refit_hours and refit_hours * 3600, refit_all),
                (segment_refresh_minutes and segment_refresh_minutes * 60, refresh_time_windows),
                (campaign_tick_seconds, campaign_tick)]
        schedules = [asyncio.create_task(run_every(seconds, job, state["engine"])) for seconds, job in jobs if seconds]
        if webhooks:
            schedules.append(asyncio.create_task(run_dispatcher(state["engine"])))
        if warm_up:
            await warm_up_scoring(state["engine"])
        tune_garbage_collection()
        yield
        for task in schedules:
            task.cancel()
        await graphql.hub.stop()
        await graphql.read_engine.dispose()
        if engine is None:
            await state["engine"].dispose()

    async def healthz(request: Request):
        return PlainTextResponse("ok")

    async def readyz(request: Request):
        try:
            for pool in (state["engine"], graphql.read_engine):  # mutations' pool, and the one queries read from
                async with pool.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            await require_latest(state["engine"])
        except SchemaOutOfDate as exc:
            return JSONResponse({"ready": False, "reason": str(exc)}, status_code=503)
        except (OSError, SQLAlchemyError) as exc:
            return JSONResponse({"ready": False, "reason": f"database unreachable: {type(exc).__name__}"},
                                status_code=503)
        return JSONResponse({"ready": True})

    # Only the graphql-transport-ws protocol (the legacy one is off), and a
    # short wait for connection_init.
    # strawberry refuses the handshake (HTTP 403) of a browser page from an
    # origin not listed; clients that send no Origin are not browsers.
    graphql = TribeGraphQL(engine, RateLimiter(rate_per_second, rate_burst), dev=dev,
                           allowed_origins=["*"] if dev else allowed_origins or [],
                           graphql_ide="graphiql" if dev else None,
                           subscription_protocols=("graphql-transport-ws",),
                           connection_init_wait_timeout=timedelta(seconds=5))
    def pools() -> dict[str, tuple[int, int]]:
        """The main pool (mutations, subscriptions, jobs) and the queries' own."""
        engines = {"tribe_db_pool": state.get("engine"), "tribe_db_read_pool": graphql.read_engine}
        return {prefix: (engine.pool.checkedout(), engine.pool.size()) if engine is not None else (0, 0)
                for prefix, engine in engines.items()}

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["GET", "POST"]), WebSocketRoute("/graphql", graphql),
                *([Mount("/graphiql", StaticFiles(directory=GRAPHIQL), name="graphiql")] if dev else []),
                Route("/healthz", healthz),
                Route("/readyz", readyz), Route("/metrics", metrics_endpoint(pools, metrics_token, dev))],
        middleware=[Middleware(RequestLog), *_cors(["*"] if cors_origins is None and dev else cors_origins or []),
                    Middleware(RateLimit, limiter=graphql.rate_limiter), Middleware(BodySizeLimit)],
        lifespan=lifespan,
    )
