"""Webhook delivery: every server process runs one dispatcher.

Each round it claims one due endpoint at a time (a row lock with SKIP LOCKED,
so two processes never deliver to the same endpoint at once), posts the
endpoint's next events in order, signed, and records every attempt. The
endpoint's progress commits with the attempts; a crash between a receiver's
2xx and that commit means the event comes again (at least once).
"""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import webhook_targets, webhooks
from domain.db import unit_of_work
from domain.events import events_after
from gql_api.events.types import public_payload
from gql_api.ids import to_global_id

log = logging.getLogger("tribe.webhooks")
TIMEOUT_SECONDS = 10.0
BATCH = 100  # events per endpoint per round
ROUND_SECONDS = 1.0


def _global(type_name: str, pk: int | None) -> str | None:
    return to_global_id(type_name, pk) if pk is not None else None


def _pinned(url: str, address: str) -> tuple[str, dict, dict]:
    """`url` with its host replaced by the address checked for it, the Host
    header, and (HTTPS) the name TLS must verify: the connection goes where
    the check looked, whatever the name resolves to a moment later."""
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return urlunsplit(parts._replace(netloc=netloc)), {"Host": parts.netloc.rpartition("@")[2]}, extensions


async def _post(client: httpx.AsyncClient, endpoint, event) -> tuple[int | None, str | None, float]:
    payload = webhooks.body(event, _global("Customer", event.customer_id), _global("Segment", event.segment_id),
                            public_payload(event.payload))
    headers = {"Content-Type": "application/json", webhooks.SIGNATURE_HEADER: webhooks.sign(endpoint.secret, payload),
               "Tribe-Event-Id": f"{event.workspace_id}-{event.seq}", "Tribe-Event-Kind": event.kind.value}
    started = time.perf_counter()
    try:
        url, host, extensions = _pinned(endpoint.url, await webhook_targets.resolve(endpoint.url))
        response = await client.post(url, content=payload, headers=headers | host, extensions=extensions,
                                     timeout=TIMEOUT_SECONDS)
        return response.status_code, None, (time.perf_counter() - started) * 1000
    except webhook_targets.ForbiddenTarget as exc:
        return None, f"not delivered: {exc}"[:500], (time.perf_counter() - started) * 1000
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500], (time.perf_counter() - started) * 1000


async def _serve_one(engine: AsyncEngine, client: httpx.AsyncClient, served: set[int]) -> int | None:
    """Deliver to one due endpoint not in `served`; its id, or None when none is due."""
    async with unit_of_work(engine) as conn:
        endpoint = await webhooks.claim_due_endpoint(conn, served)
        if endpoint is None:
            return None
        failures = endpoint.consecutive_failures  # all on the next event: progress resets them
        for event in await events_after(conn, endpoint.workspace_id, endpoint.last_seq, BATCH):
            if not webhooks.wanted(endpoint, event):
                await webhooks.skip_to(conn, endpoint, event.seq)
                continue
            status, error, latency = await _post(client, endpoint, event)
            if not await webhooks.record_attempt(conn, endpoint, event, failures, status, error, latency):
                break
            failures = 0
        return endpoint.id


async def dispatch_round(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    """Serve every due endpoint once."""
    served: set[int] = set()
    while (endpoint_id := await _serve_one(engine, client, served)) is not None:
        served.add(endpoint_id)


async def run_dispatcher(engine: AsyncEngine, every: float = ROUND_SECONDS) -> None:
    async with httpx.AsyncClient(follow_redirects=False) as client:
        while True:
            try:
                await dispatch_round(engine, client)
            except Exception:
                log.exception("webhook round failed; trying again")
            await asyncio.sleep(every)
