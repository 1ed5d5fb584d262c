"""Opaque global ids ("Customer:42" in URL-safe base64), as Relay expects, and
opaque page cursors."""

from __future__ import annotations

import base64
import binascii
import datetime
import re

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)


class MalformedId(ValueError):
    pass


# What Tribe writes into ids and cursors: ASCII decimal without leading zeros
# or sign, within PostgreSQL's bigint. Anything else ("0312", Persian digits,
# 2^63) would be read as another number, or overflow the database's type.
_WHOLE = re.compile(r"-?(0|[1-9][0-9]*)")
_BIGINT = range(-2**63, 2**63)


def _canonical_number(text: str) -> bool:
    return _WHOLE.fullmatch(text) is not None and int(text) in _BIGINT


def to_global_id(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def from_global_id(global_id: str, expected_type: str) -> int:
    """The primary key behind `global_id`; MalformedId if it is not an id of that type."""
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
        type_name, _, pk = raw.partition(":")
        # Only the spelling Tribe gives an id names it: no other base64 of it, no other digits.
        if type_name != expected_type or not _canonical_number(pk) or pk.startswith("-") \
                or to_global_id(type_name, int(pk)) != global_id:
            raise ValueError
        return int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise MalformedId(f"{global_id!r} is not a {expected_type} id") from None


def to_cursor(*parts: object) -> str:
    """An opaque page cursor holding the sort key of the last row."""
    return base64.urlsafe_b64encode(":".join(str(p) for p in parts).encode()).decode().rstrip("=")


def from_cursor(cursor: str, count: int) -> list[str]:
    try:
        parts = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        parts = []
    # Its whole numbers are ids, sequence numbers and microseconds: bigints, as Tribe wrote them.
    if len(parts) != count or not all(p.isascii() and (_canonical_number(p) or not re.fullmatch(r"[-+ 0-9]+", p))
                                      for p in parts):
        raise MalformedId(f"{cursor!r} is not a cursor of this list")
    return parts


def to_micros(moment: datetime.datetime) -> int:
    """A moment as whole microseconds since the epoch: exact in a cursor."""
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime.datetime:
    return _EPOCH + micros * _MICROSECOND
