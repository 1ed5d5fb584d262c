"""CSV import of customers and purchases.

Both are idempotent by `external_id`: importing the same file twice changes
nothing. Rows are validated one by one; a bad row is reported with its line
number and reason and the good rows still load, all in one transaction. The
formats are documented in the README and shown in `examples/`.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.amounts import MAX_MONEY, MAX_QUANTITY, require_storable
from domain.bulk import copy_columns, pg_array, reserve_ids
from domain.changes import customers_changed
from domain.customers import MAX_TEXT, PROFILE_COLUMNS, clean_profile
from domain.dates import parse_time
from domain.errors import DomainError, ErrorCode
from domain.events import EventKind
from domain.text import fold_digits
from domain.vocab import SalesChannel

Progress = Callable[[int], None]


@dataclass(frozen=True)
class RowError:
    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f" ({self.field})" if self.field else ""
        return f"line {self.line}{where}: {self.message}"


@dataclass
class ImportReport:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


# A row whose field count is not the header's, in place of its fields.
SHAPE = "__shape__"
# Fields may be long enough to be refused by length, with the line named,
# rather than stop the csv module (its limit is 128 KiB) and the whole file.
csv.field_size_limit(64 << 20)


def read_csv(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs; the header is line 1. Bytes that are not
    UTF-8 come through as lone surrogates (surrogateescape), for `check_row`
    to name the field; a row of another width than the header comes as
    {SHAPE: why}."""
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        for fields in reader:
            if not fields:  # a blank line
                continue
            if len(fields) != len(header):
                yield reader.line_num, {SHAPE: f"{len(fields)} fields where the header has {len(header)}"}
            else:
                yield reader.line_num, {k: v.strip() for k, v in zip(header, fields) if k}


_UNREADABLE = re.compile("[\udc80-\udcff]")  # a byte that was not UTF-8, as surrogateescape keeps it


def check_row(raw: dict[str, str]) -> None:
    """A row's shape and text, before its fields are read: PostgreSQL's text
    holds neither a NUL nor a byte that is not UTF-8."""
    if SHAPE in raw:
        raise DomainError(ErrorCode.INVALID, None, raw[SHAPE])
    for name, value in raw.items():
        if "\x00" in value:
            raise DomainError(ErrorCode.INVALID, name, "contains a NUL character")
        if _UNREADABLE.search(value):
            raise DomainError(ErrorCode.INVALID, name, "is not valid UTF-8 (save the file as UTF-8)")


def _csv_value(value: Any) -> Any:
    if isinstance(value, list):
        return pg_array(value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


async def import_customers(conn: AsyncConnection, workspace_id: int, rows, region: str = "IR",
                           progress: Progress | None = None) -> ImportReport:
    report = ImportReport()
    good: dict[str, dict] = {}
    first_line: dict[str, int] = {}
    for line, raw in rows:
        report.rows += 1
        if progress:
            progress(1)
        try:
            check_row(raw)
            values = clean_profile(raw, region)
            ext = values["external_id"]
            if not ext:
                raise DomainError(ErrorCode.REQUIRED, "external_id", "every imported row needs an external_id")
            if ext in first_line:
                raise DomainError(ErrorCode.DUPLICATE, "external_id",
                                  f"{ext!r} appears already on line {first_line[ext]}")
        except DomainError as exc:
            report.errors.extend(RowError(line, each.field, each.message) for each in exc.each)
            continue
        first_line[ext] = line
        good[ext] = values
    if not good:
        return report

    columns = ", ".join(PROFILE_COLUMNS)
    await conn.execute(text(
        f"CREATE TEMP TABLE import_customers ON COMMIT DROP AS SELECT {columns} FROM customers WITH NO DATA"))
    await copy_columns(conn, "import_customers",
                       {c: [_csv_value(v[c]) for v in good.values()] for c in PROFILE_COLUMNS})
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in PROFILE_COLUMNS)
    mine = ", ".join(f"customers.{c}" for c in PROFILE_COLUMNS)
    theirs = ", ".join(f"EXCLUDED.{c}" for c in PROFILE_COLUMNS)
    result = await conn.execute(text(f"""
        INSERT INTO customers (workspace_id, {columns})
        SELECT :workspace_id, {columns} FROM import_customers
        ON CONFLICT (workspace_id, external_id) DO UPDATE SET {updates}, updated_at = now()
        WHERE ({mine}) IS DISTINCT FROM ({theirs})
        RETURNING id, xmax = 0 AS inserted"""), {"workspace_id": workspace_id})
    written = result.all()
    flags = [r.inserted for r in written]
    for kind, inserted in ((EventKind.CUSTOMER_CREATED, True), (EventKind.CUSTOMER_UPDATED, False)):
        await customers_changed(conn, workspace_id, kind, [r.id for r in written if r.inserted == inserted])
    report.inserted = sum(flags)
    report.updated = len(flags) - report.inserted
    report.unchanged = len(good) - len(flags)
    return report


# --- purchases ---------------------------------------------------------------

# Columns that describe the purchase (repeated on each of its item rows).
_HEADER = ("customer_external_id", "purchased_at", "total", "discount", "currency", "channel", "refund_of")


EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)


def _decimal(field: str, value: str, *, required: bool = True, bound: Decimal = MAX_MONEY) -> Decimal | None:
    value = fold_digits(value or "").replace(",", "").strip()
    if not value:
        if required:
            raise DomainError(ErrorCode.REQUIRED, field, "missing")
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise DomainError(ErrorCode.INVALID, field, f"{value!r} is not a number") from None
    if not number.is_finite():
        raise DomainError(ErrorCode.INVALID, field, f"{value!r} is not a number")
    return require_storable(field, number, bound)


@dataclass
class _Purchase:
    line: int
    header: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    @property
    def listed(self) -> Decimal:
        """What its items add up to."""
        return sum((i["amount"] for i in self.items), Decimal(0))

    @property
    def total(self) -> Decimal:
        """As given, or the sum of the items."""
        given = self.header["total"]
        return given if given is not None else self.listed


def _clean_purchase_row(raw: dict[str, str], currency: str) -> tuple[str, dict, dict]:
    ext = raw.get("external_id", "")
    if not ext:
        raise DomainError(ErrorCode.REQUIRED, "external_id", "every purchase row needs an external_id")
    if not raw.get("customer_external_id"):
        raise DomainError(ErrorCode.REQUIRED, "customer_external_id", "missing")
    channel = (raw.get("channel") or SalesChannel.STORE.value).lower()
    if channel not in SalesChannel.__members__.values():
        raise DomainError(ErrorCode.INVALID, "channel", f"{channel!r} is not one of "
                          + ", ".join(c.value for c in SalesChannel))
    header = {
        "customer_external_id": raw["customer_external_id"],
        "purchased_at": parse_time("purchased_at", raw.get("purchased_at", "")),
        "total": _decimal("total", raw.get("total", ""), required=False),
        "discount": _decimal("discount", raw.get("discount", ""), required=False) or Decimal(0),
        "currency": (raw.get("currency") or currency).upper(),
        "channel": channel,
        "refund_of": raw.get("refund_of") or None,
    }
    if header["discount"] < 0:
        raise DomainError(ErrorCode.NEGATIVE, "discount", "a discount cannot be negative")
    if len(header["currency"]) != 3 or not header["currency"].isalpha():
        raise DomainError(ErrorCode.INVALID, "currency", f"{header['currency']!r} is not a currency code")
    if header["purchased_at"] > datetime.now(UTC):
        raise DomainError(ErrorCode.INVALID_DATE, "purchased_at", "a purchase cannot be in the future")
    if header["purchased_at"] < EARLIEST:
        raise DomainError(ErrorCode.INVALID_DATE, "purchased_at", f"{header['purchased_at']:%Y-%m-%d} is before 1900")
    if header["total"] is not None and header["total"] >= 0 and header["discount"] > header["total"]:
        raise DomainError(ErrorCode.INVALID, "discount", f"a discount of {header['discount']} is more than the "
                                                         f"total {header['total']}")
    quantity = _decimal("quantity", raw.get("quantity", "") or "1", bound=MAX_QUANTITY)
    if quantity <= 0:
        raise DomainError(ErrorCode.NEGATIVE, "quantity", "quantity must be positive (a refund has a negative amount)")
    product = raw.get("product", "")
    if not product:
        raise DomainError(ErrorCode.REQUIRED, "product", "missing")
    for name in ("product", "category"):
        if len(raw.get(name) or "") > MAX_TEXT:
            raise DomainError(ErrorCode.TOO_LONG, name, f"at most {MAX_TEXT} characters")
    item = {"product": product, "category": raw.get("category") or None, "quantity": quantity,
            "amount": _decimal("amount", raw.get("amount", ""))}
    return ext, header, item


async def import_purchases(conn: AsyncConnection, workspace_id: int, rows, currency: str = "IRR",
                           progress: Progress | None = None) -> ImportReport:
    """One row per line item; rows sharing an external_id are one purchase and
    must agree on the purchase columns. A purchase with any bad row is rejected
    whole (its good rows are named too), so no purchase loads with missing items.
    Purchases already stored (same external_id) are left as they are."""
    report = ImportReport()
    purchases: dict[str, _Purchase] = {}
    rejected: dict[str, int] = {}  # external id -> the bad line that sank it
    for line, raw in rows:
        report.rows += 1
        if progress:
            progress(1)
        try:
            check_row(raw)
            ext, header, item = _clean_purchase_row(raw, currency)
        except DomainError as exc:
            report.errors.extend(RowError(line, each.field, each.message) for each in exc.each)
            if raw.get("external_id"):
                rejected.setdefault(raw["external_id"], line)
            continue
        purchase = purchases.setdefault(ext, _Purchase(line, header))
        if purchase.header != header:
            differing = next(k for k in _HEADER if purchase.header[k] != header[k])
            report.errors.append(RowError(line, differing, f"purchase {ext!r} was given a different {differing} "
                                                           f"on line {purchase.line}"))
            rejected.setdefault(ext, line)
            continue
        purchase.items.append(item)
        purchase.lines.append(line)

    customer_ids = await _ids_by_external(conn, "customers", workspace_id,
                                          {p.header["customer_external_id"] for p in purchases.values()},
                                          "AND deleted_at IS NULL")
    refunded = {p.header["refund_of"] for p in purchases.values() if p.header["refund_of"]}
    existing = await _ids_by_external(conn, "purchases", workspace_id, set(purchases) | refunded)
    fresh: dict[str, _Purchase] = {}
    for ext, purchase in purchases.items():
        header = purchase.header
        problem = None
        if ext in rejected:
            problem = (None, f"purchase {ext!r} not loaded: line {rejected[ext]} has an error")
        elif header["customer_external_id"] not in customer_ids:
            problem = ("customer_external_id", f"no customer {header['customer_external_id']!r} in this workspace")
        elif header["refund_of"] and header["refund_of"] not in existing and header["refund_of"] not in purchases:
            problem = ("refund_of", f"no purchase {header['refund_of']!r} to refund")
        elif header["refund_of"] and purchase.total > 0:
            problem = ("total", "a refund has a negative total")
        elif purchase.listed > purchase.total >= 0:
            problem = ("total", f"the items add up to {purchase.listed}, more than the total {purchase.total}")
        elif header["total"] is None and header["discount"] > purchase.total >= 0:
            problem = ("discount", f"a discount of {header['discount']} is more than the total {purchase.total}")
        if problem:
            report.errors.extend(RowError(line, *problem) for line in purchase.lines)
        elif ext in existing:
            report.unchanged += 1
        else:
            fresh[ext] = purchase
    if fresh:
        await _insert_purchases(conn, workspace_id, fresh, customer_ids, existing)
    report.inserted = len(fresh)
    return report


async def _ids_by_external(conn, table: str, workspace_id: int, external_ids: set[str],
                           condition: str = "") -> dict[str, int]:
    if not external_ids:
        return {}
    rows = await conn.execute(
        text(f"SELECT external_id, id FROM {table} WHERE workspace_id = :w AND external_id = ANY(:e) {condition}"),
        {"w": workspace_id, "e": list(external_ids)})
    return {ext: pk for ext, pk in rows}


async def _insert_purchases(conn, workspace_id, fresh: dict[str, _Purchase], customer_ids, existing) -> None:
    ids = dict(zip(fresh, (await reserve_ids(conn, "purchases", len(fresh))).tolist()))
    known = {**existing, **ids}
    headers = [p.header for p in fresh.values()]
    await copy_columns(conn, "purchases", {
        "id": list(ids.values()),
        "workspace_id": [workspace_id] * len(fresh),
        "customer_id": [customer_ids[h["customer_external_id"]] for h in headers],
        "external_id": list(fresh),
        "purchased_at": [h["purchased_at"].isoformat() for h in headers],
        "total": [p.total for p in fresh.values()],
        "discount": [h["discount"] for h in headers],
        "currency": [h["currency"] for h in headers],
        "channel": [h["channel"] for h in headers],
        "refund_of_id": [known[h["refund_of"]] if h["refund_of"] else None for h in headers],
    })
    items = [(ids[ext], item) for ext, p in fresh.items() for item in p.items]
    await copy_columns(conn, "purchase_items", {
        "workspace_id": [workspace_id] * len(items),
        "purchase_id": [pid for pid, _ in items],
        "product": [i["product"] for _, i in items],
        "category": [i["category"] for _, i in items],
        "quantity": [i["quantity"] for _, i in items],
        "amount": [i["amount"] for _, i in items],
    })
    await customers_changed(conn, workspace_id, EventKind.PURCHASE_RECORDED,
                            [customer_ids[h["customer_external_id"]] for h in headers],
                            [{"purchaseId": pid, "total": str(p.total), "currency": p.header["currency"]}
                             for pid, p in zip(ids.values(), fresh.values())])
