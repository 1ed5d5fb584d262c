"""Purchases and interactions in the schema."""

from __future__ import annotations

import datetime
from decimal import Decimal

import strawberry

from gql_api.enums import InteractionKind, SalesChannel
from gql_api.ids import from_cursor, from_micros, to_cursor, to_micros
from gql_api.node import Node
from gql_api.pagination import Edge, PageInfo


@strawberry.type(description="One line of a purchase.")
class PurchaseItem:
    product: str
    category: str | None
    quantity: Decimal
    amount: Decimal


@strawberry.type(description="A purchase; a refund is a purchase with a negative total.")
class Purchase(Node):
    external_id: str | None
    purchased_at: datetime.datetime
    total: Decimal
    discount: Decimal
    currency: str
    channel: SalesChannel
    items: list[PurchaseItem]


    @classmethod
    def from_rows(cls, row, items) -> Purchase:
        return cls(pk=row.id, external_id=row.external_id, purchased_at=row.purchased_at, total=row.total,
                   discount=row.discount, currency=row.currency, channel=SalesChannel(row.channel),
                   items=[PurchaseItem(product=i.product, category=i.category, quantity=i.quantity,
                                       amount=i.amount) for i in items])


@strawberry.type(description="A service-history event: support, complaint, discount request, return, referral, "
                             "survey answer or enquiry.")
class Interaction(Node):
    kind: InteractionKind
    occurred_at: datetime.datetime
    staff_minutes: Decimal
    score: int | None = strawberry.field(description="Survey answers: 0-10.")
    summary: str | None


    @classmethod
    def from_row(cls, row) -> Interaction:
        return cls(pk=row.id, kind=InteractionKind(row.kind), occurred_at=row.occurred_at,
                   staff_minutes=row.staff_minutes, score=row.score, summary=row.summary)


def history_cursor(moment: datetime.datetime, pk: int) -> str:
    """(moment, id) of a purchase or interaction: where the next page starts."""
    return to_cursor(to_micros(moment), pk)


def interaction_cursor(row) -> str:
    return history_cursor(row.occurred_at, row.id)


def purchase_cursor(recorded) -> str:
    """Of a purchase with its items (domain.recording.Recorded)."""
    return history_cursor(recorded.row.purchased_at, recorded.row.id)


def history_position(cursor: str) -> tuple[datetime.datetime, int]:
    micros, pk = from_cursor(cursor, 2)
    return from_micros(int(micros)), int(pk)


@strawberry.type
class PurchaseEdge(Edge):
    node: Purchase


@strawberry.type(description="A customer's purchases, newest first.")
class PurchaseConnection:
    edges: list[PurchaseEdge]
    page_info: PageInfo


@strawberry.type
class InteractionEdge(Edge):
    node: Interaction


@strawberry.type(description="A customer's service history, newest first.")
class InteractionConnection:
    edges: list[InteractionEdge]
    page_info: PageInfo


@strawberry.input
class PurchaseItemInput:
    product: str
    amount: Decimal = strawberry.field(description="Negative in a refund.")
    quantity: Decimal = Decimal(1)
    category: str | None = None


@strawberry.input(description="A purchase to record. `idempotencyKey`: a retry with the same key returns the "
                              "first result and stores nothing twice.")
class PurchaseRecordInput:
    customer_id: strawberry.ID
    items: list[PurchaseItemInput]
    purchased_at: datetime.datetime | None = strawberry.field(default=None, description="Default: now.")
    external_id: str | None = None
    total: Decimal | None = strawberry.field(default=None, description="Default: the sum of the items.")
    discount: Decimal = Decimal(0)
    currency: str | None = strawberry.field(default=None, description="Default: the workspace's.")
    channel: SalesChannel = SalesChannel.STORE
    refund_of_id: strawberry.ID | None = strawberry.field(default=None, description="The purchase a refund refunds "
                                                                                   "(its redemptions are released).")
    redemption_id: strawberry.ID | None = strawberry.field(default=None, description="A reservation this purchase "
                                                                                     "confirms.")
    offer_code: str | None = strawberry.field(default=None, description="Or the code of the customer's reservation "
                                                                        "it confirms.")
    idempotency_key: str | None = None


@strawberry.input(description="An interaction to record (same idempotency rule as purchases).")
class InteractionRecordInput:
    customer_id: strawberry.ID
    kind: InteractionKind
    occurred_at: datetime.datetime | None = None
    staff_minutes: Decimal = Decimal(0)
    score: int | None = None
    referred_customer_id: strawberry.ID | None = None
    summary: str | None = None
    external_id: str | None = None
    idempotency_key: str | None = None
