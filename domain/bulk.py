"""Bulk writes by COPY: columns in, rows in the table out, no per-row INSERT."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.db import raw_connection


def timestamps(epoch_seconds: np.ndarray) -> list[str]:
    """UTC ISO-8601 strings PostgreSQL reads as timestamptz, made in one NumPy pass."""
    micros = np.round(np.asarray(epoch_seconds) * 1e6).astype("datetime64[us]")
    return [s + "+00" for s in np.datetime_as_string(micros).tolist()]


def pg_array(values: Sequence[str]) -> str:
    """A text[] literal; values are plain words (tags, traits, interests)."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


async def copy_columns(conn: AsyncConnection, table: str, columns: dict[str, Sequence]) -> int:
    """COPY equal-length columns into `table`; None becomes NULL. Returns the row count."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(zip(*columns.values(), strict=True))
    payload = io.BytesIO(buffer.getvalue().encode())
    driver = await raw_connection(conn)
    status = await driver.copy_to_table(table, source=payload, columns=list(columns), format="csv")
    return int(status.split()[-1])


async def reserve_ids(conn: AsyncConnection, table: str, count: int) -> np.ndarray:
    """`count` fresh ids from the table's identity sequence, for rows that other
    rows in the same load point at."""
    rows = await conn.execute(
        text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
        {"t": table, "n": count},
    )
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=count)
