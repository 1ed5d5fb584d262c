"""PostgreSQL's binary COPY format <-> NumPy, for fixed-width columns.

A query whose columns are all bigint or double precision, with no NULL (use
COALESCE, and 'NaN' for missing floats), comes out of `COPY ... TO STDOUT
(FORMAT binary)` as equal-sized records: a 16-bit field count, then for each
field a 32-bit length and the big-endian value. NumPy reads that as one
structured array, with no Python object per row; writing is the mirror image,
and can also write double precision[] columns of a fixed length ("float8[k]"):
a 20-byte array header, then k (length, value) pairs.
"""

from __future__ import annotations

import io

import numpy as np
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.db import raw_connection

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER = SIGNATURE + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
_CODES = {"int8": ">i8", "float8": ">f8", "int4": ">i4", "int2": ">i2"}
_FLOAT8_OID = 701
_ARRAY_HEADER = [("ndim", ">i4"), ("flags", ">i4"), ("oid", ">i4"), ("dim", ">i4"), ("lbound", ">i4")]


def _array_length(kind: str) -> int | None:
    """k for "float8[k]", else None."""
    return int(kind[7:-1]) if kind.startswith("float8[") else None


def _field_dtype(kind: str) -> np.dtype:
    k = _array_length(kind)
    if k is None:
        return np.dtype(_CODES[kind])
    return np.dtype(_ARRAY_HEADER + [("items", [("len", ">i4"), ("value", ">f8")], (k,))])


def _record_dtype(columns: dict[str, str]) -> np.dtype:
    fields = [("_count", ">i2")]
    for name, kind in columns.items():
        fields += [(f"_len_{name}", ">i4"), (name, _field_dtype(kind))]
    return np.dtype(fields)


def decode(payload: bytes, columns: dict[str, str]) -> dict[str, np.ndarray]:
    dtype = _record_dtype(columns)
    if not payload.startswith(SIGNATURE):
        raise ValueError("not a binary COPY stream")
    extension = int.from_bytes(payload[15:19], "big")
    start = len(HEADER) + extension
    body = len(payload) - start - len(TRAILER)
    if body % dtype.itemsize:
        raise ValueError("binary COPY rows are not of the expected width (a NULL or a wrong column type?)")
    records = np.frombuffer(payload, dtype=dtype, count=body // dtype.itemsize, offset=start)
    return {name: records[name].astype(_CODES[kind][1:]) for name, kind in columns.items()}


def encode(columns: dict[str, tuple[str, np.ndarray]]) -> bytes:
    """Binary COPY payload for equal-length arrays, each given as (kind, values)."""
    kinds = {name: kind for name, (kind, _) in columns.items()}
    n = len(next(iter(columns.values()))[1])
    records = np.empty(n, dtype=_record_dtype(kinds))
    records["_count"] = len(columns)
    for name, (kind, values) in columns.items():
        records[f"_len_{name}"] = _field_dtype(kind).itemsize
        k = _array_length(kind)
        if k is None:
            records[name] = values
            continue
        field = records[name]
        field["ndim"], field["flags"], field["oid"], field["dim"], field["lbound"] = 1, 0, _FLOAT8_OID, k, 1
        field["items"]["len"] = 8
        field["items"]["value"] = values
    return HEADER + records.tobytes() + TRAILER


async def copy_out(conn: AsyncConnection, query: str, columns: dict[str, str], *args) -> dict[str, np.ndarray]:
    """Run `query` (with $1.. arguments) and return its columns as arrays."""
    buffer = io.BytesIO()
    driver = await raw_connection(conn)
    await driver.copy_from_query(query, *args, output=buffer, format="binary")
    return decode(buffer.getvalue(), columns)


async def fetch_columns(conn: AsyncConnection, query: str, columns: dict[str, str], *args) -> dict[str, np.ndarray]:
    """The same result as `copy_out` by a plain query: for a handful of rows a
    COPY's extra round trips cost more than the rows do."""
    driver = await raw_connection(conn)
    rows = await driver.fetch(query, *args)
    return {name: np.array([r[j] for r in rows], dtype=_CODES[kind][1:]) for j, (name, kind) in
            enumerate(columns.items())}


async def copy_in(conn: AsyncConnection, table: str, columns: dict[str, tuple[str, np.ndarray]]) -> None:
    driver = await raw_connection(conn)
    await driver.copy_to_table(table, source=io.BytesIO(encode(columns)), columns=list(columns), format="binary")
