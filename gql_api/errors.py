"""Typed errors in mutation payloads, from the domain's error codes."""

from __future__ import annotations

import strawberry

from domain.errors import DomainError, ErrorCode

UserErrorCode = strawberry.enum(ErrorCode, description="Why an input was refused.")


@strawberry.type(description="An input the mutation refused, and why.")
class UserError:
    field: list[str] | None = strawberry.field(description="Path to the input field, when one is to blame.")
    code: UserErrorCode
    message: str

    @classmethod
    def from_domain(cls, error: DomainError) -> UserError:
        return cls(field=error.field.split(".") if error.field else None, code=error.code, message=error.message)
