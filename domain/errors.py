"""Domain errors: raised by services, translated at the edge (GraphQL
`userErrors`, CLI messages). The codes are part of the public contract."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    NOT_FOUND = "NOT_FOUND"
    TAKEN = "TAKEN"
    DUPLICATE = "DUPLICATE"
    UNKNOWN_CUSTOMER = "UNKNOWN_CUSTOMER"
    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_PHONE = "INVALID_PHONE"
    INVALID_DATE = "INVALID_DATE"
    NEGATIVE = "NEGATIVE"
    CONFLICT = "CONFLICT"
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    WRONG_OPERATOR = "WRONG_OPERATOR"
    CYCLE = "CYCLE"
    READ_ONLY = "READ_ONLY"
    # campaigns and offers
    INVALID_TRANSITION = "INVALID_TRANSITION"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"
    CAMPAIGN_NOT_RUNNING = "CAMPAIGN_NOT_RUNNING"
    OUTSIDE_VALIDITY = "OUTSIDE_VALIDITY"
    MIN_SPEND_NOT_MET = "MIN_SPEND_NOT_MET"
    CUSTOMER_LIMIT_REACHED = "CUSTOMER_LIMIT_REACHED"
    OFFER_SOLD_OUT = "OFFER_SOLD_OUT"
    BUDGET_EXHAUSTED = "BUDGET_EXHAUSTED"
    NOT_STACKABLE = "NOT_STACKABLE"
    NOT_REDEEMABLE = "NOT_REDEEMABLE"
    RESERVATION_EXPIRED = "RESERVATION_EXPIRED"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"


class DomainError(Exception):
    def __init__(self, code: ErrorCode, field: str | None, message: str):
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    @property
    def each(self) -> list[DomainError]:
        """The refusals it stands for: itself, or each of several (DomainErrors)."""
        return [self]


class DomainErrors(DomainError):
    """Several fields refused at once: a form is told every mistake, not the first."""

    def __init__(self, errors: list[DomainError]):
        first = errors[0]
        super().__init__(first.code, first.field, first.message)
        self.errors = errors

    @property
    def each(self) -> list[DomainError]:
        return self.errors


class Refusals:
    """Collects the refusals of a form's fields, checked one after another."""

    def __init__(self) -> None:
        self.errors: list[DomainError] = []

    def check(self, clean, *args):
        """`clean(*args)`, or None with its refusal kept."""
        try:
            return clean(*args)
        except DomainError as error:
            self.errors.extend(error.each)
            return None

    def refuse(self, error: DomainError) -> None:
        self.errors.append(error)

    def raise_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise DomainErrors(self.errors)


def camel(name: str) -> str:
    """A snake_case field name as the API spells it (errors name API fields)."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)
