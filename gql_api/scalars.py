"""Two scalars as Tribe reads and writes them.

- Date, read as people type dates: ISO 8601, Persian digits, `/` between the
  parts, and Jalali years (domain/dates.py), converted to Gregorian before a
  resolver sees them. Written ISO 8601, Gregorian.
- Decimal, money's one representation: a string of digits with two decimals
  ("1300000.00"), whether the amount was stored exact (purchases, budgets,
  offers) or computed in floating point (scores, results). Read from a string
  or a number.
"""

from __future__ import annotations

import datetime
import decimal

import strawberry

from domain.dates import parse_date
from domain.errors import DomainError


def _read(value: object) -> datetime.date:
    if not isinstance(value, str):
        raise ValueError("a date is a string: YYYY-MM-DD")
    try:
        return parse_date("date", value)
    except DomainError as exc:
        raise ValueError(exc.message) from None


def _amount(value: decimal.Decimal | float | int) -> str:
    """Two decimals for money computed in floating point; an exact Decimal as
    it is stored (money is numeric(20, 2); a rate or quantity keeps its own)."""
    return str(value) if isinstance(value, decimal.Decimal) else f"{value:.2f}"


# The most digits after the point PostgreSQL's numeric holds (its driver
# refuses to send more).
NUMERIC_MAX_SCALE = 16_383


def _read_decimal(value: object) -> decimal.Decimal:
    """A finite number PostgreSQL can be sent: NaN and the infinities are no
    amount (and a NaN cannot even be compared with one)."""
    try:
        number = decimal.Decimal(str(value))
    except decimal.InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite decimal number")
    if number.as_tuple().exponent < -NUMERIC_MAX_SCALE:
        raise ValueError(f"{value!r} has more than {NUMERIC_MAX_SCALE:,} digits after the point")
    return number


Money = strawberry.scalar(
    name="Decimal", serialize=_amount, parse_value=_read_decimal,
    description="A decimal number as a string, e.g. \"1300000.00\": every amount of money in the schema, to two "
                "decimals (computed ones, such as scores, rounded).")

PeopleDate = strawberry.scalar(
    name="Date", serialize=lambda day: day.isoformat(), parse_value=_read,
    description="A calendar date, YYYY-MM-DD. Read in Gregorian or Jalali (a year from 1200 to 1499: 1370-01-01 is "
                "1991-03-21), in ASCII or Persian digits, with - or /; always written Gregorian.")
