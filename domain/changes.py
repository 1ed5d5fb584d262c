"""What follows any change to customers, in the same transaction: an event in
the outbox, and their segment memberships brought up to date (with events of
their own). Services call `customers_changed` after writing."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from domain import segment_membership
from domain.events import EventKind, publish_many

_GONE = {EventKind.CUSTOMER_DELETED, EventKind.CUSTOMER_ERASED, EventKind.CUSTOMER_MERGED}


async def customers_changed(conn: AsyncConnection, workspace_id: int, kind: EventKind, customer_ids: list[int],
                            payloads: list[dict] | None = None) -> None:
    if not customer_ids:
        return
    await publish_many(conn, workspace_id, kind, customer_ids, payloads)
    reason = kind.value.replace(".", " ")
    if kind in _GONE:
        await segment_membership.leave_all(conn, workspace_id, customer_ids, reason)
    else:
        await segment_membership.sync(conn, workspace_id, reason, customer_ids)
