"""Recording what happened: a purchase, an interaction.

Each record is written with the customer's incremental rescoring in the same
transaction (the caller's), so scores never lag the data they come from. Both
accept an idempotency key: a retry with the same key returns the first result
and stores nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.amounts import MAX_MONEY, MAX_QUANTITY, require_storable
from domain.campaigns import redemptions
from domain.changes import customers_changed
from domain.customers import customers_by_id
from domain.errors import DomainError, ErrorCode
from domain.events import EventKind
from domain.scoring_pipeline import rescore_customer
from domain.tables import idempotency_keys, interactions, purchase_items, purchases
from domain.vocab import InteractionKind, SalesChannel

MAX_ITEMS = 500
MAX_TEXT = 500
MAX_STAFF_MINUTES = 24 * 60


@dataclass(frozen=True)
class ItemInput:
    product: str
    amount: Decimal
    quantity: Decimal = Decimal(1)
    category: str | None = None


@dataclass(frozen=True)
class PurchaseInput:
    customer_id: int
    items: list[ItemInput]
    purchased_at: datetime | None = None
    external_id: str | None = None
    total: Decimal | None = None
    discount: Decimal = Decimal(0)
    currency: str | None = None
    channel: SalesChannel = SalesChannel.STORE
    refund_of_id: int | None = None
    redemption_id: int | None = None  # a reservation this purchase confirms
    offer_code: str | None = None  # or the code of the customer's reservation it confirms


@dataclass(frozen=True)
class InteractionInput:
    customer_id: int
    kind: InteractionKind
    occurred_at: datetime | None = None
    staff_minutes: Decimal = Decimal(0)
    score: int | None = None
    referred_customer_id: int | None = None
    summary: str | None = None
    external_id: str | None = None


@dataclass
class Recorded:
    row: Row
    replayed: bool = False  # the idempotency key had been used: this is the first call's result
    items: list[Row] = field(default_factory=list)
    customer: SimpleNamespace | None = None  # whose it is (recording changes nothing in the customer's row)


async def _claim(conn: AsyncConnection, workspace_id: int, key: str | None, operation: str) -> int | None:
    """None if the key is new (or absent); else the id the first call stored."""
    if key is None:
        return None
    if not 0 < len(key) <= 200:
        raise DomainError(ErrorCode.INVALID, "idempotencyKey", "an idempotency key is 1 to 200 characters")
    claimed = await conn.scalar(pg_insert(idempotency_keys).values(workspace_id=workspace_id, key=key,
                                                                   operation=operation)
                                .on_conflict_do_nothing().returning(idempotency_keys.c.key))
    if claimed is not None:
        return None
    first = (await conn.execute(select(idempotency_keys.c.operation, idempotency_keys.c.result_id).where(
        idempotency_keys.c.workspace_id == workspace_id, idempotency_keys.c.key == key))).one()
    if first.operation != operation:
        raise DomainError(ErrorCode.CONFLICT, "idempotencyKey", f"this key was used for {first.operation}")
    return first.result_id


async def _remember(conn: AsyncConnection, workspace_id: int, key: str | None, result_id: int) -> None:
    if key is not None:
        await conn.execute(update(idempotency_keys).where(idempotency_keys.c.workspace_id == workspace_id,
                                                          idempotency_keys.c.key == key)
                           .values(result_id=result_id))


async def _require_customer(conn: AsyncConnection, workspace_id: int, customer_id: int,
                            field_name: str) -> SimpleNamespace:
    found = await _live_customer(conn, workspace_id, customer_id)
    if found is None:
        raise DomainError(ErrorCode.NOT_FOUND, field_name, "no such customer in this workspace")
    return found


async def _customer_of(conn: AsyncConnection, workspace_id: int, recorded: Recorded) -> Recorded:
    """A replayed result with its customer (None if deleted since)."""
    recorded.customer = await _live_customer(conn, workspace_id, recorded.row.customer_id)
    return recorded


async def _live_customer(conn: AsyncConnection, workspace_id: int, customer_id: int) -> SimpleNamespace | None:
    return (await customers_by_id(conn, workspace_id, [customer_id])).get(customer_id)


async def _require_new_external_id(conn: AsyncConnection, table, workspace_id: int, external_id: str | None) -> None:
    if external_id is None:
        return
    taken = await conn.scalar(select(table.c.id).where(table.c.workspace_id == workspace_id,
                                                       table.c.external_id == external_id))
    if taken is not None:
        raise DomainError(ErrorCode.TAKEN, "externalId", f"{external_id!r} is recorded already")


def _moment(value: datetime | None, field_name: str) -> datetime:
    now = datetime.now(UTC)
    if value is None:
        return now
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if value > now:
        raise DomainError(ErrorCode.INVALID_DATE, field_name, "cannot be in the future")
    return value


def _check_text(value: str | None, field_name: str) -> None:
    if value is not None and len(value) > MAX_TEXT:
        raise DomainError(ErrorCode.TOO_LONG, field_name, f"at most {MAX_TEXT} characters")


async def record_purchase(conn: AsyncConnection, workspace_id: int, data: PurchaseInput, currency: str,
                          idempotency_key: str | None = None) -> Recorded:
    first = await _claim(conn, workspace_id, idempotency_key, "purchaseRecord")
    if first is not None:
        return await _customer_of(conn, workspace_id, await _purchase(conn, workspace_id, first, replayed=True))
    customer = await _require_customer(conn, workspace_id, data.customer_id, "customerId")
    if not data.items:
        raise DomainError(ErrorCode.REQUIRED, "items", "a purchase has at least one item")
    if len(data.items) > MAX_ITEMS:
        raise DomainError(ErrorCode.INVALID, "items", f"at most {MAX_ITEMS} items")
    for i, item in enumerate(data.items):
        if not item.product.strip():
            raise DomainError(ErrorCode.REQUIRED, f"items.{i}.product", "missing")
        _check_text(item.product, f"items.{i}.product")
        _check_text(item.category, f"items.{i}.category")
        if item.quantity <= 0:
            raise DomainError(ErrorCode.NEGATIVE, f"items.{i}.quantity",
                              "quantity must be positive (a refund has a negative amount)")
        require_storable(f"items.{i}.quantity", item.quantity, MAX_QUANTITY, "quantity")
        require_storable(f"items.{i}.amount", item.amount, label="amount")
    if any(i.amount < 0 for i in data.items) and any(i.amount > 0 for i in data.items):
        raise DomainError(ErrorCode.INVALID, "items", "a purchase's items are all sales or all refunds")
    total = data.total if data.total is not None else sum((i.amount for i in data.items), Decimal(0))
    refund = total < 0
    if data.refund_of_id is not None and not refund:
        raise DomainError(ErrorCode.INVALID, "refundOfId", "only a refund (negative total) refunds a purchase")
    if data.discount < 0:
        raise DomainError(ErrorCode.NEGATIVE, "discount", "a discount cannot be negative")
    if abs(total) >= MAX_MONEY:
        raise DomainError(ErrorCode.INVALID, "total", "too large")
    require_storable("discount", data.discount)
    code = (data.currency or currency).upper()
    if len(code) != 3 or not code.isalpha():
        raise DomainError(ErrorCode.INVALID, "currency", f"{code!r} is not a currency code")
    _check_text(data.external_id, "externalId")
    if data.refund_of_id is not None:
        original = await conn.scalar(select(purchases.c.id).where(purchases.c.workspace_id == workspace_id,
                                                                  purchases.c.id == data.refund_of_id,
                                                                  purchases.c.customer_id == data.customer_id))
        if original is None:
            raise DomainError(ErrorCode.NOT_FOUND, "refundOfId", "no such purchase of this customer")
    await _require_new_external_id(conn, purchases, workspace_id, data.external_id)
    purchase_id = await conn.scalar(insert(purchases).values(
        workspace_id=workspace_id, customer_id=data.customer_id, external_id=data.external_id,
        purchased_at=_moment(data.purchased_at, "purchasedAt"), total=total, discount=data.discount,
        currency=code, channel=data.channel.value, refund_of_id=data.refund_of_id).returning(purchases.c.id))
    await conn.execute(insert(purchase_items), [
        {"workspace_id": workspace_id, "purchase_id": purchase_id, "product": i.product.strip(),
         "category": i.category, "quantity": i.quantity, "amount": i.amount} for i in data.items])
    await _settle_redemptions(conn, workspace_id, data, purchase_id)
    await _remember(conn, workspace_id, idempotency_key, purchase_id)
    await rescore_customer(conn, workspace_id, data.customer_id)
    recorded = await _purchase(conn, workspace_id, purchase_id)
    recorded.customer = customer
    await customers_changed(conn, workspace_id, EventKind.PURCHASE_RECORDED, [data.customer_id],
                            [{"purchaseId": purchase_id, "total": str(total), "currency": code}])
    return recorded


async def _settle_redemptions(conn: AsyncConnection, workspace_id: int, data: PurchaseInput, purchase_id: int) -> None:
    """A purchase confirms the reservation it names; a refund of a purchase
    releases the redemptions confirmed on it (uses and budget come back)."""
    if data.refund_of_id is not None:
        await redemptions.release_for_refund(conn, workspace_id, data.refund_of_id)
    if data.redemption_id is None and data.offer_code is None:
        return
    field = "redemptionId" if data.redemption_id is not None else "offerCode"
    if data.refund_of_id is not None or (data.redemption_id is not None and data.offer_code is not None):
        raise DomainError(ErrorCode.INVALID, field, "a sale confirms one reservation: its id or its code")
    redemption_id = data.redemption_id or await redemptions.reserved_with_code(conn, workspace_id, data.customer_id,
                                                                               data.offer_code)
    if redemption_id is None:
        raise DomainError(ErrorCode.NOT_FOUND, field, "no reservation of this customer with this code")
    try:
        row, _ = await redemptions.confirm(conn, workspace_id, redemption_id=redemption_id, purchase_id=purchase_id)
    except DomainError as error:
        raise DomainError(error.code, field, error.message) from None
    if row.customer_id != data.customer_id:
        raise DomainError(ErrorCode.NOT_FOUND, field, "no reservation of this customer")


async def _purchase(conn: AsyncConnection, workspace_id: int, purchase_id: int, replayed: bool = False) -> Recorded:
    row = (await conn.execute(select(purchases).where(purchases.c.workspace_id == workspace_id,
                                                      purchases.c.id == purchase_id))).one()
    items = list(await conn.execute(select(purchase_items).where(purchase_items.c.workspace_id == workspace_id,
                                                                 purchase_items.c.purchase_id == purchase_id)
                                    .order_by(purchase_items.c.id)))
    return Recorded(row, replayed, items)


async def record_interaction(conn: AsyncConnection, workspace_id: int, data: InteractionInput,
                             idempotency_key: str | None = None) -> Recorded:
    first = await _claim(conn, workspace_id, idempotency_key, "interactionRecord")
    if first is not None:
        return await _customer_of(conn, workspace_id, Recorded(await _interaction(conn, workspace_id, first),
                                                               replayed=True))
    customer = await _require_customer(conn, workspace_id, data.customer_id, "customerId")
    if not 0 <= data.staff_minutes <= MAX_STAFF_MINUTES:
        raise DomainError(ErrorCode.INVALID, "staffMinutes", f"between 0 and {MAX_STAFF_MINUTES} minutes")
    survey = data.kind == InteractionKind.SURVEY
    if survey != (data.score is not None):
        raise DomainError(ErrorCode.INVALID, "score", "a survey answer has a score, and only a survey answer")
    if data.score is not None and not 0 <= data.score <= 10:
        raise DomainError(ErrorCode.INVALID, "score", "a survey score is 0 to 10")
    if data.referred_customer_id is not None:
        if data.kind != InteractionKind.REFERRAL:
            raise DomainError(ErrorCode.INVALID, "referredCustomerId", "only a referral refers a customer")
        await _require_customer(conn, workspace_id, data.referred_customer_id, "referredCustomerId")
    _check_text(data.summary, "summary")
    _check_text(data.external_id, "externalId")
    await _require_new_external_id(conn, interactions, workspace_id, data.external_id)
    interaction_id = await conn.scalar(insert(interactions).values(
        workspace_id=workspace_id, customer_id=data.customer_id, kind=data.kind.value,
        occurred_at=_moment(data.occurred_at, "occurredAt"), staff_minutes=data.staff_minutes, score=data.score,
        referred_customer_id=data.referred_customer_id, summary=data.summary, external_id=data.external_id)
        .returning(interactions.c.id))
    await _remember(conn, workspace_id, idempotency_key, interaction_id)
    await rescore_customer(conn, workspace_id, data.customer_id)
    recorded = Recorded(await _interaction(conn, workspace_id, interaction_id), customer=customer)
    await customers_changed(conn, workspace_id, EventKind.INTERACTION_RECORDED, [data.customer_id],
                            [{"interactionId": interaction_id, "kind": data.kind.value}])
    return recorded


async def _interaction(conn: AsyncConnection, workspace_id: int, interaction_id: int) -> Row:
    return (await conn.execute(select(interactions).where(interactions.c.workspace_id == workspace_id,
                                                          interactions.c.id == interaction_id))).one()


async def purchases_by_id(conn: AsyncConnection, workspace_id: int, ids: list[int]) -> dict[int, Recorded]:
    rows = await conn.execute(select(purchases).where(purchases.c.workspace_id == workspace_id,
                                                      purchases.c.id.in_(ids)))
    return await with_items(conn, workspace_id, list(rows))


async def with_items(conn: AsyncConnection, workspace_id: int, rows: list[Row]) -> dict[int, Recorded]:
    """The purchases with their items, by id (one query for all the items)."""
    items = await conn.execute(_ITEMS_OF, {"workspace_id": workspace_id, "purchase_ids": [r.id for r in rows]})
    found = {r.id: Recorded(r) for r in rows}
    for item in items:
        found[item.purchase_id].items.append(item)
    return found


# Made once: `in_` with a list makes a parameter in a reference cycle, left to
# the garbage collector by every page of purchases.
_ITEMS_OF = (select(purchase_items)
             .where(purchase_items.c.workspace_id == bindparam("workspace_id"),
                    purchase_items.c.purchase_id.in_(bindparam("purchase_ids", expanding=True)))
             .order_by(purchase_items.c.id))


async def interactions_by_id(conn: AsyncConnection, workspace_id: int, ids: list[int]) -> dict[int, Row]:
    rows = await conn.execute(select(interactions).where(interactions.c.workspace_id == workspace_id,
                                                         interactions.c.id.in_(ids)))
    return {r.id: r for r in rows}
