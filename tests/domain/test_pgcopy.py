"""Binary COPY both ways on a real PostgreSQL: what goes in reads back as the
same values, NULLs, words and arrays included."""

from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import text

from domain import pgcopy
from domain.db import unit_of_work

WORDS = ("champions", "at_risk", "")
WORD_SETS = ((), ("bargainer",), ("bargainer", "fault_finder"))


@pytest.mark.parametrize("chunk_rows", [2, 100_000])  # the stream goes in slices of rows
async def test_fields_written_by_copy_read_back_as_they_were(engine, monkeypatch, chunk_rows):
    monkeypatch.setattr(pgcopy, "_CHUNK_ROWS", chunk_rows)
    days = np.array([19000.5, 0.0, np.nan])  # epoch days: 2022-01-08 12:00, 1970-01-01, none
    fields = {
        "big": pgcopy.Field("int8", np.array([2**40, -1, 0])),
        "whole": pgcopy.Field("int4", np.array([7, 0, -3])),
        "small": pgcopy.Field("int2", np.array([5, 0, 1]), np.array([False, True, False])),
        "real": pgcopy.Field("float8", np.array([1.5, np.nan, -2.0]), np.array([False, False, True])),
        "moment": pgcopy.Field("timestamptz", days, np.isnan(days)),
        "word": pgcopy.Field(WORDS, np.array([0, 2, 1]), np.array([False, False, True])),
        "words": pgcopy.Field(WORD_SETS, np.array([2, 0, 1])),
        "factors": pgcopy.Field("float8[2]", np.array([[1.0, 2.0], [np.nan, 0.0], [3.5, -1.0]])),
    }
    async with unit_of_work(engine) as conn:
        await conn.execute(text(
            "CREATE TEMP TABLE copied (big bigint, whole integer, small smallint, real double precision, "
            "moment timestamptz, word text, words text[], factors double precision[]) ON COMMIT DROP"))
        await pgcopy.copy_in(conn, "copied", fields)
        rows = (await conn.execute(text("SELECT * FROM copied"))).all()
    _assert_rows_are(rows, fields)
    assert rows[0].moment == datetime(2022, 1, 8, 12, tzinfo=UTC) and rows[1].moment == datetime(1970, 1, 1, tzinfo=UTC)
    assert rows[2].moment is None and rows[2].word is None and rows[1].small is None and rows[2].real is None
    assert rows[0].word == "champions" and rows[1].word == "" and rows[0].words == ["bargainer", "fault_finder"]
    assert rows[1].words == [] and rows[0].big == 2**40 and rows[2].whole == -3


async def test_a_time_written_by_copy_and_by_a_one_row_write_is_the_same_microsecond(engine):
    """A full run writes scores by COPY, a purchase's rescoring by an upsert that
    keeps the newer row (computed_at <= the new one): the same moment must be the
    same timestamp both ways, or a rescoring at that moment is dropped."""
    days = 20_428.0 + np.random.default_rng(5).uniform(0, 3, 2000)
    field = pgcopy.Field("timestamptz", days)
    async with unit_of_work(engine) as conn:
        await conn.execute(text("CREATE TEMP TABLE moments (moment timestamptz) ON COMMIT DROP"))
        await pgcopy.copy_in(conn, "moments", {"moment": field})
        copied = (await conn.scalars(text("SELECT moment FROM moments"))).all()
    assert [field.value(i) for i in range(days.size)] == copied


def _assert_rows_are(rows, fields) -> None:
    """Each row holds the fields' values (what a one-row write would send), NaN
    equal to NaN, inside arrays too."""
    for i, row in enumerate(rows):
        for name, got in zip(fields, row):
            expected = fields[name].value(i)
            if isinstance(expected, list) and expected and isinstance(expected[0], float):
                np.testing.assert_array_equal(np.array(got), np.array(expected))
            elif isinstance(expected, float):
                assert got == pytest.approx(expected, nan_ok=True), name
            else:
                assert got == expected, name


async def test_numerics_read_as_postgresql_converts_them(engine):
    """Amounts leave as stored numerics; each must read as the same double as
    PostgreSQL's own cast gives (correctly rounded), NULL and NaN as NaN."""
    values = "(VALUES ('0'), ('-1'), ('2500000.00'), ('0.1'), ('-12345678901.23'), ('99999999999999999.99'), " \
             "('0.0001'), ('1e-20'), ('123456789012345678901234567890'), ('NaN'), (NULL)) v(x)"
    async with unit_of_work(engine) as conn:
        read = await pgcopy.copy_out(conn, f"SELECT x::numeric AS amount FROM {values}", {"amount": "numeric"})
        cast = [r[0] for r in await conn.execute(text(f"SELECT x::numeric::float8 FROM {values}"))]
    expected = np.array([np.nan if v is None else v for v in cast])
    np.testing.assert_array_equal(read["amount"], expected)


async def test_copy_out_reads_times_as_epoch_days(engine):
    async with unit_of_work(engine) as conn:
        read = await pgcopy.copy_out(conn, "SELECT 7::bigint AS n, '2022-01-08 12:00+00'::timestamptz AS at",
                                     {"n": "int8", "at": "timestamptz"})
        fetched = await pgcopy.fetch_columns(conn, "SELECT 7::bigint AS n, '2022-01-08 12:00+00'::timestamptz AS at",
                                             {"n": "int8", "at": "timestamptz"})
    for columns in (read, fetched):
        assert columns["n"].tolist() == [7] and columns["at"].tolist() == [19000.5]
