"""Redeeming offers: validate (a dry run), reserve, confirm, release.

A checkout reserves the offer for its cart with an idempotency key (normally
the order id) and a time to live; the reservation takes one of the
customer's uses, one of the offer's total uses and its share of the
campaign's budget at once. Recording the purchase confirms it; cancelling or
refunding releases it and gives all three back; a reservation nobody confirms
expires after its TTL and gives them back too (`expire_due`, on a schedule).

Each of the three is taken by one conditional statement that checks and
writes together (`... SET used = used + 1 WHERE used + 1 <= limit RETURNING`),
so concurrent checkouts can never overrun a limit: the row lock makes the
second wait for the first, and it then sees the first's use. CHECK
constraints on the tables refuse an overrun even so. A refusal raises, which
rolls the whole reservation back.

The same key with the same request replays the first result; with another
request it is IDEMPOTENCY_KEY_REUSED. A refused request leaves nothing, so a
retry of it is judged afresh.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Row, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from domain import segment_membership
from domain.campaigns.offers import Cart, Price, offer_by_code, offers_by_id, price, validate_cart
from domain.errors import DomainError, ErrorCode
from domain.segment_rules import uses_campaign_events
from domain.tables import (campaign_assignments, campaign_events, campaigns, offer_codes, offer_usage, offers,
                           purchases, redemptions)
from domain.vocab import Arm, BudgetKind, CampaignEventKind, CampaignStatus, LimitPeriod, OfferKind, RedemptionStatus

DEFAULT_TTL_MINUTES = 15
MAX_TTL_MINUTES = 24 * 60
MAX_KEY = 200
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
R = RedemptionStatus


@dataclass(frozen=True)
class RedemptionRequest:
    idempotency_key: str
    cart: Cart
    offer_id: int | None = None
    code: str | None = None
    customer_id: int | None = None  # the signed-in customer, or the one a backend names
    order_id: str | None = None
    ttl_minutes: int = DEFAULT_TTL_MINUTES


@dataclass(frozen=True)
class Quote:
    offer: Row
    campaign: Row
    customer_id: int
    code: str | None
    price: Price
    period_start: datetime
    budget_charge: float


def period_start(period: LimitPeriod, time_zone: str, now: datetime) -> datetime:
    """Where the current period of a per-customer limit began, in the campaign's
    time zone (weeks begin on Monday, as ISO 8601 has them)."""
    if period is LimitPeriod.TOTAL:
        return EPOCH
    local = now.astimezone(ZoneInfo(time_zone))
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period is LimitPeriod.WEEK:
        day -= timedelta(days=day.weekday())
    elif period is LimitPeriod.MONTH:
        day = day.replace(day=1)
    return day.astimezone(UTC)


def window(offer: Row, campaign: Row, opens_at: datetime | None) -> tuple[datetime | None, datetime | None]:
    """When the offer opens and closes for a customer (early access opens it sooner)."""
    opens = [m for m in (offer.valid_from, campaign.starts_at) if m is not None]
    start = max(opens) if opens else None
    if opens_at is not None and start is not None:
        start = min(start, opens_at)
    ends = [m for m in (offer.valid_to, campaign.ends_at) if m is not None]
    return start, min(ends) if ends else None


def _not_for_them() -> DomainError:
    # The same words for a held-out customer and one never targeted: the arm stays unseen.
    return DomainError(ErrorCode.NOT_ELIGIBLE, "offerId", "this offer is not available to this customer")


async def _resolve(conn: AsyncConnection, workspace_id: int, request: RedemptionRequest) -> tuple[Row, int, str | None]:
    """The offer, the customer and the code the request names."""
    if (request.offer_id is None) == (request.code is None):
        raise DomainError(ErrorCode.REQUIRED, "offerId", "give an offer id or a code")
    if request.offer_id is not None:
        offer = (await offers_by_id(conn, workspace_id, [request.offer_id])).get(request.offer_id)
        if offer is None:
            raise DomainError(ErrorCode.NOT_FOUND, "offerId", "no such offer in this workspace")
        if request.customer_id is None:
            raise DomainError(ErrorCode.REQUIRED, "customerId", "whose cart is it?")
        return offer, request.customer_id, None
    code = request.code.strip().upper()
    offer = await offer_by_code(conn, workspace_id, code)
    if offer is not None:
        if request.customer_id is None:
            raise DomainError(ErrorCode.REQUIRED, "customerId", "whose cart is it?")
        return offer, request.customer_id, code
    owned = (await conn.execute(select(offer_codes).where(offer_codes.c.workspace_id == workspace_id,
                                                          offer_codes.c.code == code))).one_or_none()
    if owned is None or (request.customer_id is not None and owned.customer_id != request.customer_id):
        raise DomainError(ErrorCode.NOT_FOUND, "code", "no such code for this customer")
    offer = (await offers_by_id(conn, workspace_id, [owned.offer_id])).get(owned.offer_id)
    if offer is None:
        raise DomainError(ErrorCode.NOT_FOUND, "code", "no such code for this customer")
    return offer, owned.customer_id, code


async def _check(conn: AsyncConnection, workspace_id: int, offer: Row, customer_id: int, now: datetime) -> Row:
    """The offer's campaign, if the offer may be used by this customer now."""
    query = select(campaigns).where(campaigns.c.workspace_id == workspace_id, campaigns.c.id == offer.campaign_id)
    campaign = (await conn.execute(query)).one()
    if offer.kind == OfferKind.NOTICE.value:
        raise DomainError(ErrorCode.NOT_REDEEMABLE, "offerId", "a NOTICE is an announcement: nothing to redeem")
    if campaign.status != CampaignStatus.RUNNING.value:
        raise DomainError(ErrorCode.CAMPAIGN_NOT_RUNNING, "offerId",
                          f"the offer's campaign is {CampaignStatus(campaign.status).name}, not RUNNING")
    assignment = (await conn.execute(select(campaign_assignments.c.arm, campaign_assignments.c.opens_at).where(
        campaign_assignments.c.campaign_id == campaign.id, campaign_assignments.c.customer_id == customer_id,
        campaign_assignments.c.workspace_id == workspace_id))).one_or_none()
    if assignment is None or assignment.arm != Arm.TREATMENT.value:
        raise _not_for_them()
    start, end = window(offer, campaign, assignment.opens_at)
    if start is not None and now < start:
        raise DomainError(ErrorCode.OUTSIDE_VALIDITY, "offerId", f"the offer opens at {start.isoformat()}")
    if end is not None and now >= end:
        raise DomainError(ErrorCode.OUTSIDE_VALIDITY, "offerId", f"the offer closed at {end.isoformat()}")
    return campaign


def _charge(campaign: Row, priced: Price) -> float:
    if campaign.budget_kind == BudgetKind.COUNT.value:
        return 1.0
    return float(priced.discount + priced.cashback) if campaign.budget_kind == BudgetKind.AMOUNT.value else 0.0


async def quote(conn: AsyncConnection, workspace_id: int, request: RedemptionRequest, now: datetime) -> Quote:
    """What the offer does for this cart, if it may be used now (raises why not)."""
    offer, customer_id, code = await _resolve(conn, workspace_id, request)
    campaign = await _check(conn, workspace_id, offer, customer_id, now)
    cart = validate_cart(request.cart)
    if cart.currency != offer.currency:
        raise DomainError(ErrorCode.INVALID, "cart.currency", f"the offer is in {offer.currency}")
    priced = price(offer, cart)
    if offer.min_spend is not None and priced.eligible < offer.min_spend:
        raise DomainError(ErrorCode.MIN_SPEND_NOT_MET, "cart",
                          f"spend at least {offer.min_spend} {offer.currency}"
                          + (" in the offer's categories" if offer.categories else ""))
    return Quote(offer, campaign, customer_id, code, priced,
                 period_start(LimitPeriod(offer.per_customer_period), campaign.time_zone, now),
                 _charge(campaign, priced))


async def uses_left(conn: AsyncConnection, workspace_id: int, offer: Row, customer_id: int, start: datetime
                    ) -> int | None:
    """The customer's uses left in this period (None: no limit)."""
    if offer.per_customer_limit is None:
        return None
    used = await conn.scalar(select(offer_usage.c.used).where(
        offer_usage.c.workspace_id == workspace_id, offer_usage.c.offer_id == offer.id,
        offer_usage.c.customer_id == customer_id, offer_usage.c.period_start == start)) or 0
    return max(offer.per_customer_limit - used, 0)


async def validate_offer(conn: AsyncConnection, workspace_id: int, request: RedemptionRequest) -> Quote:
    """The dry run: every check a reservation makes, nothing written."""
    found = await quote(conn, workspace_id, request, datetime.now(UTC))
    if await uses_left(conn, workspace_id, found.offer, found.customer_id, found.period_start) == 0:
        raise DomainError(ErrorCode.CUSTOMER_LIMIT_REACHED, "offerId", "no uses left for this customer")
    if found.offer.total_limit is not None and found.offer.total_used >= found.offer.total_limit:
        raise DomainError(ErrorCode.OFFER_SOLD_OUT, "offerId", "the offer has been used up")
    campaign = found.campaign
    if campaign.budget_limit is not None and float(campaign.budget_used) + found.budget_charge > campaign.budget_limit:
        raise DomainError(ErrorCode.BUDGET_EXHAUSTED, "offerId", "the campaign's budget is spent")
    return found


# --- reserving ----------------------------------------------------------------------------------

def request_hash(request: RedemptionRequest) -> str:
    body = asdict(request) | {"idempotency_key": None}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _check_request(request: RedemptionRequest) -> None:
    if not 0 < len(request.idempotency_key) <= MAX_KEY:
        raise DomainError(ErrorCode.INVALID, "idempotencyKey", f"1 to {MAX_KEY} characters")
    if not 1 <= request.ttl_minutes <= MAX_TTL_MINUTES:
        raise DomainError(ErrorCode.INVALID, "ttlMinutes", f"1 to {MAX_TTL_MINUTES} minutes")
    if request.order_id is not None and not 0 < len(request.order_id) <= MAX_KEY:
        raise DomainError(ErrorCode.INVALID, "orderId", f"1 to {MAX_KEY} characters")


async def _by_key(conn: AsyncConnection, workspace_id: int, key: str) -> Row | None:
    return (await conn.execute(select(redemptions).where(redemptions.c.workspace_id == workspace_id,
                                                         redemptions.c.idempotency_key == key))).one_or_none()


def _replay(first: Row, fingerprint: str) -> Row:
    if first.request_hash != fingerprint:
        raise DomainError(ErrorCode.IDEMPOTENCY_KEY_REUSED, "idempotencyKey",
                          "this key was used for another request; use a new key for a new one")
    return first


async def reserve(conn: AsyncConnection, workspace_id: int, request: RedemptionRequest) -> tuple[Row, bool]:
    """The reservation and whether it is the first call's (a replay)."""
    _check_request(request)
    fingerprint = request_hash(request)
    first = await _by_key(conn, workspace_id, request.idempotency_key)
    if first is not None:  # replayed as it was, whatever has happened since
        return _replay(first, fingerprint), True
    now = datetime.now(UTC)
    found = await quote(conn, workspace_id, request, now)
    if request.order_id is not None:
        await _require_stackable(conn, workspace_id, found.offer, request.order_id)
    row = (await conn.execute(pg_insert(redemptions).values(
        workspace_id=workspace_id, offer_id=found.offer.id, campaign_id=found.campaign.id,
        customer_id=found.customer_id, idempotency_key=request.idempotency_key, request_hash=fingerprint,
        order_id=request.order_id, code=found.code, discount=found.price.discount, cashback=found.price.cashback,
        budget_charge=found.budget_charge, usage_period_start=found.period_start, cart_total=request.cart.total,
        currency=found.offer.currency, expires_at=now + timedelta(minutes=request.ttl_minutes))
        .on_conflict_do_nothing(index_elements=["workspace_id", "idempotency_key"])
        .returning(redemptions))).one_or_none()
    if row is None:  # the same key at the same moment: it waited for the first, which committed
        return _replay(await _by_key(conn, workspace_id, request.idempotency_key), fingerprint), True
    await _take(conn, workspace_id, found)
    return row, False


async def _require_stackable(conn: AsyncConnection, workspace_id: int, offer: Row, order_id: str) -> None:
    """An exclusive offer goes alone on an order; stackable ones combine."""
    others = list(await conn.execute(
        select(offers.c.stackable).select_from(redemptions.join(offers, offers.c.id == redemptions.c.offer_id))
        .where(redemptions.c.workspace_id == workspace_id, redemptions.c.order_id == order_id,
               redemptions.c.status.in_([R.RESERVED.value, R.CONFIRMED.value]))))
    if others and not (offer.stackable and all(o.stackable for o in others)):
        raise DomainError(ErrorCode.NOT_STACKABLE, "offerId", "the order has an offer already, and they do not "
                                                              "combine")


# One statement checks and takes the customer's use, then the offer's, then the
# budget's share, each a conditional write of its row (`used + 1 <= limit`, which
# PostgreSQL re-checks on the row's latest version once it has its lock), each
# only if the one before succeeded; it says which succeeded. One statement, so a
# checkout holds the offer's and the campaign's rows for the statement and the
# commit alone: with a round trip for each, 50 checkouts at once queued behind
# three trips of each other (90 reservations a second on one budget).
_TAKE = text("""
WITH use AS (
  INSERT INTO offer_usage AS u (workspace_id, offer_id, customer_id, period_start, used)
  VALUES (:w, :offer, :customer, :start, 1)
  ON CONFLICT (offer_id, customer_id, period_start) DO UPDATE SET used = u.used + 1
  WHERE CAST(:limit AS int) IS NULL OR u.used + 1 <= CAST(:limit AS int)
  RETURNING 1),
offer AS (
  UPDATE offers o SET total_used = o.total_used + 1
  WHERE o.id = :offer AND (o.total_limit IS NULL OR o.total_used + 1 <= o.total_limit) AND EXISTS (SELECT FROM use)
  RETURNING 1),
budget AS (
  UPDATE campaigns c SET budget_used = c.budget_used + :charge
  WHERE c.id = :campaign AND c.budget_kind IS NOT NULL AND c.budget_used + :charge <= c.budget_limit
    AND EXISTS (SELECT FROM offer)
  RETURNING 1)
SELECT EXISTS (SELECT FROM use) AS use, EXISTS (SELECT FROM offer) AS offer, EXISTS (SELECT FROM budget) AS budget""")


async def _take(conn: AsyncConnection, workspace_id: int, found: Quote) -> None:
    """One use of the customer's, one of the offer's, and the budget's charge,
    checked and taken by one statement (in this order, as `_give_back`); a
    refusal raises, and the caller's transaction rolls the rest back."""
    offer, campaign = found.offer, found.campaign
    taken = (await conn.execute(_TAKE, {"w": workspace_id, "offer": offer.id, "customer": found.customer_id,
                                        "start": found.period_start, "limit": offer.per_customer_limit,
                                        "campaign": campaign.id, "charge": found.budget_charge})).one()
    if not taken.use:
        raise DomainError(ErrorCode.CUSTOMER_LIMIT_REACHED, "offerId",
                          f"this customer has used it {offer.per_customer_limit} time(s) "
                          f"({LimitPeriod(offer.per_customer_period).name.lower()} limit)")
    if not taken.offer:
        raise DomainError(ErrorCode.OFFER_SOLD_OUT, "offerId", "the offer has been used up")
    if campaign.budget_kind is not None and not taken.budget:
        raise DomainError(ErrorCode.BUDGET_EXHAUSTED, "offerId", "the campaign's budget is spent")


async def _give_back(conn: AsyncConnection, row: Row) -> None:
    await conn.execute(update(offer_usage).where(
        offer_usage.c.offer_id == row.offer_id, offer_usage.c.customer_id == row.customer_id,
        offer_usage.c.period_start == row.usage_period_start).values(used=offer_usage.c.used - 1))
    await conn.execute(update(offers).where(offers.c.id == row.offer_id).values(total_used=offers.c.total_used - 1))
    if row.budget_charge:
        await conn.execute(update(campaigns).where(campaigns.c.id == row.campaign_id)
                           .values(budget_used=campaigns.c.budget_used - row.budget_charge))


# --- confirming and releasing -------------------------------------------------------------------

async def _locked(conn: AsyncConnection, workspace_id: int, redemption_id: int | None, key: str | None) -> Row:
    query = select(redemptions).where(redemptions.c.workspace_id == workspace_id)
    if redemption_id is not None:
        query = query.where(redemptions.c.id == redemption_id)
    elif key is not None:
        query = query.where(redemptions.c.idempotency_key == key)
    else:
        raise DomainError(ErrorCode.REQUIRED, "id", "give the redemption's id or its idempotency key")
    row = (await conn.execute(query.with_for_update())).one_or_none()
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, "id", "no such redemption in this workspace")
    return row


async def confirm(conn: AsyncConnection, workspace_id: int, redemption_id: int | None = None,
                  key: str | None = None, purchase_id: int | None = None) -> tuple[Row, bool]:
    """The reservation made final (with the purchase it paid for), and whether
    it was confirmed already (a replay)."""
    row = await _locked(conn, workspace_id, redemption_id, key)
    if row.status == R.CONFIRMED.value:
        if purchase_id is not None and row.purchase_id not in (None, purchase_id):
            raise DomainError(ErrorCode.CONFLICT, "purchaseId", "confirmed already with another purchase")
        return row, True
    if row.status == R.EXPIRED.value or (row.status == R.RESERVED.value and row.expires_at <= datetime.now(UTC)):
        raise DomainError(ErrorCode.RESERVATION_EXPIRED, "id", "the reservation expired: reserve again")
    if row.status == R.RELEASED.value:
        raise DomainError(ErrorCode.CONFLICT, "id", "the reservation was released")
    offer = (await offers_by_id(conn, workspace_id, [row.offer_id])).get(row.offer_id)
    if offer is None:
        raise DomainError(ErrorCode.NOT_FOUND, "id", "the offer was removed")
    await _check(conn, workspace_id, offer, row.customer_id, datetime.now(UTC))
    if purchase_id is not None:
        owner = await conn.scalar(select(purchases.c.customer_id).where(
            purchases.c.workspace_id == workspace_id, purchases.c.id == purchase_id, purchases.c.total >= 0))
        if owner != row.customer_id:
            raise DomainError(ErrorCode.NOT_FOUND, "purchaseId", "no such purchase of this customer")
    confirmed = (await conn.execute(update(redemptions).where(redemptions.c.id == row.id).values(
        status=R.CONFIRMED.value, confirmed_at=func.now(), purchase_id=purchase_id).returning(redemptions))).one()
    await record_redeemed(conn, workspace_id, confirmed)
    return confirmed, False


async def record_redeemed(conn: AsyncConnection, workspace_id: int, row: Row) -> None:
    """A REDEEMED engagement, which segment rules' campaign conditions read."""
    await conn.execute(insert(campaign_events).values(
        workspace_id=workspace_id, campaign_id=row.campaign_id, offer_id=row.offer_id, customer_id=row.customer_id,
        kind=CampaignEventKind.REDEEMED.value, event_id=f"redemption-{row.id}"))
    found = [s for s in await segment_membership.rule_segments(conn, workspace_id) if uses_campaign_events(s.rule)]
    if found:
        await segment_membership.sync(conn, workspace_id, "offer redeemed", [row.customer_id], found=found)


async def release(conn: AsyncConnection, workspace_id: int, redemption_id: int | None = None, key: str | None = None,
                  reason: str = "released") -> tuple[Row, bool]:
    """Undo a reservation or a confirmed redemption (cancel, refund): the
    customer's use, the offer's and the budget's charge come back. Releasing
    twice changes nothing the second time."""
    row = await _locked(conn, workspace_id, redemption_id, key)
    if row.status in (R.RELEASED.value, R.EXPIRED.value):
        return row, True
    await _give_back(conn, row)
    released = (await conn.execute(update(redemptions).where(redemptions.c.id == row.id).values(
        status=R.RELEASED.value, released_at=func.now(), release_reason=reason[:200]).returning(redemptions))).one()
    return released, False


async def release_for_refund(conn: AsyncConnection, workspace_id: int, purchase_id: int) -> int:
    """A refund of a purchase releases the redemptions confirmed on it."""
    ids = list(await conn.scalars(select(redemptions.c.id).where(
        redemptions.c.workspace_id == workspace_id, redemptions.c.purchase_id == purchase_id,
        redemptions.c.status == R.CONFIRMED.value)))
    for redemption_id in ids:
        await release(conn, workspace_id, redemption_id, reason="purchase refunded")
    return len(ids)


async def expire_due(conn: AsyncConnection, limit: int = 1000) -> int:
    """Reservations past their TTL become EXPIRED and give their uses back
    (locked SKIP LOCKED: one being confirmed right now is left to that)."""
    rows = list(await conn.execute(select(redemptions).where(
        redemptions.c.status == R.RESERVED.value, redemptions.c.expires_at <= func.now())
        .order_by(redemptions.c.expires_at).limit(limit).with_for_update(skip_locked=True)))
    for row in rows:
        await _give_back(conn, row)
    if rows:
        await conn.execute(update(redemptions).where(redemptions.c.id.in_([r.id for r in rows])).values(
            status=R.EXPIRED.value, released_at=func.now(), release_reason="expired"))
    return len(rows)


async def redemptions_of(conn: AsyncConnection, workspace_id: int, campaign_id: int, first: int,
                         before_id: int | None) -> tuple[list[Row], bool]:
    query = select(redemptions).where(redemptions.c.workspace_id == workspace_id,
                                      redemptions.c.campaign_id == campaign_id)
    if before_id is not None:
        query = query.where(redemptions.c.id < before_id)
    rows = list(await conn.execute(query.order_by(redemptions.c.id.desc()).limit(first + 1)))
    return rows[:first], len(rows) > first


async def redemptions_by_id(conn: AsyncConnection, workspace_id: int, ids: list[int]) -> dict[int, Row]:
    rows = await conn.execute(select(redemptions).where(redemptions.c.workspace_id == workspace_id,
                                                        redemptions.c.id.in_(ids)))
    return {r.id: r for r in rows}


async def reserved_with_code(conn: AsyncConnection, workspace_id: int, customer_id: int, code: str) -> int | None:
    """The customer's live reservation made with this code (newest first)."""
    return await conn.scalar(select(redemptions.c.id).where(
        redemptions.c.workspace_id == workspace_id, redemptions.c.customer_id == customer_id,
        redemptions.c.code == code.strip().upper(), redemptions.c.status == R.RESERVED.value)
        .order_by(redemptions.c.id.desc()).limit(1))
