"""The Date scalar, read as people type dates: ISO 8601, Persian digits,
`/` between the parts, and Jalali years (domain/dates.py), converted to
Gregorian before a resolver sees them. Written ISO 8601, Gregorian."""

from __future__ import annotations

import datetime

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


PeopleDate = strawberry.scalar(
    name="Date", serialize=lambda day: day.isoformat(), parse_value=_read,
    description="A calendar date, YYYY-MM-DD. Read in Gregorian or Jalali (a year from 1200 to 1499: 1370-01-01 is "
                "1991-03-21), in ASCII or Persian digits, with - or /; always written Gregorian.")
