"""The bounds of stored amounts: what the numeric columns of domain/tables.py
hold. Checked before a write, so that a number beyond them is the input's
typed error rather than the database's overflow."""

from __future__ import annotations

from decimal import Decimal

from domain.errors import DomainError, ErrorCode

MAX_MONEY = Decimal(10) ** 18  # Money: numeric(20, 2)
MAX_QUANTITY = Decimal(10) ** 11  # numeric(14, 3)


def require_storable(field: str, number: Decimal, bound: Decimal = MAX_MONEY, label: str | None = None) -> Decimal:
    """`number`, or INVALID on `field` when its column cannot hold it."""
    if abs(number) >= bound:
        raise DomainError(ErrorCode.INVALID, field,
                          f"{number} is beyond what a {label or field} can be (under {bound:,})")
    return number
