"""What a mobile app sees: the signed-in customer (`me`), and the mutation a
business's backend uses to sign that customer in (`customerTokenCreate`).

An APP key is built into the app, so it is no secret: on its own it reads
nothing. Each request also carries the customer token (`X-Customer-Token`
header, or `customerToken` in a WebSocket's connection_init), and the app sees
that one customer's own profile and purchases: never another customer, and
never what staff keep about them (scores, notes, segments), and of campaigns
only the offers meant for them (gql_api/campaigns/customer_offers.py).
"""

from __future__ import annotations

import datetime

import strawberry
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.types import Info

from domain.customer_tokens import MAX_LIFETIME, InvalidToken, sign, verify, workspace_secret
from domain.customers import customers_by_id
from domain.errors import DomainError, ErrorCode
from domain.vocab import Role
from gql_api.campaigns.customer_offers import CustomerOffer, offers_of_customer
from gql_api.customers.types import purchase_page
from gql_api.errors import UserError, attempt, input_pk
from gql_api.ids import MalformedId, from_global_id, to_global_id
from gql_api.permissions import role_in
from gql_api.recording.types import PurchaseConnection

DEFAULT_MINUTES = 15


@strawberry.type(description="The customer signed in to a mobile app, as they see themselves.")
class SignedInCustomer:
    pk: strawberry.Private[int]
    first_name: str | None
    last_name: str | None
    company_name: str | None
    email: str | None
    phone: str | None
    phone_e164: str | None
    consent_sms: bool
    consent_email: bool
    consent_push: bool

    @strawberry.field(description="The customer's id (the same as Customer.id).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Customer", self.pk))

    @strawberry.field(description="Their purchases and refunds, newest first (at most 100 a page).")
    def purchases(self, info: Info, first: int = 10, after: str | None = None) -> PurchaseConnection:
        return purchase_page(info, self.pk, first, after)

    @strawberry.field(description="The offers meant for them now, best first: ranked by the expected incremental "
                                  "profit for the business (see the README).")
    async def offers(self, info: Info) -> list[CustomerOffer]:
        return await offers_of_customer(info, self.pk)

    @classmethod
    def from_row(cls, row) -> SignedInCustomer:
        return cls(pk=row.id, first_name=row.first_name, last_name=row.last_name, company_name=row.company_name,
                   email=row.email, phone=row.phone, phone_e164=row.phone_e164, consent_sms=row.consent_sms,
                   consent_email=row.consent_email, consent_push=row.consent_push)


def _unauthenticated(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "UNAUTHENTICATED"})


async def signed_in_customer(conn: AsyncConnection, info: Info) -> int:
    """The customer the request's token names, or an UNAUTHENTICATED error."""
    token = info.context.customer_token
    if not token:
        raise _unauthenticated("a customer token is required: send `X-Customer-Token: <token>`")
    workspace_id = info.context.api_key.workspace_id
    try:
        subject = verify(await workspace_secret(conn, workspace_id), workspace_id, token,
                         datetime.datetime.now(datetime.UTC))
        return from_global_id(subject, "Customer")
    except (InvalidToken, MalformedId) as exc:
        raise _unauthenticated(str(exc)) from None


@strawberry.type
class SignedInQueries:
    @strawberry.field(permission_classes=role_in(Role.APP),
                      description="APP keys: the customer named by the X-Customer-Token header; null once that "
                                  "customer is deleted.")
    async def me(self, info: Info) -> SignedInCustomer | None:
        async with info.context.transaction() as conn:
            pk = await signed_in_customer(conn, info)
            found = await customers_by_id(conn, info.context.api_key.workspace_id, [pk])
        return SignedInCustomer.from_row(found[pk]) if pk in found else None


@strawberry.input
class CustomerTokenCreateInput:
    customer_id: strawberry.ID
    expires_in_minutes: int = strawberry.field(default=DEFAULT_MINUTES,
                                               description="1 to 1440 (24 hours); 15 by default.")


@strawberry.type
class CustomerTokenPayload:
    token: str | None = strawberry.field(description="Send it as X-Customer-Token with the workspace's APP key.")
    expires_at: datetime.datetime | None
    user_errors: list[UserError]


@strawberry.type
class SignedInMutations:
    @strawberry.mutation(permission_classes=role_in(Role.ADMIN, Role.INTEGRATOR),
                         description="Sign a customer in to the mobile app: a short-lived token naming them, "
                                     "for the app to send with the workspace's APP key.")
    async def customer_token_create(self, info: Info, input: CustomerTokenCreateInput) -> CustomerTokenPayload:
        async def create(conn: AsyncConnection, workspace_id: int):
            pk = input_pk(input.customer_id, "Customer", "customerId")
            if not 1 <= input.expires_in_minutes <= MAX_LIFETIME.total_seconds() // 60:
                raise DomainError(ErrorCode.INVALID, "expiresInMinutes", "a token lives 1 to 1440 minutes")
            if pk not in await customers_by_id(conn, workspace_id, [pk]):
                raise DomainError(ErrorCode.NOT_FOUND, "customerId", f"no customer {input.customer_id}")
            now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
            lifetime = datetime.timedelta(minutes=input.expires_in_minutes)
            token = sign(await workspace_secret(conn, workspace_id), workspace_id, to_global_id("Customer", pk), now,
                         lifetime)
            return token, now + lifetime

        created, errors = await attempt(info, create)
        token, expires_at = created or (None, None)
        return CustomerTokenPayload(token=token, expires_at=expires_at, user_errors=errors)
