"""Checkout and engagement: offerValidate (a dry run), redemptionReserve,
redemptionConfirm, redemptionRelease and offerEventsRecord.

A mobile app (APP key and customer token) acts for the signed-in customer
only: it validates and reserves that customer's offers and reports what they
viewed and clicked. A business's backend (ADMIN or INTEGRATOR key) names the
customer, confirms reservations when the purchase is made and releases them
on cancel or refund; its delivery provider's reports (SENT, DELIVERED,
OPENED, UNSUBSCRIBED) come through offerEventsRecord too.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from domain.campaigns import engagement, redemptions
from domain.errors import DomainError, ErrorCode
from domain.vocab import CampaignEventKind as EventKind, Role
from gql_api.campaigns.enums import CampaignEventKind
from gql_api.campaigns.inputs import CartInput, cart_to_domain
from gql_api.campaigns.types import Offer, Redemption
from gql_api.errors import UserError, attempt, input_pk
from gql_api.permissions import role_in
from gql_api.signed_in import signed_in_customer

CHECKOUT = role_in(Role.APP, Role.ADMIN, Role.INTEGRATOR)
BACKEND = role_in(Role.ADMIN, Role.INTEGRATOR)


def _acting_for(info: Info, me: int | None, given: strawberry.ID | None, field: str) -> int | None:
    """The customer a request acts for: an APP key's signed-in customer `me`
    (who may not name anyone else), else the one the backend names."""
    named = input_pk(given, "Customer", field)
    if info.context.api_key.role is not Role.APP:
        return named
    if named is not None and named != me:
        raise DomainError(ErrorCode.NOT_FOUND, field, "an app acts for its signed-in customer only")
    return me


async def _signed_in(conn, info: Info) -> int | None:
    return await signed_in_customer(conn, info) if info.context.api_key.role is Role.APP else None


async def _customer(conn, info: Info, given: strawberry.ID | None) -> int | None:
    return _acting_for(info, await _signed_in(conn, info), given, "customerId")


@strawberry.input(description="An offer (by id, or by its shared or unique code) and a cart. With an ADMIN or "
                              "INTEGRATOR key name the customer (a unique code names them itself); an APP key "
                              "acts for its signed-in customer.")
class OfferCheckInput:
    cart: CartInput
    offer_id: strawberry.ID | None = None
    code: str | None = None
    customer_id: strawberry.ID | None = None


@strawberry.input
class RedemptionReserveInput(OfferCheckInput):
    idempotency_key: str = strawberry.field(description="Normally the order id: a retry with the same key and "
                                                        "request replays the first result.")
    order_id: str | None = strawberry.field(default=None, description="Offers reserved for one order must all be "
                                                                      "stackable.")
    ttl_minutes: int = strawberry.field(default=redemptions.DEFAULT_TTL_MINUTES,
                                        description="Unconfirmed after this (1 to 1440), it expires.")


@strawberry.input(description="A redemption by its id or by the idempotency key it was reserved with.")
class RedemptionConfirmInput:
    id: strawberry.ID | None = None
    idempotency_key: str | None = None
    purchase_id: strawberry.ID | None = strawberry.field(default=None, description="The purchase it paid for; its "
                                                                                   "refund releases it.")


@strawberry.input
class RedemptionReleaseInput:
    id: strawberry.ID | None = None
    idempotency_key: str | None = None
    reason: str = "cancelled"


@strawberry.input(description="One engagement event. The event id is the reporter's own: a repeat is dropped.")
class OfferEventInput:
    event_id: str
    kind: CampaignEventKind
    campaign_id: strawberry.ID | None = strawberry.field(default=None, description="Or the offer's.")
    offer_id: strawberry.ID | None = None
    customer_id: strawberry.ID | None = strawberry.field(default=None, description="Required, except with an "
                                                                                   "APP key.")
    occurred_at: datetime.datetime | None = None


@strawberry.input
class OfferEventsRecordInput:
    events: list[OfferEventInput]


@strawberry.type(description="What an offer would do for a cart now, or why it cannot be used.")
class OfferValidation:
    valid: bool
    offer: Offer | None
    eligible_amount: Decimal | None = strawberry.field(description="The part of the cart the offer applies to.")
    discount: Decimal | None
    cashback: Decimal | None
    points_multiplier: Decimal | None
    user_errors: list[UserError] = strawberry.field(description="Why not (the first reason found).")


@strawberry.type
class RedemptionPayload:
    redemption: Redemption | None
    replayed: bool = strawberry.field(description="True when this key had done it already: the first result.")
    user_errors: list[UserError]


@strawberry.type
class OfferEventsRecordPayload:
    recorded: int
    dropped: int = strawberry.field(description="Repeats of event ids already recorded.")
    user_errors: list[UserError]


def _request(input: OfferCheckInput, customer_id: int | None, **more) -> redemptions.RedemptionRequest:
    return redemptions.RedemptionRequest(
        cart=cart_to_domain(input.cart), offer_id=input_pk(input.offer_id, "Offer", "offerId"), code=input.code,
        customer_id=customer_id, **{"idempotency_key": "", **more})


async def _redemption(info: Info, change) -> RedemptionPayload:
    found, errors = await attempt(info, change)
    row, replayed = found or (None, False)
    return RedemptionPayload(redemption=row and Redemption.from_row(row), replayed=replayed, user_errors=errors)


def _key(input: RedemptionConfirmInput | RedemptionReleaseInput) -> dict:
    return {"redemption_id": input_pk(input.id, "Redemption", "id"), "key": input.idempotency_key}


@strawberry.type
class CheckoutQueries:
    @strawberry.field(permission_classes=CHECKOUT, description="A dry run of a reservation: every check, the "
                                                               "price, nothing written.")
    async def offer_validate(self, info: Info, input: OfferCheckInput) -> OfferValidation:
        async def check(conn, workspace_id):
            request = _request(input, await _customer(conn, info, input.customer_id))
            return await redemptions.validate_offer(conn, workspace_id, request)
        found, errors = await attempt(info, check)
        if errors:
            return OfferValidation(valid=False, offer=None, eligible_amount=None, discount=None, cashback=None,
                                   points_multiplier=None, user_errors=errors)
        return OfferValidation(valid=True, offer=Offer.from_row(found.offer), eligible_amount=found.price.eligible,
                               discount=found.price.discount, cashback=found.price.cashback,
                               points_multiplier=found.price.points_multiplier, user_errors=[])


@strawberry.type
class CheckoutMutations:
    @strawberry.mutation(permission_classes=CHECKOUT,
                         description="Hold an offer for a checkout: one of the customer's uses, one of the offer's "
                                     "and the budget's share are taken at once, or the reservation is refused.")
    async def redemption_reserve(self, info: Info, input: RedemptionReserveInput) -> RedemptionPayload:
        async def change(conn, workspace_id):
            request = _request(input, await _customer(conn, info, input.customer_id),
                               idempotency_key=input.idempotency_key, order_id=input.order_id,
                               ttl_minutes=input.ttl_minutes)
            return await redemptions.reserve(conn, workspace_id, request)
        return await _redemption(info, change)

    @strawberry.mutation(permission_classes=BACKEND, description="The purchase was made: the reservation is final "
                                                                 "(checked again: the campaign still running).")
    async def redemption_confirm(self, info: Info, input: RedemptionConfirmInput) -> RedemptionPayload:
        async def change(conn, workspace_id):
            return await redemptions.confirm(conn, workspace_id, **_key(input),
                                             purchase_id=input_pk(input.purchase_id, "Purchase", "purchaseId"))
        return await _redemption(info, change)

    @strawberry.mutation(permission_classes=BACKEND, description="Cancelled or refunded: the uses and the budget "
                                                                 "come back. A second release changes nothing.")
    async def redemption_release(self, info: Info, input: RedemptionReleaseInput) -> RedemptionPayload:
        async def change(conn, workspace_id):
            return await redemptions.release(conn, workspace_id, **_key(input), reason=input.reason)
        return await _redemption(info, change)

    @strawberry.mutation(permission_classes=CHECKOUT,
                         description="Report engagement, up to 1000 events at once, all or none. APP keys report "
                                     "VIEWED and CLICKED for their signed-in customer; backends any kind but "
                                     "REDEEMED (Tribe records that itself).")
    async def offer_events_record(self, info: Info, input: OfferEventsRecordInput) -> OfferEventsRecordPayload:
        async def change(conn, workspace_id):
            me = await _signed_in(conn, info)
            reported = []
            for i, e in enumerate(input.events):
                customer = _acting_for(info, me, e.customer_id, f"events.{i}.customerId")
                if customer is None:
                    raise DomainError(ErrorCode.REQUIRED, f"events.{i}.customerId", "whose engagement is it?")
                reported.append(engagement.Engagement(
                    event_id=e.event_id, kind=EventKind(e.kind.value), customer_id=customer,
                    campaign_id=input_pk(e.campaign_id, "Campaign", f"events.{i}.campaignId"),
                    offer_id=input_pk(e.offer_id, "Offer", f"events.{i}.offerId"), occurred_at=e.occurred_at))
            return await engagement.record(conn, workspace_id, reported,
                                           engagement.APP_KINDS if me is not None else engagement.REPORTED)
        found, errors = await attempt(info, change)
        recorded, dropped = found or (0, 0)
        return OfferEventsRecordPayload(recorded=recorded, dropped=dropped, user_errors=errors)
