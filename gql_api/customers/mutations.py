"""customerCreate, customerUpdate, customerDelete, customerErase, customerTraitsSet, customerMerge."""

from __future__ import annotations

import datetime
import re
from collections.abc import Awaitable, Callable
from enum import Enum

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from domain import vocab
from domain.customer_merge import merge_customers
from domain.customers import create_customer, delete_customer, erase_customer, update_customer
from domain.errors import DomainError
from domain.workspaces import workspace_region
from gql_api.customers.types import Customer
from gql_api.enums import CustomerKind, LifecycleStage, Temperament, Trait
from gql_api.errors import UserError, input_pk
from gql_api.permissions import role_in

Gender = strawberry.enum(Enum("Gender", {v.name: v.value for v in vocab.Gender}))


@strawberry.input(description="Profile fields. On update only the fields given change; null clears a field.")
class CustomerInput:
    external_id: str | None = strawberry.UNSET
    kind: CustomerKind | None = strawberry.UNSET
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    company_name: str | None = strawberry.UNSET
    contact_person: str | None = strawberry.UNSET
    registration_number: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    birth_date: datetime.date | None = strawberry.UNSET
    gender: Gender | None = strawberry.UNSET
    occupation: str | None = strawberry.UNSET
    marital_status: str | None = strawberry.UNSET
    education: str | None = strawberry.UNSET
    income_band: str | None = strawberry.UNSET
    province: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    neighbourhood: str | None = strawberry.UNSET
    interests: list[str] | None = strawberry.UNSET
    lifestyle: str | None = strawberry.UNSET
    temperament: Temperament | None = strawberry.UNSET
    traits: list[Trait] | None = strawberry.field(default=strawberry.UNSET, description="Staff-set traits.")
    tags: list[str] | None = strawberry.UNSET
    lifecycle_stage: LifecycleStage | None = strawberry.UNSET
    consent_sms: bool | None = strawberry.UNSET
    consent_email: bool | None = strawberry.UNSET
    consent_push: bool | None = strawberry.UNSET
    attributes: JSON | None = strawberry.UNSET

    def given(self) -> dict:
        """The fields the client sent, as the domain reads them."""
        values = {}
        for name, value in vars(self).items():
            if value is strawberry.UNSET:
                continue
            if isinstance(value, list):
                value = [v.value if isinstance(v, Enum) else v for v in value]
            values[name] = value.value if isinstance(value, Enum) else value
        return values


@strawberry.input
class CustomerUpdateInput:
    id: strawberry.ID
    profile: CustomerInput


@strawberry.input
class CustomerIdInput:
    id: strawberry.ID


@strawberry.input(description="Staff's judgement of a customer; a field left out stays as it is.")
class CustomerTraitsInput:
    id: strawberry.ID
    traits: list[Trait] | None = strawberry.field(default=strawberry.UNSET,
                                                  description="Replaces the staff-set traits; [] clears them.")
    temperament: Temperament | None = strawberry.UNSET

    def given(self) -> dict:
        return {name: [t.value for t in value] if isinstance(value, list) else value.value if value else None
                for name, value in (("traits", self.traits), ("temperament", self.temperament))
                if value is not strawberry.UNSET}


@strawberry.input
class CustomerMergeInput:
    survivor_id: strawberry.ID = strawberry.field(description="The record that stays.")
    merged_id: strawberry.ID = strawberry.field(description="The record folded into the survivor, then deleted.")


@strawberry.type
class CustomerPayload:
    customer: Customer | None
    user_errors: list[UserError]


def _camel(field: str | None) -> str | None:
    return re.sub(r"_(\w)", lambda m: m.group(1).upper(), field) if field else None


async def _run(info: Info, change: Callable[..., Awaitable]) -> CustomerPayload:
    try:
        async with info.context.transaction() as conn:
            workspace_id = info.context.api_key.workspace_id
            row = await change(conn, workspace_id, await workspace_region(conn, workspace_id))
    except DomainError as error:
        for each in error.each:
            each.field = _camel(each.field)
        return CustomerPayload(customer=None, user_errors=UserError.all_of(error))
    return CustomerPayload(customer=Customer.from_row(row), user_errors=[])


EDITORS = role_in(vocab.Role.ADMIN, vocab.Role.AGENT)
ADMINS = role_in(vocab.Role.ADMIN)


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(permission_classes=EDITORS, description="Add a customer (a person or an organisation).")
    async def customer_create(self, info: Info, input: CustomerInput) -> CustomerPayload:
        return await _run(info, lambda conn, ws, region: create_customer(conn, ws, input.given(), region))

    @strawberry.mutation(permission_classes=EDITORS, description="Change a customer's profile (given fields only).")
    async def customer_update(self, info: Info, input: CustomerUpdateInput) -> CustomerPayload:
        return await _run(info, lambda conn, ws, region: update_customer(conn, ws, input_pk(input.id, "Customer", "id"),
                                                                        input.profile.given(), region))

    @strawberry.mutation(permission_classes=ADMINS, description="Delete a customer (hidden; history kept).")
    async def customer_delete(self, info: Info, input: CustomerIdInput) -> CustomerPayload:
        return await _run(info, lambda conn, ws, region: delete_customer(conn, ws, input_pk(input.id, "Customer", "id")))

    @strawberry.mutation(permission_classes=ADMINS,
                         description="Erase a customer's personal data for a privacy request: profile cleared, "
                                     "notes removed, purchases and service history kept anonymously.")
    async def customer_erase(self, info: Info, input: CustomerIdInput) -> CustomerPayload:
        return await _run(info, lambda conn, ws, region: erase_customer(conn, ws, input_pk(input.id, "Customer", "id")))

    @strawberry.mutation(permission_classes=EDITORS,
                         description="Set the traits staff see in a customer (they win over inferred ones) and "
                                     "their temperament.")
    async def customer_traits_set(self, info: Info, input: CustomerTraitsInput) -> CustomerPayload:
        return await _run(info, lambda conn, ws, region: update_customer(
            conn, ws, input_pk(input.id, "Customer", "id"), input.given(), region))

    @strawberry.mutation(permission_classes=ADMINS,
                         description="Merge two records of the same customer: the survivor keeps its profile, "
                                     "fills its empty fields from the merged record and takes over its notes, "
                                     "purchases, service history and manual segments; the merged record is "
                                     "deleted. Consents stay the survivor's.")
    async def customer_merge(self, info: Info, input: CustomerMergeInput) -> CustomerPayload:
        return await _run(info, lambda conn, ws, region: merge_customers(
            conn, ws, input_pk(input.survivor_id, "Customer", "survivorId"),
            input_pk(input.merged_id, "Customer", "mergedId"), region))
