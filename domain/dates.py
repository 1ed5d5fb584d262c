"""Dates as people type them: Gregorian or Jalali (the Solar Hijri calendar
Iran uses), in ASCII or Persian digits, with `-` or `/`.

A year from 1200 to 1499 is read as Jalali (1370-01-01 is 21 March 1991):
no Gregorian date a customer record holds falls there, and every Jalali date
of a living person or a recorded sale does. Dates are stored Gregorian.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import jdatetime

from domain.errors import DomainError, ErrorCode
from domain.text import fold_digits

JALALI_YEARS = range(1200, 1500)
_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_FORMS = "YYYY-MM-DD, Gregorian (1991-03-21) or Jalali (1370-01-01)"


def gregorian(field: str, year: int, month: int, day: int) -> date:
    """The date, Jalali years converted."""
    try:
        if year in JALALI_YEARS:
            return jdatetime.date(year, month, day).togregorian()
        return date(year, month, day)
    except ValueError:
        calendar = "Jalali" if year in JALALI_YEARS else "Gregorian"
        raise DomainError(ErrorCode.INVALID_DATE, field, f"{year:04d}-{month:02d}-{day:02d} is not a {calendar} "
                                                         f"date") from None


def parse_date(field: str, value: object) -> date | None:
    """A date typed as text, or given as one (the API's Date scalar: its year
    may be Jalali too)."""
    if value is None or isinstance(value, date):
        return value if value is None else gregorian(field, value.year, value.month, value.day)
    text = fold_digits(str(value)).strip()
    if not text:
        return None
    found = _DATE.fullmatch(text)
    if found is None:
        raise DomainError(ErrorCode.INVALID_DATE, field, f"{value!r} is not a date: give {_FORMS}")
    return gregorian(field, *(int(part) for part in found.groups()))


def parse_time(field: str, value: str) -> datetime:
    """A moment in ISO 8601 (its date may be Jalali); UTC when no zone is given."""
    text = fold_digits(value or "").strip()
    if not text:
        raise DomainError(ErrorCode.REQUIRED, field, "missing")
    found = _DATE.match(text)
    try:
        if found is not None:  # a Jalali date, or a Gregorian one with slashes: as ISO 8601
            day = gregorian(field, *(int(part) for part in found.groups()))
            text = day.isoformat() + text[found.end():]
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise DomainError(ErrorCode.INVALID_DATE, field, f"{value!r} is not an ISO 8601 date or time ("
                                                         f"{_FORMS})") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
