"""purchaseRecord and interactionRecord: the write, the customer's rescoring and
the idempotency record in one transaction; refused input comes back as userErrors."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain import vocab
from domain.errors import DomainError
from domain.recording import InteractionInput, ItemInput, PurchaseInput, record_interaction, record_purchase
from domain.workspaces import workspace_currency
from gql_api.customers.types import Customer
from gql_api.errors import UserError, input_pk
from gql_api.permissions import role_in
from gql_api.recording.types import Interaction, InteractionRecordInput, Purchase, PurchaseRecordInput


@strawberry.type
class PurchaseRecordPayload:
    purchase: Purchase | None
    customer: Customer | None = strawberry.field(description="The customer, rescored.")
    replayed: bool = strawberry.field(description="True when the idempotency key had been used: the first result.")
    user_errors: list[UserError]


@strawberry.type
class InteractionRecordPayload:
    interaction: Interaction | None
    customer: Customer | None = strawberry.field(description="The customer, rescored.")
    replayed: bool
    user_errors: list[UserError]


@strawberry.type
class RecordingMutations:
    @strawberry.mutation(permission_classes=role_in(vocab.Role.ADMIN),
                         description="Record a purchase (or a refund) and rescore the customer.")
    async def purchase_record(self, info: Info, input: PurchaseRecordInput) -> PurchaseRecordPayload:
        workspace_id = info.context.api_key.workspace_id
        try:
            data = PurchaseInput(
                customer_id=input_pk(input.customer_id, "Customer", "customerId"),
                items=[ItemInput(product=i.product, amount=i.amount, quantity=i.quantity, category=i.category)
                       for i in input.items],
                purchased_at=input.purchased_at, external_id=input.external_id, total=input.total,
                discount=input.discount, currency=input.currency, channel=vocab.SalesChannel(input.channel.value),
                refund_of_id=input_pk(input.refund_of_id, "Purchase", "refundOfId"),
                redemption_id=input_pk(input.redemption_id, "Redemption", "redemptionId"), offer_code=input.offer_code)
            async with info.context.transaction() as conn:
                recorded = await record_purchase(conn, workspace_id, data, await workspace_currency(conn, workspace_id),
                                                 input.idempotency_key)
        except DomainError as error:
            return PurchaseRecordPayload(purchase=None, customer=None, replayed=False,
                                         user_errors=UserError.all_of(error))
        return PurchaseRecordPayload(purchase=Purchase.from_rows(recorded.row, recorded.items),
                                     customer=recorded.customer and Customer.from_row(recorded.customer),
                                     replayed=recorded.replayed, user_errors=[])

    @strawberry.mutation(permission_classes=role_in(vocab.Role.ADMIN, vocab.Role.AGENT),
                         description="Record an interaction (support, complaint, survey, ...) and rescore the "
                                     "customer.")
    async def interaction_record(self, info: Info, input: InteractionRecordInput) -> InteractionRecordPayload:
        workspace_id = info.context.api_key.workspace_id
        try:
            data = InteractionInput(
                customer_id=input_pk(input.customer_id, "Customer", "customerId"),
                kind=vocab.InteractionKind(input.kind.value), occurred_at=input.occurred_at,
                staff_minutes=input.staff_minutes, score=input.score,
                referred_customer_id=input_pk(input.referred_customer_id, "Customer", "referredCustomerId"),
                summary=input.summary, external_id=input.external_id)
            async with info.context.transaction() as conn:
                recorded = await record_interaction(conn, workspace_id, data, input.idempotency_key)
        except DomainError as error:
            return InteractionRecordPayload(interaction=None, customer=None, replayed=False,
                                            user_errors=UserError.all_of(error))
        return InteractionRecordPayload(interaction=Interaction.from_row(recorded.row),
                                        customer=recorded.customer and Customer.from_row(recorded.customer),
                                        replayed=recorded.replayed, user_errors=[])
