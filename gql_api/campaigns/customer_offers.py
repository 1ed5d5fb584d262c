"""What a mobile app shows its signed-in customer: `me { offers }`.

Only what the customer may see: the offer's terms, their code, when it
closes, their uses left and its status. Never the arm, the budget, the
policy or how the offer was ranked.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from domain.campaigns import customer_offers
from gql_api.campaigns.enums import CodeMode, CustomerOfferStatus, LimitPeriod, OfferKind
from gql_api.ids import to_global_id


@strawberry.type(description="An offer meant for the signed-in customer now.")
class CustomerOffer:
    offer_pk: strawberry.Private[int]
    kind: OfferKind
    value: Decimal | None
    currency: str
    min_spend: Decimal | None
    max_discount: Decimal | None
    categories: list[str] | None
    stackable: bool
    code_mode: CodeMode
    code: str | None = strawberry.field(description="Their code (UNIQUE), the shared one (SHARED), or null (AUTO: "
                                                    "redeem by offerId).")
    expires_at: datetime.datetime | None = strawberry.field(description="When it closes for them.")
    uses_left: int | None = strawberry.field(description="Their uses left this period; null: no limit.")
    limit_period: LimitPeriod
    status: CustomerOfferStatus
    title_fa: str | None
    title_en: str | None
    terms_fa: str | None
    terms_en: str | None

    @strawberry.field(description="The offer's id, for offerValidate and redemptionReserve.")
    def offer_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Offer", self.offer_pk))

    @classmethod
    def from_domain(cls, found: customer_offers.CustomerOffer) -> CustomerOffer:
        o = found.offer
        return cls(offer_pk=o.id, kind=OfferKind(o.kind), value=o.value, currency=o.currency, min_spend=o.min_spend,
                   max_discount=o.max_discount, categories=o.categories, stackable=o.stackable,
                   code_mode=CodeMode(o.code_mode), code=found.code, expires_at=found.closes_at,
                   uses_left=found.uses_left, limit_period=LimitPeriod(o.per_customer_period),
                   status=CustomerOfferStatus(found.status), title_fa=o.title_fa, title_en=o.title_en,
                   terms_fa=o.terms_fa, terms_en=o.terms_en)


async def offers_of_customer(info: Info, customer_pk: int) -> list[CustomerOffer]:
    async with info.context.transaction() as conn:
        found = await customer_offers.offers_for(conn, info.context.api_key.workspace_id, customer_pk)
    return [CustomerOffer.from_domain(o) for o in found]
