"""Typed errors in mutation payloads, from the domain's error codes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from domain.errors import DomainError, ErrorCode
from gql_api.ids import MalformedId, from_global_id

UserErrorCode = strawberry.enum(ErrorCode, description="Why an input was refused.")


@strawberry.type(description="An input the mutation refused, and why.")
class UserError:
    field: list[str] | None = strawberry.field(description="Path to the input field, when one is to blame.")
    code: UserErrorCode
    message: str

    @classmethod
    def from_domain(cls, error: DomainError) -> UserError:
        return cls(field=error.field.split(".") if error.field else None, code=error.code, message=error.message)

    @classmethod
    def all_of(cls, error: DomainError) -> list[UserError]:
        """One for each refusal the error stands for (a form's every bad field)."""
        return [cls.from_domain(each) for each in error.each]


async def attempt(info: Info, change: Callable[..., Awaitable[Any]]) -> tuple[Any, list[UserError]]:
    """`change(conn, workspace_id)` in one transaction: its result and no
    errors, or None and the userErrors of a refused input (nothing written)."""
    try:
        async with info.context.transaction() as conn:
            return await change(conn, info.context.api_key.workspace_id), []
    except DomainError as error:
        return None, UserError.all_of(error)


def bad_input(message: str) -> GraphQLError:
    """An argument the query itself got wrong (not a mutation input): a GraphQL error with a code."""
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def input_pk(value: str | None, type_name: str, field: str) -> int | None:
    """The primary key behind a global id given in a mutation input; a malformed
    one is the input's fault, reported in userErrors under `field`."""
    if value is None:
        return None
    try:
        return from_global_id(value, type_name)
    except MalformedId as exc:
        raise DomainError(ErrorCode.INVALID, field, str(exc)) from None
