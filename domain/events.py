"""The events outbox: what changed, written in the transaction that changed it.

Each workspace numbers its events 1, 2, 3... (`seq`), and that number is the
cursor subscribers and webhooks resume from. The next number comes from the
workspace's row in `event_counters`; taking it locks the row until commit, so
a workspace's events become visible in `seq` order and a reader that has seen
`seq` N never finds an N-1 committed later. `NOTIFY tribe_events` wakes the
listeners when the transaction commits (never before, never for a rollback).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Row, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.tables import events

CHANNEL = "tribe_events"
MAX_PAGE = 1000


class EventKind(StrEnum):
    CUSTOMER_CREATED = "customer.created"
    CUSTOMER_UPDATED = "customer.updated"
    CUSTOMER_DELETED = "customer.deleted"
    CUSTOMER_ERASED = "customer.erased"
    CUSTOMER_MERGED = "customer.merged"
    PURCHASE_RECORDED = "purchase.recorded"
    INTERACTION_RECORDED = "interaction.recorded"
    SEGMENT_ENTERED = "segment.entered"
    SEGMENT_LEFT = "segment.left"
    CAMPAIGN_TARGETED = "campaign.targeted"


CUSTOMER_KINDS = frozenset(k for k in EventKind if k.startswith(("customer.", "purchase.", "interaction.")))
SEGMENT_KINDS = frozenset({EventKind.SEGMENT_ENTERED, EventKind.SEGMENT_LEFT})
CAMPAIGN_KINDS = frozenset({EventKind.CAMPAIGN_TARGETED})


@dataclass(frozen=True)
class Event:
    workspace_id: int
    seq: int
    kind: EventKind
    customer_id: int | None
    segment_id: int | None
    payload: dict
    occurred_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> Event:
        return cls(row.workspace_id, row.seq, EventKind(row.kind), row.customer_id, row.segment_id, row.payload,
                   row.occurred_at)


# Takes `count` numbers for the workspace (locking its counter row) and returns
# the last one; the events get last - count + 1 .. last.
TAKE_SEQ = """
INSERT INTO event_counters AS ec (workspace_id, last_seq) VALUES (:workspace_id, :count)
ON CONFLICT (workspace_id) DO UPDATE SET last_seq = ec.last_seq + EXCLUDED.last_seq
RETURNING last_seq"""


async def publish(conn: AsyncConnection, workspace_id: int, kind: EventKind, customer_id: int | None = None,
                  segment_id: int | None = None, payload: dict | None = None) -> int:
    """Write one event in the caller's transaction; its seq."""
    return await publish_many(conn, workspace_id, kind, [customer_id], [payload or {}], segment_id)


async def publish_many(conn: AsyncConnection, workspace_id: int, kind: EventKind, customer_ids: list[int | None],
                       payloads: list[dict] | None = None, segment_id: int | None = None) -> int:
    """Write an event per customer (in this order) in one statement; the last seq."""
    if not customer_ids:
        return 0
    payloads = payloads or [{} for _ in customer_ids]
    seq = await conn.scalar(text(TAKE_SEQ), {"workspace_id": workspace_id, "count": len(customer_ids)})
    await conn.execute(text("""
        INSERT INTO events (workspace_id, seq, kind, customer_id, segment_id, payload)
        SELECT :workspace_id, :first + e.position - 1, :kind, e.customer_id, :segment_id, e.payload::jsonb
        FROM unnest(CAST(:customer_ids AS bigint[]), CAST(:payloads AS text[])) WITH ORDINALITY
             AS e(customer_id, payload, position)"""),
        {"workspace_id": workspace_id, "first": seq - len(customer_ids) + 1, "kind": kind.value,
         "segment_id": segment_id, "customer_ids": customer_ids, "payloads": [json.dumps(p) for p in payloads]})
    await notify(conn, workspace_id)
    return seq


async def notify(conn: AsyncConnection, workspace_id: int) -> None:
    """Wake the listeners at commit (PostgreSQL folds repeats within a transaction)."""
    await conn.execute(text("SELECT pg_notify(:channel, :workspace)"),
                       {"channel": CHANNEL, "workspace": str(workspace_id)})


async def events_after(conn: AsyncConnection, workspace_id: int, after: int, limit: int = MAX_PAGE,
                       kinds: frozenset[EventKind] | None = None, segment_ids: list[int] | None = None) -> list[Event]:
    """Committed events with seq > `after`, oldest first."""
    query = (select(events).where(events.c.workspace_id == workspace_id, events.c.seq > after)
             .order_by(events.c.seq).limit(limit))
    if kinds is not None:
        query = query.where(events.c.kind.in_([k.value for k in kinds]))
    if segment_ids is not None:
        query = query.where(events.c.segment_id.in_(segment_ids))
    return [Event.from_row(r) for r in await conn.execute(query)]


async def last_seq(conn: AsyncConnection, workspace_id: int) -> int:
    """The newest committed event's seq (0 before the first)."""
    return await conn.scalar(select(events.c.seq).where(events.c.workspace_id == workspace_id)
                             .order_by(events.c.seq.desc()).limit(1)) or 0
