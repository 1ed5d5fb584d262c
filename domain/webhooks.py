"""Webhook endpoints: registration, the signed payloads, and the bookkeeping of
deliveries (the sending itself is the edge's: gql_api/webhook_dispatcher.py).

An endpoint follows the outbox from `last_seq`, in order, one event at a time.
A delivery that fails (no 2xx within the timeout) is retried after 2 s, 4 s,
8 s, ... (capped at an hour); after MAX_FAILURES failures in a row the
endpoint is disabled, and enabling it again resumes where it stopped. So
delivery is at least once: a receiver drops repeats by the event id.

Signature: the header `Tribe-Signature: t=<unix seconds>,v1=<hex>` where hex is
HMAC-SHA256 with the endpoint's secret over "<t>.<raw body>".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain import webhook_targets
from domain.errors import DomainError, ErrorCode
from domain.events import Event, EventKind, last_seq
from domain.tables import segments, webhook_deliveries, webhook_endpoints

MAX_FAILURES = 10
FIRST_RETRY_SECONDS = 2.0
MAX_RETRY_SECONDS = 3600.0
SIGNATURE_HEADER = "Tribe-Signature"
TOLERANCE_SECONDS = 300


# --- signing ------------------------------------------------------------------------------------

def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    moment = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{moment}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"


def verify_signature(secret: str, header: str, body: bytes, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """What a receiver does: recompute the HMAC over the raw body and compare in
    constant time; refuse stale timestamps (replays)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        moment = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - moment) > tolerance:
        return False
    expected = sign(secret, body, moment).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def body(event: Event, customer_id: str | None, segment_id: str | None, data: dict) -> bytes:
    """The JSON a receiver gets (ids as the API's global ids, in `data` too)."""
    return json.dumps({"id": f"{event.workspace_id}-{event.seq}", "seq": event.seq, "kind": event.kind.value,
                       "customerId": customer_id, "segmentId": segment_id, "data": data,
                       "occurredAt": event.occurred_at.isoformat()}, separators=(",", ":")).encode()


def retry_delay(failures: int) -> float:
    return min(FIRST_RETRY_SECONDS * 2 ** (failures - 1), MAX_RETRY_SECONDS)


# --- endpoints ----------------------------------------------------------------------------------

def _clean_url(url: str) -> str:
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc or len(url) > 2000:
        raise DomainError(ErrorCode.INVALID, "url", "an http:// or https:// URL of at most 2000 characters")
    return url.strip()


def _clean_kinds(kinds: list[str] | None) -> list[str]:
    known = {k.value for k in EventKind}
    for i, kind in enumerate(kinds or []):
        if kind not in known:
            raise DomainError(ErrorCode.INVALID, f"eventKinds.{i}", f"{kind!r} is not one of {', '.join(known)}")
    return sorted(set(kinds or []))


async def create_endpoint(conn: AsyncConnection, workspace_id: int, url: str, event_kinds: list[str] | None = None,
                          segment_ids: list[int] | None = None, description: str | None = None) -> tuple[Row, str]:
    """A new endpoint, starting with the events after now; and its secret (shown once)."""
    if segment_ids:
        found = set(await conn.scalars(select(segments.c.id).where(
            segments.c.workspace_id == workspace_id, segments.c.id.in_(segment_ids), segments.c.deleted_at.is_(None))))
        missing = [s for s in segment_ids if s not in found]
        if missing:
            raise DomainError(ErrorCode.NOT_FOUND, "segmentIds", f"no segment {missing[0]} in this workspace")
    url = _clean_url(url)
    try:
        await webhook_targets.check_registered(url)
    except webhook_targets.ForbiddenTarget as exc:
        raise DomainError(ErrorCode.INVALID, "url", str(exc)) from None
    secret = "whsec_" + secrets.token_urlsafe(32)
    row = (await conn.execute(insert(webhook_endpoints).values(
        workspace_id=workspace_id, url=url, secret=secret, event_kinds=_clean_kinds(event_kinds),
        segment_ids=sorted(set(segment_ids)) if segment_ids else None, description=description,
        last_seq=await last_seq(conn, workspace_id)).returning(webhook_endpoints))).one()
    return row, secret


def _mine(workspace_id: int, endpoint_id: int):
    return (webhook_endpoints.c.workspace_id == workspace_id, webhook_endpoints.c.id == endpoint_id,
            webhook_endpoints.c.deleted_at.is_(None))


async def _change(conn: AsyncConnection, workspace_id: int, endpoint_id: int, **values) -> Row:
    row = (await conn.execute(update(webhook_endpoints).where(*_mine(workspace_id, endpoint_id))
                              .values(**values, updated_at=func.now()).returning(webhook_endpoints))).one_or_none()
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, "id", "no such webhook endpoint in this workspace")
    return row


async def enable_endpoint(conn: AsyncConnection, workspace_id: int, endpoint_id: int) -> Row:
    """Back on, failures forgotten; deliveries resume from where they stopped."""
    return await _change(conn, workspace_id, endpoint_id, enabled=True, consecutive_failures=0, next_attempt_at=None,
                         disabled_reason=None)


async def delete_endpoint(conn: AsyncConnection, workspace_id: int, endpoint_id: int) -> Row:
    return await _change(conn, workspace_id, endpoint_id, enabled=False, deleted_at=func.now())


async def list_endpoints(conn: AsyncConnection, workspace_id: int) -> list[Row]:
    return list(await conn.execute(select(webhook_endpoints).where(
        webhook_endpoints.c.workspace_id == workspace_id, webhook_endpoints.c.deleted_at.is_(None))
        .order_by(webhook_endpoints.c.id)))


async def recent_deliveries(conn: AsyncConnection, workspace_id: int, endpoint_ids: list[int], limit: int
                            ) -> dict[int, list[Row]]:
    d = webhook_deliveries.c
    ranked = select(webhook_deliveries, func.row_number().over(
        partition_by=d.endpoint_id, order_by=d.id.desc()).label("rank")).where(
        d.workspace_id == workspace_id, d.endpoint_id.in_(endpoint_ids)).subquery()
    rows = await conn.execute(select(ranked).where(ranked.c.rank <= limit).order_by(ranked.c.endpoint_id,
                                                                                      ranked.c.id.desc()))
    found: dict[int, list[Row]] = {i: [] for i in endpoint_ids}
    for row in rows:
        found[row.endpoint_id].append(row)
    return found


# --- the dispatcher's bookkeeping ------------------------------------------------------------------

async def claim_due_endpoint(conn: AsyncConnection, served: set[int]) -> Row | None:
    """An enabled endpoint whose retry time has come and that is not in `served`,
    locked for this transaction (SKIP LOCKED: one another process is
    delivering to is left alone)."""
    e = webhook_endpoints.c
    return (await conn.execute(select(webhook_endpoints).where(
        e.enabled, e.deleted_at.is_(None), e.next_attempt_at.is_(None) | (e.next_attempt_at <= func.now()),
        e.id.not_in(served or [0])).order_by(e.id).limit(1).with_for_update(skip_locked=True))).one_or_none()


def wanted(endpoint: Row, event: Event) -> bool:
    if endpoint.event_kinds and event.kind.value not in endpoint.event_kinds:
        return False
    return endpoint.segment_ids is None or event.segment_id is None or event.segment_id in endpoint.segment_ids


async def record_attempt(conn: AsyncConnection, endpoint: Row, event: Event, failures: int, status: int | None,
                         error: str | None, latency_ms: float) -> bool:
    """Log one attempt at `event` after `failures` failed ones and move the
    endpoint on (success) or back off (failure); True when the endpoint may go
    on to its next event."""
    succeeded = status is not None and 200 <= status < 300
    attempt = failures + 1
    await conn.execute(insert(webhook_deliveries).values(
        workspace_id=endpoint.workspace_id, endpoint_id=endpoint.id, event_seq=event.seq, attempt=attempt,
        succeeded=succeeded, status_code=status, error=error, latency_ms=latency_ms))
    if succeeded:
        await conn.execute(update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint.id).values(
            last_seq=event.seq, consecutive_failures=0, next_attempt_at=None))
        return True
    values: dict = {"consecutive_failures": attempt,
                    "next_attempt_at": datetime.now(UTC) + timedelta(seconds=retry_delay(attempt))}
    if attempt >= MAX_FAILURES:
        values |= {"enabled": False, "disabled_reason": f"{attempt} failed deliveries in a row; last: "
                                                        f"{error or f'HTTP {status}'}"}
    await conn.execute(update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint.id).values(**values))
    return False


async def skip_to(conn: AsyncConnection, endpoint: Row, seq: int) -> None:
    """Events up to `seq` are not for this endpoint (its filter): move past them."""
    await conn.execute(update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint.id).values(last_seq=seq))
