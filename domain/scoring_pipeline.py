"""Moving a workspace between PostgreSQL and the scoring kernels.

Full rescoring: customers, purchases and interactions leave by binary COPY
straight into NumPy arrays; `score_model.compute` runs the kernels; the scores
go back by one binary COPY into a new partition of the workspace's scores,
swapped in (domain.score_partitions) in the same transaction as the fitted
models and the segment changes, so a run killed half-way leaves the previous
scores, models and memberships intact.

Incremental rescoring: one customer, inside the caller's transaction, with the
models and workspace distributions of the last full run (no refit).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain import pgcopy, score_partitions, segment_membership, segments
from domain.db import unit_of_work
from domain.direct_reads import fetch, one_of
from domain.score_model import EVIDENCE, N_PROVINCES, CustomerData, ScoringConfig, ScoringContext, Scores, compute
from domain.tables import customer_scores, model_fits, workspaces
import scoring
from scoring import RFM_SEGMENTS, lifecycle, loyalty, personas
from scoring.threads import single_threaded
from scoring.traits import BARGAINER, FAULT_FINDER, HESITANT

DAY = 86400.0
Progress = Callable[[str], None]

# Plain scans, run side by side on one snapshot; everything per customer is
# then aggregated in NumPy (bincount), not by PostgreSQL. Times and amounts
# leave as they are stored (pgcopy converts them). date_part, not extract,
# where SQL computes one: extract returns numeric, several times dearer.
_CUSTOMERS_SQL = """
SELECT c.id,
       date_part('epoch', coalesce(c.acquired_at, c.created_at)) / 86400 AS since,
       coalesce(extract(year FROM age(c.birth_date))::float8, 'NaN') AS age,
       (c.kind = 'organisation')::int::float8 AS organisation,
       coalesce(array_position(ARRAY['low','lower_middle','middle','upper_middle','high'], c.income_band)::float8,
                'NaN') AS income_band,
       coalesce(array_position(ARRAY['none','diploma','bachelor','master','phd'], c.education)::float8, 'NaN')
           AS education,
       CASE c.gender WHEN 'female' THEN 1.0 WHEN 'male' THEN 0.0 ELSE 'NaN' END::float8 AS female,
       coalesce(array_position($2::text[], c.province) - 1, -1)::float8 AS province
FROM customers c
WHERE c.workspace_id = $1 AND c.deleted_at IS NULL {customer_filter}
ORDER BY c.id"""
_CUSTOMER_COLUMNS = {"id": "int8", "since": "float8", "age": "float8", "organisation": "float8",
                     "income_band": "float8", "education": "float8", "female": "float8", "province": "float8"}

# Sales and refunds (negative totals) alike; refunds are told apart in NumPy.
_PURCHASES_SQL = """
SELECT customer_id, purchased_at AS at, total AS amount, discount
FROM purchases WHERE workspace_id = $1 {filter}"""
_PURCHASE_COLUMNS = {"customer_id": "int8", "at": "timestamptz", "amount": "numeric", "discount": "numeric"}
# COPY runs on one core, and formatting ten million purchases is the longest
# part of the extract: they leave in halves, side by side. Halves of the table's
# pages (a TID range scan each), not of the customers: split by customer id,
# each half scanned the whole table (3.1-3.5 s against 2.1-2.5 for the two COPYs).
_PURCHASE_SHARES = 2

_INTERACTION_KINDS = ["support_request", "complaint", "discount_request", "return", "referral", "survey", "enquiry"]
_INTERACTIONS_SQL = f"""
SELECT customer_id, array_position(ARRAY{_INTERACTION_KINDS}::text[], kind)::int8 - 1 AS kind,
       occurred_at AS at, staff_minutes AS minutes,
       coalesce(score::float8, 'NaN') AS score
FROM interactions WHERE workspace_id = $1 {{filter}}"""
_INTERACTION_COLUMNS = {"customer_id": "int8", "kind": "int8", "at": "timestamptz", "minutes": "numeric",
                        "score": "float8"}


async def common_provinces(conn: AsyncConnection, workspace_id: int) -> list[str]:
    """The workspace's most common provinces: the lookalike profile's one-hot columns."""
    rows = await conn.execute(text(
        "SELECT province FROM customers WHERE workspace_id = :w AND deleted_at IS NULL AND province IS NOT NULL "
        "GROUP BY province ORDER BY count(*) DESC, province LIMIT :n"), {"w": workspace_id, "n": N_PROVINCES})
    return [r.province for r in rows]


def _queries(one: bool) -> list[tuple[str, dict[str, str]]]:
    return [
        (_CUSTOMERS_SQL.format(customer_filter="AND c.id = $3" if one else ""), _CUSTOMER_COLUMNS),
        (_PURCHASES_SQL.format(filter="AND customer_id = $2" if one else "AND ctid >= $2::tid AND ctid < $3::tid"),
         _PURCHASE_COLUMNS),
        (_INTERACTIONS_SQL.format(filter="AND customer_id = $2" if one else ""), _INTERACTION_COLUMNS),
    ]


async def extract_customer(conn: AsyncConnection, workspace_id: int, provinces: list[str], customer_id: int,
                           now: float | None = None) -> CustomerData:
    """One customer, with plain queries on the caller's connection (a COPY's
    extra round trips cost more than a handful of rows)."""
    (customer_sql, customer_columns), (purchase_sql, purchase_columns), (touch_sql, touch_columns) = _queries(True)
    rows = await pgcopy.fetch_columns(conn, customer_sql, customer_columns, workspace_id, provinces, customer_id)
    bought = await pgcopy.fetch_columns(conn, purchase_sql, purchase_columns, workspace_id, customer_id)
    touched = await pgcopy.fetch_columns(conn, touch_sql, touch_columns, workspace_id, customer_id)
    return _assemble(rows, bought, touched, now)


async def extract_workspace(engine: AsyncEngine, workspace_id: int, now: float | None = None
                            ) -> tuple[CustomerData, list[str], ScoringConfig, ScoringContext | None]:
    """Everything a full run reads, from one snapshot: binary COPYs side by side
    on connections of their own (PostgreSQL runs each on its own core)."""
    async with contextlib.AsyncExitStack() as stack:
        first, *others = [await stack.enter_async_context(engine.connect()) for _ in range(2 + _PURCHASE_SHARES)]
        await first.execute(text("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        snapshot = await first.scalar(text("SELECT pg_export_snapshot()"))
        for conn in others:
            await conn.execute(text("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            await conn.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
        pages = await first.scalar(text(
            "SELECT pg_relation_size('purchases') / current_setting('block_size')::int"))
        # Rows the snapshot sees were written before it, within these pages;
        # the last share is open-ended all the same.
        bounds = [pages * share // _PURCHASE_SHARES for share in range(_PURCHASE_SHARES)] + [2**32 - 1]
        provinces = await common_provinces(first, workspace_id)
        config = await read_config(first, workspace_id)
        previous = await read_context(first, workspace_id)
        (customer_sql, customer_columns), (purchase_sql, purchase_columns), (touch_sql, touch_columns) = \
            _queries(False)
        *bought, touched, rows = await asyncio.gather(
            *(pgcopy.copy_out(conn, purchase_sql, purchase_columns, workspace_id, (bounds[share], 0),
                              (bounds[share + 1], 0))
              for share, conn in enumerate(others[:_PURCHASE_SHARES])),
            pgcopy.copy_out(others[-1], touch_sql, touch_columns, workspace_id),
            pgcopy.copy_out(first, customer_sql, customer_columns, workspace_id, provinces))
        for conn in (first, *others):
            await conn.rollback()
    bought = {name: np.concatenate([share[name] for share in bought]) for name in purchase_columns}
    return _assemble(rows, bought, touched, now), provinces, config, previous


def _owner_index(ids: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's customer index (meaningless where the row's customer is not
    live), and which rows belong to a live customer."""
    if ids.size == 0:
        return np.zeros(owners.size, dtype=np.int64), np.zeros(owners.size, dtype=bool)
    span = int(ids[-1] - ids[0]) + 1
    if span > 4 * ids.size:  # ids spread thin: a binary search each
        index = np.searchsorted(ids, owners)
        return index, (index < ids.size) & (ids[np.minimum(index, ids.size - 1)] == owners)
    # A workspace's ids are mostly consecutive: a table by id, 3x faster than searching.
    table = np.full(span, -1, dtype=np.int64)
    table[ids - ids[0]] = np.arange(ids.size)
    offset = owners - ids[0]
    inside = (offset >= 0) & (offset < span)
    index = table[np.where(inside, offset, 0)]
    known = inside & (index >= 0)
    return index, known


def _assemble(rows: dict, bought: dict, touched: dict, now: float | None) -> CustomerData:
    ids = rows["id"]
    n = ids.size
    moment = time.time() / DAY if now is None else now

    def per_customer(index: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(index, weights=weights, minlength=n).astype(np.float64)

    index, known = _owner_index(ids, bought["customer_id"])  # purchases of deleted customers drop out
    sale = known & (bought["amount"] >= 0)
    refund = known & (bought["amount"] < 0)
    owner, live = _owner_index(ids, touched["customer_id"])
    kind = touched["kind"]
    enquiry = live & (kind == _INTERACTION_KINDS.index("enquiry"))
    # The first sale of those who made enquiries (ufunc.at is slow: only their sales).
    enquirer = np.zeros(n, dtype=bool)
    enquirer[owner[enquiry]] = True
    theirs = sale & enquirer[np.where(sale, index, 0)]
    first_sale = np.full(n, np.inf)
    np.minimum.at(first_sale, index[theirs], bought["at"][theirs])

    def count(*names: str) -> np.ndarray:
        chosen = live & np.isin(kind, [_INTERACTION_KINDS.index(k) for k in names])
        return per_customer(owner[chosen])

    survey = live & (kind == _INTERACTION_KINDS.index("survey"))
    answered = per_customer(owner[survey])
    early = enquiry & (touched["at"] < first_sale[np.where(live, owner, 0)])

    province = rows["province"].astype(np.int64)
    one_hot = (province[:, None] == np.arange(N_PROVINCES)[None, :]).astype(np.float64)
    return CustomerData(
        ids=ids, since=rows["since"],
        profile=np.column_stack([rows["age"], rows["organisation"], rows["income_band"], rows["education"],
                                 rows["female"], one_hot]),
        discounted=per_customer(index[sale & (bought["discount"] > 0)]),
        refunds=per_customer(index[refund], -bought["amount"][refund]),
        discounts=per_customer(index[known], bought["discount"][known]),
        discount_requests=count("discount_request"),
        complaints_and_returns=count("complaint", "return"),
        referrals=count("referral"),
        survey_mean=np.divide(per_customer(owner[survey], touched["score"][survey]), answered,
                              out=np.full(n, np.nan), where=answered > 0),
        staff_minutes=per_customer(owner[live], touched["minutes"][live]),
        enquiries_before_first=per_customer(owner[early]),
        touches=per_customer(owner[live]),
        purchase_customer=index[sale], purchase_time=np.minimum(bought["at"][sale], moment),
        purchase_amount=bought["amount"][sale], now=moment)


# --- load ----------------------------------------------------------------------------

# The inferred traits as stored: every combination of the kernel's bit mask.
_TRAIT_BITS = ((BARGAINER, "bargainer"), (FAULT_FINDER, "fault_finder"), (HESITANT, "hesitant"))
_TRAIT_SETS = tuple(tuple(name for bit, name in _TRAIT_BITS if mask & bit)
                    for mask in range((BARGAINER | FAULT_FINDER | HESITANT) + 1))


def _score_fields(workspace_id: int, data: CustomerData, scores: Scores, computed_at: float
                  ) -> dict[str, pgcopy.Field]:
    """The scores as customer_scores' columns: the kernels' codes become the
    stored words, and their "none" values (-1, 0 or NaN) NULLs."""
    s, n, Field = scores.summary, data.n, pgcopy.Field
    return {
        "workspace_id": Field("int8", np.full(n, workspace_id)), "customer_id": Field("int8", data.ids),
        "purchase_count": Field("int4", s.purchase_count), "frequency": Field("int4", s.frequency),
        "recency": Field("float8", s.recency), "tenure": Field("float8", s.T),
        "monetary": Field("float8", s.monetary), "total_spend": Field("float8", s.total_spend),
        "first_purchase_at": Field("timestamptz", s.first_purchase, np.isnan(s.first_purchase)),
        "last_purchase_at": Field("timestamptz", s.last_purchase, np.isnan(s.last_purchase)),
        **{f"rfm_{key}": Field("int2", scores.rfm[:, j], scores.rfm[:, j] == 0) for j, key in enumerate("rfm")},
        "rfm_segment": Field(tuple(RFM_SEGMENTS), scores.segment, scores.segment < 0),
        "probability_alive": Field("float8", scores.p_alive),
        "expected_purchases_90d": Field("float8", scores.expected_90d), "clv": Field("float8", scores.clv),
        "value": Field("float8", scores.value), "loyalty": Field("float8", scores.loyalty.index),
        "loyalty_factors": Field(f"float8[{len(loyalty.FACTORS)}]", scores.loyalty.contributions),
        "cost_to_serve": Field("float8", scores.cost_to_serve), "net_value": Field("float8", scores.net_value),
        "customer_type": Field(tuple(personas.TYPES), scores.customer_type),
        "lifecycle_stage": Field(tuple(lifecycle.STAGES), scores.stage),
        "inferred_traits": Field(_TRAIT_SETS, scores.traits),
        "cluster": Field("int2", scores.cluster, scores.cluster < 0),
        "lookalike": Field("float8", scores.lookalike, np.isnan(scores.lookalike)),
        "evidence": Field(f"float8[{len(EVIDENCE)}]", np.column_stack([scores.evidence[name] for name in EVIDENCE])),
        "computed_at": Field("timestamptz", np.full(n, computed_at)),
    }


_SCORE_COLUMNS = [c.name for c in customer_scores.c]
_KEY = ("workspace_id", "customer_id")
_UPSERT = text(
    f"INSERT INTO customer_scores ({', '.join(_SCORE_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _SCORE_COLUMNS)}) "
    f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _SCORE_COLUMNS if c not in _KEY)
    + " WHERE customer_scores.computed_at <= EXCLUDED.computed_at")


async def upsert_scores(conn: AsyncConnection, workspace_id: int, data: CustomerData, scores: Scores,
                        computed_at: float) -> None:
    """Incremental rescoring's write: one upsert per customer (one, in practice),
    in the caller's transaction."""
    fields = _score_fields(workspace_id, data, scores, computed_at)
    for i in range(data.n):
        await conn.execute(_UPSERT, {name: field.value(i) for name, field in fields.items()})


async def fill_rebuild(conn: AsyncConnection, rebuild: score_partitions.Rebuild, data: CustomerData, scores: Scores,
                       computed_at: float) -> None:
    """A full run's write: one binary COPY into the workspace's new partition
    (customers no longer there have no row in it)."""
    await pgcopy.copy_in(conn, score_partitions.PARENT, _score_fields(rebuild.workspace_id, data, scores, computed_at),
                         schema=rebuild.schema, freeze=True)


def _timestamp(epoch_days: float) -> datetime:
    return datetime.fromtimestamp(epoch_days * DAY, UTC)


# --- models and settings ----------------------------------------------------------------

async def read_config(conn: AsyncConnection, workspace_id: int) -> ScoringConfig:
    settings = await conn.scalar(select(workspaces.c.settings).where(workspaces.c.id == workspace_id))
    return ScoringConfig.from_settings(settings or {})


async def read_context(conn: AsyncConnection, workspace_id: int) -> ScoringContext | None:
    """The last full run's models and distributions; None if there is none, or
    if it was written by a version of Tribe that stored other fields (the next
    full run refits)."""
    params = await conn.scalar(select(model_fits.c.params).where(model_fits.c.workspace_id == workspace_id,
                                                                 model_fits.c.model == "context"))
    if not params:
        return None
    try:
        return ScoringContext.from_json(params)
    except (TypeError, KeyError):
        return None


async def save_models(conn: AsyncConnection, workspace_id: int, context: ScoringContext, quality: dict | None,
                      seconds: dict) -> None:
    bg, gg = context.bgnbd, context.gamma_gamma
    rows = [
        ("bgnbd", {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b, "time_unit": "day"},
         {"log_likelihood": bg.log_likelihood, "converged": bg.converged, "iterations": bg.iterations,
          "customers": bg.n_customers, "standard_errors": bg.standard_errors, "penalizer": bg.penalizer}),
        ("gamma_gamma", {"p": gg.p, "q": gg.q, "v": gg.v},
         {"log_likelihood": gg.log_likelihood, "converged": gg.converged, "iterations": gg.iterations,
          "customers": gg.n_customers, "standard_errors": gg.standard_errors,
          "frequency_monetary_correlation": gg.frequency_monetary_correlation,
          "independence_doubtful": gg.independence_doubtful}),
        ("context", context.to_json(), {"seconds": seconds}),
    ]
    if quality is not None:
        rows.append(("quality", quality, {}))
    for model, params, diagnostics in rows:
        statement = insert(model_fits).values(workspace_id=workspace_id, model=model, params=_json_safe(params),
                                              diagnostics=_json_safe(diagnostics), fitted_at=_timestamp(context.as_of))
        await conn.execute(statement.on_conflict_do_update(
            index_elements=[model_fits.c.workspace_id, model_fits.c.model],
            set_={"params": statement.excluded.params, "diagnostics": statement.excluded.diagnostics,
                  "fitted_at": statement.excluded.fitted_at}))


def _json_safe(value):
    """JSON has no NaN or infinity (a standard error of a degenerate fit, say): null."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --- the two entry points -----------------------------------------------------------------

@dataclass(frozen=True)
class RescoreReport:
    customers: int
    purchases: int
    seconds: dict[str, float]
    context: ScoringContext
    quality: dict | None


async def rescore_workspace(engine: AsyncEngine, workspace_id: int, refit: bool = True,
                            progress: Progress | None = None, now: float | None = None) -> RescoreReport:
    """Full rescoring of one workspace (see the module docstring)."""
    step = progress or (lambda _label: None)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    data, provinces, config, previous = await extract_workspace(engine, workspace_id, now)
    seconds["extract"] = time.perf_counter() - started
    step("extract")

    started = time.perf_counter()
    fitting = refit or previous is None
    scores, context = compute(data, config, previous, refit=fitting)
    context.provinces = provinces
    seconds["kernels"] = time.perf_counter() - started
    step("kernels")

    # The model quality report needs only the data: it runs in a thread while
    # PostgreSQL loads the scores and syncs the segments, with a core to spare.
    holdout = asyncio.ensure_future(asyncio.to_thread(holdout_report, data, config) if fitting else _nothing())
    try:
        started = time.perf_counter()
        async with unit_of_work(engine, workspace_id) as conn:
            rebuild = score_partitions.Rebuild(workspace_id)
            await rebuild.start(conn)
            await fill_rebuild(conn, rebuild, data, scores, data.now)
            await rebuild.finish(conn, _timestamp(data.now))
            seconds["load"] = time.perf_counter() - started
            step("load")
            started = time.perf_counter()
            fresh = await segments.ensure_builtin(conn, workspace_id)
            fresh |= await segments.refresh_clusters(conn, workspace_id, context.cluster_profiles)
            await _sync_segments(conn, workspace_id, rebuild, fresh, data.n)
            seconds["segments"] = time.perf_counter() - started
            quality = await holdout
            await save_models(conn, workspace_id, context, quality, seconds)
            await rebuild.swap(conn)
    finally:
        await asyncio.wait([holdout])  # a failed load still lets the thread finish before returning
    step("segments")
    return RescoreReport(data.n, int(data.purchase_time.size), seconds, context, quality)


async def _nothing() -> None:
    return None


async def _sync_segments(conn: AsyncConnection, workspace_id: int, rebuild: score_partitions.Rebuild,
                         fresh: set[int], customers: int) -> None:
    """Segment memberships after a full run, against the new scores.

    The segments Tribe maintains (built-in, clusters) read nothing but the
    scores, and their memberships match the old scores (every write of a score
    or rule since has synced them): only customers whose scores moved in what
    those rules read can enter or leave. That spares evaluating them over every
    customer (4 s at 10^6 customers, against 1 for the comparison). The others'
    rules may read time, purchases or profiles, and are evaluated in full, as
    are maintained segments `fresh` in this run, and all of them when most
    customers moved (a first run)."""
    found = await segment_membership.rule_segments(conn, workspace_id)
    maintained = {s.id: s.rule for s in found if s.kind in segments.MAINTAINED and s.id not in fresh}
    moved = await rebuild.moved(conn, segment_membership.score_columns(list(maintained.values()))) \
        if maintained else []
    if not maintained or len(moved) > customers // 4:
        await segment_membership.sync(conn, workspace_id, "rescoring")
        return
    if moved:
        await segment_membership.sync(conn, workspace_id, "rescoring", customer_ids=moved, segment_ids=set(maintained))
    others = {s.id for s in found} - set(maintained)
    if others:
        await segment_membership.sync(conn, workspace_id, "rescoring", segment_ids=others)


async def scores_of(conn: AsyncConnection, workspace_id: int, customer_ids: list[int]) -> dict:
    """The stored scores of these customers, by customer id (those not scored yet are missing)."""
    chosen, key = one_of("customer_id", "$2", customer_ids)
    rows = await fetch(conn, f"SELECT * FROM customer_scores WHERE workspace_id = $1 AND {chosen}", workspace_id, key)
    return {r.customer_id: r for r in rows}


async def rescore_customer(conn: AsyncConnection, workspace_id: int, customer_id: int,
                           now: float | None = None) -> bool:
    """Rescore one customer in the caller's transaction with the stored models.
    False when the workspace has never been fully scored (nothing to score with)."""
    context = await read_context(conn, workspace_id)
    if context is None:
        return False
    data = await extract_customer(conn, workspace_id, context.provinces, customer_id, now)
    if data.n == 0:
        return False
    config = await read_config(conn, workspace_id)
    with single_threaded():
        scores, _ = compute(data, config, context, refit=False)
    await upsert_scores(conn, workspace_id, data, scores, data.now)
    return True


async def warm_up(engine: AsyncEngine) -> bool:
    """Score one customer of a scored workspace, saving nothing, so that a
    server process has its scoring kernels loaded before a request needs them:
    the first call in a process reads the compiled code from Numba's cache and
    sets up its CPU target, 300 ms of the first purchaseRecord after a start
    (17 ms after). False when no workspace has been scored yet."""
    async with unit_of_work(engine) as conn:
        workspace_id = await conn.scalar(select(model_fits.c.workspace_id).where(model_fits.c.model == "context")
                                         .order_by(model_fits.c.workspace_id).limit(1))
        context = await read_context(conn, workspace_id) if workspace_id is not None else None
        customer_id = context and await conn.scalar(
            select(customer_scores.c.customer_id).where(customer_scores.c.workspace_id == workspace_id).limit(1))
        if not customer_id:
            return False
        data = await extract_customer(conn, workspace_id, context.provinces, customer_id)
        config = await read_config(conn, workspace_id)
    if data.n == 0:
        return False
    with single_threaded():
        compute(data, config, context, refit=False)
    return True


# --- model quality ---------------------------------------------------------------------------

BUCKETS = 7  # calibration frequencies 0..6 and "7 or more"
HOLDOUT_SAMPLE = 200_000  # customers: plenty for a calibration check, and it bounds the cost


def holdout_report(data: CustomerData, config: ScoringConfig, holdout_share: float = 0.25) -> dict | None:
    """Fit on the first part of the observed period, predict the repeat purchases
    of the rest, and compare with what happened, per calibration frequency."""
    if data.purchase_time.size == 0:
        return None
    start = float(data.purchase_time.min())
    cutoff = data.now - (data.now - start) * holdout_share
    early = data.purchase_time <= cutoff
    layout = scoring.group_purchases(data.purchase_customer[early], data.purchase_time[early],
                                     data.purchase_amount[early], end=cutoff, n_customers=data.n)
    calibration = scoring.rfm_summary(layout)
    seen = calibration.purchase_count > 0
    if seen.sum() < 10:
        return None
    if seen.sum() > HOLDOUT_SAMPLE:  # a fixed random sample, so reruns agree
        chosen = np.random.default_rng(0).choice(np.flatnonzero(seen), HOLDOUT_SAMPLE, replace=False)
        seen = np.zeros(data.n, dtype=bool)
        seen[chosen] = True
    bg = scoring.fit_bgnbd(calibration.frequency[seen], calibration.recency[seen], calibration.T[seen],
                           config.penalizer, with_standard_errors=False)
    horizon = data.now - cutoff
    predicted = scoring.expected_purchases(bg, horizon, calibration.frequency[seen], calibration.recency[seen],
                                           calibration.T[seen])
    later = ~early
    # Actual repeat purchases in the holdout: distinct purchase days per customer.
    day = np.floor(data.purchase_time[later]).astype(np.int64)
    span = int(day.max() - day.min() + 1) if day.size else 1
    visits = _distinct(data.purchase_customer[later] * span + (day - (day.min() if day.size else 0)))
    actual = np.bincount(visits // span, minlength=data.n)[seen]
    bucket = np.minimum(calibration.frequency[seen], BUCKETS)
    rows = []
    for b in range(BUCKETS + 1):
        members = bucket == b
        if members.any():
            rows.append({"frequency": b if b < BUCKETS else f"{BUCKETS}+", "customers": int(members.sum()),
                         "predicted": float(predicted[members].mean()), "actual": float(actual[members].mean())})
    return {"calibration_end": cutoff, "holdout_days": horizon, "customers": int(seen.sum()),
            "predicted_total": float(predicted.sum()), "actual_total": float(actual.sum()),
            "params": {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b}, "by_frequency": rows}


def _distinct(values: np.ndarray) -> np.ndarray:
    """np.unique by sorting: numpy 2.4's np.unique hashes integers, and took 4.3 s
    over the 3.9 million (customer, day) keys of 10^6 customers that a sort
    and a comparison of neighbours handle in 0.3 s."""
    ordered = np.sort(values)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))] if ordered.size else ordered

