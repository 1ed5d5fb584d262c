"""The demo store: a realistic workspace built in one transaction by COPY.

Purchases come from `scoring.simulate` with the documented parameters below, so
a BG/NBD / Gamma-Gamma fit on the demo store can be checked against them (time
unit: weeks; observation window: `WINDOW_WEEKS` before the load time).
Service history is drawn so that every one of the four customer types occurs:
advocates (referrals, high survey scores) among the top spenders, service-hungry
top spenders, discount-hunting low spenders with complaints and returns, and the
rare very top of the Gamma-Gamma tail.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sqlalchemy.ext.asyncio import AsyncConnection

from domain import demo_data as words
from domain.bulk import copy_columns, pg_array, reserve_ids, timestamps
from domain.db import after_bulk_load
from domain.text import normalize_search
from domain.vocab import CustomerKind, InteractionKind, LifecycleStage, SalesChannel, Trait
from scoring.simulate import BgNbdParams, GammaGammaParams, simulate

DEMO_BGNBD = BgNbdParams(r=1.2, alpha=4.0, a=0.5, b=6.0)  # rates per week
DEMO_GAMMA_GAMMA = GammaGammaParams(p=6.0, q=4.0, v=2_500_000.0)  # mean order ~5M rials
WINDOW_WEEKS = 104.0
BUYER_SHARE = 0.9  # the rest are leads and prospects with no purchase yet
WEEK = 7 * 86400.0

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class DemoCounts:
    customers: int
    purchases: int
    purchase_items: int
    interactions: int
    notes: int
    seconds: float


def _pick(rng: np.random.Generator, choices: list[str], n: int, p=None) -> np.ndarray:
    return np.asarray(choices, dtype=object)[rng.choice(len(choices), n, p=p)]


def _profiles(rng: np.random.Generator, n: int) -> dict[str, list]:
    org = rng.random(n) < 0.12
    persian = rng.random(n) < 0.8
    female = rng.random(n) < 0.5
    first = np.where(
        persian,
        np.where(female, _pick(rng, words.PERSIAN_FIRST_FEMALE, n), _pick(rng, words.PERSIAN_FIRST_MALE, n)),
        np.where(female, _pick(rng, words.LATIN_FIRST_FEMALE, n), _pick(rng, words.LATIN_FIRST_MALE, n)),
    )
    last = np.where(persian, _pick(rng, words.PERSIAN_LAST, n), _pick(rng, words.LATIN_LAST, n))
    company = _pick(rng, words.COMPANY_KINDS, n) + " " + _pick(rng, words.COMPANY_WORDS, n)
    provinces = list(words.PROVINCES)
    province = _pick(rng, provinces, n, p=np.asarray(words.PROVINCE_WEIGHTS) / sum(words.PROVINCE_WEIGHTS))
    city = [words.PROVINCES[p][i % len(words.PROVINCES[p])] for p, i in zip(province, rng.integers(0, 99, n))]
    # Mobile numbers of real operators' prefixes (910-919, 930-939) and ten digits, as phonenumbers validates them.
    drawn = rng.integers(0, 20 * 10**7, n)
    mobile = (910 + drawn // 10**7 + np.where(drawn >= 10**8, 10, 0)) * 10**7 + drawn % 10**7
    birth = np.datetime64("1960-01-01") + rng.integers(0, 40 * 365, n).astype("timedelta64[D]")
    interests = [pg_array(sorted(set(_pick(rng, words.INTERESTS, k)))) for k in rng.integers(0, 4, n)]
    ext = [f"DEMO-{i:07d}" for i in range(n)]
    display = np.where(org, company, first + " " + last)
    email = [f"customer{i}@example.com" for i in range(n)]
    # What fuzzy search matches, as domain.customers.search_text has it: names, contact, email, phone, external id.
    search = [normalize_search(f"{d} {c or ''} {m} +98{p} {e}") for d, c, m, p, e in
              zip(display.tolist(), np.where(org, first + " " + last, None).tolist(), email, mobile.tolist(), ext)]
    return {
        "external_id": ext,
        "kind": np.where(org, CustomerKind.ORGANISATION.value, CustomerKind.INDIVIDUAL.value).tolist(),
        "first_name": np.where(org, None, first).tolist(),
        "last_name": np.where(org, None, last).tolist(),
        "company_name": np.where(org, company, None).tolist(),
        "contact_person": np.where(org, first + " " + last, None).tolist(),
        "registration_number": [str(r) if o else None for o, r in zip(org, rng.integers(10**10, 10**11, n))],
        "email": email,
        "phone": [f"0{m}" for m in mobile.tolist()],
        "phone_e164": [f"+98{m}" for m in mobile.tolist()],
        "birth_date": np.where(org, None, birth.astype(str).astype(object)).tolist(),
        "gender": np.where(org, None, np.where(female, "female", "male")).tolist(),
        "occupation": np.where(org, None, _pick(rng, words.OCCUPATIONS, n)).tolist(),
        "marital_status": np.where(org, None, _pick(rng, words.MARITAL, n)).tolist(),
        "education": np.where(org, None, _pick(rng, words.EDUCATION, n)).tolist(),
        "income_band": _pick(rng, words.INCOME_BANDS, n).tolist(),
        "province": province.tolist(),
        "city": city,
        "neighbourhood": _pick(rng, words.NEIGHBOURHOODS, n).tolist(),
        "interests": interests,
        "lifestyle": _pick(rng, words.LIFESTYLES, n).tolist(),
        "temperament": _pick(rng, ["warm", "serious", None], n, p=[0.3, 0.2, 0.5]).tolist(),
        "consent_sms": (rng.random(n) < 0.7).tolist(),
        "consent_email": (rng.random(n) < 0.5).tolist(),
        "consent_push": (rng.random(n) < 0.4).tolist(),
        "search_text": search,
    }


async def build_demo(conn: AsyncConnection, workspace_id: int, n_customers: int, seed: int = 7,
                     progress: Progress | None = None) -> DemoCounts:
    """Load `n_customers` demo customers with their history into a workspace."""
    started = time.perf_counter()
    step = progress or (lambda _label, _done: None)
    rng = np.random.default_rng(seed)
    now = time.time()
    n = n_customers
    ids = await reserve_ids(conn, "customers", n)
    profile = _profiles(rng, n)
    buyers = rng.random(n) < BUYER_SHARE
    buyer_ids = ids[buyers]

    # Purchases: buyers are acquired uniformly over the window.
    T = rng.uniform(0.0, WINDOW_WEEKS, buyer_ids.size)
    sim = simulate(T, DEMO_BGNBD, DEMO_GAMMA_GAMMA, rng)
    first_at = now - T * WEEK
    bought_at = first_at[sim.customer] + sim.time * WEEK
    spend = np.bincount(sim.customer, weights=sim.amount, minlength=buyer_ids.size)
    value_rank = spend.argsort().argsort() / max(buyer_ids.size - 1, 1)  # 0 = lowest spender

    acquired = np.full(n, np.nan)
    acquired[buyers] = first_at
    leads = ~buyers
    acquired[leads] = now - rng.uniform(0, WINDOW_WEEKS, leads.sum()) * WEEK
    stage = np.where(buyers, LifecycleStage.NEW.value, np.where(rng.random(n) < 0.6, LifecycleStage.LEAD.value,
                                                                LifecycleStage.PROSPECT.value))
    profile["lifecycle_stage"] = stage.tolist()
    profile["acquired_at"] = timestamps(acquired)
    profile["created_at"] = profile["acquired_at"]
    staff_traits = np.full(n, "{}", dtype=object)
    staff_traits[rng.random(n) < 0.03] = pg_array([Trait.BARGAINER.value])
    profile["staff_traits"] = staff_traits.tolist()
    await copy_columns(conn, "customers", {"id": ids.tolist(), "workspace_id": [workspace_id] * n, **profile})
    step("customers", n)

    # Churners get discounts; everyone else sometimes.
    churner = (value_rank < 0.4) & (rng.random(buyer_ids.size) < 0.15)
    discount_share = np.where(churner, 0.6, 0.1)[sim.customer]
    discounted = rng.random(sim.customer.size) < discount_share
    amount = np.round(sim.amount, -3)  # rials: whole thousands
    discount = np.where(discounted, np.round(amount * rng.uniform(0.05, 0.3, amount.size), -3), 0.0)
    m = sim.customer.size
    purchase_ids = await reserve_ids(conn, "purchases", m)
    channels = [c.value for c in SalesChannel]
    await copy_columns(conn, "purchases", {
        "id": purchase_ids.tolist(),
        "workspace_id": [workspace_id] * m,
        "customer_id": buyer_ids[sim.customer].tolist(),
        "external_id": [f"DEMO-P{i:08d}" for i in purchase_ids.tolist()],
        "purchased_at": timestamps(bought_at),
        "total": amount.tolist(),
        "discount": discount.tolist(),
        "currency": ["IRR"] * m,
        "channel": _pick(rng, channels, m, p=[0.45, 0.3, 0.05, 0.15, 0.05]).tolist(),
    })
    step("purchases", m)

    # Line items: 1-3 per purchase, splitting the total.
    per = rng.integers(1, 4, m)
    owner = np.repeat(np.arange(m), per)
    weights = rng.random(owner.size) + 0.2
    share = weights / np.bincount(owner, weights=weights)[owner]
    line_amount = np.round(amount[owner] * share, 2)
    categories = list(words.CATALOGUE)
    cat_idx = rng.integers(0, len(categories), owner.size)
    product = [words.CATALOGUE[categories[c]][k % len(words.CATALOGUE[categories[c]])]
               for c, k in zip(cat_idx.tolist(), rng.integers(0, 12, owner.size).tolist())]
    await copy_columns(conn, "purchase_items", {
        "workspace_id": [workspace_id] * owner.size,
        "purchase_id": purchase_ids[owner].tolist(),
        "product": product,
        "category": [categories[c] for c in cat_idx.tolist()],
        "quantity": rng.integers(1, 4, owner.size).tolist(),
        "amount": line_amount.tolist(),
    })
    step("purchase items", int(owner.size))

    n_interactions = await _interactions(conn, rng, workspace_id, ids, buyers, buyer_ids, value_rank, churner,
                                         first_at, acquired, now)
    step("interactions", n_interactions)
    n_notes = await _notes(conn, rng, workspace_id, ids, acquired, now)
    step("notes", n_notes)
    await after_bulk_load(conn, ["customers", "purchases", "purchase_items", "interactions", "notes"])
    return DemoCounts(n, m, int(owner.size), n_interactions, n_notes, time.perf_counter() - started)


async def _interactions(conn, rng, workspace_id, ids, buyers, buyer_ids, value_rank, churner, first_at,
                        acquired, now) -> int:
    """Service history shaped so the four customer types appear."""
    nb = buyer_ids.size
    top = value_rank > 0.8
    advocate = top & (rng.random(nb) < 0.3)
    vampire = top & ~advocate & (rng.random(nb) < 0.15)
    plans = [
        # (who, kind, how many each, staff minutes range, survey scores range)
        (buyer_ids[advocate], InteractionKind.REFERRAL, (1, 4), (0, 5), None),
        (buyer_ids[advocate], InteractionKind.SURVEY, (1, 3), (0, 2), (9, 11)),
        (buyer_ids[vampire], InteractionKind.SUPPORT_REQUEST, (15, 40), (30, 150), None),
        (buyer_ids[vampire], InteractionKind.COMPLAINT, (1, 4), (20, 60), None),
        (buyer_ids[churner], InteractionKind.DISCOUNT_REQUEST, (3, 9), (5, 20), None),
        (buyer_ids[churner], InteractionKind.COMPLAINT, (1, 4), (10, 40), None),
        (buyer_ids[churner], InteractionKind.RETURN, (1, 3), (15, 45), None),
        (buyer_ids[churner], InteractionKind.SURVEY, (0, 2), (0, 2), (0, 6)),
        (buyer_ids, InteractionKind.SUPPORT_REQUEST, (0, 2), (5, 25), None),
        (buyer_ids[rng.random(nb) < 0.2], InteractionKind.SURVEY, (1, 2), (0, 2), (5, 10)),
        (ids[~buyers], InteractionKind.ENQUIRY, (0, 6), (5, 20), None),
    ]
    since = dict(zip(ids.tolist(), acquired.tolist()))
    columns: dict[str, list] = {k: [] for k in ("customer_id", "kind", "occurred_at", "staff_minutes", "score",
                                                "referred_customer_id")}
    for who, kind, (lo, hi), (mlo, mhi), scores in plans:
        counts = rng.integers(lo, hi, who.size)
        customer = np.repeat(who, counts)
        k = customer.size
        start = np.fromiter((since[c] for c in customer.tolist()), dtype=np.float64, count=k)
        columns["customer_id"] += customer.tolist()
        columns["kind"] += [kind.value] * k
        columns["occurred_at"] += timestamps(start + rng.random(k) * (now - start))
        columns["staff_minutes"] += rng.integers(mlo, mhi, k).tolist()
        columns["score"] += rng.integers(*scores, k).tolist() if scores else [None] * k
        referred = ids[rng.integers(0, ids.size, k)].tolist() if kind == InteractionKind.REFERRAL else [None] * k
        columns["referred_customer_id"] += referred
    total = len(columns["customer_id"])
    return await copy_columns(conn, "interactions", {"workspace_id": [workspace_id] * total, **columns})


async def _notes(conn, rng, workspace_id, ids, acquired, now) -> int:
    counts = rng.poisson(0.8, ids.size)
    customer_idx = np.repeat(np.arange(ids.size), counts)
    k = customer_idx.size
    kinds = list(words.NOTE_BODIES)
    kind_idx = rng.integers(0, len(kinds), k)
    bodies = [words.NOTE_BODIES[kinds[i]][j % len(words.NOTE_BODIES[kinds[i]])]
              for i, j in zip(kind_idx.tolist(), rng.integers(0, 6, k).tolist())]
    start = acquired[customer_idx]
    at = timestamps(start + rng.random(k) * (now - start))
    return await copy_columns(conn, "notes", {
        "workspace_id": [workspace_id] * k,
        "customer_id": ids[customer_idx].tolist(),
        "author": _pick(rng, ["sara@shop", "reza@shop", "support-bot", "مدیر فروش"], k).tolist(),
        "kind": [kinds[i] for i in kind_idx.tolist()],
        "body": bodies,
        "pinned": (rng.random(k) < 0.05).tolist(),
        "created_at": at,
        "updated_at": at,
    })


def describe_parameters() -> str:
    return json.dumps({"bgnbd_per_week": DEMO_BGNBD.__dict__, "gamma_gamma": DEMO_GAMMA_GAMMA.__dict__,
                       "window_weeks": WINDOW_WEEKS})
