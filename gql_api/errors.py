"""Typed errors in mutation payloads, from the domain's error codes."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError

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
