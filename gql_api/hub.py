"""The subscription hub: one per server process.

It holds one PostgreSQL connection that LISTENs on `tribe_events`. A
notification only says "workspace W has new events"; the outbox is the source
of truth, so on each wake-up the hub reads W's events after the last one it
read, once, and hands each subscriber of W the ones its filter takes. A poll
every few seconds covers a notification lost while the listener reconnects.

A subscriber is registered before it reads its backlog from the outbox, so
nothing committed in between is missed; it drops what it has already
delivered by seq, so nothing arrives twice. Each subscriber has a bounded
buffer: one that falls too far behind is cut off (and can resume from its last
cursor) instead of slowing anyone else down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.db import tenant_transaction, unit_of_work
from domain.events import CHANNEL, MAX_PAGE, Event, EventKind, events_after, last_seq

log = logging.getLogger("tribe.hub")
BUFFER = 10_000  # events a subscriber may have waiting before it is cut off
POLL_SECONDS = 5.0


class SubscriberTooSlow(Exception):
    """The subscriber's buffer overflowed; it should reconnect with its last cursor."""


@dataclass(eq=False)
class Subscriber:
    workspace_id: int
    kinds: frozenset[EventKind]
    segment_ids: frozenset[int] | None
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(BUFFER))
    overflowed: bool = False

    def offer(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True  # the full queue wakes the stream, which sees this and gives up


@dataclass
class Listeners:
    """A workspace's subscribers, indexed by the segment they follow, so an event
    is offered to the few that may want it rather than tried against all."""

    every_segment: set[Subscriber] = field(default_factory=set)
    by_segment: dict[int, set[Subscriber]] = field(default_factory=dict)

    def add(self, subscriber: Subscriber) -> None:
        if subscriber.segment_ids is None:
            self.every_segment.add(subscriber)
        for segment_id in subscriber.segment_ids or ():
            self.by_segment.setdefault(segment_id, set()).add(subscriber)

    def discard(self, subscriber: Subscriber) -> None:
        self.every_segment.discard(subscriber)
        for segment_id in subscriber.segment_ids or ():
            group = self.by_segment.get(segment_id, set())
            group.discard(subscriber)
            if not group:
                self.by_segment.pop(segment_id, None)

    def __bool__(self) -> bool:
        return bool(self.every_segment or self.by_segment)

    def deliver(self, event: Event) -> None:
        # The index already matched the segment; what is left is the kind.
        for group in (self.every_segment, self.by_segment.get(event.segment_id, ())):
            for subscriber in group:
                if event.kind in subscriber.kinds:
                    subscriber.offer(event)


class Hub:
    def __init__(self, engine: AsyncEngine, poll_seconds: float = POLL_SECONDS):
        self.engine = engine
        self.poll_seconds = poll_seconds
        self.subscribers: dict[int, Listeners] = {}
        self.read_up_to: dict[int, int] = {}  # per workspace: the last seq handed out
        self.dirty: set[int] = set()
        self.wake = asyncio.Event()
        self.tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        self.tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._deliver()),
                      asyncio.create_task(self._poll())]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- the listener ---------------------------------------------------------------------------

    def _dsn(self) -> str:
        return self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def _notified(self, _conn, _pid, _channel, payload: str) -> None:
        with contextlib.suppress(ValueError):
            self._mark(int(payload))

    def _mark(self, workspace_id: int) -> None:
        if workspace_id in self.subscribers:
            self.dirty.add(workspace_id)
            self.wake.set()

    async def _listen(self) -> None:
        """Keep a LISTEN connection open; after each (re)connection everything is re-read."""
        while True:
            try:
                conn = await asyncpg.connect(self._dsn())
                try:
                    await conn.add_listener(CHANNEL, self._notified)
                    for workspace_id in list(self.subscribers):
                        self._mark(workspace_id)
                    closed = asyncio.Event()
                    conn.add_termination_listener(lambda _c: closed.set())
                    await closed.wait()
                finally:
                    with contextlib.suppress(Exception):
                        await conn.close()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("event listener lost its connection (%s); reconnecting", exc)
            await asyncio.sleep(1.0)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            for workspace_id in list(self.subscribers):
                self._mark(workspace_id)

    async def _deliver(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.dirty:
                workspace_id = self.dirty.pop()
                try:
                    await self._fan_out(workspace_id)
                except Exception:  # the database went away: the poll will retry
                    log.exception("reading events of workspace %s failed", workspace_id)

    async def _fan_out(self, workspace_id: int) -> None:
        while workspace_id in self.read_up_to:
            async with unit_of_work(self.engine) as conn:
                found = await events_after(conn, workspace_id, self.read_up_to[workspace_id])
            if not found:
                return
            self.read_up_to[workspace_id] = found[-1].seq
            listeners = self.subscribers.get(workspace_id, Listeners())
            for event in found:
                listeners.deliver(event)
            if len(found) < MAX_PAGE:
                return

    # --- subscribers ----------------------------------------------------------------------------

    async def _register(self, subscriber: Subscriber) -> None:
        workspace_id = subscriber.workspace_id
        if workspace_id not in self.read_up_to:
            async with unit_of_work(self.engine) as conn:
                newest = await last_seq(conn, workspace_id)
            self.read_up_to.setdefault(workspace_id, newest)
        self.subscribers.setdefault(workspace_id, Listeners()).add(subscriber)

    def _unregister(self, subscriber: Subscriber) -> None:
        group = self.subscribers.get(subscriber.workspace_id)
        if group is None:
            return
        group.discard(subscriber)
        if not group:
            del self.subscribers[subscriber.workspace_id]
            self.read_up_to.pop(subscriber.workspace_id, None)

    async def stream(self, workspace_id: int, kinds: frozenset[EventKind], segment_ids: frozenset[int] | None,
                     after: int | None) -> AsyncIterator[Event]:
        """Events of the workspace after seq `after` (None: from now on): first
        the backlog from the outbox, then live ones, each once and in order."""
        subscriber = Subscriber(workspace_id, kinds, segment_ids)
        await self._register(subscriber)
        try:
            async with tenant_transaction(self.engine, workspace_id) as conn:
                delivered = await last_seq(conn, workspace_id) if after is None else after
            while after is not None:  # the backlog, a page at a time, read as the tenant
                async with tenant_transaction(self.engine, workspace_id) as conn:
                    page = await events_after(conn, workspace_id, delivered, kinds=kinds,
                                              segment_ids=sorted(segment_ids) if segment_ids is not None else None)
                for event in page:
                    yield event
                    delivered = event.seq
                if len(page) < MAX_PAGE:
                    break
            while True:
                event = await subscriber.queue.get()
                if subscriber.overflowed:
                    raise SubscriberTooSlow(f"more than {BUFFER} events waiting; resume from the last cursor")
                if event.seq > delivered:
                    yield event
                    delivered = event.seq
        finally:
            self._unregister(subscriber)
