"""Customer profiles: validation of what users send, and the search form.

`clean_profile` is the one place that turns loosely typed input (a CSV row, a
GraphQL input) into column values, so the import and the API accept and refuse
exactly the same things.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import REAL, Row, and_, cast, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.changes import customers_changed
from domain.db import raw_connection
from domain.direct_reads import as_namespaces, fetch, one_of
from domain.errors import DomainError, ErrorCode, Refusals
from domain.events import EventKind
from domain.notes import NEWEST_NOTES_FIRST
from domain.tables import SCORES_OF_CUSTOMER, customer_scores, customers, notes, segment_memberships
from domain.dates import parse_date
from domain.text import InvalidPhone, normalize_phone, normalize_search
from domain.vocab import CustomerKind, Gender, LifecycleStage, Temperament, Trait

MAX_TEXT = 500
_PHONE_LIKE = re.compile(r"^[+\d\s().-]{5,}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}

TEXT_FIELDS = ("first_name", "last_name", "company_name", "contact_person", "registration_number", "occupation",
               "marital_status", "education", "income_band", "province", "city", "neighbourhood", "lifestyle")
LIST_FIELDS = ("interests", "tags")
CONSENT_FIELDS = ("consent_sms", "consent_email", "consent_push")
# Every column a profile write may set, in a stable order.
PROFILE_COLUMNS = ("external_id", "kind", *TEXT_FIELDS, "email", "phone", "phone_e164", "birth_date", "gender",
                   "temperament", "staff_traits", *LIST_FIELDS, "lifecycle_stage", *CONSENT_FIELDS, "attributes",
                   "search_text")


def _text(field: str, value: Any) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    if len(value) > MAX_TEXT:
        raise DomainError(ErrorCode.TOO_LONG, field, f"at most {MAX_TEXT} characters")
    return value or None


def _choice(field: str, value: Any, allowed: type) -> str | None:
    value = _text(field, value)
    if value is None:
        return None
    try:
        return allowed(value.lower()).value
    except ValueError:
        options = ", ".join(v.value for v in allowed)
        raise DomainError(ErrorCode.INVALID, field, f"{value!r} is not one of {options}") from None


def _words(field: str, value: Any) -> list[str]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else re.split(r"[|;]", str(value))
    return sorted({w for w in (_text(field, i) for i in items) if w})


def _bool(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise DomainError(ErrorCode.INVALID, field, f"{value!r} is not true or false")


def clean_email(value: Any) -> str | None:
    email = _text("email", value)
    if email is not None and not _EMAIL.match(email):
        raise DomainError(ErrorCode.INVALID_EMAIL, "email", f"{email!r} is not an email address")
    return email


def clean_phone(value: Any, region: str) -> tuple[str | None, str | None]:
    """(as typed, E.164)."""
    phone = _text("phone", value)
    if phone is None:
        return None, None
    try:
        return phone, normalize_phone(phone, region)
    except InvalidPhone as exc:
        raise DomainError(ErrorCode.INVALID_PHONE, "phone", str(exc)) from None


# Fields whose stored value the checks of today might read otherwise (a phone
# stored before numbers were checked for validity, normalised again, came out
# as another number): an update or a merge keeps the stored value of those it
# does not change, as it is.
STORED_AS_IS = frozenset({"email", "phone", "birth_date"})


def clean_birth_date(value: Any) -> date | None:
    birth = parse_date("birth_date", value)
    if birth is not None and not date(1900, 1, 1) <= birth <= date.today():
        raise DomainError(ErrorCode.INVALID_DATE, "birth_date", f"{birth} is not a plausible birth date")
    return birth


def clean_profile(raw: dict[str, Any], region: str = "IR", stored: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Column values for a complete profile; raises DomainError naming every
    bad field (DomainErrors when several are), so a form hears of all its
    mistakes at once. The fields named in `stored` (of STORED_AS_IS) hold
    stored values, taken as they are (the phone with its `phone_e164`)."""
    refusals = Refusals()
    check = refusals.check
    values: dict[str, Any] = {"external_id": check(_text, "external_id", raw.get("external_id"))}
    values["kind"] = check(_choice, "kind", raw.get("kind"), CustomerKind) or CustomerKind.INDIVIDUAL.value
    for field in TEXT_FIELDS:
        values[field] = check(_text, field, raw.get(field))
    values["email"] = raw.get("email") if "email" in stored else check(clean_email, raw.get("email"))
    values["phone"], values["phone_e164"] = (raw.get("phone"), raw.get("phone_e164")) if "phone" in stored \
        else check(clean_phone, raw.get("phone"), region) or (None, None)
    values["birth_date"] = raw.get("birth_date") if "birth_date" in stored \
        else check(clean_birth_date, raw.get("birth_date"))
    values["gender"] = check(_choice, "gender", raw.get("gender"), Gender)
    values["temperament"] = check(_choice, "temperament", raw.get("temperament"), Temperament)
    values["staff_traits"] = check(_traits, raw.get("traits")) or []
    for field in LIST_FIELDS:
        values[field] = check(_words, field, raw.get(field)) or []
    values["lifecycle_stage"] = (check(_choice, "lifecycle_stage", raw.get("lifecycle_stage"), LifecycleStage)
                                 or LifecycleStage.LEAD.value)
    for field in CONSENT_FIELDS:
        values[field] = check(_bool, field, raw.get(field))
    values["attributes"] = check(_attributes, raw.get("attributes"))
    if values["kind"] == CustomerKind.ORGANISATION.value and not values["company_name"] \
            and not any(e.field == "company_name" for e in refusals.errors):
        refusals.refuse(DomainError(ErrorCode.REQUIRED, "company_name", "an organisation needs a company name"))
    contacts = ("first_name", "last_name", "company_name", "email", "phone")
    if not any(values[f] for f in contacts) and not any(e.field in contacts for e in refusals.errors):
        refusals.refuse(DomainError(ErrorCode.REQUIRED, "first_name", "a customer needs a name, an email or a phone"))
    refusals.raise_any()
    values["search_text"] = search_text(values)
    return values


def _traits(value: Any) -> list[str]:
    return [_choice("traits", t, Trait) for t in _words("traits", value)]


# Custom attributes are a profile's extra fields, not documents: bounds keep
# what each read and rule walks small (900 levels and a megabyte were stored).
MAX_ATTRIBUTE_DEPTH = 8
MAX_ATTRIBUTE_TEXT = 16 << 10


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is beyond a double")
    return number


def _not_a_number(text: str) -> float:
    raise ValueError(f"{text} is not a number JSON has")


def _attributes(value: Any) -> dict:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        if len(value) > MAX_ATTRIBUTE_TEXT:
            raise DomainError(ErrorCode.TOO_LONG, "attributes", f"at most {MAX_ATTRIBUTE_TEXT:,} characters of JSON")
        try:
            value = json.loads(value, parse_float=_finite, parse_constant=_not_a_number)
        except (ValueError, RecursionError) as exc:
            raise DomainError(ErrorCode.INVALID, "attributes", f"custom attributes must be a JSON object ({exc})") \
                from None
    if not isinstance(value, dict):
        raise DomainError(ErrorCode.INVALID, "attributes", "custom attributes must be a JSON object")
    depth = _depth(value)  # None: a number JSON cannot hold (NaN, infinity)
    if depth is None:
        raise DomainError(ErrorCode.INVALID, "attributes", "numbers must be finite")
    if depth > MAX_ATTRIBUTE_DEPTH:
        raise DomainError(ErrorCode.INVALID, "attributes",
                          f"custom attributes nest at most {MAX_ATTRIBUTE_DEPTH} levels of objects and lists")
    return value


def _depth(value: Any) -> int | None:
    """How deep objects and lists nest in `value` (walked without recursion);
    None if it holds a float that is not finite."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return None
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            pending.extend((inner, level + 1) for inner in (item.values() if isinstance(item, dict) else item))
    return deepest


def search_text(values: dict[str, Any]) -> str:
    """What fuzzy search matches: names, company, contact, email and phone."""
    parts = [values.get(f) for f in ("first_name", "last_name", "company_name", "contact_person", "email",
                                     "phone_e164", "external_id")]
    return normalize_search(" ".join(p for p in parts if p))


# --- reads -------------------------------------------------------------------


async def customers_by_id(conn: AsyncConnection, workspace_id: int, ids: list[int]) -> dict[int, Row]:
    chosen, key = one_of("id", "$2", ids)
    rows = await fetch(conn, f"SELECT * FROM customers WHERE workspace_id = $1 AND {chosen} AND deleted_at IS NULL",
                       workspace_id, key)
    return {r.id: r for r in rows}


# The scores' columns, renamed so as not to collide with the customer's, for
# statements that read a customer with its scores.
_SCORE_NAMES = [(c.name, f"scores_{c.name}") for c in customer_scores.c]  # (a Table's columns iterate slowly)
_SCORE_COLUMNS = ", ".join(f"s.{name} AS {label}" for name, label in _SCORE_NAMES)
_LABELLED_SCORES = [customer_scores.c[name].label(label) for name, label in _SCORE_NAMES]


def scores_in(columns: Mapping[str, Any]) -> SimpleNamespace | None:
    """The scores read with a customer (`with_scores`: the columns of its row),
    as a row of their own; None when the customer is not scored yet."""
    if columns["scores_customer_id"] is None:
        return None
    return SimpleNamespace(**{name: columns[label] for name, label in _SCORE_NAMES})


async def customer_profile(conn: AsyncConnection, workspace_id: int, customer_id: int, with_scores: bool,
                           notes: int | None) -> tuple[SimpleNamespace, SimpleNamespace | None, list] | None:
    """A live customer by id and, in the same statement, what a profile page
    shows with it: with `with_scores`, the stored scores (None: not scored
    yet); with `notes`, up to that many newest notes, in `latest_notes`'s
    order (else None). None when there is no such customer."""
    columns, scores_join = ["c.*"], ""
    if with_scores:
        columns.append(_SCORE_COLUMNS)
        scores_join = "LEFT JOIN customer_scores s ON s.workspace_id = c.workspace_id AND s.customer_id = c.id"
    if notes is not None:
        columns.append(f"ARRAY(SELECT n FROM notes n WHERE n.workspace_id = c.workspace_id AND n.customer_id = c.id "
                       f"AND n.deleted_at IS NULL ORDER BY {NEWEST_NOTES_FIRST} LIMIT {int(notes)}) AS latest_notes")
    row = await (await raw_connection(conn)).fetchrow(
        f"SELECT {', '.join(columns)} FROM customers c {scores_join} "
        f"WHERE c.workspace_id = $1 AND c.id = $2 AND c.deleted_at IS NULL", workspace_id, customer_id)
    if row is None:
        return None
    names, values = list(row.keys()), list(row.values())
    width = len(customers.c)
    customer = SimpleNamespace(**dict(zip(names[:width], values[:width])))
    scores = None
    if with_scores:
        scores = scores_in(dict(zip(names[width:], values[width:])))
    latest = [SimpleNamespace(**note) for note in row["latest_notes"]] if notes is not None else None
    return customer, scores, latest


@dataclass(frozen=True)
class CustomerFilter:
    """Conditions that all hold (None: no condition). Stage, type, segment and
    score conditions read the latest scores; the stage falls back to the
    profile's for customers not scored yet."""

    kind: str | None = None
    lifecycle_stages: list[str] | None = None
    customer_types: list[str] | None = None
    rfm_segments: list[str] | None = None
    province: str | None = None
    city: str | None = None
    traits: list[str] | None = None  # staff-set or inferred, any of them
    tags: list[str] | None = None  # all of them
    clv: tuple[float | None, float | None] | None = None
    churn_risk: tuple[float | None, float | None] | None = None
    loyalty: tuple[float | None, float | None] | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    segment_ids: list[int] | None = None  # in all of them now

    def conditions(self) -> list:
        c, cs = customers.c, customer_scores.c
        found = []
        if self.kind:
            found.append(c.kind == self.kind)
        if self.lifecycle_stages:
            found.append(func.coalesce(cs.lifecycle_stage, c.lifecycle_stage).in_(self.lifecycle_stages))
        if self.customer_types:
            found.append(cs.customer_type.in_(self.customer_types))
        if self.rfm_segments:
            found.append(cs.rfm_segment.in_(self.rfm_segments))
        if self.province:
            found.append(c.province == self.province)
        if self.city:
            found.append(c.city == self.city)
        if self.traits:
            found.append(c.staff_traits.overlap(self.traits) | cs.inferred_traits.overlap(self.traits))
        if self.tags:
            found.append(c.tags.contains(self.tags))
        for column, bounds in ((cs.clv, self.clv), (cs.loyalty, self.loyalty)):
            low, high = bounds or (None, None)
            if low is not None:
                found.append(column >= low)
            if high is not None:
                found.append(column <= high)
        # Churn risk is 1 - probability alive. Bounds on the column itself let
        # the planner read its statistics: on the expression it guessed 0.5%
        # of the rows, and a page of 50 of a type and a risk range took 16 ms
        # instead of 1.6 (a nested loop where a merge join was due).
        low, high = self.churn_risk or (None, None)
        if low is not None:
            found.append(cs.probability_alive <= 1.0 - low)
        if high is not None:
            found.append(cs.probability_alive >= 1.0 - high)
        if self.created_after:
            found.append(c.created_at >= self.created_after)
        if self.created_before:
            found.append(c.created_at < self.created_before)
        m = segment_memberships.c
        for segment_id in self.segment_ids or ():
            found.append(exists().where(m.workspace_id == c.workspace_id, m.customer_id == c.id,
                                        m.segment_id == segment_id, m.left_at.is_(None)))
        return found


def visible_customers(workspace_id: int, where: CustomerFilter | None, columns=None):
    """Live customers of the workspace matching `where`, with their scores joined."""
    statement = (select(*(columns if columns is not None else [customers]))
                 .select_from(customers.outerjoin(customer_scores, SCORES_OF_CUSTOMER))
                 .where(customers.c.workspace_id == workspace_id, customers.c.deleted_at.is_(None)))
    return statement.where(*where.conditions()) if where else statement


# What a customer list may be ordered by, besides age (the id). Customers
# without the value (not scored yet, never bought) come last either way.
ORDERS = {
    "created_at": customers.c.created_at,
    "clv": customer_scores.c.clv,
    "churn_risk": 1 - customer_scores.c.probability_alive,
    "loyalty": customer_scores.c.loyalty,
    "total_spend": customer_scores.c.total_spend,
    "last_purchase_at": customer_scores.c.last_purchase_at,
}


async def customer_page(conn: AsyncConnection, workspace_id: int, first: int, after: int | None,
                        where: CustomerFilter | None = None, with_scores: bool = False) -> list[SimpleNamespace]:
    """Up to `first` + 1 customers after id `after`, oldest first (keyset: the
    extra row tells whether there is a next page). With `with_scores`, rows
    carry their scores too (`scores_in`)."""
    query = (visible_customers(workspace_id, where, _page_columns(with_scores))
             .order_by(customers.c.id).limit(first + 1))
    if after is not None:
        query = query.where(customers.c.id > after)
    return as_namespaces(await conn.execute(query))


async def ordered_customer_page(conn: AsyncConnection, workspace_id: int, first: int, order: str, descending: bool,
                                after: tuple[Any, int] | None, where: CustomerFilter | None = None,
                                with_scores: bool = False) -> list[SimpleNamespace]:
    """Up to `first` + 1 customers by ORDERS[order] (rows carry it as
    `sort_value`), ties by id; `after` = (sort_value, id) of the previous
    page's last row (keyset, missing values last)."""
    value = ORDERS[order]
    query = (visible_customers(workspace_id, where, [*_page_columns(with_scores), value.label("sort_value")])
             .order_by((value.desc() if descending else value.asc()).nulls_last(), customers.c.id).limit(first + 1))
    if after is not None:
        last, pk = after
        if last is None:
            query = query.where(value.is_(None), customers.c.id > pk)
        else:
            beyond = value < last if descending else value > last
            query = query.where(or_(beyond, and_(value == last, customers.c.id > pk), value.is_(None)))
    return as_namespaces(await conn.execute(query))


def _page_columns(with_scores: bool) -> list:
    # The scores are joined anyway (for filters and orders): read with the
    # page, they spare the page a statement, and its DataLoader a batch.
    return [customers, *_LABELLED_SCORES] if with_scores else [customers]


async def count_customers(conn: AsyncConnection, workspace_id: int, where: CustomerFilter | None = None) -> int:
    return await conn.scalar(visible_customers(workspace_id, where, [func.count()]))


def looks_like_contact(query: str) -> bool:
    """Whether a search is for an email address or a phone number."""
    return "@" in query or bool(_PHONE_LIKE.match(normalize_search(query)))


def _matches(workspace_id: int, query: str):
    """The customers matching a search, with their `score` (word similarity to
    the normalised needle), and the needle. The migration 0008 function
    `customer_search` finds them through the trigram index when `workspace_id`
    is the transaction's workspace (db.set_workspace); row-level security would
    have kept the index out of a plain query."""
    needle = normalize_search(query)
    if _PHONE_LIKE.match(needle):
        # "0912 345 6789" and "+98 912..." both end in the digits stored in E.164.
        needle = re.sub(r"\D", "", needle).lstrip("0")
    return func.customer_search(workspace_id, needle).table_valued("customer_id", "score").alias("match"), needle


def _exact_external_id(workspace_id: int, query: str, where: CustomerFilter | None, columns: list):
    """The customer whose external id the query is, exactly (the unique index finds it)."""
    return visible_customers(workspace_id, where, columns).where(customers.c.external_id == query.strip())


def _without_contacts(needle: str):
    """The match holds in the search text with the customer's email and phone
    taken out: for a caller who may not see them, a search must not say whose
    they are (a fragment at a time, it would spell an address out)."""
    free = func.replace(func.replace(customers.c.search_text, func.lower(func.coalesce(customers.c.email, "")), ""),
                        func.coalesce(customers.c.phone_e164, ""), "")
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return free.op("%>")(needle) | free.like(f"%{escaped}%", escape="\\")


async def search_customers(conn: AsyncConnection, workspace_id: int, query: str, limit: int,
                           after: tuple[float, int] | None = None, where: CustomerFilter | None = None,
                           with_scores: bool = False, contacts: bool = True) -> list[SimpleNamespace]:
    """Fuzzy search over names, company, email and phone, best match first (rows
    carry their `score`). The query goes through the same normalisation as the
    stored search form, so Arabic letters, diacritics and Persian digits find what
    was saved otherwise. `after` = (score, id) of the last row of the previous page.
    Rows also carry `total`: on a first page, the number of all matches.
    Without `contacts`, emails and phones are not searched. A search that is
    a customer's external id exactly finds that customer alone (DEMO-0001583
    was fuzzily like every demo customer's)."""
    exact = _exact_external_id(workspace_id, query, where, [*_page_columns(with_scores), literal(1.0).label("score"),
                                                            func.count().over().label("total")])
    if after is None and (rows := as_namespaces(await conn.execute(exact.limit(limit)))):
        return rows
    if after is not None and after[0] == 1.0 and await conn.scalar(select(exact.exists())):
        return []  # the one page of an exact match is over
    match, needle = _matches(workspace_id, query)
    statement = (visible_customers(workspace_id, where, [*_page_columns(with_scores), match.c.score,
                                                         func.count().over().label("total")])
                 .join(match, match.c.customer_id == customers.c.id)
                 .order_by(match.c.score.desc(), customers.c.id).limit(limit))
    if not contacts:
        statement = statement.where(_without_contacts(needle))
    if after is not None:
        score = cast(after[0], REAL)
        statement = statement.where((match.c.score < score) | ((match.c.score == score) & (customers.c.id > after[1])))
    return as_namespaces(await conn.execute(statement))


async def count_matches(conn: AsyncConnection, workspace_id: int, query: str,
                        where: CustomerFilter | None = None, contacts: bool = True) -> int:
    exactly = await conn.scalar(_exact_external_id(workspace_id, query, where, [func.count()]))
    if exactly:
        return exactly
    match, needle = _matches(workspace_id, query)
    statement = (visible_customers(workspace_id, where, [func.count()])
                 .join(match, match.c.customer_id == customers.c.id))
    return await conn.scalar(statement if contacts else statement.where(_without_contacts(needle)))


# --- writes -------------------------------------------------------------------

async def _require_free_external_id(conn: AsyncConnection, workspace_id: int, external_id: str | None,
                                    customer_id: int | None = None) -> None:
    if external_id is None:
        return
    taken = await conn.scalar(select(customers.c.id).where(customers.c.workspace_id == workspace_id,
                                                           customers.c.external_id == external_id))
    if taken is not None and taken != customer_id:
        raise DomainError(ErrorCode.TAKEN, "external_id", f"{external_id!r} belongs to another customer")


async def _live(conn: AsyncConnection, workspace_id: int, customer_id: int) -> Row:
    row = (await customers_by_id(conn, workspace_id, [customer_id])).get(customer_id)
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, "id", "no such customer in this workspace")
    return row


async def create_customer(conn: AsyncConnection, workspace_id: int, raw: dict[str, Any], region: str) -> Row:
    values = clean_profile(raw, region)
    await _require_free_external_id(conn, workspace_id, values["external_id"])
    row = (await conn.execute(insert(customers).values(workspace_id=workspace_id, acquired_at=func.now(), **values)
                              .returning(customers))).one()
    await customers_changed(conn, workspace_id, EventKind.CUSTOMER_CREATED, [row.id])
    return row


def as_input(row: Row) -> dict[str, Any]:
    """A stored profile in the shape `clean_profile` reads (with the stored
    `phone_e164`), so an update checks the whole profile as it will be."""
    raw = {column: getattr(row, column) for column in PROFILE_COLUMNS if column != "search_text"}
    raw["traits"] = raw.pop("staff_traits")
    return raw


async def update_customer(conn: AsyncConnection, workspace_id: int, customer_id: int, changes: dict[str, Any],
                          region: str) -> Row:
    """Change only the given fields (None clears one)."""
    current = await _live(conn, workspace_id, customer_id)
    values = clean_profile({**as_input(current), **changes}, region, STORED_AS_IS - changes.keys())
    await _require_free_external_id(conn, workspace_id, values["external_id"], customer_id)
    row = (await conn.execute(update(customers).where(customers.c.id == customer_id)
                              .values(**values, updated_at=func.now()).returning(customers))).one()
    await customers_changed(conn, workspace_id, EventKind.CUSTOMER_UPDATED, [customer_id],
                            [{"fields": sorted(changes)}])
    return row


async def delete_customer(conn: AsyncConnection, workspace_id: int, customer_id: int) -> Row:
    """Soft delete: hidden everywhere, history kept."""
    await _live(conn, workspace_id, customer_id)
    row = (await conn.execute(update(customers).where(customers.c.id == customer_id)
                              .values(deleted_at=func.now(), updated_at=func.now()).returning(customers))).one()
    await customers_changed(conn, workspace_id, EventKind.CUSTOMER_DELETED, [customer_id])
    return row


async def erase_customer(conn: AsyncConnection, workspace_id: int, customer_id: int) -> Row:
    """A privacy request: every personal field cleared and the notes (free text
    that may name them) removed; purchases and service history stay as
    anonymous facts. The customer is also deleted."""
    await _live(conn, workspace_id, customer_id)
    personal = {column: None for column in (*TEXT_FIELDS, "external_id", "email", "phone", "phone_e164",
                                            "birth_date", "gender", "temperament")}
    await conn.execute(delete(notes).where(notes.c.workspace_id == workspace_id, notes.c.customer_id == customer_id))
    row = (await conn.execute(update(customers).where(customers.c.id == customer_id).values(
        **personal, interests=[], tags=[], staff_traits=[], attributes={}, search_text="",
        consent_sms=False, consent_email=False, consent_push=False,
        erased_at=func.now(), deleted_at=func.now(), updated_at=func.now()).returning(customers))).one()
    await customers_changed(conn, workspace_id, EventKind.CUSTOMER_ERASED, [customer_id])
    return row
