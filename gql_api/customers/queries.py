"""Customer queries."""

from __future__ import annotations

import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from domain import customers as domain_customers
from domain.customers import (count_customers, count_matches, customer_page, customer_profile, looks_like_contact,
                              ordered_customer_page, scores_in, search_customers)
from gql_api.customers.contacts import search_contacts
from gql_api.customers.types import Customer, CustomerConnection, CustomerEdge
from gql_api.enums import CustomerKind, CustomerType, LifecycleStage, RfmSegment, Trait
from gql_api.errors import bad_input
from gql_api.ids import MalformedId, from_cursor, from_global_id, from_micros, to_cursor, to_micros
from gql_api.limits import MAX_PAGE
from gql_api.pagination import PageInfo
from gql_api.permissions import READERS
from gql_api.selections import first_page_size, selects
from gql_api.segments.queries import segment_pk

MAX_SEARCH = 200


@strawberry.input(description="Inclusive bounds; either may be left out.")
class FloatRange:
    min: float | None = None
    max: float | None = None


@strawberry.input(description="All given conditions hold. Stage, type, segment and score conditions read the "
                              "latest scores.")
class CustomerFilter:
    kind: CustomerKind | None = None
    lifecycle_stages: list[LifecycleStage] | None = None
    customer_types: list[CustomerType] | None = None
    rfm_segments: list[RfmSegment] | None = None
    province: str | None = None
    city: str | None = None
    traits: list[Trait] | None = strawberry.field(default=None, description="Any of them, staff-set or inferred.")
    tags: list[str] | None = strawberry.field(default=None, description="All of them.")
    clv: FloatRange | None = None
    churn_risk: FloatRange | None = None
    loyalty: FloatRange | None = None
    created_after: datetime.datetime | None = None
    created_before: datetime.datetime | None = None
    segments: list[strawberry.ID] | None = strawberry.field(default=None, description="In all of these segments now.")

    def to_domain(self) -> domain_customers.CustomerFilter:
        def values(items):
            return [i.value for i in items] if items else None

        def bounds(r: FloatRange | None):
            return (r.min, r.max) if r else None

        return domain_customers.CustomerFilter(
            kind=self.kind.value if self.kind else None, lifecycle_stages=values(self.lifecycle_stages),
            customer_types=values(self.customer_types), rfm_segments=values(self.rfm_segments),
            province=self.province, city=self.city, traits=values(self.traits), tags=self.tags,
            clv=bounds(self.clv), churn_risk=bounds(self.churn_risk), loyalty=bounds(self.loyalty),
            created_after=self.created_after, created_before=self.created_before,
            segment_ids=[segment_pk(i, "filter.segments") for i in self.segments] if self.segments else None)


CustomerOrderField = strawberry.enum(
    Enum("CustomerOrderField", {key.upper(): key for key in domain_customers.ORDERS}),
    description="What to order customers by; customers without the value (not scored yet, no purchase) come last.")


@strawberry.enum(description="Ascending or descending.")
class OrderDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input(description="An order for `customers`; ties go oldest first.")
class CustomerOrder:
    field: CustomerOrderField
    direction: OrderDirection = OrderDirection.ASC


def _order_cursor(order: CustomerOrder, value, pk: int) -> str:
    """The order, the row's value (exactly: floats by repr, times in whole
    microseconds) and its id."""
    if isinstance(value, datetime.datetime):
        value = to_micros(value)
    return to_cursor(order.field.value, "" if value is None else repr(value), pk)


def _order_position(order: CustomerOrder, cursor: str) -> tuple:
    field, value, pk = from_cursor(cursor, 3)
    if field != order.field.value:
        raise ValueError(cursor)
    if value == "":
        return None, int(pk)
    if order.field.value.endswith("_at"):
        return from_micros(int(value)), int(pk)
    return float(value), int(pk)


@strawberry.type
class CustomerQueries:
    @strawberry.field(permission_classes=READERS, description="A customer by global id, or null.")
    async def customer(self, info: Info, id: strawberry.ID) -> Customer | None:
        try:
            pk = from_global_id(id, "Customer")
        except MalformedId as exc:
            raise bad_input(str(exc)) from None
        # A profile page: its scores and first notes come with the customer,
        # in one statement instead of three, and wait in the DataLoaders.
        with_scores, notes = selects(info, "scores"), first_page_size(info, "notes")
        if notes is not None and not 0 <= notes <= MAX_PAGE:
            notes = None  # the notes field itself says what is wrong
        async with info.context.transaction() as conn:
            profile = await customer_profile(conn, info.context.api_key.workspace_id, pk, with_scores,
                                             None if notes is None else notes + 1)
        if profile is None:
            return None
        customer, scores, latest_notes = profile
        loaders = info.context.loaders
        if with_scores:
            loaders.scores_by_customer.prime(pk, scores)
        if notes is not None:
            loaders.notes_by_customer.prime((pk, notes, None), latest_notes)
        return Customer.from_row(customer)

    @strawberry.field(permission_classes=READERS,
                      description="Customers, oldest first or in `orderBy`'s order; with `search`, best match "
                                  "first (fuzzy, over names, company, email and phone; Persian and Arabic "
                                  "spellings and digits alike).")
    async def customers(self, info: Info, first: int = 20, after: str | None = None, search: str | None = None,
                        filter: CustomerFilter | None = None, order_by: CustomerOrder | None = None
                        ) -> CustomerConnection:
        if not 0 <= first <= MAX_PAGE:
            raise bad_input(f"first must be between 0 and {MAX_PAGE}")
        if search is not None and not 0 < len(search.strip()) <= MAX_SEARCH:
            raise bad_input(f"search must be 1 to {MAX_SEARCH} characters")
        if search is not None and order_by is not None:
            raise bad_input("search results come best match first: leave out orderBy")
        contacts = search is None or search_contacts(info.context.api_key, search, looks_like_contact(search))
        workspace_id = info.context.api_key.workspace_id
        try:
            if order_by is not None:
                position = _order_position(order_by, after) if after else None
            elif search is None:
                position = int(from_cursor(after, 1)[0]) if after else None
            else:
                score, pk = from_cursor(after, 2) if after else (None, None)
                position = (float(score), int(pk)) if after else None
        except (MalformedId, ValueError):
            raise bad_input(f"{after!r} is not a cursor of this list") from None
        where = filter.to_domain() if filter else None
        with_scores = selects(info, "edges", "node", "scores") or selects(info, "edges", "node", "traits")
        async with info.context.transaction() as conn:
            if order_by is not None:
                rows = await ordered_customer_page(conn, workspace_id, first, order_by.field.value,
                                                   order_by.direction is OrderDirection.DESC, position, where,
                                                   with_scores)
            elif search is None:
                rows = await customer_page(conn, workspace_id, first, position, where, with_scores)
            else:
                rows = await search_customers(conn, workspace_id, search, first + 1, position, where, with_scores,
                                              contacts)
        page = rows[:first]
        if with_scores:  # read with the page: the DataLoader has them
            info.context.loaders.scores_by_customer.prime_many({r.id: scores_in(r.__dict__) for r in page})

        async def count() -> int:
            if search is not None and position is None and rows:
                return rows[0].total  # a first page of matches counted them all on the way
            async with info.context.transaction() as conn:
                if search is None:
                    return await count_customers(conn, workspace_id, where)
                return await count_matches(conn, workspace_id, search, where, contacts)

        def cursor(row) -> str:
            if order_by is not None:
                return _order_cursor(order_by, row.sort_value, row.id)
            return to_cursor(row.id) if search is None else to_cursor(repr(float(row.score)), row.id)

        edges = [CustomerEdge(row=r, cursor_of=cursor, node=Customer.from_row(r)) for r in page]
        return CustomerConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=len(rows) > first, end_cursor=cursor(page[-1]) if page else None),
            counter=count,
        )
