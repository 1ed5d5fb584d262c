"""What follows any change to customers, in the same transaction: an event in
the outbox, and their segment memberships brought up to date (with events of
their own). Services call `customers_changed` last, after writing and reading
back what they return.

Publishing takes the workspace's event counter, locked until commit so that
events become visible in `seq` order: every other change of the workspace
waits for it. It is taken first (so locks are always taken in that order), but
only once the rule segments are read, and services call this at the end: at
10 concurrent purchaseRecords, 7 or 8 of them were waiting on the counter while
its holder read segments and the purchase back.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from domain import segment_membership
from domain.events import EventKind, publish_many

_GONE = {EventKind.CUSTOMER_DELETED, EventKind.CUSTOMER_ERASED, EventKind.CUSTOMER_MERGED}


async def customers_changed(conn: AsyncConnection, workspace_id: int, kind: EventKind, customer_ids: list[int],
                            payloads: list[dict] | None = None) -> None:
    if not customer_ids:
        return
    reason = kind.value.replace(".", " ")
    if kind in _GONE:
        await publish_many(conn, workspace_id, kind, customer_ids, payloads)
        await segment_membership.leave_all(conn, workspace_id, customer_ids, reason)
    else:
        found = await segment_membership.rule_segments(conn, workspace_id)
        await publish_many(conn, workspace_id, kind, customer_ids, payloads)
        await segment_membership.sync(conn, workspace_id, reason, customer_ids, found=found)
