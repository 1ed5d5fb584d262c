"""Offers: what a campaign gives its treated customers, their terms, and the
price of a cart under them.

Kinds and what `value` means: PERCENT_OFF (percent off the eligible amount),
AMOUNT_OFF (an amount off, at most the eligible amount), CASHBACK (percent of
the eligible amount paid back after the purchase: the reward for old loyal
customers), POINTS_MULTIPLIER (loyalty points times `value`), FREE_SHIPPING
(the cart's shipping), NOTICE (an announcement: nothing to redeem). The
eligible amount is the cart's items in the offer's categories (the whole cart
without categories); `max_discount` caps percent-based and shipping discounts.

Terms that decide who gets what (kind, value, categories, codes, limits per
customer) can change only before launch; titles, texts, the end of validity
and the total limit (not below what was used) can change while it runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.amounts import MAX_MONEY
from domain.errors import DomainError, ErrorCode, camel
from domain.tables import offers
from domain.vocab import CodeMode, LimitPeriod, OfferKind

MAX_OFFERS = 20
MAX_TITLE = 200
MAX_TERMS = 2000
MAX_CATEGORIES = 50
CENT = Decimal("0.01")
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,39}$")
_PERCENT_KINDS = {OfferKind.PERCENT_OFF, OfferKind.CASHBACK}
# Terms that may still change once the campaign runs.
LIVE_EDITABLE = {"title_fa", "title_en", "terms_fa", "terms_en", "valid_to", "total_limit"}


@dataclass(frozen=True)
class OfferTerms:
    kind: OfferKind
    value: Decimal | None = None
    currency: str | None = None  # the workspace's when not given
    min_spend: Decimal | None = None
    max_discount: Decimal | None = None
    categories: list[str] | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    per_customer_limit: int | None = 1
    per_customer_period: LimitPeriod = LimitPeriod.TOTAL
    total_limit: int | None = None
    stackable: bool = False
    code_mode: CodeMode = CodeMode.AUTO
    shared_code: str | None = None
    title_fa: str | None = None
    title_en: str | None = None
    terms_fa: str | None = None
    terms_en: str | None = None


TERM_NAMES = [f.name for f in fields(OfferTerms)]



def _bad(code: ErrorCode, name: str, message: str, path: str) -> DomainError:
    return DomainError(code, f"{path}{camel(name)}", message)


def validate_terms(terms: OfferTerms, currency: str, path: str = "") -> OfferTerms:
    """The terms, cleaned (codes upper-cased, the currency filled in), or the first problem."""
    kind, value = terms.kind, terms.value
    if kind in _PERCENT_KINDS and (value is None or not 0 < value <= 100):
        raise _bad(ErrorCode.INVALID, "value", "a percentage above 0, at most 100", path)
    if kind == OfferKind.AMOUNT_OFF and (value is None or not 0 < value < MAX_MONEY):
        raise _bad(ErrorCode.INVALID, "value", "an amount above 0", path)
    if kind == OfferKind.POINTS_MULTIPLIER and (value is None or not 1 < value <= 100):
        raise _bad(ErrorCode.INVALID, "value", "a multiplier above 1, at most 100", path)
    if kind in (OfferKind.FREE_SHIPPING, OfferKind.NOTICE) and value is not None:
        raise _bad(ErrorCode.INVALID, "value", f"a {kind.name} offer has no value", path)
    for name in ("min_spend", "max_discount"):
        amount = getattr(terms, name)
        if amount is not None and not 0 <= amount < MAX_MONEY:
            raise _bad(ErrorCode.NEGATIVE if amount < 0 else ErrorCode.INVALID, name, "0 or more", path)
    code = (terms.currency or currency).upper()
    if len(code) != 3 or not code.isalpha():
        raise _bad(ErrorCode.INVALID, "currency", f"{code!r} is not a currency code", path)
    categories = terms.categories
    if categories is not None:
        categories = sorted({c.strip() for c in categories if c.strip()})
        if not categories or len(categories) > MAX_CATEGORIES or any(len(c) > MAX_TITLE for c in categories):
            raise _bad(ErrorCode.INVALID, "categories", f"1 to {MAX_CATEGORIES} category names (or none)", path)
    if terms.valid_from and terms.valid_to and terms.valid_from >= terms.valid_to:
        raise _bad(ErrorCode.INVALID_DATE, "valid_to", "after validFrom", path)
    for name in ("per_customer_limit", "total_limit"):
        limit = getattr(terms, name)
        if limit is not None and not 1 <= limit <= 10**9:
            raise _bad(ErrorCode.INVALID, name, "at least 1 (leave it out for no limit)", path)
    shared = terms.shared_code.strip().upper() if terms.shared_code else None
    if (terms.code_mode == CodeMode.SHARED) != (shared is not None):
        raise _bad(ErrorCode.INVALID, "shared_code", "a SHARED offer has a code, and only a SHARED offer", path)
    if shared is not None and not _CODE.match(shared):
        raise _bad(ErrorCode.INVALID, "shared_code", "3 to 40 letters, digits or '-'", path)
    if kind == OfferKind.NOTICE and terms.code_mode != CodeMode.AUTO:
        raise _bad(ErrorCode.INVALID, "code_mode", "a NOTICE is not redeemed: it takes no code", path)
    if not (terms.title_fa or terms.title_en):
        raise _bad(ErrorCode.REQUIRED, "title_en", "an offer needs a title (titleFa or titleEn)", path)
    for name, limit in (("title_fa", MAX_TITLE), ("title_en", MAX_TITLE), ("terms_fa", MAX_TERMS),
                        ("terms_en", MAX_TERMS)):
        if len(getattr(terms, name) or "") > limit:
            raise _bad(ErrorCode.TOO_LONG, name, f"at most {limit} characters", path)
    return replace(terms, currency=code, categories=categories, shared_code=shared)


async def _require_free_code(conn: AsyncConnection, workspace_id: int, code: str | None, path: str,
                             offer_id: int | None = None) -> None:
    if code is None:
        return
    query = select(offers.c.id).where(offers.c.workspace_id == workspace_id, func.upper(offers.c.shared_code) == code,
                                      offers.c.deleted_at.is_(None))
    if offer_id is not None:
        query = query.where(offers.c.id != offer_id)
    if await conn.scalar(query) is not None:
        raise DomainError(ErrorCode.TAKEN, f"{path}sharedCode", f"{code!r} is another offer's code")


def _values(terms: OfferTerms) -> dict:
    return {name: getattr(terms, name).value if isinstance(getattr(terms, name), (OfferKind, LimitPeriod, CodeMode))
            else getattr(terms, name) for name in TERM_NAMES}


async def add_offers(conn: AsyncConnection, workspace_id: int, campaign_id: int, terms: list[OfferTerms],
                     currency: str, path: str = "offers.") -> list[Row]:
    """Validated offers for a campaign (whose state the caller checked)."""
    count = await conn.scalar(select(func.count()).where(offers.c.workspace_id == workspace_id,
                                                         offers.c.campaign_id == campaign_id,
                                                         offers.c.deleted_at.is_(None)))
    if count + len(terms) > MAX_OFFERS:
        raise DomainError(ErrorCode.INVALID, path.rstrip("."), f"at most {MAX_OFFERS} offers a campaign")
    cleaned = [validate_terms(t, currency, f"{path}{i}.") for i, t in enumerate(terms)]
    codes = [t.shared_code for t in cleaned if t.shared_code]
    if len(codes) != len(set(codes)):
        raise DomainError(ErrorCode.DUPLICATE, f"{path}sharedCode", "two offers with one code")
    rows = []
    for i, t in enumerate(cleaned):
        await _require_free_code(conn, workspace_id, t.shared_code, f"{path}{i}.")
        rows.append((await conn.execute(insert(offers).values(
            workspace_id=workspace_id, campaign_id=campaign_id, **_values(t)).returning(offers))).one())
    return rows


def terms_of(row: Row) -> OfferTerms:
    return OfferTerms(**{name: getattr(row, name) for name in TERM_NAMES} | {
        "kind": OfferKind(row.kind), "per_customer_period": LimitPeriod(row.per_customer_period),
        "code_mode": CodeMode(row.code_mode)})


async def change_offer(conn: AsyncConnection, workspace_id: int, row: Row, changes: dict, launched: bool) -> Row:
    """Apply `changes` (term name -> value) to an offer; once its campaign has
    launched only LIVE_EDITABLE terms may change."""
    if launched:
        frozen = sorted(set(changes) - LIVE_EDITABLE)
        if frozen:
            raise DomainError(ErrorCode.READ_ONLY, camel(frozen[0]),
                              "fixed once the campaign is launched (only titles, texts, validTo and totalLimit "
                              "change)")
        if changes.get("total_limit") is not None and changes["total_limit"] < row.total_used:
            raise DomainError(ErrorCode.INVALID, "totalLimit", f"{row.total_used} uses are taken already")
    terms = validate_terms(replace(terms_of(row), **changes), row.currency)
    await _require_free_code(conn, workspace_id, terms.shared_code, "", row.id)
    return (await conn.execute(update(offers).where(offers.c.workspace_id == workspace_id, offers.c.id == row.id)
                               .values(**_values(terms), updated_at=func.now()).returning(offers))).one()


async def remove_offer(conn: AsyncConnection, workspace_id: int, offer_id: int) -> Row:
    return (await conn.execute(update(offers).where(offers.c.workspace_id == workspace_id, offers.c.id == offer_id)
                               .values(deleted_at=func.now(), updated_at=func.now()).returning(offers))).one()


async def offers_by_id(conn: AsyncConnection, workspace_id: int, ids: list[int]) -> dict[int, Row]:
    rows = await conn.execute(select(offers).where(offers.c.workspace_id == workspace_id, offers.c.id.in_(ids),
                                                   offers.c.deleted_at.is_(None)))
    return {r.id: r for r in rows}


async def offers_of(conn: AsyncConnection, workspace_id: int, campaign_ids: list[int]) -> dict[int, list[Row]]:
    """Each campaign's live offers, oldest first."""
    rows = await conn.execute(select(offers).where(offers.c.workspace_id == workspace_id,
                                                   offers.c.campaign_id.in_(campaign_ids),
                                                   offers.c.deleted_at.is_(None)).order_by(offers.c.id))
    found: dict[int, list[Row]] = {i: [] for i in campaign_ids}
    for row in rows:
        found[row.campaign_id].append(row)
    return found


async def offer_by_code(conn: AsyncConnection, workspace_id: int, code: str) -> Row | None:
    return (await conn.execute(select(offers).where(
        offers.c.workspace_id == workspace_id, func.upper(offers.c.shared_code) == code.strip().upper(),
        offers.c.deleted_at.is_(None)))).one_or_none()


# --- pricing ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CartItem:
    amount: Decimal
    category: str | None = None
    product: str | None = None
    quantity: Decimal = Decimal(1)


@dataclass(frozen=True)
class Cart:
    total: Decimal
    currency: str
    items: list[CartItem] = field(default_factory=list)
    shipping: Decimal = Decimal(0)


@dataclass(frozen=True)
class Price:
    eligible: Decimal  # the amount the offer applies to
    discount: Decimal  # off the price now
    cashback: Decimal  # paid back after the purchase
    points_multiplier: Decimal | None


def validate_cart(cart: Cart, path: str = "cart.") -> Cart:
    if not 0 <= cart.total < MAX_MONEY:
        raise DomainError(ErrorCode.INVALID, f"{path}total", "0 or more")
    if not 0 <= cart.shipping < MAX_MONEY:
        raise DomainError(ErrorCode.INVALID, f"{path}shipping", "0 or more")
    for i, item in enumerate(cart.items):
        if not 0 <= item.amount < MAX_MONEY:
            raise DomainError(ErrorCode.INVALID, f"{path}items.{i}.amount", "0 or more")
    if sum((i.amount for i in cart.items), Decimal(0)) > cart.total:
        raise DomainError(ErrorCode.INVALID, f"{path}items", "the items add up to more than the total")
    return replace(cart, currency=cart.currency.upper())


def price(row: Row, cart: Cart) -> Price:
    """What the offer takes off this cart (it does not check eligibility or limits)."""
    kind = OfferKind(row.kind)
    if row.categories:
        wanted = set(row.categories)
        eligible = sum((i.amount for i in cart.items if i.category in wanted), Decimal(0))
    else:
        eligible = cart.total
    discount = cashback = Decimal(0)
    if kind == OfferKind.PERCENT_OFF:
        discount = _capped(eligible * row.value / 100, row.max_discount)
    elif kind == OfferKind.AMOUNT_OFF:
        discount = min(row.value, eligible)
    elif kind == OfferKind.CASHBACK:
        cashback = _capped(eligible * row.value / 100, row.max_discount)
    elif kind == OfferKind.FREE_SHIPPING:
        discount = _capped(cart.shipping, row.max_discount)
    return Price(eligible=eligible, discount=_money(discount), cashback=_money(cashback),
                 points_multiplier=row.value if kind == OfferKind.POINTS_MULTIPLIER else None)


def expected_cost(row: Row, order: float) -> float:
    """The discount and cashback the offer gives on an order of `order` (its
    ranking uses it); an order under the minimum spend gets nothing."""
    if row.min_spend is not None and order < float(row.min_spend):
        return 0.0
    priced = price(row, Cart(total=Decimal(str(round(order, 2))), currency=row.currency))
    return float(priced.discount + priced.cashback)


def _capped(amount: Decimal, cap: Decimal | None) -> Decimal:
    return amount if cap is None else min(amount, cap)


def _money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)
