"""Customer queries."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from domain.customers import count_customers, customer_page, customers_by_id
from gql_api.customers.types import Customer, CustomerConnection, CustomerEdge, PageInfo
from gql_api.ids import MalformedId, from_global_id, to_global_id
from gql_api.permissions import IsAuthenticated

MAX_PAGE = 100


def _bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


@strawberry.type
class CustomerQueries:
    @strawberry.field(permission_classes=[IsAuthenticated], description="A customer by global id, or null.")
    async def customer(self, info: Info, id: strawberry.ID) -> Customer | None:
        try:
            pk = from_global_id(id, "Customer")
        except MalformedId as exc:
            raise _bad_input(str(exc)) from None
        async with info.context.transaction() as conn:
            found = await customers_by_id(conn, info.context.api_key.workspace_id, [pk])
        return Customer.from_row(found[pk]) if pk in found else None

    @strawberry.field(permission_classes=[IsAuthenticated], description="Customers, oldest first.")
    async def customers(self, info: Info, first: int = 20, after: str | None = None) -> CustomerConnection:
        if not 0 <= first <= MAX_PAGE:
            raise _bad_input(f"first must be between 0 and {MAX_PAGE}")
        try:
            after_pk = from_global_id(after, "Cursor") if after else None
        except MalformedId as exc:
            raise _bad_input(str(exc)) from None
        workspace_id = info.context.api_key.workspace_id
        async with info.context.transaction() as conn:
            rows = await customer_page(conn, workspace_id, first, after_pk)
            total = await count_customers(conn, workspace_id)
        edges = [CustomerEdge(cursor=to_global_id("Cursor", r.id), node=Customer.from_row(r)) for r in rows[:first]]
        return CustomerConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None),
            total_count=total,
        )
