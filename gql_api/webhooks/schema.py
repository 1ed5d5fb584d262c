"""webhookEndpoints, webhookEndpointCreate / Enable / Delete: ADMIN and INTEGRATOR keys."""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable

import strawberry
from strawberry.types import Info

from domain import webhooks
from domain.vocab import Role
from gql_api.errors import UserError, attempt, input_pk
from gql_api.ids import to_global_id
from gql_api.node import Node
from gql_api.permissions import role_in

OWNERS = role_in(Role.ADMIN, Role.INTEGRATOR)


@strawberry.type(description="One attempt to deliver one event.")
class WebhookDelivery:
    event_id: str
    attempt: int
    succeeded: bool
    status_code: int | None
    error: str | None
    latency_ms: float | None
    attempted_at: datetime.datetime


@strawberry.type(description="Where events are pushed, signed (see the README's Webhooks section).")
class WebhookEndpoint(Node):
    url: str
    event_kinds: list[str] = strawberry.field(description="Event kinds sent (e.g. `segment.entered`); empty: all.")
    segment_ids: list[strawberry.ID] | None = strawberry.field(description="Segment events of these segments only.")
    description: str | None
    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int
    next_attempt_at: datetime.datetime | None = strawberry.field(description="When a failed delivery is retried.")
    delivered_up_to: str = strawberry.field(description="Event id of the last event delivered (or skipped).")
    created_at: datetime.datetime

    @strawberry.field(description="The latest delivery attempts, newest first.")
    async def recent_deliveries(self, info: Info, first: int = 20) -> list[WebhookDelivery]:
        async with info.context.transaction() as conn:
            found = await webhooks.recent_deliveries(conn, info.context.api_key.workspace_id, [self.pk],
                                                     max(1, min(first, 100)))
        return [WebhookDelivery(event_id=f"{r.workspace_id}-{r.event_seq}", attempt=r.attempt, succeeded=r.succeeded,
                                status_code=r.status_code, error=r.error, latency_ms=r.latency_ms,
                                attempted_at=r.attempted_at) for r in found[self.pk]]

    @classmethod
    def from_row(cls, row) -> WebhookEndpoint:
        return cls(pk=row.id, url=row.url, event_kinds=row.event_kinds,
                   segment_ids=[strawberry.ID(to_global_id("Segment", s)) for s in row.segment_ids]
                   if row.segment_ids is not None else None, description=row.description, enabled=row.enabled,
                   disabled_reason=row.disabled_reason, consecutive_failures=row.consecutive_failures,
                   next_attempt_at=row.next_attempt_at, delivered_up_to=f"{row.workspace_id}-{row.last_seq}",
                   created_at=row.created_at)


@strawberry.input
class WebhookEndpointCreateInput:
    url: str
    event_kinds: list[str] | None = None
    segment_ids: list[strawberry.ID] | None = None
    description: str | None = None


@strawberry.input
class WebhookEndpointInput:
    id: strawberry.ID


@strawberry.type
class WebhookEndpointPayload:
    endpoint: WebhookEndpoint | None
    secret: str | None = strawberry.field(description="The signing secret: returned once, when the endpoint is made.")
    user_errors: list[UserError]


async def _run(info: Info, change: Callable[..., Awaitable]) -> WebhookEndpointPayload:
    found, errors = await attempt(info, change)
    if errors:
        return WebhookEndpointPayload(endpoint=None, secret=None, user_errors=errors)
    row, secret = found
    return WebhookEndpointPayload(endpoint=WebhookEndpoint.from_row(row), secret=secret, user_errors=[])


@strawberry.type
class WebhookQueries:
    @strawberry.field(permission_classes=OWNERS, description="The workspace's webhook endpoints.")
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        async with info.context.transaction() as conn:
            rows = await webhooks.list_endpoints(conn, info.context.api_key.workspace_id)
        return [WebhookEndpoint.from_row(r) for r in rows]


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(permission_classes=OWNERS, description="Register an endpoint; it gets the events from now "
                                                                "on. The payload carries the signing secret, once.")
    async def webhook_endpoint_create(self, info: Info, input: WebhookEndpointCreateInput) -> WebhookEndpointPayload:
        async def change(conn, workspace_id):
            segment_ids = [input_pk(s, "Segment", f"segmentIds.{i}") for i, s in enumerate(input.segment_ids or [])]
            return await webhooks.create_endpoint(conn, workspace_id, input.url, input.event_kinds,
                                                  segment_ids or None, input.description)
        return await _run(info, change)

    @strawberry.mutation(permission_classes=OWNERS, description="Turn a (disabled) endpoint back on; deliveries "
                                                                "resume from where they stopped.")
    async def webhook_endpoint_enable(self, info: Info, input: WebhookEndpointInput) -> WebhookEndpointPayload:
        async def change(conn, workspace_id):
            row = await webhooks.enable_endpoint(conn, workspace_id, input_pk(input.id, "WebhookEndpoint", "id"))
            return row, None
        return await _run(info, change)

    @strawberry.mutation(permission_classes=OWNERS, description="Stop and remove an endpoint.")
    async def webhook_endpoint_delete(self, info: Info, input: WebhookEndpointInput) -> WebhookEndpointPayload:
        async def change(conn, workspace_id):
            row = await webhooks.delete_endpoint(conn, workspace_id, input_pk(input.id, "WebhookEndpoint", "id"))
            return row, None
        return await _run(info, change)
